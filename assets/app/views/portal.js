// A portal link: the ticket(s) it opens, a reply box, no account needed.
// Live: the link's event stream says when something changed; the page then
// reads the link again and shows new replies, the status and the closed state.

import { h, mount, badge, showProblem, clearProblem } from "../dom.js";
import { anon } from "../api.js";
import { site } from "../main.js";
import { addMessage } from "./conversation.js";
import { attachments, withAttachments } from "../files.js";

const EVENTS = ["ticket.updated", "message.created", "reset"];
/** Errors within this window count together; this many close the stream for a while. */
const ERROR_WINDOW_MS = 60_000;
const ERRORS_BEFORE_BACKOFF = 3;
const FIRST_DELAY_MS = 2_000;
const MAX_DELAY_MS = 60_000;

function invalidLink(main) {
  mount(main, h("main", { class: "narrow" }, h("h1", {}, site.name),
    h("p", { class: "error" }, "This link is invalid or has expired. Ask us for a new one, or reply to our last email.")));
}

export function view([token]) {
  return async (main) => {
    const base = `/api/v1/portal/${encodeURIComponent(token)}`;
    let data;
    try {
      data = await anon("GET", base);
    } catch {
      invalidLink(main);
      return undefined;
    }
    if (!data || !Array.isArray(data.tickets) || data.tickets.length === 0) {
      invalidLink(main);
      return undefined;
    }
    const ticketId = data.tickets[0].id;
    const messages = h("div", { class: "messages", id: "messages" });
    const subject = h("h1", { id: "ticket-subject" });
    const meta = h("div", { class: "meta", id: "ticket-status" });
    const announce = h("div", { class: "sr-only", "aria-live": "polite", id: "portal-live" });
    const closedNote = h("p", { class: "muted closed-notice", id: "ticket-closed", hidden: true }, "This ticket is closed.");
    const expiredNote = h("p", { class: "error", id: "link-expired", role: "alert", hidden: true },
      "This link has expired. Ask us for a new one, or reply to our last email.");
    const othersBox = h("div", { id: "other-tickets" });

    const text = h("textarea", { name: "body", "aria-label": "Your reply", id: "reply", placeholder: "Write a reply…" });
    const message = h("div", { "aria-live": "polite" });
    const send = h("button", { class: "primary", type: "submit", id: "send" }, "Send");
    const form = h("form", { class: "composer", id: "portal-reply" });
    // The link's token is in the upload and download paths: no header needed.
    const files = attachments({ uploadUrl: `${base}/uploads`, textarea: text, zone: form, onchange: () => { send.disabled = files.busy(); } });
    mount(form, text, files.element, h("div", { class: "row" }, send), message);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (files.busy() || (!text.value.trim() && !files.ids().length)) return;
      clearProblem(message, form);
      try {
        addMessage(messages, await anon("POST", `${base}/messages`, withAttachments({ body: text.value }, files)));
        text.value = "";
        files.clear();
      } catch (err) { showProblem(message, err, form); }
    });

    let expired = false;
    let lastStatus = null;

    /** Shows what the link opens now: messages (each once), status, closed state. */
    function show(tickets, initial = false) {
      const ticket = tickets.find((t) => t.id === ticketId) || tickets[0];
      const others = tickets.filter((t) => t !== ticket);
      subject.textContent = `#${ticket.id} ${ticket.subject}`;
      mount(meta, badge("status", ticket.status));
      const requester = ticket.requester ? ticket.requester.id : null;
      const added = [];
      for (const m of ticket.messages || []) if (addMessage(messages, m)) added.push(m);
      const replies = added.filter((m) => !m.author || m.author.id !== requester);
      const closed = ticket.status === "closed";
      const news = [];
      if (!initial && replies.length) {
        const last = replies[replies.length - 1];
        news.push(`New reply from ${last.author ? last.author.name : site.name}.`);
      }
      if (!initial && lastStatus && lastStatus !== ticket.status) {
        news.push(closed ? "This ticket was closed." : `Status: ${ticket.status.replace("_", " ")}.`);
      }
      if (news.length) announce.textContent = news.join(" ");
      lastStatus = ticket.status;
      // What was shown for the old state goes: the reply box's errors once
      // it closes, the closed notice once it opens again.
      if (closed && !form.hidden) clearProblem(message, form);
      form.hidden = closed || expired;
      closedNote.hidden = !closed || expired;
      mount(othersBox, others.length
        ? [h("h2", {}, "Your other requests"), h("ul", {}, others.map((t) => h("li", {}, `#${t.id} ${t.subject} `, badge("status", t.status))))]
        : null);
    }

    // ------------------------------------------------------------ live
    let source = null;
    let stopped = false;
    let retryTimer = null;
    let pending = null;
    let delay = FIRST_DELAY_MS;
    let errors = [];
    let fetching = false;
    let again = false;

    /** The link no longer opens anything: no more updates, no reply box. */
    function expire() {
      expired = true;
      stop();
      clearProblem(message, form);
      form.hidden = true;
      closedNote.hidden = true;
      expiredNote.hidden = false;
    }

    async function refetch() {
      if (fetching) { again = true; return; }
      fetching = true;
      try {
        do {
          again = false;
          try {
            const fresh = await anon("GET", base);
            if (stopped) return;
            if (fresh && Array.isArray(fresh.tickets) && fresh.tickets.length) show(fresh.tickets);
            else expire();
          } catch (err) {
            if (stopped) return;
            if ([401, 403, 404, 410].includes(err.status)) expire();
            // Otherwise (busy, offline): the next event or reconnection tries again.
          }
        } while (again && !stopped);
      } finally { fetching = false; }
    }

    /** Several events in a row make one request. */
    const schedule = () => {
      clearTimeout(pending);
      pending = setTimeout(refetch, 150);
    };

    function connect() {
      if (stopped) return;
      let openedAt = 0;
      const stream = new EventSource(`${base}/events`);
      source = stream;
      // (Re)connected: catch up with what happened while there was no stream.
      stream.onopen = () => { openedAt = Date.now(); schedule(); };
      for (const kind of EVENTS) stream.addEventListener(kind, schedule);
      stream.onerror = () => {
        if (stopped || source !== stream) return;
        const now = Date.now();
        // A stream that ran for a while before it ended was fine: start counting anew.
        if (openedAt && now - openedAt > ERROR_WINDOW_MS) { errors = []; delay = FIRST_DELAY_MS; }
        errors = errors.filter((t) => now - t < ERROR_WINDOW_MS);
        errors.push(now);
        // The browser reconnects by itself; when it gave up, or the stream keeps
        // failing, close it and try again later, a little later each time.
        if (stream.readyState === EventSource.CLOSED || errors.length >= ERRORS_BEFORE_BACKOFF) {
          stream.close();
          source = null;
          errors = [];
          refetch(); // An expired link stops everything here.
          clearTimeout(retryTimer);
          retryTimer = setTimeout(connect, delay);
          delay = Math.min(delay * 2, MAX_DELAY_MS);
        }
      };
    }

    function stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(pending);
      if (source) { source.close(); source = null; }
    }

    show(data.tickets, true);
    mount(main, h("main", { class: "page", id: "main" },
      h("p", { class: "muted" }, site.name),
      subject,
      meta,
      announce,
      messages,
      closedNote,
      expiredNote,
      form,
      othersBox));
    if (typeof EventSource === "function") connect();
    return () => { stop(); files.clear(); };
  };
}
