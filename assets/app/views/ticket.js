// The open ticket in the agent workspace: its conversation (live), the
// composer with saved replies, and the sidebar. Opening it marks it read.

import { h, mount, showProblem, clearProblem, toast } from "../dom.js";
import { api, session } from "../api.js";
import { chat } from "../live.js";
import { addMessage } from "./conversation.js";
import { attachments, withAttachments, bearer } from "../files.js";
import { renderSidebar } from "./sidebar.js";
import { savedReplies } from "./picker.js";
import { mergeDialog } from "./merge.js";
import { submitOnCtrlEnter } from "./keys.js";
import { similarPanel, suggestButton } from "./suggest.js";

/** Ticket `id` in `pane`. `ctx`: {agents, changed() (reload list and counts),
 * current() (still wanted?), open(id) (show another ticket)}.
 * Returns {close, compose(note), assignMe} or null. */
export async function ticketPage(pane, id, ctx) {
  let ticket;
  try {
    ticket = await api("GET", `/api/v1/tickets/${id}`);
  } catch (e) {
    if (ctx.current()) mount(pane, h("div", { class: "empty error" }, e.message));
    return null;
  }
  if (!ctx.current()) return null;
  const me = session.user.id;
  const messages = h("div", { class: "messages", id: "messages" });
  // Signed in, a message's files are fetched with the access token.
  const show = { headers: bearer };
  for (const m of ticket.messages) addMessage(messages, m, show);
  const viewers = h("span", {});
  const typist = h("span", { class: "typing" });
  const presence = h("div", { class: "presence", "aria-live": "polite", id: "presence" }, viewers, " ", typist);
  const notice = h("div", {});
  const details = h("div", { id: "side-details" });
  const text = h("textarea", { name: "body", "aria-label": "Reply", placeholder: "Write a reply…  ( r )", id: "reply" });
  const internal = h("input", { type: "checkbox", name: "internal", id: "internal-note" });
  const status = h("div", { "aria-live": "polite" });
  const send = h("button", { class: "primary", type: "submit", id: "send", title: "Send  ( Ctrl+Enter )" }, "Send");
  const composer = h("form", { class: "composer", id: "reply-form", "aria-label": "Reply" });
  // One set of files for either kind: they go with whichever is sent.
  const files = attachments({ uploadUrl: "/api/v1/uploads", headers: bearer, textarea: text, zone: composer, onchange: () => { send.disabled = files.busy(); } });
  const picker = savedReplies({ textarea: text, ticketId: id });
  const suggest = suggestButton(id, text, status);
  const sidebar = h("aside", { class: "sidebar", "aria-label": "Ticket details" }, details, similarPanel(id, text));
  mount(composer, text, picker.popup, files.element,
    h("div", { class: "row" },
      h("label", { class: "inline", for: "internal-note" }, internal, "Internal note (agents only)  ( n )"),
      picker.button,
      suggest.button,
      send),
    status);
  submitOnCtrlEnter(text, composer);
  internal.addEventListener("change", () => {
    composer.classList.toggle("note", internal.checked);
    text.placeholder = internal.checked ? "Write an internal note…" : "Write a reply…";
  });

  // Read: now, and again when a message arrives while the agent looks at it.
  let unseen = false;
  async function markSeen() {
    if (document.hidden) { unseen = true; return; }
    unseen = false;
    try { await api("POST", `/api/v1/tickets/${id}/seen`); } catch { return; }
    ctx.changed();
  }
  const visible = () => { if (!document.hidden && unseen) markSeen(); };
  document.addEventListener("visibilitychange", visible);

  let typingTimer = null;
  const stopTyping = () => { clearTimeout(typingTimer); typist.textContent = ""; };
  let typingSent = 0;
  const room = chat(id, (frame) => {
    if (frame.type === "message") {
      // Whoever was typing has sent it (or someone else wrote): not typing now.
      stopTyping();
      if (addMessage(messages, frame.message, show) && frame.message.author?.id !== me) markSeen();
    } else if (frame.type === "presence") {
      const others = frame.presence.viewers.filter((v) => v.id !== me);
      viewers.textContent = others.length ? `Also viewing: ${others.map((v) => v.name).join(", ")}` : "";
    } else if (frame.type === "typing" && frame.typing.user) {
      typist.textContent = `${frame.typing.user.name} is typing…`;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(stopTyping, 4000);
    } else if (frame.type === "ticket") {
      // Who follows and what is unread is the caller's own: kept from here.
      const { following, unread, ...rest } = frame.ticket || {};
      ticket = { ...ticket, ...rest };
      refresh();
    }
  }, async () => {
    // Back after a disconnection: add what was written meanwhile (the next
    // reconnection tries again when this fails).
    try {
      const fresh = await api("GET", `/api/v1/tickets/${id}`);
      for (const m of fresh.messages) addMessage(messages, m, show);
    } catch { /* shown on the next reconnection or reload */ }
  });
  text.addEventListener("input", () => {
    if (Date.now() - typingSent > 2500) { typingSent = Date.now(); room.send({ type: "typing", note: internal.checked }); }
  });
  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (files.busy() || (!text.value.trim() && !files.ids().length)) return;
    send.disabled = true;
    try {
      const message = await api("POST", `/api/v1/tickets/${id}/messages`, withAttachments({ body: text.value, internal: internal.checked }, files));
      addMessage(messages, message, show);
      text.value = "";
      files.clear();
      clearProblem(status, composer);
      ctx.changed();
    } catch (err) { showProblem(status, err, composer); }
    finally { send.disabled = files.busy(); }
  });

  async function update(body, path = `/api/v1/tickets/${id}`, method = "PATCH") {
    try {
      const { following, unread, ...rest } = (await api(method, path, body)) || {};
      ticket = { ...ticket, ...rest };
      refresh();
      ctx.changed();
    } catch (err) { toast(err.message); refresh(); }
  }

  const act = {
    agents: ctx.agents,
    update,
    refresh: () => refresh(),
    async follow(on) {
      try {
        await api(on ? "PUT" : "DELETE", `/api/v1/tickets/${id}/follow`);
        ticket = { ...ticket, following: on };
        refresh();
        toast(on ? `Following #${id}.` : `No longer following #${id}.`);
        ctx.changed();
      } catch (err) { toast(err.message); }
    },
    assignMe: () => {
      if (ticket.assignee?.id === me) return;
      update({ assignee_id: me }, `/api/v1/tickets/${id}/assign`, "POST");
    },
    merge: () => mergeDialog(ticket, { merged: (into) => { ctx.changed(); ctx.open(into); } }),
    openOther: (e, other) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      ctx.open(other);
    },
  };

  function refresh() {
    renderSidebar(details, ticket, act);
    mount(notice, ticket.merged_into
      ? h("p", { class: "notice", id: "merged-notice", role: "status" }, "Merged into ",
        h("a", { href: `/tickets/${ticket.merged_into}`, onclick: (e) => act.openOther(e, ticket.merged_into) }, `#${ticket.merged_into}`),
        ". New replies to this ticket land there.")
      : null);
  }

  refresh();
  mount(pane, h("div", { class: "ticket" },
    h("div", { class: "conversation" },
      h("p", {}, h("a", { href: `/inbox${location.search}`, class: "back" }, "← Back to the list")),
      notice,
      h("h1", { id: "ticket-subject" }, ticket.subject),
      presence, messages, composer),
    sidebar));
  markSeen();
  return {
    close() {
      room.close();
      files.clear();
      picker.destroy();
      suggest.stop();
      clearTimeout(typingTimer);
      document.removeEventListener("visibilitychange", visible);
    },
    compose(note) {
      internal.checked = note;
      internal.dispatchEvent(new Event("change"));
      text.focus();
    },
    assignMe: act.assignMe,
  };
}
