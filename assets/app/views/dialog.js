// Modal dialogs for the agent workspace: a <dialog> with a heading and a
// close button, removed from the page when closed; focus goes back to
// whatever opened it.

import { h } from "../dom.js";

/** Opens `<dialog id>` titled `title` holding `content`; returns the element. */
export function openDialog(id, title, ...content) {
  document.getElementById(id)?.remove();
  const opener = document.activeElement;
  const dialog = h("dialog", { id, class: "dialog", "aria-labelledby": `${id}-title` });
  const close = h("button", { type: "button", class: "dialog-x", "aria-label": "Close", onclick: () => closeDialog(dialog) }, "×");
  dialog.append(h("div", { class: "dialog-head" }, h("h2", { id: `${id}-title` }, title), close), ...content.flat().filter(Boolean));
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  if (typeof dialog.showModal === "function") dialog.showModal();
  else dialog.setAttribute("open", "");
  return dialog;
}

export function closeDialog(dialog) {
  if (!dialog) return;
  if (typeof dialog.close === "function" && dialog.open) dialog.close();
  else dialog.remove();
}

/** Closes every open workspace dialog (when the view goes away). */
export function closeDialogs() {
  for (const d of document.querySelectorAll("dialog.dialog")) closeDialog(d);
}
