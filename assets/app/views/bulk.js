// The bulk bar: one change to every selected ticket (POST /tickets/bulk),
// shown while at least one ticket is selected. Tickets the server refused
// stay selected, each with the reason.

import { h, mount, showProblem, clearProblem } from "../dom.js";
import { api, session } from "../api.js";
import { STATUSES, PRIORITIES } from "./filters.js";

const tagList = (text) => (text || "").split(",").map((t) => t.trim()).filter(Boolean);

/** `picked` is the list's selection; `done()` reloads after a change.
 * Returns {element, result, update()}: put both elements above the list. */
export function bulkBar({ agents, picked, done }) {
  const count = h("span", { class: "bulk-count", "aria-live": "polite" });
  const pick = (name, label, first, options) => h("select", { name, id: `bulk-${name}`, "aria-label": label },
    h("option", { value: "" }, first), options.map(([value, text]) => h("option", { value }, text)));
  const assignee = pick("assignee", "Assign the selected tickets", "Assign…",
    [["me", "Me"], ["none", "Unassigned"], ...agents.filter((a) => a.id !== session.user.id).map((a) => [a.id, a.name])]);
  const status = pick("status", "Set the status of the selected tickets", "Status…", STATUSES.map((s) => [s, s.replace("_", " ")]));
  const priority = pick("priority", "Set the priority of the selected tickets", "Priority…", PRIORITIES.map((p) => [p, p]));
  const addTags = h("input", { name: "add_tags", id: "bulk-add-tags", placeholder: "Add tag", "aria-label": "Add tags (comma separated)", autocomplete: "off" });
  const removeTags = h("input", { name: "remove_tags", id: "bulk-remove-tags", placeholder: "Remove tag", "aria-label": "Remove tags (comma separated)", autocomplete: "off" });
  const apply = h("button", { type: "submit", class: "primary", id: "bulk-apply" }, "Apply");
  const close = h("button", { type: "button", id: "bulk-close", class: "danger" }, "Close");
  const clear = h("button", { type: "button", id: "bulk-clear" }, "Clear");
  const form = h("form", { id: "bulk-bar", class: "bulk-bar", role: "toolbar", "aria-label": "Change the selected tickets", hidden: true },
    count, assignee, status, priority, addTags, removeTags, apply, close, clear);
  const result = h("div", { id: "bulk-result", class: "bulk-result" });

  function changes() {
    const out = {};
    if (assignee.value === "me") out.assignee_id = session.user.id;
    else if (assignee.value === "none") out.assignee_id = null;
    else if (assignee.value) out.assignee_id = Number(assignee.value);
    if (status.value) out.status = status.value;
    if (priority.value) out.priority = priority.value;
    if (tagList(addTags.value).length) out.add_tags = tagList(addTags.value);
    if (tagList(removeTags.value).length) out.remove_tags = tagList(removeTags.value);
    return out;
  }

  async function send(change) {
    const ids = [...picked.ids];
    if (!ids.length) return;
    if (!Object.keys(change).length) {
      mount(result, h("p", { class: "error", role: "alert" }, "Choose a change first: an assignee, a status, a priority or tags."));
      return;
    }
    if (change.status === "closed" && !confirm(`Close ${ids.length} ticket${ids.length === 1 ? "" : "s"}?`)) return;
    form.setAttribute("aria-busy", "true");
    for (const b of [apply, close]) b.disabled = true;
    const updated = [];
    const failed = [];
    try {
      // The server takes up to 500 at a time.
      for (let i = 0; i < ids.length; i += 500) {
        const answer = await api("POST", "/api/v1/tickets/bulk", { ids: ids.slice(i, i + 500), changes: change });
        updated.push(...(answer.updated || []));
        failed.push(...(answer.failed || []));
      }
    } catch (err) {
      mount(result);
      showProblem(result, err, form);
      return;
    } finally {
      form.removeAttribute("aria-busy");
      for (const b of [apply, close]) b.disabled = false;
    }
    form.reset();
    showResult(updated, failed);
    picked.set(failed.map((f) => f.id));
    done();
  }

  function showResult(updated, failed) {
    clearProblem(result, form);
    result.className = "bulk-result";
    mount(result,
      h("p", { role: "status" }, `Updated ${updated.length} ticket${updated.length === 1 ? "" : "s"}.`),
      failed.length ? h("div", { role: "alert", class: "error" },
        h("p", {}, `${failed.length} could not be changed (still selected):`),
        h("ul", {}, failed.map((f) => h("li", {}, `#${f.id}: ${f.title || "Refused"}${f.detail ? ` — ${f.detail}` : ""}`)))) : null,
      h("button", { type: "button", class: "link-button", onclick: () => mount(result) }, "Dismiss"));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); send(changes()); });
  close.addEventListener("click", () => send({ status: "closed" }));
  clear.addEventListener("click", () => { picked.clear(); form.reset(); });

  return {
    element: form,
    result,
    update() {
      const n = picked.size;
      const hadFocus = form.contains(document.activeElement);
      form.hidden = n === 0;
      count.textContent = `${n} selected`;
      if (hadFocus && n === 0) document.getElementById("search")?.focus();
    },
  };
}
