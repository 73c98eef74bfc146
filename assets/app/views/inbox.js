// The agent workspace: views and filters, the ticket list, the open ticket.

import { h, mount, when, badge, field, toast, showProblem } from "../dom.js";
import { api, session } from "../api.js";
import { follow, chat } from "../live.js";
import { addMessage } from "./conversation.js";
import { attachments, withAttachments, bearer } from "../files.js";

const VIEWS = [
  ["mine", "Mine"],
  ["unassigned", "Unassigned"],
  ["open", "All open"],
  ["pending", "Pending"],
  ["resolved", "Resolved"],
];
const STATUSES = ["open", "in_progress", "pending", "resolved", "closed"];
const PRIORITIES = ["low", "medium", "high", "urgent"];
const CHANNELS = ["web", "email", "chat", "phone", "api", "portal"];
const PER_PAGE = 25;

function viewQuery(view) {
  const me = session.user.id;
  switch (view) {
    case "mine": return { assignee_id: me, status: "open,in_progress,pending" };
    case "unassigned": return { unassigned: "true", status: "open,in_progress,pending" };
    case "pending": return { status: "pending" };
    case "resolved": return { status: "resolved" };
    default: return { status: "open,in_progress,pending" };
  }
}

function viewCount(view, stats) {
  if (!stats) return "";
  const s = stats.by_status || {};
  switch (view) {
    case "mine": return (stats.by_assignee || []).find((a) => a.assignee_id === session.user.id)?.count ?? 0;
    case "unassigned": return stats.unassigned_open;
    case "pending": return s.pending;
    case "resolved": return s.resolved;
    default: return (s.open || 0) + (s.in_progress || 0) + (s.pending || 0);
  }
}

export function view([ticketId]) {
  return async (main) => {
    const params = new URLSearchParams(location.search);
    const state = {
      view: params.get("view") || "open",
      q: params.get("q") || "",
      filters: Object.fromEntries(["status", "priority", "assignee_id", "tag", "category", "channel"]
        .filter((k) => params.get(k)).map((k) => [k, params.get(k)])),
      sort: params.get("sort") || "-updated_at",
      page: Number(params.get("page") || 1),
      ticket: ticketId ? Number(ticketId) : null,
      items: [],
    };
    const agents = (await api("GET", "/api/v1/users?role=agent&active=true&per_page=100")).items
      .concat((await api("GET", "/api/v1/users?role=admin&active=true&per_page=100")).items);
    const viewsPane = h("nav", { class: "pane views-pane views", "aria-label": "Views" });
    const listPane = h("section", { class: "pane list-pane", "aria-label": "Tickets" });
    const ticketPane = h("section", { class: "pane ticket-pane", "aria-label": "Ticket" });
    const panes = h("div", { class: `panes${state.ticket ? " has-ticket" : ""}` }, viewsPane, listPane, ticketPane);
    mount(main, panes);

    const query = () => {
      const q = new URLSearchParams();
      if (state.view !== "open") q.set("view", state.view);
      if (state.q) q.set("q", state.q);
      for (const [k, v] of Object.entries(state.filters)) q.set(k, v);
      if (state.sort !== "-updated_at") q.set("sort", state.sort);
      if (state.page > 1) q.set("page", state.page);
      const s = q.toString();
      return s ? `?${s}` : "";
    };
    const href = (ticket) => `/tickets/${ticket}${query()}`;

    async function loadViews() {
      let stats = null;
      try { stats = await api("GET", "/api/v1/tickets/stats"); } catch { stats = null; }
      const search = h("input", { type: "search", name: "q", value: state.q, placeholder: "Search tickets  ( / )", "aria-label": "Search tickets", id: "search" });
      search.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { state.q = search.value.trim(); state.page = 1; reloadAll(); }
      });
      const select = (name, label, options) => {
        const el = h("select", { name, "aria-label": label },
          h("option", { value: "" }, `${label}: any`),
          options.map(([value, text]) => h("option", { value, selected: state.filters[name] === String(value) }, text)));
        el.addEventListener("change", () => {
          if (el.value) state.filters[name] = el.value; else delete state.filters[name];
          state.page = 1;
          reloadAll();
        });
        return el;
      };
      const tag = h("input", { name: "tag", placeholder: "Tag", value: state.filters.tag || "", "aria-label": "Tag" });
      tag.addEventListener("change", () => {
        if (tag.value.trim()) state.filters.tag = tag.value.trim(); else delete state.filters.tag;
        reloadAll();
      });
      const category = h("input", { name: "category", placeholder: "Category", value: state.filters.category || "", "aria-label": "Category" });
      category.addEventListener("change", () => {
        if (category.value.trim()) state.filters.category = category.value.trim(); else delete state.filters.category;
        reloadAll();
      });
      const sort = h("select", { name: "sort", "aria-label": "Sort" },
        [["-updated_at", "Recently updated"], ["-created_at", "Newest"], ["created_at", "Oldest"], ["-priority", "Priority"], ["status", "Status"]]
          .map(([value, text]) => h("option", { value, selected: state.sort === value }, text)));
      sort.addEventListener("change", () => { state.sort = sort.value; reloadAll(); });
      mount(viewsPane,
        h("div", { class: "filters" }, search),
        VIEWS.map(([key, label]) => h("a", {
          href: `/inbox?view=${key}`,
          "aria-current": state.view === key && !state.q ? "true" : null,
          onclick: (e) => { e.preventDefault(); state.view = key; state.q = ""; state.page = 1; reloadAll(); },
        }, h("span", {}, label), h("span", { class: "muted", dataset: { count: key } }, String(viewCount(key, stats))))),
        h("h3", { class: "filters" }, "Filters"),
        h("div", { class: "filters" },
          select("status", "Status", STATUSES.map((s) => [s, s.replace("_", " ")])),
          select("priority", "Priority", PRIORITIES.map((p) => [p, p])),
          select("assignee_id", "Assignee", agents.map((a) => [a.id, a.name])),
          select("channel", "Channel", CHANNELS.map((c) => [c, c])),
          tag, category, sort));
    }

    async function loadList() {
      const q = new URLSearchParams({ ...viewQuery(state.view), ...state.filters, sort: state.sort, page: state.page, per_page: PER_PAGE });
      if (state.q) { q.set("q", state.q); if (state.sort === "-updated_at") q.delete("sort"); }
      let page;
      try {
        page = await api("GET", `/api/v1/tickets?${q}`);
      } catch (e) {
        mount(listPane, h("div", { class: "empty error" }, e.message));
        return;
      }
      state.items = page.items;
      const pages = Math.max(1, Math.ceil(page.total / PER_PAGE));
      mount(listPane,
        h("h2", { class: "sr-only" }, "Tickets"),
        page.items.length === 0
          ? h("div", { class: "empty" }, state.q ? "No ticket matches this search." : "Nothing here. New tickets appear as they arrive.")
          : h("ul", { class: "list", id: "ticket-list" }, page.items.map((t) => h("li", {},
            h("a", { href: href(t.id), class: t.id === state.ticket ? "selected" : null, dataset: { ticket: t.id } },
              h("span", { class: "subject" }, `#${t.id} ${t.subject}`),
              h("span", { class: "meta" }, badge("status", t.status), badge("priority", t.priority),
                h("span", {}, t.requester.name), t.assignee ? h("span", {}, `→ ${t.assignee.name}`) : h("span", {}, "unassigned"),
                when(t.updated_at)))))),
        pages > 1 ? h("div", { class: "pager" },
          h("button", { type: "button", disabled: state.page <= 1, onclick: () => { state.page -= 1; reloadAll(); } }, "Previous"),
          h("span", { class: "muted" }, `Page ${state.page} of ${pages} · ${page.total} tickets`),
          h("button", { type: "button", disabled: state.page >= pages, onclick: () => { state.page += 1; reloadAll(); } }, "Next")) : null);
    }

    function reloadAll() {
      history.replaceState(null, "", state.ticket ? href(state.ticket) : `/inbox${query()}`);
      loadViews();
      loadList();
    }

    let ticketView = null;
    let opening = 0;
    async function openTicket(id) {
      const generation = ++opening;
      if (ticketView) { ticketView.close(); ticketView = null; }
      state.ticket = id;
      panes.classList.toggle("has-ticket", Boolean(id));
      for (const a of listPane.querySelectorAll("a[data-ticket]")) a.classList.toggle("selected", Number(a.dataset.ticket) === id);
      if (!id) {
        mount(ticketPane, h("div", { class: "empty" }, "Open a ticket from the list, or use j / k and Enter."));
        return;
      }
      // A later click wins: a page that finishes loading after it is dropped.
      const page = await ticketPage(ticketPane, id, agents, () => { loadList(); loadViews(); }, () => generation === opening);
      if (generation === opening) ticketView = page;
      else if (page) page.close();
    }

    await Promise.all([loadViews(), loadList()]);
    await openTicket(state.ticket);

    // Opening a ticket from the list keeps the list, filters and stream as they are.
    const show = (id) => {
      history.pushState(null, "", href(id));
      openTicket(id);
    };
    listPane.addEventListener("click", (e) => {
      const a = e.target.closest("a[data-ticket]");
      if (!a || e.button !== 0 || e.metaKey || e.ctrlKey) return;
      e.preventDefault();
      show(Number(a.dataset.ticket));
    });

    // Live: new tickets and replies appear without reloading.
    let pending = null;
    const live = follow(null, (kind) => {
      if (kind === "presence" || kind === "typing") return;
      clearTimeout(pending);
      pending = setTimeout(() => { loadList(); loadViews(); }, 150);
    });

    const keys = (e) => {
      if (e.target.closest("input, textarea, select") || e.metaKey || e.ctrlKey || e.altKey) return;
      const index = state.items.findIndex((t) => t.id === state.ticket);
      if (e.key === "j" || e.key === "k") {
        const next = state.items[Math.max(0, Math.min(state.items.length - 1, index + (e.key === "j" ? 1 : -1)))];
        if (next) { e.preventDefault(); show(next.id); }
      } else if (e.key === "Enter" && index < 0 && state.items[0] && !e.target.closest("button, a")) {
        show(state.items[0].id);
      } else if (e.key === "/") {
        e.preventDefault(); document.getElementById("search")?.focus();
      } else if ((e.key === "r" || e.key === "n") && ticketView) {
        e.preventDefault(); ticketView.compose(e.key === "n");
      }
    };
    document.addEventListener("keydown", keys);
    return () => {
      live.close();
      if (ticketView) ticketView.close();
      document.removeEventListener("keydown", keys);
    };
  };
}

/** The open ticket with its conversation, composer and sidebar. Returns {close, compose}. */
async function ticketPage(pane, id, agents, changed, current) {
  let ticket;
  try {
    ticket = await api("GET", `/api/v1/tickets/${id}`);
  } catch (e) {
    if (current()) mount(pane, h("div", { class: "empty error" }, e.message));
    return null;
  }
  if (!current()) return null;
  const messages = h("div", { class: "messages", id: "messages" });
  // Signed in, a message's files are fetched with the access token.
  const show = { headers: bearer };
  for (const m of ticket.messages) addMessage(messages, m, show);
  const presence = h("div", { class: "presence", "aria-live": "polite", id: "presence" });
  const sidebar = h("aside", { class: "sidebar", "aria-label": "Ticket details" });
  const text = h("textarea", { name: "body", "aria-label": "Reply", placeholder: "Write a reply…  ( r )", id: "reply" });
  const internal = h("input", { type: "checkbox", name: "internal", id: "internal-note" });
  const status = h("div", { "aria-live": "polite" });
  const send = h("button", { class: "primary", type: "submit", id: "send" }, "Send");
  const composer = h("form", { class: "composer" });
  // One set of files for either kind: they go with whichever is sent.
  const files = attachments({ uploadUrl: "/api/v1/uploads", headers: bearer, textarea: text, zone: composer, onchange: () => { send.disabled = files.busy(); } });
  mount(composer, text, files.element,
    h("div", { class: "row" },
      h("label", { class: "inline", for: "internal-note" }, internal, "Internal note (agents only)  ( n )"),
      send),
    status);
  internal.addEventListener("change", () => {
    composer.classList.toggle("note", internal.checked);
    text.placeholder = internal.checked ? "Write an internal note…" : "Write a reply…";
  });
  let typingSent = 0;
  const room = chat(id, (frame) => {
    if (frame.type === "message") {
      addMessage(messages, frame.message, show);
    } else if (frame.type === "presence") {
      const others = frame.presence.viewers.filter((v) => v.id !== session.user.id);
      presence.textContent = others.length ? `Also viewing: ${others.map((v) => v.name).join(", ")}` : "";
    } else if (frame.type === "typing" && frame.typing.user) {
      presence.textContent = `${frame.typing.user.name} is typing…`;
      setTimeout(() => { if (presence.textContent.endsWith("typing…")) presence.textContent = ""; }, 4000);
    } else if (frame.type === "ticket") {
      ticket = { ...ticket, ...frame.ticket };
      renderSidebar();
    }
  }, async () => {
    // Back after a disconnection: add what was written meanwhile.
    const fresh = await api("GET", `/api/v1/tickets/${id}`);
    for (const m of fresh.messages) addMessage(messages, m, show);
  });
  text.addEventListener("input", () => {
    if (Date.now() - typingSent > 2500) { typingSent = Date.now(); room.send({ type: "typing", note: internal.checked }); }
  });
  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (files.busy() || (!text.value.trim() && !files.ids().length)) return;
    try {
      const message = await api("POST", `/api/v1/tickets/${id}/messages`, withAttachments({ body: text.value, internal: internal.checked }, files));
      addMessage(messages, message, show);
      text.value = "";
      files.clear();
      status.textContent = "";
      changed();
    } catch (err) { showProblem(status, err); }
  });

  async function update(body, path = `/api/v1/tickets/${id}`, method = "PATCH") {
    try {
      ticket = { ...ticket, ...(await api(method, path, body)) };
      renderSidebar();
      changed();
    } catch (err) { toast(err.message); }
  }

  function renderSidebar() {
    const select = (name, label, options, current, onchange) => {
      const el = h("select", { name, id: `side-${name}` },
        options.map(([value, text]) => h("option", { value, selected: String(current ?? "") === String(value) }, text)));
      el.addEventListener("change", () => onchange(el.value));
      return field(label, el);
    };
    const tags = h("input", { name: "tags", value: (ticket.tags || []).join(", "), id: "side-tags" });
    tags.addEventListener("change", () => update({ tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean) }));
    const category = h("input", { name: "category", value: ticket.category || "", id: "side-category" });
    category.addEventListener("change", () => update({ category: category.value.trim() || null }));
    const type = h("input", { name: "type", value: ticket.type || "", id: "side-type" });
    type.addEventListener("change", () => update({ type: type.value.trim() || null }));
    const portalOut = h("div");
    mount(sidebar,
      h("h2", {}, `#${ticket.id}`),
      h("div", { class: "meta" }, badge("status", ticket.status), " ", badge("priority", ticket.priority), " ", h("span", { class: "muted" }, `via ${ticket.channel}`)),
      h("div", { class: "links" },
        ticket.status === "resolved" || ticket.status === "closed"
          ? h("button", { type: "button", id: "reopen", onclick: () => update(undefined, `/api/v1/tickets/${id}/reopen`, "POST") }, "Reopen")
          : h("button", { type: "button", id: "resolve", onclick: () => update(undefined, `/api/v1/tickets/${id}/resolve`, "POST") }, "Resolve"),
        ticket.status !== "closed" ? h("button", { type: "button", onclick: () => update(undefined, `/api/v1/tickets/${id}/close`, "POST") }, "Close") : null),
      select("status", "Status", STATUSES.map((s) => [s, s.replace("_", " ")]), ticket.status, (v) => update({ status: v })),
      select("priority", "Priority", PRIORITIES.map((p) => [p, p]), ticket.priority, (v) => update({ priority: v })),
      select("assignee", "Assignee", [["", "Unassigned"], ...agents.map((a) => [a.id, a.name])], ticket.assignee?.id,
        (v) => update({ assignee_id: v ? Number(v) : null }, `/api/v1/tickets/${id}/assign`, "POST")),
      field("Tags (comma separated)", tags),
      field("Category", category),
      field("Type", type),
      h("h3", {}, "Requester"),
      h("div", {}, ticket.requester.name),
      h("div", { class: "muted" }, ticket.requester.email),
      h("div", { id: "other-tickets" }),
      h("h3", {}, "Portal link"),
      h("button", {
        type: "button", id: "portal-link",
        onclick: async () => {
          try {
            const issued = await api("POST", "/api/v1/portal-tokens", { ticket_id: id });
            mount(portalOut, h("div", { class: "secret" }, issued.url), h("div", { class: "muted" }, `Valid until ${new Date(issued.expires_at).toLocaleString()}; shown once.`));
          } catch (err) { toast(err.message); }
        },
      }, "Make a link for the requester"),
      portalOut,
      h("h3", {}, "History"),
      h("details", { id: "history", ontoggle: (e) => { if (e.target.open) loadHistory(e.target); } }, h("summary", {}, "Show the audit trail")));
    loadOthers();
  }

  async function loadOthers() {
    try {
      const page = await api("GET", `/api/v1/tickets?requester_id=${ticket.requester.id}&per_page=5`);
      const others = page.items.filter((t) => t.id !== id);
      const box = sidebar.querySelector("#other-tickets");
      if (box && others.length) mount(box, h("h3", {}, "Their other tickets"), h("ul", {}, others.map((t) => h("li", {}, h("a", { href: `/tickets/${t.id}` }, `#${t.id} ${t.subject}`), " ", badge("status", t.status)))));
    } catch { /* optional */ }
  }

  async function loadHistory(details) {
    const page = await api("GET", `/api/v1/tickets/${id}/events?per_page=100`);
    mount(details, h("summary", {}, "Hide the audit trail"), h("ul", {}, page.items.map((e) => h("li", {},
      h("strong", {}, e.action), " ", when(e.at), " ",
      h("span", { class: "muted" }, e.actor_id ? `by user ${e.actor_id}` : e.api_key_id ? `by API key ${e.api_key_id}` : "")))));
  }

  renderSidebar();
  mount(pane, h("div", { class: "ticket" },
    h("div", { class: "conversation" },
      h("p", {}, h("a", { href: `/inbox${location.search}`, class: "back" }, "← Back to the list")),
      h("h1", { id: "ticket-subject" }, ticket.subject),
      presence, messages, composer),
    sidebar));
  return {
    close() { room.close(); files.clear(); },
    compose(note) {
      internal.checked = note;
      internal.dispatchEvent(new Event("change"));
      text.focus();
    },
  };
}
