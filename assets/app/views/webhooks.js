// Admin > Webhooks: create one (its signing secret shown once), turn it on
// or off, send a ping, read its deliveries and send one again.

import { h, mount, when, field, toast, showProblem, clearProblem } from "../dom.js";
import { api } from "../api.js";

const EVENTS = [
  ["ticket.created", "Ticket created"],
  ["ticket.updated", "Ticket updated"],
  ["ticket.assigned", "Ticket assigned"],
  ["ticket.deleted", "Ticket deleted"],
  ["message.created", "New message"],
  ["ticket.sla_warning", "Service level near"],
  ["ticket.sla_breached", "Service level missed"],
];
const FORMATS = [
  ["json", "JSON (signed)"],
  ["slack", "Slack"],
  ["teams", "Microsoft Teams"],
  ["discord", "Discord"],
];

function table(headers, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows));
}

/** Renders the page into `body`; `shown` keeps the one-time secret across re-renders. */
export async function webhooks(body, shown = null, openLog = null) {
  const hooks = await api("GET", "/api/v1/webhooks");
  const message = h("div", { "aria-live": "polite", id: "new-webhook" });
  const all = h("input", { type: "checkbox", name: "all_events", id: "hook-all", checked: true });
  const boxes = EVENTS.map(([key, label]) => h("label", { class: "inline" },
    h("input", { type: "checkbox", name: "event", value: key }), ` ${label}`));
  // "All events" and single events exclude each other.
  all.addEventListener("change", () => { if (all.checked) for (const b of boxes) b.firstChild.checked = false; });
  for (const b of boxes) b.firstChild.addEventListener("change", () => { if (b.firstChild.checked) all.checked = false; });
  const form = h("form", { id: "create-webhook" },
    ...field("URL", h("input", { name: "url", type: "url", required: true, placeholder: "https://hooks.slack.com/services/…" })),
    ...field("Format", h("select", { name: "format" }, FORMATS.map(([v, t]) => h("option", { value: v }, t)))),
    h("fieldset", {}, h("legend", {}, "Events"),
      h("label", { class: "inline", for: "hook-all" }, all, " All events"), ...boxes),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "include_internal" }), " Include internal notes"),
    ...field("Description (optional)", h("input", { name: "description" })),
    h("div", { class: "links" }, h("button", { class: "primary", type: "submit" }, "Create webhook")),
    message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblem(message, form);
    const events = all.checked ? ["*"] : [...form.querySelectorAll("input[name=event]:checked")].map((b) => b.value);
    const description = form.elements.description.value.trim();
    try {
      const created = await api("POST", "/api/v1/webhooks", {
        url: form.elements.url.value.trim(),
        format: form.elements.format.value,
        events,
        include_internal: form.elements.include_internal.checked,
        description: description || null,
      });
      await webhooks(body, created);
    } catch (err) { showProblem(message, err, form); }
  });

  const log = h("section", { id: "deliveries", "aria-live": "polite" });
  const act = (fn) => async () => { try { await fn(); } catch (err) { toast(err.message); } };
  const rows = hooks.map((w) => h("tr", {},
    h("td", { class: "wrap" }, h("code", {}, w.url), w.description ? h("div", { class: "muted" }, w.description) : null),
    h("td", {}, w.format),
    h("td", {}, w.events.includes("*") ? "all" : w.events.join(", "), w.include_internal ? " (with internal notes)" : ""),
    h("td", {}, h("label", { class: "inline" },
      h("input", {
        type: "checkbox", checked: w.active, "aria-label": `Active: ${w.url}`,
        onchange: act(async () => { await api("PATCH", `/api/v1/webhooks/${w.id}`, { active: !w.active }); await webhooks(body, null, openLog); }),
      }), w.active ? " on" : " off")),
    h("td", {},
      h("button", {
        type: "button", class: "ping",
        onclick: act(async () => { await api("POST", `/api/v1/webhooks/${w.id}/ping`); toast("Ping queued."); await deliveries(log, w); }),
      }, "Send a ping"), " ",
      h("button", { type: "button", onclick: act(() => deliveries(log, w)) }, "Deliveries"), " ",
      h("button", {
        type: "button", class: "danger",
        onclick: act(async () => {
          if (!confirm(`Delete the webhook to ${w.url}? Its delivery log goes with it.`)) return;
          await api("DELETE", `/api/v1/webhooks/${w.id}`);
          await webhooks(body);
        }),
      }, "Delete"))));
  mount(body, h("h1", {}, "Webhooks"),
    h("p", { class: "muted" }, "Events go to your own service (JSON, signed with the webhook's secret in Helpline-Signature) or to a Slack, Teams or Discord channel. Failed deliveries are retried with growing pauses."),
    shown ? h("div", { role: "status" },
      h("p", {}, `Webhook to ${shown.url} created. Copy its signing secret now; it is not shown again:`),
      h("div", { class: "secret", id: "webhook-secret" }, shown.secret)) : null,
    form,
    hooks.length ? table(["URL", "Format", "Events", "Active", "Actions"], rows) : h("p", { class: "empty" }, "No webhooks yet."),
    log);
  const open = openLog && hooks.find((w) => w.id === openLog.id);
  if (open) await deliveries(log, open);
}

/** The deliveries of webhook `w`, newest first, each with "Send again". */
async function deliveries(log, w) {
  const page = await api("GET", `/api/v1/webhooks/${w.id}/deliveries?per_page=50`);
  const again = (d) => async () => {
    try {
      await api("POST", `/api/v1/webhooks/${w.id}/deliveries/${d.id}/redeliver`);
      toast(`Delivery ${d.id} queued again.`);
      await deliveries(log, w);
    } catch (err) { toast(err.message); }
  };
  mount(log, h("h2", {}, `Deliveries to ${w.url}`),
    h("button", { type: "button", onclick: () => deliveries(log, w).catch((e) => toast(e.message)) }, "Refresh"),
    page.items.length === 0 ? h("p", { class: "empty" }, "Nothing sent yet.") :
      table(["When", "Event", "Status", "Attempts", "Answer", "Last error", "Actions"], page.items.map((d) => h("tr", {},
        h("td", {}, when(d.created_at)), h("td", {}, d.event), h("td", { class: `delivery-${d.status}` }, d.status),
        h("td", {}, String(d.attempts)), h("td", {}, d.response_status ? String(d.response_status) : ""),
        h("td", { class: "error wrap" }, d.last_error || ""),
        h("td", {}, d.status === "pending" ? null : h("button", { type: "button", onclick: again(d) }, "Send again"))))));
}
