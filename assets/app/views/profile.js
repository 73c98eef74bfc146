// The signed-in user's own page: name, notification mail and signature
// (agents and admins), password, and an agent's own saved replies.

import { h, mount, field, toast, showProblem, clearProblem } from "../dom.js";
import { api, session } from "../api.js";
import { updateUser } from "../main.js";
import { savedReplies } from "./saved-replies.js";

export function view() {
  return async (main) => {
    const me = await api("GET", "/api/v1/users/me").catch(() => session.user);
    const staff = me.role !== "customer";
    const page = h("div", { class: "page profile" });
    const replies = staff ? h("section", { class: "saved-replies", "aria-labelledby": "my-replies-title" }) : null;
    mount(main, mount(page,
      h("h1", {}, "Your profile"),
      h("p", { class: "muted" }, `Signed in as ${me.email}${staff ? ` (${me.role})` : ""}.`),
      details(me, staff),
      password(),
      replies ? mount(replies, h("h2", { id: "my-replies-title" }, "Your saved replies"),
        h("p", { class: "muted" }, "Only you see these when replying; shared ones are managed by admins."), h("div")) : null));
    if (replies) {
      try { await savedReplies(replies.lastElementChild, { shared: false, level: 3, listTitle: "Existing saved replies" }); } catch (err) {
        mount(replies.lastElementChild, h("p", { class: "error", role: "alert" }, err.message));
      }
    }
  };
}

/** Name, and for agents and admins notification mail and signature. */
function details(me, staff) {
  const message = h("div", { "aria-live": "polite" });
  const name = h("input", { name: "name", required: true, autocomplete: "name", maxlength: 100, value: me.name, id: "profile-name" });
  const notify = staff ? h("input", { type: "checkbox", name: "email_notifications", id: "profile-notifications", checked: me.email_notifications }) : null;
  const signatureHint = h("p", { class: "form-hint", id: "profile-signature-hint" },
    "Added below your public replies (not below internal notes). Markdown allowed; leave empty for none.");
  const signature = staff ? h("textarea", { name: "signature", id: "profile-signature", maxlength: 2000, "aria-describedby": signatureHint.id, value: me.signature || "" }) : null;
  const save = h("button", { class: "primary", type: "submit" }, "Save profile");
  const form = h("form", { id: "profile-form", "aria-labelledby": "profile-form-title" },
    h("h2", { id: "profile-form-title" }, "Your details"),
    ...field("Name", name),
    staff ? [
      h("label", { class: "inline", for: notify.id }, notify, "Email me about tickets (new tickets, replies, assignments)"),
      ...field("Signature", signature),
      signatureHint,
    ] : null,
    h("div", { class: "links" }, save),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(message, form);
    const body = { name: name.value };
    if (staff) {
      body.email_notifications = notify.checked;
      body.signature = signature.value.trim() ? signature.value : null;
    }
    save.disabled = true;
    try {
      const user = await api("PATCH", "/api/v1/users/me", body);
      updateUser(user);
      name.value = user.name;
      if (staff) signature.value = user.signature || "";
      message.className = "ok";
      message.textContent = "Saved.";
      toast("Profile saved");
    } catch (err) {
      showProblem(message, err, form);
    } finally {
      save.disabled = false;
    }
  });
  return h("section", {}, form);
}

/** Changing the password: the current one and the new one twice. */
function password() {
  const message = h("div", { "aria-live": "polite" });
  const input = (name, autocomplete, id) => h("input", { name, id, type: "password", autocomplete, required: true });
  const current = input("current_password", "current-password", "profile-current-password");
  const fresh = input("password", "new-password", "profile-new-password");
  fresh.minLength = 10;
  const again = input("password_again", "new-password", "profile-password-again");
  const save = h("button", { class: "primary", type: "submit" }, "Change password");
  const form = h("form", { id: "password-form", "aria-labelledby": "password-form-title", novalidate: true },
    h("h2", { id: "password-form-title" }, "Password"),
    ...field("Current password", current),
    ...field("New password (10 characters or more)", fresh),
    ...field("Repeat the new password", again),
    h("div", { class: "links" }, save),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(message, form);
    message.className = "";
    const missing = [[current, "current_password"], [fresh, "password"], [again, "password_again"]]
      .filter(([el]) => !el.value).map(([, name]) => ({ field: name, message: "is required" }));
    if (missing.length) {
      showProblem(message, { message: "the request has invalid fields", errors: missing }, form);
      return;
    }
    if (fresh.value !== again.value) {
      showProblem(message, { message: "The two new passwords differ.", errors: [{ field: "password_again", message: "does not match the new password" }] }, form);
      return;
    }
    save.disabled = true;
    try {
      await api("PATCH", "/api/v1/users/me", { current_password: current.value, password: fresh.value });
      form.reset();
      message.className = "ok";
      message.textContent = "Your password is changed. Your other sessions were signed out.";
    } catch (err) {
      showProblem(message, err, form);
    } finally {
      save.disabled = false;
    }
  });
  return h("section", {}, form);
}
