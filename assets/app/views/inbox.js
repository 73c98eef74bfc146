// The agent workspace: views and filters, the ticket list with bulk changes,
// the open ticket; live updates, the unread count in the page title,
// desktop notifications and keyboard shortcuts.

import { h, mount } from "../dom.js";
import { api, session } from "../api.js";
import { follow } from "../live.js";
import { site } from "../main.js";
import { viewsPane, viewQuery, countViews, FILTERS } from "./filters.js";
import { selection, ticketList } from "./list.js";
import { bulkBar } from "./bulk.js";
import { ticketPage } from "./ticket.js";
import { newTicketDialog } from "./newticket.js";
import { notifyEvent } from "./notify.js";
import { showShortcuts, typing } from "./keys.js";
import { closeDialogs } from "./dialog.js";

const PER_PAGE = 25;

export function view([ticketId]) {
  return async (main) => {
    const params = new URLSearchParams(location.search);
    const state = {
      view: params.get("view") || "open",
      q: params.get("q") || "",
      filters: Object.fromEntries(FILTERS.filter((k) => params.get(k)).map((k) => [k, params.get(k)])),
      sort: params.get("sort") || "-updated_at",
      page: Number(params.get("page") || 1),
      ticket: ticketId ? Number(ticketId) : null,
      items: [],
    };
    const [agentList, adminList] = await Promise.all([
      api("GET", "/api/v1/users?role=agent&active=true&per_page=100"),
      api("GET", "/api/v1/users?role=admin&active=true&per_page=100"),
    ]);
    const agents = agentList.items.concat(adminList.items);
    const viewsEl = h("nav", { class: "pane views-pane views", "aria-label": "Views" });
    const listPane = h("section", { class: "pane list-pane", "aria-label": "Tickets" });
    const ticketPane = h("section", { class: "pane ticket-pane", "aria-label": "Ticket" });
    const panes = h("div", { class: `panes${state.ticket ? " has-ticket" : ""}` }, viewsEl, listPane, ticketPane);
    mount(main, h("h1", { class: "sr-only" }, "Inbox"), panes);

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

    // The selection, the bulk bar over the list, and the list itself.
    const picked = selection(() => { bulk.update(); list.refresh(); });
    const bulk = bulkBar({ agents, picked, done: () => reload() });
    const listBox = h("div", { class: "list-box" });
    mount(listPane, h("h2", { class: "sr-only" }, "Tickets"), bulk.element, bulk.result, listBox);
    const list = ticketList(listBox, {
      state, picked, href, perPage: PER_PAGE,
      paged: (n) => { state.page = n; picked.clear(); reloadAll(); },
    });
    bulk.update();

    // Tickets this agent is creating: no desktop notification about them.
    const own = new Set();
    let creating = 0;
    const pane = viewsPane(viewsEl, {
      state, agents,
      changed: () => { picked.clear(); reloadAll(); },
      newTicket: () => newTicketDialog({
        starting: () => { creating = Date.now(); },
        created: (ticket) => { own.add(ticket.id); creating = 0; reload(); show(ticket.id); },
      }),
    });

    let listing = 0;
    async function loadList() {
      const generation = ++listing;
      const q = new URLSearchParams({ ...viewQuery(state.view), ...state.filters, sort: state.sort, page: state.page, per_page: PER_PAGE });
      if (state.q) { q.set("q", state.q); if (state.sort === "-updated_at") q.delete("sort"); }
      let page;
      try {
        page = await api("GET", `/api/v1/tickets?${q}`);
      } catch (e) {
        if (generation === listing) mount(listBox, h("div", { class: "empty error", role: "alert" }, e.message));
        return;
      }
      if (generation !== listing) return; // a newer search or view answered first
      state.items = page.items;
      list.render(page);
    }

    let counting = 0;
    let closed = false;
    async function loadCounts() {
      const generation = ++counting;
      const counts = await countViews();
      if (generation !== counting || closed) return;
      pane.setCounts(counts);
      document.title = counts.unread ? `(${counts.unread}) ${site.name}` : site.name;
    }

    function reloadAll() {
      history.replaceState(null, "", state.ticket ? href(state.ticket) : `/inbox${query()}`);
      pane.sync();
      return Promise.all([loadCounts(), loadList()]);
    }

    // Live events and our own changes come in bursts: one reload per burst.
    let pending = null;
    function reload() {
      clearTimeout(pending);
      pending = setTimeout(() => { loadList(); loadCounts(); }, 150);
    }

    let ticketView = null;
    let opening = 0;
    async function openTicket(id) {
      const generation = ++opening;
      if (ticketView) { ticketView.close(); ticketView = null; }
      state.ticket = id;
      panes.classList.toggle("has-ticket", Boolean(id));
      list.mark(id);
      if (!id) {
        mount(ticketPane, h("div", { class: "empty" }, "Open a ticket from the list, or use j / k and Enter.  Press ? for all shortcuts."));
        return;
      }
      // A later click wins: a page that finishes loading after it is dropped.
      const page = await ticketPage(ticketPane, id, {
        agents, changed: reload, current: () => !closed && generation === opening, open: show,
      });
      if (generation === opening) ticketView = page;
      else if (page) page.close();
    }

    await reloadAll();
    await openTicket(state.ticket);

    // Opening a ticket from the list keeps the list, filters and stream as they are.
    function show(id) {
      history.pushState(null, "", href(id));
      openTicket(id);
    }
    listPane.addEventListener("click", (e) => {
      const a = e.target.closest("a[data-ticket]");
      if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      show(Number(a.dataset.ticket));
    });

    // Live: new tickets and replies appear without reloading.
    const live = follow(null, (kind, data) => {
      if (kind === "presence" || kind === "typing") return;
      notifyEvent(kind, data, {
        openId: state.ticket, items: state.items, open: show,
        own: (id) => own.has(id) || Date.now() - creating < 10000,
      }).catch(() => {});
      reload();
    });

    const keys = (e) => {
      if (e.metaKey || e.ctrlKey || e.altKey || typing(e) || document.querySelector("dialog[open]")) return;
      const index = state.items.findIndex((t) => t.id === state.ticket);
      if (e.key === "j" || e.key === "k") {
        const next = state.items[Math.max(0, Math.min(state.items.length - 1, index + (e.key === "j" ? 1 : -1)))];
        if (next) { e.preventDefault(); show(next.id); }
      } else if (e.key === "Enter" && index < 0 && state.items[0] && !e.target.closest("button, a, summary, input")) {
        show(state.items[0].id);
      } else if (e.key === "/") {
        e.preventDefault();
        document.getElementById("search")?.focus();
      } else if ((e.key === "r" || e.key === "n") && ticketView) {
        e.preventDefault();
        ticketView.compose(e.key === "n");
      } else if (e.key === "a" && ticketView) {
        e.preventDefault();
        ticketView.assignMe();
      } else if (e.key === "x") {
        // The row with focus, else the open ticket.
        const row = e.target.closest?.("#ticket-list li")?.querySelector("[data-select]");
        const id = row ? Number(row.dataset.select) : state.ticket;
        if (id) { e.preventDefault(); picked.toggle(id); }
      } else if (e.key === "?") {
        e.preventDefault();
        showShortcuts();
      }
    };
    document.addEventListener("keydown", keys);
    return () => {
      closed = true;
      opening += 1; // a ticket still loading is dropped when it arrives
      pane.destroy();
      clearTimeout(pending);
      live.close();
      if (ticketView) ticketView.close();
      closeDialogs();
      document.removeEventListener("keydown", keys);
      document.title = site.name;
    };
  };
}
