// Helpline support widget. On any website:
//   <script src="https://help.example.com/widget.js" defer></script>
// (add the site to `cors_origins` in the Helpline configuration). Shows a
// support bubble when the help desk enables it; the form opens a ticket.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", location.href).origin;
  var openAtStart = script && script.hasAttribute("data-open");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  var css = ":host{all:initial;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24}" +
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#2458d6;color:#fff;font-size:24px;cursor:pointer;box-shadow:0 4px 12px rgba(0,0,0,.25);z-index:2147483000}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:min(340px,calc(100vw - 40px));background:#fff;border:1px solid #dde1e6;border-radius:10px;padding:16px;box-shadow:0 8px 24px rgba(0,0,0,.2);z-index:2147483000}" +
    "h2{font-size:16px;margin:0 0 8px}label{display:block;font-weight:600;margin:8px 0 2px}" +
    "input,textarea{width:100%;box-sizing:border-box;border:1px solid #cfd5dc;border-radius:6px;padding:6px 8px;font:inherit}" +
    "textarea{min-height:80px}button.send{margin-top:10px;background:#2458d6;color:#fff;border:0;border-radius:6px;padding:8px 14px;font:inherit;cursor:pointer}" +
    ".links a{margin-right:12px;color:#2458d6}.msg{margin-top:8px}.err{color:#b42318}" +
    "@media (prefers-color-scheme: dark){.panel{background:#1c2026;color:#e6e9ed;border-color:#2e343c}input,textarea{background:#14171b;color:#e6e9ed;border-color:#2e343c}}";

  function start(settings) {
    if (!settings.support_bubble_enabled) return;
    var host = el("div", { id: "helpline-widget" });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    root.appendChild(el("style", { text: css }));
    var panel = el("div", { class: "panel", role: "dialog", "aria-label": "Contact " + settings.helpdesk_name, hidden: "" });
    var bubble = el("button", { class: "bubble", type: "button", "aria-label": "Contact " + settings.helpdesk_name, "aria-expanded": "false", text: "?" });
    bubble.addEventListener("click", function () {
      var open = panel.hasAttribute("hidden");
      if (open) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "");
      bubble.setAttribute("aria-expanded", String(open));
      if (open) { var first = panel.querySelector("input"); if (first) first.focus(); }
    });
    var links = el("div", { class: "links" });
    if (settings.whatsapp_number) {
      links.appendChild(el("a", { href: "https://wa.me/" + settings.whatsapp_number.replace(/[^0-9]/g, ""), target: "_blank", rel: "noopener", text: "WhatsApp" }));
    }
    if (settings.phone_number) {
      links.appendChild(el("a", { href: "tel:" + settings.phone_number.replace(/[^0-9+]/g, ""), text: "Call " + settings.phone_number }));
    }
    var message = el("div", { class: "msg", "aria-live": "polite" });
    function input(name, label, type) {
      var id = "hlw-" + name;
      var field = type === "textarea" ? el("textarea", { id: id, name: name, required: "" }) : el("input", { id: id, name: name, type: type || "text", required: "" });
      return [el("label", { for: id, text: label }), field];
    }
    var fields = [].concat(input("name", "Name"), input("email", "Email", "email"), input("subject", "Subject"), input("message", "Message", "textarea"));
    var form = el("form", {}, fields.concat([el("button", { class: "send", type: "submit", text: "Send" }), message]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = {};
      ["name", "email", "subject", "message"].forEach(function (k) { data[k] = form.elements[k].value; });
      data.channel = "web";
      message.className = "msg";
      message.textContent = "Sending…";
      fetch(base + "/api/v1/support/request", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
      }).then(function (res) {
        return res.json().then(function (body) { return { ok: res.ok, body: body }; });
      }).then(function (r) {
        if (!r.ok) {
          message.className = "msg err";
          message.textContent = (r.body.errors || []).map(function (e) { return e.field + ": " + e.message; }).join("; ") || r.body.detail || "Sending failed.";
          return;
        }
        form.reset();
        message.textContent = "Thank you! Your request is ticket #" + r.body.ticket_id + ". ";
        if (r.body.portal_url) {
          message.appendChild(el("a", { href: r.body.portal_url, target: "_blank", rel: "noopener", text: "Follow it here" }));
        } else {
          message.appendChild(document.createTextNode("We emailed you a link to follow it."));
        }
      }).catch(function () {
        message.className = "msg err";
        message.textContent = "Sending failed; please try again.";
      });
    });
    panel.appendChild(el("h2", { text: "Contact " + settings.helpdesk_name }));
    panel.appendChild(links);
    panel.appendChild(form);
    root.appendChild(panel);
    root.appendChild(bubble);
    document.body.appendChild(host);
    if (openAtStart) bubble.click();
  }

  fetch(base + "/api/v1/settings/public")
    .then(function (res) { return res.json(); })
    .then(start)
    .catch(function () { /* the help desk is unreachable: show nothing */ });
})();
