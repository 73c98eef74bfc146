// Desktop notifications for the agent workspace: off until the agent turns
// them on (the choice is remembered in this browser), never an error when the
// browser has no Notification API or the permission is refused.

import { h, toast } from "../dom.js";
import { api, session } from "../api.js";

const KEY = "helpline.notify";

function supported() {
  try { return typeof window.Notification === "function"; } catch { return false; }
}

function stored() {
  try { return localStorage.getItem(KEY) === "on"; } catch { return false; }
}

function store(on) {
  try { localStorage.setItem(KEY, on ? "on" : "off"); } catch { /* private mode: not remembered */ }
}

/** True when notifications are turned on here and the browser allows them. */
export function notifying() {
  try { return stored() && supported() && Notification.permission === "granted"; } catch { return false; }
}

/** The "Desktop notifications" switch for the views pane. */
export function notifySwitch() {
  const box = h("input", { type: "checkbox", id: "desktop-notifications", checked: notifying() });
  const note = h("span", { class: "muted small", "aria-live": "polite" });
  box.addEventListener("change", async () => {
    if (!box.checked) { store(false); note.textContent = ""; return; }
    if (!supported()) {
      box.checked = false;
      note.textContent = "This browser cannot show notifications.";
      return;
    }
    let permission = "denied";
    try {
      permission = Notification.permission;
      // Asked once: a refused permission is the browser's to change.
      if (permission === "default") permission = await Notification.requestPermission();
    } catch { permission = "denied"; }
    if (permission !== "granted") {
      box.checked = false;
      store(false);
      note.textContent = "Notifications are blocked for this site in the browser settings.";
      return;
    }
    store(true);
    note.textContent = "";
    toast("Desktop notifications are on.");
  });
  return h("div", { class: "notify-switch" },
    h("label", { class: "inline", for: "desktop-notifications" }, box, "Desktop notifications"), note);
}

/** Shows a notification; `onclick` brings the workspace forward. Never throws. */
export function desktopNotify(title, { body = "", tag, onclick } = {}) {
  if (!notifying()) return;
  try {
    const n = new Notification(title, { body: body.length > 160 ? `${body.slice(0, 157)}…` : body, tag });
    n.onclick = () => {
      try { window.focus(); } catch { /* ignore */ }
      if (onclick) onclick();
      n.close();
    };
  } catch { /* some browsers only notify from a service worker */ }
}

/** Notifies about a live event: a new ticket for me (unassigned or mine), or
 * a message on a ticket I follow or am assigned, not written by me, when it
 * is not the ticket in front of me. `ctx`: {openId, items (the list's
 * tickets), open(id), own(id) (tickets I just created myself)}. */
export async function notifyEvent(kind, data, ctx) {
  if (!data || !notifying()) return;
  const me = session.user?.id;
  const elsewhere = (ticketId) => document.hidden || ticketId !== ctx.openId;
  if (kind === "ticket.created") {
    if (ctx.own(data.id) || (data.assignee && data.assignee.id !== me) || !elsewhere(data.id)) return;
    desktopNotify(`New ticket #${data.id}: ${data.subject}`, {
      body: `From ${data.requester?.name || "a customer"}`, tag: `ticket-${data.id}`, onclick: () => ctx.open(data.id),
    });
  } else if (kind === "message.created") {
    const id = data.ticket_id;
    if (!id || (data.author && data.author.id === me) || !elsewhere(id)) return;
    let ticket = ctx.items.find((t) => t.id === id);
    if (!ticket) {
      try { ticket = await api("GET", `/api/v1/tickets/${id}`); } catch { return; }
    }
    if (!ticket.following && ticket.assignee?.id !== me) return;
    const who = data.author ? data.author.name : "System";
    desktopNotify(`#${id} ${ticket.subject}`, {
      body: `${who}${data.internal ? " (internal note)" : ""}: ${String(data.body || "").replace(/\s+/g, " ")}`,
      tag: `message-${data.id}`, onclick: () => ctx.open(id),
    });
  }
}
