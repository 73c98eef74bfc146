// Saved replies in the composer: the "Saved replies" button, or "/" or "#"
// typed at the start of a line, opens a list searched as one types; the
// chosen reply is filled in for the ticket and goes in at the cursor.

import { h, mount, toast } from "../dom.js";
import { api } from "../api.js";

const TRIGGER = /(?:^|\n)([/#])([^\s/#]{0,40})$/;

/** For `textarea` of ticket `ticketId`. Returns {button, popup, destroy()}:
 * put the button in the composer and the popup right under the textarea. */
export function savedReplies({ textarea, ticketId }) {
  const search = h("input", {
    type: "search", id: "saved-replies-search", role: "combobox", autocomplete: "off",
    "aria-label": "Search saved replies", "aria-controls": "saved-replies", "aria-expanded": "true", "aria-autocomplete": "list",
    placeholder: "Search saved replies",
  });
  const list = h("ul", { id: "saved-replies", role: "listbox", "aria-label": "Saved replies" });
  const note = h("p", { class: "muted picker-note", "aria-live": "polite" });
  const popup = h("div", { class: "picker", hidden: true }, search, list, note,
    h("p", { class: "muted picker-help" }, "↑ ↓ to choose, Enter to insert, Esc to close"));
  const button = h("button", {
    type: "button", id: "saved-replies-button", "aria-haspopup": "listbox", "aria-expanded": "false", "aria-controls": "saved-replies",
  }, "Saved replies");

  let items = [];
  let active = -1;
  let mode = null; // null (closed), "inline" (typed in the textarea) or "search" (in the search box)
  let range = null; // the text the reply replaces: the typed trigger, or the selection
  let trigger = "";
  let timer = null;
  let seq = 0;

  function open(how, query) {
    const wasOpen = mode !== null;
    mode = how;
    popup.hidden = false;
    button.setAttribute("aria-expanded", "true");
    if (how === "inline") textarea.setAttribute("aria-controls", "saved-replies");
    if (search.value !== query) search.value = query;
    if (!wasOpen || how === "inline") load(query);
  }

  function close(refocus) {
    if (mode === null) return;
    mode = null;
    clearTimeout(timer);
    seq += 1;
    popup.hidden = true;
    button.setAttribute("aria-expanded", "false");
    for (const el of [textarea, search]) el.removeAttribute("aria-activedescendant");
    textarea.removeAttribute("aria-controls");
    if (refocus) textarea.focus();
  }

  function load(query) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++seq;
      let answer;
      try {
        const q = new URLSearchParams({ per_page: 20 });
        if (query.trim()) q.set("q", query.trim());
        answer = await api("GET", `/api/v1/saved-replies?${q}`);
      } catch (err) {
        if (mine !== seq) return;
        items = [];
        show(err.message);
        return;
      }
      if (mine !== seq) return;
      items = Array.isArray(answer) ? answer : Array.isArray(answer?.items) ? answer.items : [];
      active = items.length ? 0 : -1;
      show(items.length ? "" : query.trim() ? `No saved reply matches “${query.trim()}”.` : "There are no saved replies yet.");
    }, 150);
  }

  function show(message) {
    note.textContent = message;
    mount(list, items.map((item, i) => {
      const option = h("li", { role: "option", id: `saved-reply-${item.id}`, "aria-selected": String(i === active), class: i === active ? "active" : null },
        h("span", { class: "title" }, item.title),
        item.shared ? h("span", { class: "badge" }, "team") : null,
        h("span", { class: "muted snippet" }, String(item.body || "").replace(/\s+/g, " ").slice(0, 90)));
      option.addEventListener("mousedown", (e) => e.preventDefault()); // the textarea keeps focus
      option.addEventListener("click", () => choose(i));
      return option;
    }));
    highlight();
  }

  function highlight() {
    [...list.children].forEach((li, i) => {
      li.setAttribute("aria-selected", String(i === active));
      li.classList.toggle("active", i === active);
    });
    const id = items[active] ? `saved-reply-${items[active].id}` : null;
    const owner = mode === "inline" ? textarea : search;
    for (const el of [textarea, search]) el.removeAttribute("aria-activedescendant");
    if (id) {
      owner.setAttribute("aria-activedescendant", id);
      list.children[active]?.scrollIntoView?.({ block: "nearest" });
    }
  }

  async function choose(i) {
    const item = items[i];
    if (!item) return;
    const [start, end] = range || [textarea.selectionStart, textarea.selectionEnd];
    const expected = trigger;
    close(false);
    let body;
    try {
      body = (await api("POST", `/api/v1/saved-replies/${item.id}/render`, { ticket_id: ticketId })).body;
    } catch (err) {
      toast(`Could not use “${item.title}”: ${err.message}`);
      textarea.focus();
      return;
    }
    textarea.focus();
    // Typed on meanwhile: the trigger text moved, so the reply goes at the cursor.
    if (textarea.value.slice(start, end) === expected) textarea.setRangeText(body, start, end, "end");
    else textarea.setRangeText(body, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new CustomEvent("saved-reply", { bubbles: true }));
  }

  function keys(e) {
    if (mode === null || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      active = (active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      highlight();
    } else if (e.key === "Enter" && mode === "inline" && trigger.length < 2) {
      close(false); // a bare "/" or "#" and Enter: a new line, not a saved reply
    } else if (e.key === "Enter" && items[active] && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      choose(active);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    }
  }

  textarea.addEventListener("input", () => {
    const caret = textarea.selectionStart;
    const m = caret === textarea.selectionEnd ? textarea.value.slice(0, caret).match(TRIGGER) : null;
    if (m) {
      trigger = m[1] + m[2];
      range = [caret - trigger.length, caret];
      open("inline", m[2]);
    } else if (mode === "inline") {
      close(false);
    }
  });
  textarea.addEventListener("keydown", (e) => { if (mode === "inline") keys(e); });
  search.addEventListener("keydown", keys);
  search.addEventListener("input", () => load(search.value));
  search.addEventListener("focus", () => { if (mode === "inline") mode = "search"; highlight(); });
  button.addEventListener("click", () => {
    if (mode !== null) { close(true); return; }
    range = [textarea.selectionStart, textarea.selectionEnd];
    trigger = textarea.value.slice(range[0], range[1]);
    open("search", "");
    search.focus();
  });
  // Leaving the composer (a click or Tab elsewhere) closes the list.
  const outside = (e) => {
    if (mode === null) return;
    const t = e.target;
    if (t instanceof Node && (popup.contains(t) || button.contains(t) || t === textarea)) return;
    close(false);
  };
  document.addEventListener("mousedown", outside);
  document.addEventListener("focusin", outside);

  return {
    button,
    popup,
    destroy() {
      close(false);
      document.removeEventListener("mousedown", outside);
      document.removeEventListener("focusin", outside);
    },
  };
}
