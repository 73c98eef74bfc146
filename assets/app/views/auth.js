// Sign in, register, forgotten password, reset, invitation, first admin.

import { h, mount, field, values, showProblem, clearProblem } from "../dom.js";
import { signIn, anon, register as registerAccount } from "../api.js";
import { go, site } from "../main.js";

function card(title, ...content) {
  return h("main", { class: "narrow" }, h("h1", {}, title), ...content);
}

function tokenFromHash() {
  return new URLSearchParams(location.hash.slice(1)).get("token");
}

function afterSignIn(user) {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) go(next, true);
  else go(user.role === "customer" ? "/my" : "/inbox", true);
}

/** A form that posts `build(values)` to `path` and calls `done(result)`. */
function form(fields, submitText, onSubmit) {
  const message = h("div", { "aria-live": "polite" });
  const button = h("button", { class: "primary", type: "submit" }, submitText);
  const el = h("form", { novalidate: true }, ...fields, button, message);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    clearProblem(message, el);
    message.className = "";
    try {
      await onSubmit(values(el, true), message);
    } catch (e) {
      showProblem(message, e, el);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

const email = () => h("input", { name: "email", type: "email", autocomplete: "email", required: true });
const password = (name = "password", autocomplete = "current-password") =>
  h("input", { name, type: "password", autocomplete, required: true, minlength: 10 });

export function login() {
  return (main) => {
    mount(main, card(`Sign in to ${site.name}`,
      form([...field("Email", email()), ...field("Password", password())], "Sign in", async (v) => {
        afterSignIn(await signIn("/api/v1/auth/login", { email: v.email, password: v.password }));
      }),
      h("div", { class: "links" },
        h("a", { href: "/forgot" }, "Forgot your password?"),
        site.settings.allow_registration ? h("a", { href: "/register" }, "Create an account") : null)));
  };
}

export function register() {
  return (main) => {
    mount(main, card("Create an account",
      form([
        ...field("Name", h("input", { name: "name", autocomplete: "name", required: true })),
        ...field("Email", email()),
        ...field("Password (10 characters or more)", password("password", "new-password")),
      ], "Create account", async (v, message) => {
        const user = await registerAccount({ name: v.name, email: v.email, password: v.password });
        if (user) return afterSignIn(user);
        message.className = "ok";
        message.id = "verification-sent";
        message.textContent = `We mailed a link to ${v.email}. Open it to confirm your address and sign in.`;
      }),
      h("div", { class: "links" }, h("a", { href: "/login" }, "I have an account"))));
  };
}

export function forgot() {
  return (main) => {
    mount(main, card("Forgot your password?",
      h("p", { class: "muted" }, "We will email you a link to choose a new one."),
      form([...field("Email", email())], "Send the link", async (v, message) => {
        await anon("POST", "/api/v1/auth/password-reset", { email: v.email });
        message.className = "ok";
        message.textContent = "If an account exists for this address, the link is on its way.";
      }),
      h("div", { class: "links" }, h("a", { href: "/login" }, "Back to sign in"))));
  };
}

function newPassword(title, submitText, path, extra, after) {
  return (main) => {
    const token = tokenFromHash();
    if (!token) {
      mount(main, card(title, h("p", { class: "error" },
        "This page needs the link with its token. Open the full link you were given.")));
      return;
    }
    mount(main, card(title, form([
      ...extra,
      ...field("New password (10 characters or more)", password("password", "new-password")),
      ...field("Repeat the password", password("password_again", "new-password")),
    ], submitText, async (v, message) => {
      if (v.password !== v.password_again) {
        // Shown like the server's field errors, at the repeated password.
        throw Object.assign(new Error("The two passwords differ."), {
          errors: [{ field: "password_again", message: "does not match the new password" }],
        });
      }
      const body = { token, password: v.password };
      for (const key of ["email", "name"]) if (v[key] !== undefined) body[key] = v[key];
      await after(path, body, message);
    })));
  };
}

export function verify() {
  return async (main) => {
    const token = tokenFromHash();
    const message = h("div", { "aria-live": "polite" }, "Confirming your address…");
    mount(main, card("Confirm your address", message));
    if (!token) {
      message.className = "error";
      message.textContent = "This page needs the link with its token. Open the full link from the email.";
      return;
    }
    try {
      afterSignIn(await signIn("/api/v1/auth/verify", { token }));
    } catch (e) {
      showProblem(message, e);
    }
  };
}

export const resetPassword = () => newPassword("Choose a new password", "Save password",
  "/api/v1/auth/password-reset/confirm", [], async (path, body, message) => {
    await anon("POST", path, body);
    message.className = "ok";
    mount(message, "Your password is changed. ", h("a", { href: "/login" }, "Sign in"));
  });

export const acceptInvite = () => newPassword("Accept your invitation", "Start",
  "/api/v1/auth/invite/accept", [], async (path, body) => afterSignIn(await signIn(path, body)));

export const setup = () => newPassword("Create the first admin", "Create admin", "/api/v1/auth/setup", [
  ...field("Your name", h("input", { name: "name", autocomplete: "name", required: true })),
  ...field("Email", email()),
], async (path, body) => {
  await signIn(path, body);
  go("/admin/settings?first=1", true);
});
