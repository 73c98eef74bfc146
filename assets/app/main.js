// The web app: a small router over the JSON API. Agents get the inbox and
// admin pages, customers their tickets; portal links work without an account.

import { h, mount } from "./dom.js";
import { session, refresh, signOut, anon } from "./api.js";
import * as auth from "./views/auth.js";
import * as inbox from "./views/inbox.js";
import * as customer from "./views/customer.js";
import * as portal from "./views/portal.js";
import * as rate from "./views/rate.js";
import * as reports from "./views/reports.js";
import * as admin from "./views/admin.js";
import * as profile from "./views/profile.js";

const root = document.getElementById("app");
let cleanup = null;
export const site = { name: "Helpline", settings: {} };

/** Public pages, reachable signed out. */
const PUBLIC = [
  [/^\/login$/, auth.login],
  [/^\/register$/, auth.register],
  [/^\/verify$/, auth.verify],
  [/^\/forgot$/, auth.forgot],
  [/^\/reset-password$/, auth.resetPassword],
  [/^\/accept-invite$/, auth.acceptInvite],
  [/^\/setup$/, auth.setup],
  [/^\/portal\/([^/]+)$/, portal.view],
  [/^\/rate$/, rate.view],
];

const STAFF = [
  [/^\/inbox$/, inbox.view],
  [/^\/tickets\/(\d+)$/, inbox.view],
  [/^\/admin(?:\/([a-z-]+))?$/, admin.view],
  [/^\/reports$/, reports.view],
  [/^\/profile$/, profile.view],
];

const CUSTOMER = [
  [/^\/my$/, customer.list],
  [/^\/my\/new$/, customer.create],
  [/^\/tickets\/(\d+)$/, customer.ticket],
  [/^\/profile$/, profile.view],
];

/** Shows a new help desk name everywhere at once: the header, the tab title
 * (a page's own title keeps its part before " · ") and `site`. Views that
 * show the name themselves can listen to the "helpline:site-name" event. */
export function setSiteName(name) {
  const old = site.name;
  site.name = (name || "").trim() || "Helpline";
  site.settings = { ...site.settings, helpdesk_name: site.name };
  if (!document.title || document.title === old) document.title = site.name;
  else if (document.title.endsWith(` · ${old}`)) document.title = `${document.title.slice(0, -old.length)}${site.name}`;
  for (const brand of document.querySelectorAll(".brand")) brand.textContent = site.name;
  window.dispatchEvent(new CustomEvent("helpline:site-name", { detail: site.name }));
}

/** After the signed-in user changed their profile: the header shows the new name. */
export function updateUser(user) {
  if (session.user && user) Object.assign(session.user, user);
  for (const who of document.querySelectorAll(".topbar .who")) who.textContent = session.user ? session.user.name : "";
}

export function go(path, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

function home() {
  if (!session.user) return "/login";
  return session.staff ? "/inbox" : "/my";
}

function match(routes, path) {
  for (const [pattern, view] of routes) {
    const m = path.match(pattern);
    if (m) return () => view(m.slice(1));
  }
  return null;
}

function topbar() {
  const user = session.user;
  const here = location.pathname;
  const link = (href, text) =>
    h("a", { href, "aria-current": here === href || here.startsWith(`${href}/`) ? "page" : null }, text);
  const links = session.staff
    ? [link("/inbox", "Inbox"), link("/reports", "Reports"), user.role === "admin" ? link("/admin", "Admin") : null]
    : [link("/my", "My tickets"), link("/my/new", "New ticket")];
  links.push(link("/profile", "Profile"));
  return h("header", { class: "topbar" },
    h("a", { class: "brand", href: home() }, site.name),
    h("nav", { "aria-label": "Main" }, links),
    h("span", { class: "muted who" }, user.name),
    h("button", { type: "button", onclick: async () => { await signOut(); go("/login"); } }, "Sign out"));
}

let rendering = 0;

export async function render() {
  const generation = ++rendering;
  if (cleanup) { cleanup(); cleanup = null; }
  // A view that finishes loading after the user moved on is closed at once.
  const keep = (fn) => {
    if (generation === rendering) cleanup = fn || null;
    else if (fn) fn();
  };
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const publicView = match(PUBLIC, path);
  if (publicView) {
    const body = h("div", { class: "public" });
    mount(root, body);
    keep(await publicView()(body));
    performance.mark("helpline:rendered");
    return;
  }
  if (!session.user) {
    go(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
    return;
  }
  if (path === "/") { go(home(), true); return; }
  const view = match(session.staff ? STAFF : CUSTOMER, path);
  const main = h("main", { id: "main", class: "main" });
  mount(root, topbar(), main);
  if (!view) {
    mount(main, h("div", { class: "empty" }, h("h1", {}, "Page not found"), "There is nothing here. ", h("a", { href: home() }, "Go back")));
    return;
  }
  keep(await view()(main));
  performance.mark("helpline:rendered");
}

// Same-origin links move inside the app without reloading. Downloads and
// blob: links (fetched attachments, whose origin is ours) are the browser's.
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.protocol !== location.protocol) return;
  if (url.origin !== location.origin || /^\/(api|docs|health|metrics)/.test(url.pathname) || /\.\w+$/.test(url.pathname)) return;
  event.preventDefault();
  go(url.pathname + url.search + url.hash);
});
window.addEventListener("popstate", render);

async function boot() {
  try {
    site.settings = await anon("GET", "/api/v1/settings/public");
    setSiteName(site.settings.helpdesk_name);
  } catch { /* defaults */ }
  await refresh();
  // From now on, losing the session (expired, signed out elsewhere) means signing in again.
  session.onChange((user) => { if (!user && !match(PUBLIC, location.pathname)) go("/login", true); });
  await render();
}
boot();
