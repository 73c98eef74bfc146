// A portal link: the ticket(s) it opens, a reply box, no account needed.

import { h, mount, badge, showProblem } from "../dom.js";
import { anon } from "../api.js";
import { site } from "../main.js";
import { addMessage } from "./conversation.js";
import { attachments, withAttachments } from "../files.js";

export function view([token]) {
  return async (main) => {
    const base = `/api/v1/portal/${encodeURIComponent(token)}`;
    let data;
    try {
      data = await anon("GET", base);
    } catch {
      mount(main, h("main", { class: "narrow" }, h("h1", {}, site.name),
        h("p", { class: "error" }, "This link is invalid or has expired. Ask us for a new one, or reply to our last email.")));
      return;
    }
    const [ticket, ...others] = data.tickets;
    const messages = h("div", { class: "messages", id: "messages" });
    for (const m of ticket.messages) addMessage(messages, m);
    const text = h("textarea", { name: "body", "aria-label": "Your reply", id: "reply", placeholder: "Write a reply…" });
    const message = h("div", { "aria-live": "polite" });
    const send = h("button", { class: "primary", type: "submit", id: "send" }, "Send");
    const form = h("form", { class: "composer" });
    // The link's token is in the upload and download paths: no header needed.
    const files = attachments({ uploadUrl: `${base}/uploads`, textarea: text, zone: form, onchange: () => { send.disabled = files.busy(); } });
    mount(form, text, files.element, h("div", { class: "row" }, send), message);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (files.busy() || (!text.value.trim() && !files.ids().length)) return;
      try {
        addMessage(messages, await anon("POST", `${base}/messages`, withAttachments({ body: text.value }, files)));
        text.value = "";
        files.clear();
        message.textContent = "";
      } catch (err) { showProblem(message, err); }
    });
    mount(main, h("div", { class: "page" },
      h("p", { class: "muted" }, site.name),
      h("h1", { id: "ticket-subject" }, `#${ticket.id} ${ticket.subject}`),
      h("div", { class: "meta" }, badge("status", ticket.status)),
      messages,
      ticket.status === "closed" ? h("p", { class: "muted" }, "This ticket is closed.") : form,
      others.length ? [h("h3", {}, "Your other requests"), h("ul", {}, others.map((t) => h("li", {}, `#${t.id} ${t.subject} `, badge("status", t.status))))] : null));
    return () => files.clear();
  };
}
