// Admin: users, settings, service levels, saved replies, API keys, webhooks,
// email log, mailboxes, audit log.

import { h, mount, when, field, values, toast, showProblem, clearProblem } from "../dom.js";
import { api } from "../api.js";
import { go, site, setSiteName } from "../main.js";
import { savedReplies } from "./saved-replies.js";
import { webhooks } from "./webhooks.js";

const SECTIONS = [
  ["users", "Users"],
  ["settings", "Settings"],
  ["sla", "Service levels"],
  ["saved-replies", "Saved replies"],
  ["api-keys", "API keys"],
  ["webhooks", "Webhooks"],
  ["email-log", "Email log"],
  ["mailboxes", "Mailboxes"],
  ["audit", "Audit log"],
];

export function view([section]) {
  return async (main) => {
    const current = section || "users";
    const body = h("div");
    mount(main, h("div", { class: "page" },
      h("nav", { class: "links", "aria-label": "Admin" }, SECTIONS.map(([key, label]) =>
        h("a", { href: `/admin/${key}`, "aria-current": key === current ? "page" : null }, label))),
      body));
    const render = { users, settings, sla, "saved-replies": sharedReplies, "api-keys": apiKeys, webhooks: (body) => webhooks(body), "email-log": emailLog, mailboxes, audit }[current];
    if (!render) { mount(body, h("h1", {}, "Admin"), h("p", {}, "Unknown section.")); return undefined; }
    // A section may answer a cleanup function (stops its timers when leaving).
    try { return await render(body); } catch (e) {
      const label = (SECTIONS.find(([key]) => key === current) || [])[1] || "Admin";
      mount(body, h("h1", {}, label), h("p", { class: "error", role: "alert" }, e.message));
      return undefined;
    }
  };
}

/** A table; every column has a header cell (an empty one is read as "Actions"). */
function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t || "Actions")))), h("tbody", {}, rows));
}

const ROLES = ["customer", "agent", "admin"];

/** "invited" until they set a password; deactivated wins over both. */
function userStatus(u) {
  if (!u.active) return "deactivated";
  return u.invited ? "invited" : "active";
}

async function users(body) {
  const page = await api("GET", "/api/v1/users?per_page=100&sort=name");
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "toolbar", id: "invite-user" },
    h("div", {}, ...field("Name", h("input", { name: "name", required: true }))),
    h("div", {}, ...field("Email", h("input", { name: "email", type: "email", required: true }))),
    h("div", {}, ...field("Role", h("select", { name: "role" }, ["agent", "admin", "customer"].map((r) => h("option", { value: r }, r))))),
    h("button", { class: "primary", type: "submit" }, "Invite"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(message, form);
    try {
      const user = await api("POST", "/api/v1/users", values(form));
      toast(`Invitation sent to ${user.email}`);
      await users(body);
    } catch (err) { showProblem(message, err, form); }
  });
  const row = (u) => {
    const role = h("select", { "aria-label": `Role of ${u.email}` }, ROLES.map((r) => h("option", { value: r, selected: u.role === r }, r)));
    role.addEventListener("change", async () => {
      try { await api("PATCH", `/api/v1/users/${u.id}`, { role: role.value }); toast("Role changed"); } catch (err) { toast(err.message); role.value = u.role; }
    });
    const status = userStatus(u);
    const resend = status === "invited" ? h("button", { type: "button", class: "resend-invite", "aria-label": `Resend the invitation to ${u.email}` }, "Resend invite") : null;
    resend?.addEventListener("click", async () => {
      resend.disabled = true;
      try {
        const user = await api("POST", `/api/v1/users/${u.id}/invite`);
        toast(`Invitation sent again to ${user.email || u.email}`);
      } catch (err) { toast(err.message); } finally { resend.disabled = false; }
    });
    const toggle = h("button", { type: "button", class: u.active ? "danger" : "" }, u.active ? "Deactivate" : "Activate");
    toggle.addEventListener("click", async () => {
      if (u.active && !confirm(`Deactivate ${u.name}? They can no longer sign in.`)) return;
      try { await api("PATCH", `/api/v1/users/${u.id}`, { active: !u.active }); await users(body); } catch (err) { toast(err.message); }
    });
    return h("tr", { dataset: { user: u.id } }, h("td", {}, u.name), h("td", {}, u.email), h("td", {}, role),
      h("td", {}, h("span", { class: `user-status status-${status}` }, h("span", {}, status), resend)),
      h("td", {}, u.last_login_at ? when(u.last_login_at) : h("span", { class: "muted" }, "never")),
      h("td", { class: "actions" }, toggle));
  };
  mount(body, h("h1", {}, "Users"), form, message,
    table(["Name", "Email", "Role", "Status", "Last sign-in", "Actions"], page.items.map(row)));
}

async function settings(body) {
  const s = await api("GET", "/api/v1/settings");
  const first = new URLSearchParams(location.search).get("first");
  const message = h("div", { "aria-live": "polite" });
  const check = (name, label) => h("label", { class: "inline" }, h("input", { type: "checkbox", name, checked: s[name] }), label);
  const text = (name, label, type = "text") => field(label, h("input", { name, type, value: s[name] ?? "" }));
  const list = (name, label) => field(label, h("input", { name, value: (s[name] || []).join(", ") }));
  const form = h("form", { id: "settings" },
    ...text("helpdesk_name", "Help desk name"),
    ...text("support_email", "Support address (gets new unassigned tickets; shown to customers)", "email"),
    ...text("phone_number", "Phone number"),
    ...text("whatsapp_number", "WhatsApp number"),
    ...field("Automatic assignment", h("select", { name: "auto_assign" }, ["off", "round_robin", "random"].map((v) => h("option", { value: v, selected: s.auto_assign === v }, v.replace("_", " "))))),
    ...list("categories", "Categories (comma separated)"),
    ...list("types", "Types (comma separated)"),
    ...text("portal_token_days", "Portal links valid for (days)", "number"),
    h("div", { class: "links" },
      check("allow_registration", "Customers may create accounts"),
      check("require_email_verification", "Customers confirm their address before signing in"),
      check("support_bubble_enabled", "Offer the support bubble on websites"),
      check("intake_requires_api_key", "Support form needs an API key"),
      check("metrics_public", "/metrics open to anyone (otherwise admins and this machine)"),
      check("csat_enabled", "Ask requesters to rate the help when a ticket is resolved")),
    h("div", { class: "links" }, h("button", { class: "primary", type: "submit" }, "Save settings")),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = values(form, true);
    const out = {
      helpdesk_name: v.helpdesk_name,
      support_email: v.support_email || null,
      phone_number: v.phone_number || null,
      whatsapp_number: v.whatsapp_number || null,
      auto_assign: v.auto_assign,
      categories: (v.categories || "").split(",").map((x) => x.trim()).filter(Boolean),
      types: (v.types || "").split(",").map((x) => x.trim()).filter(Boolean),
      portal_token_days: Number(v.portal_token_days),
    };
    for (const name of ["allow_registration", "require_email_verification", "support_bubble_enabled", "intake_requires_api_key", "metrics_public", "csat_enabled"]) {
      out[name] = form.elements[name].checked;
    }
    clearProblem(message, form);
    try {
      await api("PUT", "/api/v1/settings", out);
      // What everyone sees changes at once: the header, and the public settings views read.
      Object.assign(site.settings, {
        allow_registration: out.allow_registration,
        support_bubble_enabled: out.support_bubble_enabled,
        support_email: out.support_email,
        phone_number: out.phone_number,
        whatsapp_number: out.whatsapp_number,
        categories: out.categories,
        types: out.types,
      });
      setSiteName(out.helpdesk_name);
      message.className = "ok";
      message.textContent = "Saved.";
      if (first) go("/admin/users", true);
    } catch (err) { showProblem(message, err, form); }
  });
  mount(body, h("h1", {}, "Settings"),
    first ? h("p", {}, "Welcome! Set the support address and name of your help desk. Outgoing mail is configured in the server's configuration file ([smtp]); check it with ",
      h("code", {}, "helpline mail test --to you@example.com"), ".") : null,
    form);
}

async function apiKeys(body) {
  const keys = await api("GET", "/api/v1/api-keys");
  const items = Array.isArray(keys) ? keys : keys.items;
  const shown = h("div", { "aria-live": "polite", id: "new-key" });
  const form = h("form", { class: "toolbar", id: "create-key" },
    h("div", {}, ...field("Name", h("input", { name: "name", required: true }))),
    h("div", {}, ...field("Role", h("select", { name: "role" }, ["agent", "admin", "customer"].map((r) => h("option", { value: r }, r))))),
    h("button", { class: "primary", type: "submit" }, "Create key"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(shown, form);
    try {
      const created = await api("POST", "/api/v1/api-keys", values(form));
      await apiKeys(body);
      mount(body.querySelector("#new-key"), h("p", {}, "Copy the key now; it is not shown again:"), h("div", { class: "secret" }, created.key));
    } catch (err) { showProblem(shown, err, form); }
  });
  mount(body, h("h1", {}, "API keys"), form, shown,
    table(["Name", "Role", "Key", "Created", "Last used", "Actions"], items.map((k) => h("tr", {},
      h("td", {}, k.name), h("td", {}, k.role), h("td", {}, h("code", {}, `${k.prefix}…`)), h("td", {}, when(k.created_at)), h("td", {}, when(k.last_used_at)),
      h("td", {}, k.revoked_at ? "revoked" : h("button", {
        type: "button", class: "danger",
        onclick: async () => { try { await api("DELETE", `/api/v1/api-keys/${k.id}`); await apiKeys(body); } catch (err) { toast(err.message); } },
      }, "Revoke"))))));
}

async function emailLog(body) {
  const page = await api("GET", "/api/v1/admin/email-log?per_page=100");
  mount(body, h("h1", {}, "Email log"),
    page.items.length === 0 ? h("p", { class: "empty" }, "No email sent yet.") :
      table(["When", "To", "Subject", "Status", "Attempts", "Last error", "Actions"], page.items.map((n) => h("tr", {},
        h("td", {}, when(n.created_at)), h("td", {}, n.to), h("td", {}, n.subject || n.kind), h("td", {}, n.status),
        h("td", {}, String(n.attempts)), h("td", { class: "error" }, n.last_error || ""),
        h("td", {}, n.status === "failed" || n.status === "dead" ? h("button", {
          type: "button",
          onclick: async () => { try { await api("POST", `/api/v1/admin/email-log/${n.id}/retry`); await emailLog(body); } catch (err) { toast(err.message); } },
        }, "Retry") : null)))));
}

const MAILBOX_REFRESH_MS = 10_000;

/** The IMAP mailboxes the server watches; refreshed every 10 s while shown. */
async function mailboxes(body) {
  const content = h("div", { "aria-busy": "true" });
  mount(body, h("h1", {}, "Mailboxes"), content);
  const row = (m) => {
    const state = /^[a-z]+$/.test(m.state || "") ? m.state : "unknown";
    return h("tr", { dataset: { name: m.name } },
      h("td", {}, m.name), h("td", {}, m.address),
      h("td", {}, h("span", { class: `state state-${state}` }, m.state || "unknown")),
      h("td", {}, m.last_fetch_at ? when(m.last_fetch_at) : h("span", { class: "muted" }, "never")),
      h("td", {}, String(m.filed ?? 0)),
      h("td", { class: "error" }, m.last_error || ""));
  };
  const show = (list) => {
    content.removeAttribute("aria-busy");
    if (list.length === 0) {
      mount(content, h("p", { class: "empty" }, "No mailboxes are configured. Add a ", h("code", {}, "[[mailboxes]]"),
        " section to the configuration (see README: Connect your mailbox)."));
      return;
    }
    const t = table(["Name", "Address", "State", "Last fetch", "Filed", "Last error"], list.map(row));
    t.id = "mailboxes";
    mount(content, t);
  };
  show(await api("GET", "/api/v1/admin/mailboxes"));
  let busy = false;
  const timer = setInterval(async () => {
    // Belt and braces: the view's cleanup stops the timer, and a detached page stops it too.
    if (!body.isConnected) { clearInterval(timer); return; }
    if (busy) return;
    busy = true;
    try {
      const list = await api("GET", "/api/v1/admin/mailboxes");
      if (body.isConnected) show(list);
    } catch (err) {
      // Keep the last table; say why it is not current. The next tick tries again.
      if (body.isConnected) {
        const old = content.querySelector(".refresh-error");
        if (old) old.remove();
        content.append(h("p", { class: "error refresh-error", role: "alert" }, `Could not refresh: ${err.message}`));
      }
    } finally { busy = false; }
  }, MAILBOX_REFRESH_MS);
  return () => clearInterval(timer);
}

/** "by Alex", "by API key Zapier", or "system". */
function actorName(e) {
  if (e.api_key_id) return `by API key ${e.actor_name || `#${e.api_key_id}`}`;
  if (e.actor_id) return `by ${e.actor_name || `user #${e.actor_id}`}`;
  return e.actor_name ? `by ${e.actor_name}` : "system";
}

/** The team's shared saved replies (agents keep their own on their profile). */
async function sharedReplies(body) {
  const list = h("div", { class: "saved-replies" });
  mount(body, h("h1", {}, "Saved replies"),
    h("p", { class: "muted" }, "Shared saved replies are offered to every agent when replying. Agents keep their own on their profile page."),
    list);
  await savedReplies(list, { shared: true });
}

async function audit(body) {
  const page = await api("GET", "/api/v1/admin/audit?per_page=100");
  mount(body, h("h1", {}, "Audit log"),
    table(["When", "Action", "Actor", "Target", "Details"], page.items.map((e) => h("tr", {},
      h("td", {}, when(e.at)), h("td", {}, e.action),
      h("td", {}, actorName(e)),
      h("td", {}, e.target_type ? `${e.target_type} ${e.target_id ?? ""}` : ""),
      h("td", {}, h("code", {}, JSON.stringify(e.details)))))));
}

const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
const PRIORITIES = ["urgent", "high", "medium", "low"];

/** The service-level policy: hours per day as "09:00-12:00, 13:00-17:00",
 * holidays one per line, targets in minutes of business time. */
async function sla(body) {
  const p = await api("GET", "/api/v1/sla");
  const message = h("div", { "aria-live": "polite" });
  const text = (name, label, value, type = "text") => field(label, h("input", { name, type, value: value ?? "" }));
  const hours = (day) => (p.business_hours[day] || []).map(([a, b]) => `${a}-${b}`).join(", ");
  const form = h("form", { id: "sla-form" },
    h("div", { class: "links" }, h("label", {}, h("input", { type: "checkbox", name: "enabled", checked: p.enabled }), " Service levels on")),
    ...text("timezone", "Time zone (e.g. Europe/Berlin)", p.timezone),
    ...DAYS.flatMap(([key, label]) => text(`hours_${key}`, `${label} (e.g. 09:00-17:00; empty: closed)`, hours(key))),
    ...field("Holidays (one date per line, YYYY-MM-DD)", h("textarea", { name: "holidays" }, p.holidays.join("\n"))),
    ...PRIORITIES.flatMap((prio) => [
      ...text(`fr_${prio}`, `${prio}: first response within (business minutes)`, p.targets[prio].first_response_minutes, "number"),
      ...text(`res_${prio}`, `${prio}: resolution within (business minutes)`, p.targets[prio].resolution_minutes, "number"),
    ]),
    ...text("warning_percent", "Warn when this much of a target has passed (%)", p.warning_percent, "number"),
    h("div", { class: "links" }, h("button", { class: "primary", type: "submit" }, "Save service levels")),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = values(form, true);
    const intervals = (raw) => (raw || "").split(",").map((x) => x.trim()).filter(Boolean).map((x) => x.split("-").map((t) => t.trim()));
    const out = {
      enabled: form.elements.enabled.checked,
      timezone: v.timezone,
      business_hours: Object.fromEntries(DAYS.map(([key]) => [key, intervals(v[`hours_${key}`])])),
      holidays: (v.holidays || "").split("\n").map((x) => x.trim()).filter(Boolean),
      targets: Object.fromEntries(PRIORITIES.map((prio) => [prio, {
        first_response_minutes: Number(v[`fr_${prio}`]), resolution_minutes: Number(v[`res_${prio}`]),
      }])),
      warning_percent: Number(v.warning_percent),
    };
    clearProblem(message, form);
    try {
      await api("PUT", "/api/v1/sla", out);
      toast("Service levels saved");
    } catch (err) { showProblem(message, err, form); }
  });
  mount(body, h("h1", {}, "Service levels"), form);
}
