// Suggested replies on the open ticket: resolved tickets like it with the
// team's answers (a side panel, "Insert this answer"), and a drafted reply
// from the configured model streamed into the reply box ("Suggest a reply",
// Stop). Nothing is sent until the agent presses Send.

import { h, mount } from "../dom.js";
import { api, session, refresh } from "../api.js";

/** Puts `text` at the end of the reply box (after what is there). */
function insert(textarea, text) {
  const before = textarea.value.trimEnd();
  textarea.value = before ? `${before}\n\n${text}` : text;
  textarea.dispatchEvent(new Event("input"));
  textarea.focus();
}

/** The similar tickets panel of ticket `id`. */
export function similarPanel(id, textarea) {
  const list = h("div", { class: "similar-list" }, h("p", { class: "muted" }, "Looking for similar tickets…"));
  const panel = h("section", { class: "similar", id: "similar", "aria-label": "Similar tickets" },
    h("h2", {}, "Similar tickets"), list);
  api("GET", `/api/v1/tickets/${id}/similar`).then((answer) => {
    const items = answer.items || [];
    if (!items.length) {
      mount(list, h("p", { class: "muted" }, "No resolved ticket like this one yet."));
      return;
    }
    mount(list, items.map((s) => h("article", { class: "similar-item" },
      h("a", { href: `/tickets/${s.ticket_id}`, target: "_blank", rel: "noopener" }, `#${s.ticket_id} ${s.subject}`),
      s.answer_excerpt
        ? h("p", { class: "excerpt" }, s.answer_excerpt)
        : h("p", { class: "muted" }, "No public answer on it."),
      s.answer ? h("button", {
        type: "button", class: "link insert-answer",
        "aria-label": `Insert this answer from #${s.ticket_id}`,
        onclick: () => insert(textarea, s.answer),
      }, "Insert this answer") : null)));
  }).catch((e) => mount(list, h("p", { class: "muted" }, e.message)));
  return panel;
}

/** Reads `event:`/`data:` frames from a fetch response body. */
async function* frames(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let at;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      let event = "message";
      let data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trimStart();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

/** The "Suggest a reply" button of ticket `id`; drafts go into `textarea`,
 * what goes wrong into `status`. Returns {button, stop()}. */
export function suggestButton(id, textarea, status) {
  let controller = null;
  const button = h("button", { type: "button", id: "suggest-reply", title: "Draft a reply with the configured model" }, "Suggest a reply");
  const say = (text, error = false) => {
    status.textContent = text;
    status.className = error ? "error" : "muted";
  };
  const idle = () => {
    controller = null;
    button.textContent = "Suggest a reply";
    button.setAttribute("aria-pressed", "false");
  };
  async function open(signal) {
    const go = () => fetch(`/api/v1/tickets/${id}/ai-reply`, {
      headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" },
      signal,
    });
    let res = await go();
    if (res.status === 401 && (await refresh())) res = await go();
    return res;
  }
  async function start() {
    controller = new AbortController();
    button.textContent = "Stop";
    button.setAttribute("aria-pressed", "true");
    say("Drafting a reply…");
    const before = textarea.value.trimEnd();
    const lead = before ? `${before}\n\n` : "";
    let draft = "";
    let ended = false;
    // The box is the draft's while it streams; the agent edits it after.
    textarea.readOnly = true;
    try {
      const res = await open(controller.signal);
      if (!res.ok) {
        const problem = await res.json().catch(() => null);
        say(problem?.detail || `The draft could not start (${res.status}).`, true);
        return;
      }
      for await (const { event, data } of frames(res)) {
        if (event === "delta") {
          draft += data.text;
          textarea.value = lead + draft;
          textarea.scrollTop = textarea.scrollHeight;
        } else if (event === "done") {
          ended = true;
          textarea.value = lead + data.text;
          say("Draft ready: read it, change what you like, then send.");
        } else if (event === "error") {
          ended = true;
          say(data.detail || "The model could not draft a reply.", true);
        }
      }
      if (!ended) say("The draft broke off before it was complete; what came stays in the box.", true);
    } catch (e) {
      if (e.name === "AbortError") say("Stopped. The draft so far stays in the box.");
      else say(`The draft broke off: ${e.message}`, true);
    } finally {
      textarea.readOnly = false;
      textarea.dispatchEvent(new Event("input"));
      idle();
    }
  }
  button.addEventListener("click", () => (controller ? controller.abort() : start()));
  return { button, stop: () => controller?.abort() };
}
