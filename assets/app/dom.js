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

/** Shows an API problem under a form: the detail and each field's message. */
export function showProblem(target, error) {
  const lines = [error.message];
  for (const e of error.errors || []) lines.push(`${e.field}: ${e.message}`);
  mount(target, ...lines.map((l) => h("div", {}, l)));
  target.className = "error";
  target.setAttribute("role", "alert");
}
