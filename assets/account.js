// Forms behind the links Helpline sends: first-admin setup, password reset, invites.
(function () {
  "use strict";
  var form = document.getElementById("account-form");
  var message = document.getElementById("account-message");
  var token = new URLSearchParams(location.hash.slice(1)).get("token");
  var endpoints = {
    "setup": "/api/v1/auth/setup",
    "reset-password": "/api/v1/auth/password-reset/confirm",
    "accept-invite": "/api/v1/auth/invite/accept"
  };
  var action = form.dataset.action;

  function show(text, ok) {
    message.textContent = text;
    message.className = ok ? "ok" : "error";
  }

  if (!token) {
    show("This page needs the link with its token. Open the full link you were given.", false);
    form.hidden = true;
    return;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    if (data.get("password") !== data.get("password_again")) {
      show("The two passwords differ.", false);
      return;
    }
    var body = { token: token, password: data.get("password") };
    if (action === "setup") {
      body.name = data.get("name");
      body.email = data.get("email");
    }
    form.querySelector("button").disabled = true;
    fetch(endpoints[action], {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.text().then(function (text) {
        var json = text ? JSON.parse(text) : {};
        if (res.ok) {
          form.hidden = true;
          history.replaceState(null, "", location.pathname);
          show(action === "reset-password"
            ? "Your password is set. You can sign in now."
            : "Done: signed in as " + json.user.email + ". You can sign in with this password from now on.", true);
        } else {
          var detail = json.errors ? json.errors.map(function (e) { return e.field + ": " + e.message; }).join("; ") : json.detail;
          show(detail || ("Failed (" + res.status + ")"), false);
        }
      });
    }).catch(function () {
      show("The server could not be reached.", false);
    }).finally(function () {
      form.querySelector("button").disabled = false;
    });
  });
})();
