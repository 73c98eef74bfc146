// The inbox's views pane: search, the views with their counts, the filters
// (behind a toggle on phones), new ticket, notifications and shortcut help.
// Built once per visit: reloading the list never replaces the search box.

import { h, mount } from "../dom.js";
import { api, session } from "../api.js";
import { site } from "../main.js";
import { notifySwitch } from "./notify.js";
import { showShortcuts } from "./keys.js";

export const VIEWS = [
  ["mine", "Mine"],
  ["unread", "Unread"],
  ["following", "Following"],
  ["unassigned", "Unassigned"],
  ["open", "All open"],
  ["pending", "Pending"],
  ["resolved", "Resolved"],
];
export const STATUSES = ["open", "in_progress", "pending", "resolved", "closed"];
export const PRIORITIES = ["low", "medium", "high", "urgent"];
const CHANNELS = ["web", "email", "chat", "phone", "api", "portal"];
const OPEN = "open,in_progress,pending";
/** Filters kept in the address, besides the view, search, sort and page. */
export const FILTERS = ["status", "priority", "assignee_id", "tag", "category", "type", "channel", "sla"];

export function viewQuery(view) {
  switch (view) {
    case "mine": return { assignee_id: session.user.id, status: OPEN };
    case "unread": return { unread: "true", status: OPEN };
    case "following": return { following: "true" };
    case "unassigned": return { unassigned: "true", status: OPEN };
    case "pending": return { status: "pending" };
    case "resolved": return { status: "resolved" };
    default: return { status: OPEN };
  }
}

/** Counts per view: the stats, and one-row pages for the caller's own lists. */
export async function countViews() {
  const total = (query) => api("GET", `/api/v1/tickets?${new URLSearchParams({ ...query, per_page: 1 })}`)
    .then((p) => (p.total_capped ? `${p.total}+` : p.total), () => null);
  const [stats, unread, following] = await Promise.all([
    api("GET", "/api/v1/tickets/stats").catch(() => null),
    total(viewQuery("unread")),
    total(viewQuery("following")),
  ]);
  const counts = { unread, following };
  if (stats) {
    const s = stats.by_status || {};
    counts.mine = (stats.by_assignee || []).find((a) => a.assignee_id === session.user.id)?.count ?? 0;
    counts.unassigned = stats.unassigned_open;
    counts.open = (s.open || 0) + (s.in_progress || 0) + (s.pending || 0);
    counts.pending = s.pending;
    counts.resolved = s.resolved;
  }
  return counts;
}

/** Options of a <select>: [value, text] pairs, with `current` kept when the list lacks it. */
export function choices(list, current) {
  const out = (list || []).map((v) => [v, v]);
  if (current && !(list || []).includes(current)) out.push([current, current]);
  return out;
}

/** Fills `nav`; `changed(kind)` after the agent changes the view ("view"),
 * a filter ("filters") or the search ("search"). Returns {setCounts, sync}. */
export function viewsPane(nav, { state, agents, changed, newTicket }) {
  const search = h("input", {
    type: "search", name: "q", value: state.q, id: "search", autocomplete: "off",
    placeholder: "Search tickets  ( / )", "aria-label": "Search tickets",
  });
  let typed = null;
  const runSearch = () => {
    clearTimeout(typed);
    const q = search.value.trim();
    if (q === state.q) return;
    state.q = q;
    state.page = 1;
    changed("search");
  };
  search.addEventListener("input", () => { clearTimeout(typed); typed = setTimeout(runSearch, 300); });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); runSearch(); } });

  const links = VIEWS.map(([key, label]) => h("a", {
    href: `/inbox?view=${key}`,
    dataset: { view: key },
    onclick: (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey) return;
      e.preventDefault();
      state.view = key;
      state.q = "";
      search.value = "";
      state.page = 1;
      changed("view");
    },
  }, h("span", {}, label), h("span", { class: "muted count", dataset: { count: key } }, "")));

  const select = (name, label, options) => {
    const el = h("select", { name, "aria-label": label, id: `filter-${name.replace("_id", "")}` },
      h("option", { value: "" }, `${label}: any`),
      options.map(([value, text]) => h("option", { value, selected: state.filters[name] === String(value) }, text)));
    el.addEventListener("change", () => setFilter(name, el.value));
    return el;
  };
  const setFilter = (name, value) => {
    if (value) state.filters[name] = value; else delete state.filters[name];
    state.page = 1;
    changed("filters");
  };
  const tag = h("input", { name: "tag", placeholder: "Tag", value: state.filters.tag || "", "aria-label": "Tag", id: "filter-tag" });
  tag.addEventListener("change", () => setFilter("tag", tag.value.trim()));
  const sort = h("select", { name: "sort", "aria-label": "Sort", id: "filter-sort" },
    [["-updated_at", "Recently updated"], ["-created_at", "Newest"], ["created_at", "Oldest"], ["-priority", "Priority"], ["status", "Status"], ["due_at", "Due first"]]
      .map(([value, text]) => h("option", { value, selected: state.sort === value }, text)));
  sort.addEventListener("change", () => { state.sort = sort.value; changed("filters"); });

  const body = h("div", { class: "filters filter-body", id: "inbox-filters" },
    select("status", "Status", STATUSES.map((s) => [s, s.replace("_", " ")])),
    select("priority", "Priority", PRIORITIES.map((p) => [p, p])),
    select("assignee_id", "Assignee", agents.map((a) => [a.id, a.name])),
    select("channel", "Channel", CHANNELS.map((c) => [c, c])),
    select("category", "Category", choices(site.settings.categories, state.filters.category)),
    select("type", "Type", choices(site.settings.types, state.filters.type)),
    select("sla", "Service level", [["breached", "overdue"], ["due_soon", "due within the hour"]]),
    tag, sort);
  const toggle = h("button", {
    type: "button", class: "filters-toggle", id: "filters-toggle", "aria-expanded": "false", "aria-controls": "inbox-filters",
  }, "Filters");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    body.classList.toggle("open", open);
  });

  mount(nav,
    h("div", { class: "views-actions" },
      h("button", { type: "button", class: "primary", id: "new-ticket", onclick: newTicket }, "New ticket")),
    h("div", { class: "filters" }, search),
    h("div", { class: "view-links" }, links),
    h("div", { class: "filters-head" }, h("h3", { class: "filters-title" }, "Filters"), toggle),
    body,
    h("div", { class: "views-foot" },
      notifySwitch(),
      h("button", { type: "button", id: "shortcuts-button", class: "link-button", onclick: showShortcuts }, "Keyboard shortcuts  ( ? )")));

  function sync() {
    for (const a of links) a.setAttribute("aria-current", a.dataset.view === state.view && !state.q ? "true" : "false");
    const active = Object.keys(state.filters).length;
    toggle.textContent = active ? `Filters (${active})` : "Filters";
    if (document.activeElement !== search && search.value.trim() !== state.q) search.value = state.q;
  }
  sync();
  return {
    sync,
    /** Drops a search still waiting to run (the page is being left). */
    destroy() { clearTimeout(typed); },
    setCounts(counts) {
      for (const span of nav.querySelectorAll("[data-count]")) {
        const n = counts[span.dataset.count];
        span.textContent = n === null || n === undefined ? "" : String(n);
      }
    },
  };
}
