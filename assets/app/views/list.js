// The inbox's ticket list: unread markers, a checkbox per row (shift-click
// for a range, one to select the whole page) and the pager.

import { h, mount, when, badge, slaBadge } from "../dom.js";

/** The selected tickets' ids; `onchange()` after every change. */
export function selection(onchange) {
  const ids = new Set();
  const changed = () => onchange && onchange();
  return {
    ids,
    get size() { return ids.size; },
    has: (id) => ids.has(id),
    toggle(id, on = !ids.has(id)) { if (on) ids.add(id); else ids.delete(id); changed(); },
    set(list) { ids.clear(); for (const id of list) ids.add(id); changed(); },
    clear() { if (ids.size) { ids.clear(); changed(); } },
  };
}

/** Renders pages of tickets into `box`. `href(id)` links a ticket; `paged(n)`
 * moves to page n. Returns {render(page), refresh(), focusRow(id)}. */
export function ticketList(box, { state, picked, href, paged, perPage }) {
  let last = null; // index of the last checkbox clicked, for shift-click ranges
  let page = null;

  function sync() {
    for (const input of box.querySelectorAll("input[data-select]")) {
      const on = picked.has(Number(input.dataset.select));
      input.checked = on;
      input.closest("li")?.classList.toggle("picked", on);
    }
    const all = box.querySelector("#select-all");
    if (all && page) {
      const n = page.items.filter((t) => picked.has(t.id)).length;
      all.checked = n > 0 && n === page.items.length;
      all.indeterminate = n > 0 && n < page.items.length;
    }
  }

  function onCheck(e, index, id) {
    const on = e.target.checked;
    if (e.shiftKey && last !== null && last !== index) {
      const [from, to] = last < index ? [last, index] : [index, last];
      const ids = new Set(picked.ids);
      for (const t of page.items.slice(from, to + 1)) { if (on) ids.add(t.id); else ids.delete(t.id); }
      picked.set(ids);
    } else {
      picked.toggle(id, on);
    }
    last = index;
    sync();
  }

  function row(t, index) {
    const unread = Boolean(t.unread);
    const check = h("input", { type: "checkbox", class: "select", "aria-label": `Select #${t.id}`, dataset: { select: t.id }, checked: picked.has(t.id) });
    check.addEventListener("click", (e) => onCheck(e, index, t.id));
    return h("li", { class: [unread ? "unread" : "", picked.has(t.id) ? "picked" : ""].join(" ").trim() || null },
      h("span", { class: "pick" }, check),
      h("a", { href: href(t.id), class: t.id === state.ticket ? "selected" : null, dataset: { ticket: t.id } },
        h("span", { class: "subject" },
          unread ? h("span", { class: "dot", role: "img", "aria-label": "unread" }) : null,
          `#${t.id} ${t.subject}`),
        h("span", { class: "meta" }, badge("status", t.status), badge("priority", t.priority), slaBadge(t),
          h("span", {}, t.requester.name), t.assignee ? h("span", {}, `→ ${t.assignee.name}`) : h("span", {}, "unassigned"),
          t.following ? h("span", { class: "following", title: "You follow this ticket" }, "following") : null,
          when(t.updated_at))));
  }

  let shown = null;
  function render(next) {
    // A live reload that changed nothing leaves the rows alone: replacing
    // them under the pointer would swallow a click in progress.
    const key = JSON.stringify([next, state.ticket, state.view, state.q, state.filters, state.sort, state.page]);
    if (page && key === shown) { sync(); return; }
    shown = key;
    // Live reloads keep the keyboard where it was (a row, a checkbox, select all).
    const active = document.activeElement;
    const keep = active && box.contains(active)
      ? (active.id === "select-all" ? "#select-all"
        : active.dataset.ticket ? `a[data-ticket="${active.dataset.ticket}"]`
          : active.dataset.select ? `input[data-select="${active.dataset.select}"]` : null)
      : null;
    if (!page || next.page !== page.page) last = null;
    page = next;
    // Past a capped count there are more pages than it says: a full page means go on.
    const more = page.total_capped && page.items.length === perPage;
    const pages = Math.max(1, Math.ceil(page.total / perPage), more ? state.page + 1 : 1);
    const counted = page.total_capped ? `${page.total}+ tickets` : page.total === 1 ? "1 ticket" : `${page.total} tickets`;
    const all = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select all tickets on this page" });
    all.addEventListener("change", () => {
      const ids = new Set(picked.ids);
      for (const t of page.items) { if (all.checked) ids.add(t.id); else ids.delete(t.id); }
      picked.set(ids);
      sync();
    });
    mount(box,
      page.items.length === 0
        ? h("div", { class: "empty" }, state.page > 1 ? "No more tickets." : state.q ? "No ticket matches this search." : "Nothing here. New tickets appear as they arrive.")
        : [
          h("div", { class: "list-head" }, h("span", { class: "pick" }, all),
            h("span", { class: "muted" }, counted)),
          h("ul", { class: "list", id: "ticket-list" }, page.items.map(row)),
        ],
      pages > 1 ? h("div", { class: "pager" },
        h("button", { type: "button", disabled: state.page <= 1, onclick: () => paged(state.page - 1) }, "Previous"),
        h("span", { class: "muted" }, page.total_capped ? `Page ${state.page}` : `Page ${state.page} of ${pages}`),
        h("button", { type: "button", disabled: state.page >= pages, onclick: () => paged(state.page + 1) }, "Next")) : null);
    sync();
    if (keep) box.querySelector(keep)?.focus();
  }

  return {
    render,
    refresh: sync,
    /** Marks the open ticket's row. */
    mark(id) {
      for (const a of box.querySelectorAll("a[data-ticket]")) a.classList.toggle("selected", Number(a.dataset.ticket) === id);
    },
  };
}
