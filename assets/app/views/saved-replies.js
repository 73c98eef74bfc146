// Saved replies: admins manage the team's shared ones (Admin → Saved
// replies), every agent their own on their profile page.

import { h, mount, when, field, toast, showProblem, clearProblem } from "../dom.js";
import { api, session } from "../api.js";

/** What the server fills in when a saved reply is inserted into a reply. */
export const PLACEHOLDERS = [
  ["customer.name", "the customer's full name"],
  ["customer.first_name", "the customer's first name"],
  ["customer.email", "the customer's email address"],
  ["ticket.id", "the ticket's number"],
  ["ticket.subject", "the ticket's subject"],
  ["agent.name", "the replying agent's full name"],
  ["agent.first_name", "the replying agent's first name"],
];

const PER_PAGE = 100;

/** Every saved reply the caller sees (the shared ones and their own). */
async function fetchAll() {
  const items = [];
  for (let page = 1; page <= 50; page += 1) {
    const got = await api("GET", `/api/v1/saved-replies?per_page=${PER_PAGE}&page=${page}`);
    const list = Array.isArray(got) ? got : (got && got.items) || [];
    items.push(...list);
    if (Array.isArray(got) || list.length < PER_PAGE || (typeof got.total === "number" && items.length >= got.total)) break;
  }
  return items;
}

const ownerOf = (reply) => reply.owner_id ?? reply.owner?.id ?? null;

/** Fills `container` with a form (new or edit) and the list of saved replies:
 * the shared ones (`shared: true`, admins) or the caller's own. `level` is the
 * heading level inside the container (2 on a page of its own, 3 in a section);
 * `listTitle` names the list (default: "Shared saved replies" / "Your saved replies"). */
export async function savedReplies(container, { shared = false, level = 2, listTitle = null } = {}) {
  const me = session.user;
  const canShare = shared && me.role === "admin";
  const prefix = shared ? "shared-reply" : "my-reply";
  const heading = (text, attrs = {}) => h(`h${level}`, attrs, text);
  let editing = null;

  const formTitle = heading("New saved reply", { id: `${prefix}-form-title` });
  const title = h("input", { name: "title", required: true, maxlength: 200, id: `${prefix}-title`, autocomplete: "off" });
  const hint = h("p", { class: "form-hint", id: `${prefix}-hint` },
    "Markdown allowed. These placeholders are filled in for the ticket when the reply is inserted (click one to add it):");
  const text = h("textarea", { name: "body", required: true, id: `${prefix}-body`, "aria-describedby": hint.id });
  const sharedBox = canShare ? h("input", { type: "checkbox", name: "shared", id: `${prefix}-shared`, checked: true }) : null;
  const message = h("div", { "aria-live": "polite" });
  const submit = h("button", { class: "primary", type: "submit" }, "Add saved reply");
  const cancel = h("button", { type: "button", hidden: true }, "Cancel");

  const insert = (token) => {
    const start = text.selectionStart ?? text.value.length;
    const end = text.selectionEnd ?? start;
    text.setRangeText(token, start, end, "end");
    text.focus();
    text.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const placeholders = h("div", { class: "placeholders" },
    hint,
    h("ul", { "aria-label": "Placeholders" }, PLACEHOLDERS.map(([key, meaning]) => h("li", {},
      h("button", { type: "button", title: `Insert ${meaning}`, "aria-label": `Insert {{${key}}}: ${meaning}`, onclick: () => insert(`{{${key}}}`) }, `{{${key}}}`),
      h("span", { class: "muted" }, ` ${meaning}`)))));

  const form = h("form", { id: `${prefix}-form`, "aria-labelledby": formTitle.id },
    ...field("Title", title),
    ...field("Text", text),
    placeholders,
    sharedBox ? h("label", { class: "inline", for: sharedBox.id }, sharedBox, "Shared with the whole team") : null,
    h("div", { class: "links" }, submit, cancel),
    message);

  function reset() {
    editing = null;
    form.reset();
    if (sharedBox) { sharedBox.checked = true; sharedBox.disabled = false; }
    formTitle.textContent = "New saved reply";
    submit.textContent = "Add saved reply";
    cancel.hidden = true;
    clearProblem(message, form);
  }

  function edit(reply) {
    editing = reply;
    clearProblem(message, form);
    title.value = reply.title;
    text.value = reply.body;
    // Who sees a saved reply is chosen when it is made.
    if (sharedBox) { sharedBox.checked = reply.shared; sharedBox.disabled = true; }
    formTitle.textContent = `Edit “${reply.title}”`;
    submit.textContent = "Save changes";
    cancel.hidden = false;
    form.scrollIntoView({ block: "nearest" });
    title.focus();
  }

  cancel.addEventListener("click", reset);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(message, form);
    const wantShared = sharedBox ? sharedBox.checked : false;
    const body = { title: title.value, body: text.value };
    submit.disabled = true;
    try {
      if (editing) {
        await api("PATCH", `/api/v1/saved-replies/${editing.id}`, body);
        toast("Saved reply updated");
      } else {
        body.shared = wantShared;
        await api("POST", "/api/v1/saved-replies", body);
        toast(shared && !wantShared ? "Saved reply added to your own (see your profile)" : "Saved reply added");
      }
      reset();
      await load();
    } catch (err) {
      showProblem(message, err, form);
    } finally {
      submit.disabled = false;
    }
  });

  const listBox = h("div", { id: `${prefix}-list` });

  async function remove(reply) {
    if (!confirm(`Delete the saved reply “${reply.title}”?`)) return;
    try {
      await api("DELETE", `/api/v1/saved-replies/${reply.id}`);
      toast("Saved reply deleted");
      if (editing && editing.id === reply.id) reset();
      await load();
    } catch (err) { toast(err.message); }
  }

  async function load() {
    let items;
    try {
      items = await fetchAll();
    } catch (err) {
      mount(listBox, h("p", { class: "error", role: "alert" }, err.message));
      return;
    }
    const shown = items.filter((r) => (shared ? r.shared : !r.shared && (ownerOf(r) === null || ownerOf(r) === me.id)));
    mount(listBox,
      heading(listTitle || (shared ? "Shared saved replies" : "Your saved replies"), {}),
      shown.length === 0
        ? h("p", { class: "empty" }, shared ? "No shared saved replies yet." : "You have no saved replies of your own yet.")
        : h("table", {},
          h("thead", {}, h("tr", {}, ["Title", "Text", "Updated", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, shown.map((r) => h("tr", { dataset: { reply: r.id } },
            h("td", {}, r.title),
            h("td", {}, h("div", { class: "preview", title: r.body }, r.body.replace(/\s+/g, " ").slice(0, 140))),
            h("td", {}, when(r.updated_at || r.created_at)),
            h("td", { class: "actions" },
              h("button", { type: "button", "aria-label": `Edit ${r.title}`, onclick: () => edit(r) }, "Edit"),
              h("button", { type: "button", class: "danger", "aria-label": `Delete ${r.title}`, onclick: () => remove(r) }, "Delete")))))));
  }

  mount(container, formTitle, form, listBox);
  await load();
}
