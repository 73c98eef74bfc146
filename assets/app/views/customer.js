// A signed-in customer: their tickets, a new ticket, one conversation (live).

import { h, mount, when, badge, field, values, showProblem, clearProblem } from "../dom.js";
import { api } from "../api.js";
import { chat } from "../live.js";
import { go, site } from "../main.js";
import { addMessage } from "./conversation.js";
import { attachments, withAttachments, bearer } from "../files.js";

/** Signed in, a message's files are fetched with the access token. */
const SHOW = { headers: bearer };

export function list() {
  return async (main) => {
    let page;
    try {
      page = await api("GET", "/api/v1/tickets?per_page=50&sort=-updated_at");
    } catch (e) {
      mount(main, h("div", { class: "page" }, h("h1", {}, "My tickets"), h("p", { class: "error", role: "alert" }, e.message)));
      return;
    }
    mount(main, h("div", { class: "page" },
      h("div", { class: "toolbar" }, h("h1", {}, "My tickets"), h("a", { class: "button primary", href: "/my/new" }, "New ticket")),
      page.items.length === 0
        ? h("div", { class: "empty" }, "You have no tickets yet. ", h("a", { href: "/my/new" }, "Ask us something"), ".")
        : h("ul", { class: "list", id: "my-tickets" }, page.items.map((t) => h("li", {},
          h("a", { href: `/tickets/${t.id}` },
            h("span", { class: "subject" }, `#${t.id} ${t.subject}`),
            h("span", { class: "meta" }, badge("status", t.status), when(t.updated_at))))))));
  };
}

export function create() {
  return (main) => {
    const message = h("div", { "aria-live": "polite" });
    const body = h("textarea", { name: "body", required: true });
    const send = h("button", { class: "primary", type: "submit" }, "Send");
    const form = h("form", { id: "new-ticket" });
    const files = attachments({ uploadUrl: "/api/v1/uploads", headers: bearer, textarea: body, zone: form, onchange: () => { send.disabled = files.busy(); } });
    // The help desk's categories and types, when it has any: optional choices.
    const choice = (name, label, options) => (Array.isArray(options) && options.length
      ? field(label, h("select", { name, id: `new-ticket-${name}` },
        h("option", { value: "" }, "Not sure / none"),
        options.map((o) => h("option", { value: o }, o))))
      : null);
    mount(form,
      ...field("Subject", h("input", { name: "subject", required: true, maxlength: 200 })),
      choice("category", "Category (optional)", site.settings.categories),
      choice("type", "Type (optional)", site.settings.types),
      ...field("How can we help?", body),
      files.element,
      h("div", { class: "links" }, send),
      message);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (files.busy()) return;
      // Picked by name: the form also holds the (emptied) file input.
      const { subject, body: text, category, type } = values(form, true);
      const request = { subject, body: text };
      if (category) request.category = category;
      if (type) request.type = type;
      clearProblem(message, form);
      try {
        const ticket = await api("POST", "/api/v1/tickets", withAttachments(request, files));
        files.clear();
        go(`/tickets/${ticket.id}`);
      } catch (err) { showProblem(message, err, form); }
    });
    mount(main, h("div", { class: "page" }, h("h1", {}, `Contact ${site.name}`), form));
    return () => files.clear();
  };
}

export function ticket([id]) {
  return async (main) => {
    let ticket;
    try {
      ticket = await api("GET", `/api/v1/tickets/${id}`);
    } catch (e) {
      mount(main, h("div", { class: "page" }, h("h1", {}, e.status === 404 ? "Ticket not found" : "This ticket could not be loaded"),
        h("p", { class: "error" }, e.message), h("p", {}, h("a", { href: "/my" }, "← My tickets"))));
      return null;
    }
    const messages = h("div", { class: "messages", id: "messages" });
    for (const m of ticket.messages) addMessage(messages, m, SHOW);
    const statusLine = h("div", { class: "meta", id: "ticket-status" }, badge("status", ticket.status));
    const typing = h("div", { class: "presence", "aria-live": "polite", id: "typing" });
    // "… is typing": until that person's message arrives, or 4 s without a new signal.
    let typingUser = null;
    let typingTimer = null;
    const stopTyping = () => {
      clearTimeout(typingTimer);
      typingUser = null;
      typing.textContent = "";
    };
    const arrived = (m) => {
      addMessage(messages, m, SHOW);
      if (typingUser !== null && m.author && m.author.id === typingUser) stopTyping();
    };
    const closedNote = h("p", { class: "muted closed-notice", id: "ticket-closed", hidden: true },
      "This ticket is closed. Open a new one to ask something else.");
    const room = chat(Number(id), (frame) => {
      if (frame.type === "message") arrived(frame.message);
      else if (frame.type === "typing" && frame.typing.user) {
        typingUser = frame.typing.user.id;
        typing.textContent = `${frame.typing.user.name} is typing…`;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(stopTyping, 4000);
      } else if (frame.type === "ticket" && frame.ticket) {
        mount(statusLine, badge("status", frame.ticket.status));
        showClosed(frame.ticket.status === "closed");
      }
    }, async () => {
      const fresh = await api("GET", `/api/v1/tickets/${id}`);
      for (const m of fresh.messages) arrived(m);
      mount(statusLine, badge("status", fresh.status));
      showClosed(fresh.status === "closed");
    });
    const text = h("textarea", { name: "body", "aria-label": "Your reply", id: "reply", placeholder: "Write a reply…" });
    const message = h("div", { "aria-live": "polite" });
    const send = h("button", { class: "primary", type: "submit", id: "send" }, "Send");
    const form = h("form", { class: "composer" });
    const files = attachments({ uploadUrl: "/api/v1/uploads", headers: bearer, textarea: text, zone: form, onchange: () => { send.disabled = files.busy(); } });
    mount(form, text, files.element, h("div", { class: "row" }, send), message);
    let typingSent = 0;
    text.addEventListener("input", () => {
      if (Date.now() - typingSent > 2500) { typingSent = Date.now(); room.send({ type: "typing" }); }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (files.busy() || (!text.value.trim() && !files.ids().length)) return;
      clearProblem(message, form);
      try {
        addMessage(messages, await api("POST", `/api/v1/tickets/${id}/messages`, withAttachments({ body: text.value }, files)), SHOW);
        text.value = "";
        files.clear();
      } catch (err) { showProblem(message, err, form); }
    });
    // Closed (now, or while the page is open): no reply box, a notice instead.
    function showClosed(closed) {
      if (closed && !form.hidden) clearProblem(message, form);
      form.hidden = closed;
      closedNote.hidden = !closed;
    }
    showClosed(ticket.status === "closed");
    mount(main, h("div", { class: "page" },
      h("p", {}, h("a", { href: "/my" }, "← My tickets")),
      h("h1", { id: "ticket-subject" }, ticket.subject), statusLine, typing, messages, closedNote, form));
    return () => { room.close(); files.clear(); clearTimeout(typingTimer); };
  };
}
