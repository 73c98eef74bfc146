// Keyboard help for the agent workspace and Ctrl+Enter to send.

import { h } from "../dom.js";
import { openDialog, closeDialog } from "./dialog.js";

/** Every shortcut the workspace has; the help dialog lists these. */
export const SHORTCUTS = [
  ["j / k", "Open the next / previous ticket in the list"],
  ["Enter", "Open the first ticket in the list"],
  ["/", "Search tickets"],
  ["r", "Reply to the open ticket"],
  ["n", "Write an internal note on the open ticket"],
  ["a", "Assign the open ticket to me"],
  ["x", "Select or unselect the ticket, for changing several at once"],
  ["Shift + click", "Select every ticket between two checkboxes"],
  ["/ or #", "At the start of a line in the reply: insert a saved reply"],
  ["Ctrl + Enter  or  ⌘ + Enter", "Send the reply, or the new ticket"],
  ["Esc", "Close a dialog or the saved replies list"],
  ["?", "Show this list"],
];

/** True when the key went to something one types in. */
export function typing(event) {
  const t = event.target;
  if (!(t instanceof Element)) return false;
  // Checkboxes (the list's) take no letters: shortcuts still work there.
  if (t instanceof HTMLInputElement && ["checkbox", "radio", "button", "submit"].includes(t.type)) return false;
  return Boolean(t.closest("input, textarea, select, [contenteditable]"));
}

export function showShortcuts() {
  let dialog = null;
  dialog = openDialog("shortcuts", "Keyboard shortcuts",
    h("dl", { class: "shortcuts" }, SHORTCUTS.map(([keys, what]) => [
      h("dt", {}, keys.split(/(\s+or\s+|\s+\/\s+|\s+\+\s+)/).map((part) =>
        (/^\s/.test(part) ? part : h("kbd", {}, part)))),
      h("dd", {}, what),
    ])),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", class: "primary", onclick: () => closeDialog(dialog) }, "Done")));
  dialog.querySelector(".dialog-actions button")?.focus();
}

/** Ctrl+Enter (⌘+Enter on a Mac) in `textarea` submits `form`. */
export function submitOnCtrlEnter(textarea, form) {
  textarea.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || e.isComposing) return;
    e.preventDefault();
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { cancelable: true }));
  });
}
