// The open ticket's sidebar: state, quick actions (resolve, close, assign to
// me, follow, merge), the fields, the requester, portal link and audit trail.

import { h, mount, when, badge, field, toast, slaBadge } from "../dom.js";
import { api, session } from "../api.js";
import { site } from "../main.js";
import { STATUSES, PRIORITIES, choices } from "./filters.js";

/** Fills `sidebar` for `ticket`. `act` holds {agents, update(body, path,
 * method), refresh(), follow(on), assignMe(), merge(), openOther(event, id)}. Keeps focus on the control
 * that had it (by id) across re-renders. */
export function renderSidebar(sidebar, ticket, act) {
  const id = ticket.id;
  const focused = sidebar.contains(document.activeElement) ? document.activeElement.id : null;
  const select = (name, label, options, current, onchange) => {
    const el = h("select", { name, id: `side-${name}` },
      options.map(([value, text]) => h("option", { value, selected: String(current ?? "") === String(value) }, text)));
    el.addEventListener("change", () => onchange(el.value));
    return field(label, el);
  };
  const tags = h("input", { name: "tags", value: (ticket.tags || []).join(", "), id: "side-tags" });
  tags.addEventListener("change", () => act.update({ tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean) }));
  const post = (action) => act.update(undefined, `/api/v1/tickets/${id}/${action}`, "POST");
  const mine = ticket.assignee && ticket.assignee.id === session.user.id;
  const closed = ticket.status === "closed";
  const portalOut = h("div");
  mount(sidebar,
    h("h2", {}, `#${id}`),
    h("div", { class: "meta" }, badge("status", ticket.status), " ", badge("priority", ticket.priority), " ", h("span", { class: "muted" }, `via ${ticket.channel}`)),
    ticket.sla ? h("div", { class: "meta", id: "side-sla" }, slaBadge(ticket), " ",
      h("span", { class: "muted" }, `first response by ${new Date(ticket.sla.first_response_due_at).toLocaleString()}${ticket.sla.first_response_breached ? " (missed)" : ""}; `,
        `resolution by ${new Date(ticket.sla.resolution_due_at).toLocaleString()}${ticket.sla.resolution_breached ? " (missed)" : ""}${ticket.sla.paused ? ", paused" : ""}`)) : null,
    ticket.rating ? h("div", { class: "meta", id: "side-rating" }, `Rated ${ticket.rating.score}`,
      ticket.rating.comment ? h("q", {}, ` ${ticket.rating.comment}`) : null) : null,
    h("div", { class: "links side-actions" },
      ticket.status === "resolved" || closed
        ? h("button", { type: "button", id: "reopen", onclick: () => post("reopen") }, "Reopen")
        : h("button", { type: "button", id: "resolve", onclick: () => post("resolve") }, "Resolve"),
      !closed ? h("button", {
        type: "button", id: "close-ticket",
        onclick: () => { if (confirm(`Close ticket #${id}?`)) post("close"); },
      }, "Close") : null,
      !mine ? h("button", { type: "button", id: "assign-me", title: "Assign to me  ( a )", onclick: act.assignMe }, "Assign to me") : null,
      h("button", {
        type: "button", id: "follow", "aria-describedby": "follow-state", onclick: () => act.follow(!ticket.following),
      }, ticket.following ? "Unfollow" : "Follow"),
      !ticket.merged_into ? h("button", { type: "button", id: "merge", "aria-haspopup": "dialog", onclick: act.merge }, "Merge into…") : null),
    h("p", { class: "muted small", id: "follow-state" }, ticket.following
      ? "You follow this ticket: its new messages reach you."
      : "Not following: follow to get its new messages."),
    select("status", "Status", STATUSES.map((s) => [s, s.replace("_", " ")]), ticket.status, (v) => {
      if (v === "closed" && !confirm(`Close ticket #${id}?`)) { act.refresh(); return; }
      act.update({ status: v });
    }),
    select("priority", "Priority", PRIORITIES.map((p) => [p, p]), ticket.priority, (v) => act.update({ priority: v })),
    select("assignee", "Assignee", [["", "Unassigned"], ...act.agents.map((a) => [a.id, a.name])], ticket.assignee?.id,
      (v) => act.update({ assignee_id: v ? Number(v) : null }, `/api/v1/tickets/${id}/assign`, "POST")),
    field("Tags (comma separated)", tags),
    select("category", "Category", [["", "—"], ...choices(site.settings.categories, ticket.category)], ticket.category,
      (v) => act.update({ category: v || null })),
    select("type", "Type", [["", "—"], ...choices(site.settings.types, ticket.type)], ticket.type,
      (v) => act.update({ type: v || null })),
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
    h("details", { id: "history", ontoggle: (e) => { if (e.target.open) loadHistory(e.target, id); } }, h("summary", {}, "Show the audit trail")));
  if (focused) (document.getElementById(focused) || sidebar.querySelector("#follow"))?.focus();
  loadOthers(sidebar, ticket, act);
}

async function loadOthers(sidebar, ticket, act) {
  try {
    const page = await api("GET", `/api/v1/tickets?requester_id=${ticket.requester.id}&per_page=5`);
    const others = page.items.filter((t) => t.id !== ticket.id);
    const box = sidebar.querySelector("#other-tickets");
    if (box && others.length) {
      mount(box, h("h3", {}, "Their other tickets"),
        h("ul", {}, others.map((t) => h("li", {}, h("a", { href: `/tickets/${t.id}`, onclick: (e) => act.openOther(e, t.id) }, `#${t.id} ${t.subject}`), " ", badge("status", t.status)))));
    }
  } catch { /* optional */ }
}

/** Who did it: the person's name, else the API key, else nothing. */
function actor(e) {
  if (e.actor_name) return `by ${e.actor_name}`;
  if (e.actor_id) return `by user ${e.actor_id}`;
  if (e.api_key_id) return `by API key ${e.api_key_id}`;
  return "";
}

async function loadHistory(details, id) {
  let page;
  try {
    page = await api("GET", `/api/v1/tickets/${id}/events?per_page=100`);
  } catch (err) {
    mount(details, h("summary", {}, "Show the audit trail"), h("p", { class: "error", role: "alert" }, err.message));
    return;
  }
  mount(details, h("summary", {}, "Hide the audit trail"), h("ul", { class: "history" }, page.items.map((e) => h("li", {},
    h("strong", {}, e.action), " ", when(e.at), " ",
    h("span", { class: "muted" }, actor(e))))));
}
