// "Merge into…": find the ticket that continues, see what will happen (and a
// warning when the two customers differ), then merge.

import { h, mount, badge, field, toast, showProblem } from "../dom.js";
import { api } from "../api.js";
import { openDialog, closeDialog } from "./dialog.js";

/** Why a ticket cannot take `source`'s messages, or null. */
function refusal(source, t) {
  if (t.id === source.id) return "this ticket";
  if (t.merged_into) return `merged into #${t.merged_into}`;
  if (t.status === "closed") return "closed";
  return null;
}

/** Opens the dialog for `source`; `merged(targetId)` after the merge. */
export function mergeDialog(source, { merged }) {
  const search = h("input", { type: "search", id: "merge-search", autocomplete: "off", placeholder: "Subject, words, or #123" });
  const results = h("ul", { class: "merge-results", id: "merge-results", "aria-label": "Tickets to merge into" });
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const summary = h("div", { id: "merge-summary" });
  const problem = h("div");
  const confirmButton = h("button", { type: "button", class: "primary", id: "merge-confirm", disabled: true }, "Merge");
  let target = null;
  let found = [];
  let timer = null;
  let seq = 0;
  let dialog = null;

  async function find(query) {
    const mine = ++seq;
    const q = query.trim();
    const byId = q.match(/^#?(\d+)$/);
    status.textContent = "Searching…";
    const list = (params) => api("GET", `/api/v1/tickets?${new URLSearchParams({ per_page: 10, ...params })}`).then((p) => p.items, () => []);
    const [exact, matches] = await Promise.all([
      byId ? api("GET", `/api/v1/tickets/${byId[1]}`).catch(() => null) : null,
      q ? list({ q: byId ? byId[1] : q }) : list({ requester_id: source.requester.id }),
    ]);
    if (mine !== seq) return;
    found = [exact, ...matches].filter(Boolean).filter((t, i, all) => all.findIndex((o) => o.id === t.id) === i);
    status.textContent = found.length ? (q ? "" : `Tickets from ${source.requester.name}:`) : q ? "No ticket matches." : "Search for the ticket to keep.";
    show();
  }

  function show() {
    mount(results, found.map((t) => {
      const why = refusal(source, t);
      return h("li", {}, h("button", {
        type: "button", class: "merge-option", disabled: Boolean(why), "aria-pressed": String(target?.id === t.id),
        onclick: () => pick(t),
      },
      h("span", { class: "subject" }, `#${t.id} ${t.subject}`),
      h("span", { class: "meta" }, badge("status", t.status), h("span", {}, t.requester?.name || ""),
        why ? h("span", { class: "muted" }, `(${why})`) : null)));
    }));
  }

  function pick(t) {
    target = t;
    show();
    const count = source.message_count ?? source.messages?.length ?? 0;
    const differ = t.requester?.id !== source.requester.id;
    mount(summary,
      h("h3", {}, "What happens"),
      h("p", {}, `#${source.id} “${source.subject}” will be closed, and its ${count} message${count === 1 ? "" : "s"} will move to `
        + `#${t.id} “${t.subject}”. Later replies to #${source.id} will land on #${t.id}.`),
      differ ? h("p", { class: "warning", id: "merge-warning", role: "alert" },
        h("strong", {}, "Different customers. "),
        `#${source.id} is from ${source.requester.name} (${source.requester.email}), #${t.id} from ${t.requester?.name || "someone else"}`
        + `${t.requester?.email ? ` (${t.requester.email})` : ""}. ${source.requester.name}’s messages will arrive on #${t.id} as internal notes, `
        + "and neither customer sees the other’s conversation.") : null);
    confirmButton.disabled = false;
    confirmButton.textContent = `Merge into #${t.id}`;
  }

  confirmButton.addEventListener("click", async () => {
    if (!target) return;
    confirmButton.disabled = true;
    try {
      await api("POST", `/api/v1/tickets/${source.id}/merge`, { into: target.id });
    } catch (err) {
      confirmButton.disabled = false;
      showProblem(problem, err);
      return;
    }
    const into = target.id;
    closeDialog(dialog);
    toast(`Merged #${source.id} into #${into}.`);
    merged(into);
  });
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => find(search.value), 250); });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); clearTimeout(timer); find(search.value); } });

  dialog = openDialog("merge-dialog", `Merge #${source.id} into another ticket`,
    h("p", { class: "muted" }, "The ticket you pick continues; this one closes and its conversation moves there."),
    field("Find the ticket to keep", search),
    status, results, summary, problem,
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", id: "merge-cancel", onclick: () => closeDialog(dialog) }, "Cancel"),
      confirmButton));
  dialog.classList.add("merge-dialog");
  dialog.addEventListener("close", () => { clearTimeout(timer); seq += 1; });
  search.focus();
  find("");
}
