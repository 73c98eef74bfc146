// A signed-in customer: their tickets, a new ticket, one conversation (live).

import { h, mount, when, badge, field, values, showProblem } from "../dom.js";
import { api } from "../api.js";
import { chat } from "../live.js";
import { go, site } from "../main.js";
import { addMessage } from "./conversation.js";
import { attachments, withAttachments, bearer } from "../files.js";

/** Signed in, a message's files are fetched with the access token. */
const SHOW = { headers: bearer };

export function list() {
  return async (main) => {
    const page = await api("GET", "/api/v1/tickets?per_page=50&sort=-updated_at");
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
    mount(form,
      ...field("Subject", h("input", { name: "subject", required: true, maxlength: 200 })),
      ...field("How can we help?", body),
      files.element,
      h("div", { class: "links" }, send),
      message);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (files.busy()) return;
      // Picked by name: the form also holds the (emptied) file input.
      const { subject, body: text } = values(form, true);
      try {
        const ticket = await api("POST", "/api/v1/tickets", withAttachments({ subject, body: text }, files));
        files.clear();
        go(`/tickets/${ticket.id}`);
      } catch (err) { showProblem(message, err); }
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
      mount(main, h("div", { class: "empty error" }, e.message));
      return null;
    }
    const messages = h("div", { class: "messages", id: "messages" });
    for (const m of ticket.messages) addMessage(messages, m, SHOW);
    const statusLine = h("div", { class: "meta", id: "ticket-status" }, badge("status", ticket.status));
    const typing = h("div", { class: "presence", "aria-live": "polite" });
    const room = chat(Number(id), (frame) => {
      if (frame.type === "message") addMessage(messages, frame.message, SHOW);
      else if (frame.type === "typing" && frame.typing.user) {
        typing.textContent = `${frame.typing.user.name} is typing…`;
        setTimeout(() => { typing.textContent = ""; }, 4000);
      } else if (frame.type === "ticket") mount(statusLine, badge("status", frame.ticket.status));
    }, async () => {
      const fresh = await api("GET", `/api/v1/tickets/${id}`);
      for (const m of fresh.messages) addMessage(messages, m, SHOW);
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
      try {
        addMessage(messages, await api("POST", `/api/v1/tickets/${id}/messages`, withAttachments({ body: text.value }, files)), SHOW);
        text.value = "";
        files.clear();
        message.textContent = "";
      } catch (err) { showProblem(message, err); }
    });
    mount(main, h("div", { class: "page" },
      h("p", {}, h("a", { href: "/my" }, "← My tickets")),
      h("h1", { id: "ticket-subject" }, ticket.subject), statusLine, typing, messages,
      ticket.status === "closed" ? h("p", { class: "muted" }, "This ticket is closed. Open a new one to ask something else.") : form));
    return () => { room.close(); files.clear(); };
  };
}
