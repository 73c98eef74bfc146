// An agent opens a ticket for a customer (a call, a walk-in): who it is
// from, what it is about, and optionally assigned to themselves at once.

import { h, field, values, showProblem } from "../dom.js";
import { api, session } from "../api.js";
import { site } from "../main.js";
import { attachments, withAttachments, bearer } from "../files.js";
import { PRIORITIES, choices } from "./filters.js";
import { openDialog, closeDialog } from "./dialog.js";
import { submitOnCtrlEnter } from "./keys.js";

/** Opens the form; `starting()` before the request, `created(ticket)` after. */
export function newTicketDialog({ starting, created }) {
  const select = (name, options, selected) => h("select", { name },
    options.map(([value, text]) => h("option", { value, selected: value === selected }, text)));
  const body = h("textarea", { name: "body", id: "new-ticket-body", required: true, rows: 6, placeholder: "What the customer needs  (Ctrl+Enter to create)" });
  const problem = h("div", { "aria-live": "polite" });
  const create = h("button", { type: "submit", class: "primary", id: "new-ticket-submit" }, "Create ticket");
  const form = h("form", { id: "new-ticket-form", class: "new-ticket-form" });
  const files = attachments({
    uploadUrl: "/api/v1/uploads", headers: bearer, textarea: body, zone: form,
    onchange: () => { create.disabled = files.busy(); },
  });
  let dialog = null;
  form.append(
    h("div", { class: "form-grid" },
      h("div", {}, ...field("Requester email", h("input", { type: "email", name: "requester_email", required: true, autocomplete: "off", id: "new-ticket-email" }))),
      h("div", {}, ...field("Requester name", h("input", { name: "requester_name", autocomplete: "off", id: "new-ticket-name" })))),
    ...field("Subject", h("input", { name: "subject", required: true, maxlength: 200, id: "new-ticket-subject" })),
    ...field("Message", body),
    files.element,
    h("div", { class: "form-grid" },
      h("div", {}, ...field("Channel", select("channel", [["phone", "Phone"], ["web", "Web"]], "phone"))),
      h("div", {}, ...field("Priority", select("priority", PRIORITIES.map((p) => [p, p]), "medium"))),
      h("div", {}, ...field("Category", select("category", [["", "—"], ...choices(site.settings.categories)], ""))),
      h("div", {}, ...field("Type", select("type", [["", "—"], ...choices(site.settings.types)], "")))),
    ...field("Tags (comma separated)", h("input", { name: "tags", autocomplete: "off", id: "new-ticket-tags" })),
    h("label", { class: "inline", for: "new-ticket-assign-me" },
      h("input", { type: "checkbox", name: "assign_me", id: "new-ticket-assign-me", checked: true }), "Assign to me"),
    problem,
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", onclick: () => closeDialog(dialog) }, "Cancel"),
      create));
  submitOnCtrlEnter(body, form);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (files.busy() || !form.reportValidity()) return;
    // Picked by name: the form also holds the (emptied) file input.
    const v = values(form);
    const ticket = { subject: v.subject, body: v.body, requester_email: v.requester_email, priority: v.priority, channel: v.channel || "phone" };
    for (const key of ["requester_name", "category", "type"]) if (v[key]) ticket[key] = v[key].trim();
    const tags = (v.tags || "").split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) ticket.tags = tags;
    create.disabled = true;
    if (starting) starting();
    let made;
    try {
      made = await api("POST", "/api/v1/tickets", withAttachments(ticket, files));
    } catch (err) {
      create.disabled = false;
      showProblem(problem, err, form);
      return;
    }
    if (v.assign_me) {
      try {
        made = { ...made, ...(await api("POST", `/api/v1/tickets/${made.id}/assign`, { assignee_id: session.user.id })) };
      } catch { /* created all the same; the sidebar can assign it */ }
    }
    files.clear();
    closeDialog(dialog);
    created(made);
  });

  dialog = openDialog("new-ticket-dialog", "New ticket", form);
  dialog.classList.add("wide");
  dialog.addEventListener("close", () => files.clear());
  form.querySelector("input[name=requester_email]")?.focus();
}
