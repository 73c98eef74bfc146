// Building the page from data: every string becomes a text node, never HTML.

/** Creates an element: h("a", {href: "/x", onclick: fn}, "text", child...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value") {
      el.value = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** "3 min ago", with the exact time in the title. */
export function when(iso) {
  if (!iso) return h("span", {}, "");
  const date = new Date(iso);
  const secs = Math.round((Date.now() - date.getTime()) / 1000);
  let text;
  if (secs < 45) text = "just now";
  else if (secs < 3600) text = `${Math.round(secs / 60)} min ago`;
  else if (secs < 86400) text = `${Math.round(secs / 3600)} h ago`;
  else if (secs < 86400 * 7) text = `${Math.round(secs / 86400)} d ago`;
  else text = date.toLocaleDateString();
  return h("time", { datetime: iso, title: date.toLocaleString() }, text);
}

export function badge(kind, value) {
  return h("span", { class: `badge ${kind}-${value}` }, String(value).replace("_", " "));
}

/** A labelled form field. */
export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return [h("label", { for: id }, label), input];
}

export function toast(text) {
  const el = h("div", { class: "toast", role: "status" }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 3000);
}

/** Form values as an object (empty strings left out unless `keepEmpty`). */
export function values(form, keepEmpty = false) {
  const out = {};
  for (const [key, value] of new FormData(form)) {
    if (value !== "" || keepEmpty) out[key] = value;
  }
  return out;
}

const GENERIC_DETAIL = "the request has invalid fields";

/** "current_password" → "Current password"; "ticket.subject" → "Ticket subject". */
export function fieldLabel(name) {
  const text = String(name || "").replace(/\[\d+\]/g, "").replace(/[_.]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

/** The visible control of `form` named like `name` (or its last dotted part). */
function controlFor(form, name) {
  if (!form || !form.elements || !name) return null;
  // "tags[2]" and "tags.2" are the field "tags"; "ticket.subject" may be "subject".
  const base = String(name).replace(/(\[\d+\]|\.\d+)+$/, "");
  const last = base.split(".").pop();
  const names = [...new Set([name, base, last])].filter(Boolean);
  for (const n of names) {
    let el = form.elements.namedItem(n);
    // Radio buttons and repeated names: the first one stands for the group.
    if (el && !(el instanceof Element) && typeof el.item === "function") el = el.item(0);
    if (el instanceof Element && el.type !== "hidden" && !el.hidden && !el.closest("[hidden]")) return el;
  }
  return null;
}

function describedBy(control) {
  return (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
}

/** Removes the message shown at one control (after an edit, or a new attempt). */
function clearField(control) {
  const id = control.dataset.errorId;
  if (!id) return;
  const note = document.getElementById(id);
  if (note) note.remove();
  const rest = describedBy(control).filter((x) => x !== id);
  if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
  else control.removeAttribute("aria-describedby");
  control.removeAttribute("aria-invalid");
  delete control.dataset.errorId;
}

/** Removes every field message `showProblem` put into `form`. */
export function clearFieldErrors(form) {
  if (!form) return;
  for (const control of form.querySelectorAll("[data-error-id]")) clearField(control);
  for (const note of form.querySelectorAll(".field-error")) note.remove();
}

/** Shows `text` right after `control` (after its label when the label wraps it). */
function markField(control, text) {
  const existing = control.dataset.errorId && document.getElementById(control.dataset.errorId);
  if (existing) { existing.append(h("br"), text); return; }
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  const id = `${control.id}-error`;
  const note = h("div", { class: "field-error", id }, text);
  const wrapper = control.parentElement && control.parentElement.tagName === "LABEL" ? control.parentElement : control;
  wrapper.after(note);
  control.dataset.errorId = id;
  control.setAttribute("aria-invalid", "true");
  control.setAttribute("aria-describedby", [...describedBy(control), id].join(" "));
  const edited = () => {
    clearField(control);
    control.removeEventListener("input", edited);
    control.removeEventListener("change", edited);
  };
  control.addEventListener("input", edited);
  control.addEventListener("change", edited);
}

/** Empties a problem box (and the field messages of `form`). */
export function clearProblem(target, form) {
  if (form) clearFieldErrors(form);
  if (!target) return;
  target.replaceChildren();
  target.classList.remove("error");
  target.removeAttribute("role");
}

/** Shows an API problem: with `form`, each field's message next to its
 * control (marked aria-invalid, linked by aria-describedby); at `target`, the
 * detail and the messages of fields the form does not have. */
export function showProblem(target, error, form) {
  if (form) clearFieldErrors(form);
  const errors = (error && error.errors) || [];
  const loose = [];
  let first = null;
  for (const e of errors) {
    const control = form ? controlFor(form, e.field) : null;
    if (control) {
      markField(control, e.message);
      first = first || control;
    } else loose.push(e);
  }
  const detail = (error && error.message) || "Something went wrong. Please try again.";
  const generic = detail.toLowerCase() === GENERIC_DETAIL || /^HTTP \d+$/.test(detail);
  let summary = detail;
  if (errors.length && !loose.length) summary = generic ? "Please correct the marked fields." : detail;
  else if (errors.length && generic) summary = first ? "Please correct the marked fields and these:" : "Please correct the following:";
  mount(target, h("div", {}, summary),
    loose.length ? h("ul", { class: "problem-list" }, loose.map((e) => h("li", {}, e.field ? `${fieldLabel(e.field)}: ${e.message}` : e.message))) : null);
  target.className = "error";
  target.setAttribute("role", "alert");
  if (first && typeof first.focus === "function") first.focus();
}

/** "2h 5m", "3d 4h", "12m" for a number of seconds. */
export function span(secs) {
  const s = Math.max(0, Math.round(Math.abs(secs)));
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  return m ? `${m}m` : `${s}s`;
}

/** The ticket's service-level state as a badge: overdue, time left on the
 * earliest open target, paused; nothing without service levels or once met. */
export function slaBadge(ticket) {
  const sla = ticket.sla;
  if (!sla || ticket.status === "resolved" || ticket.status === "closed") return null;
  const open = [];
  if (!ticket.first_response_at) open.push(["first response", sla.first_response_due_at]);
  if (!sla.paused) open.push(["resolution", sla.resolution_due_at]);
  if (!open.length) return sla.paused ? h("span", { class: "badge sla-paused", title: "Resolution clock paused while pending" }, "SLA paused") : null;
  open.sort((a, b) => (a[1] < b[1] ? -1 : 1));
  const [what, due] = open[0];
  const left = (Date.parse(due) - Date.now()) / 1000;
  const title = `${what} due ${new Date(due).toLocaleString()}`;
  if (left <= 0) return h("span", { class: "badge sla-overdue", title, dataset: { sla: "overdue" } }, `overdue ${span(left)}`);
  return h("span", { class: `badge ${left <= 3600 ? "sla-soon" : "sla-due"}`, title, dataset: { sla: "due" } }, `${span(left)} left`);
}
