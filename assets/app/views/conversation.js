// A ticket's conversation, shared by the agent, customer and portal pages.

import { h, when } from "../dom.js";
import { attachmentList } from "../files.js";

/** One message; `options.headers` fetch its files when signed in (see files.js). */
export function messageView(message, options = {}) {
  const author = message.author ? message.author.name : "System";
  return h("article", {
    class: `message${message.internal ? " internal" : ""}`,
    dataset: { id: message.id },
    "aria-label": message.internal ? "Internal note" : "Message",
  },
  h("header", {},
    h("strong", {}, author),
    message.internal ? h("span", { class: "badge" }, "internal note") : null,
    h("span", {}, `via ${message.channel}`),
    when(message.created_at)),
  messageBody(message),
  attachmentList(message, options));
}

/** The body as the server rendered it from Markdown; the raw text otherwise. */
export function messageBody(message) {
  const body = h("div", { class: "body" });
  if (typeof message.body_html === "string" && message.body_html !== "") {
    // The one place HTML is put in the page: body_html is sanitised by the
    // server (formatting and http/https/mailto links with rel=noopener only).
    body.innerHTML = message.body_html;
    body.classList.add("markdown");
    for (const a of body.querySelectorAll("a[href]")) {
      a.target = "_blank";
      const rel = new Set((a.getAttribute("rel") || "").split(/\s+/).filter(Boolean));
      for (const word of ["noopener", "noreferrer", "nofollow"]) rel.add(word);
      a.setAttribute("rel", [...rel].join(" "));
    }
  } else {
    body.textContent = message.body ?? "";
  }
  return body;
}

/** Appends a message unless it is already shown; keeps the order by id. */
export function addMessage(list, message, options) {
  if (list.querySelector(`[data-id="${message.id}"]`)) return false;
  const el = messageView(message, options);
  const later = [...list.children].find((c) => Number(c.dataset.id) > message.id);
  if (later) list.insertBefore(el, later);
  else list.append(el);
  return true;
}
