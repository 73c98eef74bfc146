// Live updates (Server-Sent Events) and ticket chat (WebSocket), reconnecting
// with a fresh access token when the old one expires.

import { session, refresh } from "./api.js";

const KINDS = ["ticket.created", "ticket.updated", "ticket.assigned", "ticket.deleted",
  "message.created", "presence", "typing", "reset"];

/** Follows events (all tickets, or one); `onEvent(kind, data)`. Returns {close}. */
export function follow(ticketId, onEvent) {
  let source = null;
  let lastId = null;
  let closed = false;
  let retry = 1000;

  function open() {
    if (closed || !session.token) return;
    const params = new URLSearchParams({ token: session.token });
    if (ticketId) params.set("ticket_id", ticketId);
    if (lastId) params.set("last_event_id", lastId);
    source = new EventSource(`/api/v1/events?${params}`);
    source.onopen = () => { retry = 1000; };
    for (const kind of KINDS) {
      source.addEventListener(kind, (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        if (kind === "reset") lastId = null;
        let data = null;
        try { data = JSON.parse(event.data); } catch { data = null; }
        onEvent(kind, data);
      });
    }
    source.onerror = () => {
      // The stream ended (token expired, server restarting): reconnect fresh.
      source.close();
      if (closed) return;
      setTimeout(async () => { await refresh(); open(); }, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  open();
  return { close() { closed = true; if (source) source.close(); } };
}

/** Joins a ticket's chat: `onFrame(frame)` for each frame; `onReconnect()`
 * after a reconnection, to fetch what was said meanwhile. Returns {send, close}. */
export function chat(ticketId, onFrame, onReconnect) {
  let socket = null;
  let closed = false;
  let retry = 1000;
  let opened = false;
  const queue = [];

  function open() {
    if (closed || !session.token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/tickets/${ticketId}/chat?token=${encodeURIComponent(session.token)}`);
    socket.onopen = () => {
      retry = 1000;
      if (opened && onReconnect) onReconnect();
      opened = true;
      while (queue.length) socket.send(queue.shift());
    };
    socket.onmessage = (event) => {
      try { onFrame(JSON.parse(event.data)); } catch { /* not JSON: ignore */ }
    };
    socket.onclose = async (event) => {
      if (closed || event.code === 1000 || event.code === 1009) return;
      if (event.code === 4401) {
        await refresh();
        if (!session.user) return;
      }
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  open();
  return {
    send(frame) {
      const text = JSON.stringify(frame);
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
      else queue.push(text);
    },
    close() { closed = true; if (socket) socket.close(1000); },
  };
}
