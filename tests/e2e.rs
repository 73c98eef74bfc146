//! End to end in a real headless Chromium (WebDriver), against the real
//! binary on loopback: setup, admin, agent, customer, portal and widget.
//! Without Chromium the test is skipped loudly, or fails when
//! `HELPLINE_E2E=required` (CI sets it). Screenshots go to
//! `target/e2e-screenshots/`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::stage::{
    assert_accessible, assert_no_console_errors, axe_violations, call, open_ticket, shots, sign_in,
    sign_in_browser, stage, submit, Server, Stage, PASSWORD,
};
use common::webdriver::Browser;
use serde_json::{json, Value};

fn first_run(admin: &Browser, server: &Server, shots: &Path) {
    // First run: the setup link creates the admin, then the settings.
    admin.goto(&server.url(&format!("/setup#token={}", server.setup_token)));
    admin.fill("input[name=name]", "Ada Admin");
    admin.fill("input[name=email]", "ada@example.com");
    admin.fill("input[name=password]", PASSWORD);
    admin.fill("input[name=password_again]", PASSWORD);
    submit(admin, "form");
    admin.find("form#settings");
    admin.screenshot(shots, "01-first-run-settings");
    admin.fill("input[name=support_email]", "support@example.com");
    admin.click_text("input[name=support_bubble_enabled]", "");
    // Renaming the help desk shows in the header at once.
    admin.fill("input[name=helpdesk_name]", "Acme Support");
    submit(admin, "form#settings");
    admin.wait_text("header .brand", "Acme Support");

    // The admin invites an agent and makes an API key.
    admin.find("form#invite-user");
    admin.fill("form#invite-user input[name=name]", "Alex Agent");
    admin.fill("form#invite-user input[name=email]", "alex@example.com");
    submit(admin, "form#invite-user");
    admin.wait_text("table td", "alex@example.com");
    // Invited, not active, until they accept; the invitation can go again.
    admin.wait_text("table td", "invited");
    admin.click_text("button.resend-invite", "Resend invite");
    admin.wait_text(".toast", "");
    // Every column of the users table has a header.
    let empty_headers = admin.script(
        "return [...document.querySelectorAll('table th')].filter((th) => !th.textContent.trim()).length;",
    );
    assert_eq!(empty_headers, 0);
    admin.screenshot(shots, "02-admin-users");
    admin.goto(&server.url("/admin/api-keys"));
    admin.fill("form#create-key input[name=name]", "Website");
    submit(admin, "form#create-key");
    admin.wait_text("#new-key .secret", "hlk_");
    admin.screenshot(shots, "03-admin-api-keys");
    admin.goto(&server.url("/admin/email-log"));
    admin.wait_text("table td", "alex@example.com");
    admin.screenshot(shots, "03b-admin-email-log");
    admin.goto(&server.url("/admin/mailboxes"));
    admin.wait_text("p.empty", "No mailboxes are configured");
    admin.goto(&server.url("/admin/audit"));
    admin.wait_text("table td", "api_key.created");
    admin.screenshot(shots, "03c-admin-audit");
}

fn agent_joins(agent: &Browser, server: &Server) {
    // The agent accepts the invitation from the mail and lands in the inbox.
    let invite = server.link_in_mail("/accept-invite#token=");
    agent.goto(&server.url(&invite));
    agent.fill("input[name=password]", PASSWORD);
    agent.fill("input[name=password_again]", PASSWORD);
    submit(agent, "form");
    agent.wait_text(".views a", "Unassigned");
    // Signing out and in again through the form.
    agent.click(&agent.wait_text("header button", "Sign out"));
    agent.fill("input[name=email]", "alex@example.com");
    agent.fill("input[name=password]", PASSWORD);
    submit(agent, "form");
    agent.wait_text(".views a", "Unassigned");
    // A fresh load of the inbox (the session survives it, in the cookie).
    agent.goto(&server.url("/inbox"));
    agent.wait_text(".views a", "Unassigned");
    let first_screen = agent.script(
        "const m = performance.getEntriesByName('helpline:rendered')[0]; return m ? m.startTime : null;",
    );
    eprintln!("first screen of the inbox rendered {first_screen} ms after navigation start");
}

fn customer_writes_in(customer: &Browser, server: &Server) {
    // A customer registers and opens a ticket.
    customer.goto(&server.url("/register"));
    customer.fill("input[name=name]", "Carla Customer");
    customer.fill("input[name=email]", "carla@customer.example");
    customer.fill("input[name=password]", PASSWORD);
    submit(customer, "form");
    // The address is confirmed through the mailed link, which signs in.
    customer.wait_text("#verification-sent", "We mailed a link");
    let link = server.link_in_mail("/verify#token=");
    customer.goto(&server.url(&link));
    customer.click_text("a.button[href='/my/new']", "");
    customer.fill("#new-ticket input[name=subject]", "Printer is on fire");
    customer.fill(
        "#new-ticket textarea[name=body]",
        "Smoke comes out of the back.",
    );
    // A file goes along, chosen with the attach button's file input.
    let log = std::env::temp_dir().join(format!("printer-log-{}.txt", std::process::id()));
    std::fs::write(&log, "error 0x42: fuser overheated\n").unwrap();
    customer.choose_file(&customer.find("#new-ticket input.attach-input"), &log);
    customer.wait_text("#new-ticket .file-chip.done", "printer-log");
    submit(customer, "#new-ticket");
    customer.wait_text("#ticket-subject", "Printer is on fire");
    customer.wait_text("#messages a.file-link", "printer-log");
    let _ = std::fs::remove_file(log);
}

fn agent_works_the_ticket(agent: &Browser, customer: &Browser, shots: &Path) {
    // The agent sees it arrive without reloading, opens it and works it.
    agent.wait_text("#ticket-list a", "Printer is on fire");
    agent.screenshot(shots, "04-agent-inbox");
    assert_eq!(
        agent.script("return document.querySelectorAll('h1').length;"),
        1
    );
    agent.click_text("#ticket-list a", "Printer is on fire");
    agent.wait_text("#ticket-subject", "Printer is on fire");
    agent.wait_text("#messages a.file-link", "printer-log");
    agent.fill("#reply", "Please unplug it right away.");
    // The customer sees the agent typing, and the notice goes with the message.
    customer.wait_text("#typing", "Alex Agent is typing");
    // A screenshot pasted into the reply box goes up and along.
    agent.paste_image("#reply");
    agent.wait_text(".file-chip.done", "pasted-image");
    agent.click_text("#send", "");
    agent.wait_text("#messages .message", "Please unplug it right away.");
    agent.wait_for("the pasted image's thumbnail", || {
        agent
            .script("const i = document.querySelector('#messages img.thumb'); return !!(i && i.complete && i.naturalWidth > 0);")
            .as_bool()
            .filter(|shown| *shown)
    });
    // Categories and types are chosen from the admin's lists, not typed.
    let kinds = agent.script(
        "return ['#side-category', '#side-type'].map((s) => document.querySelector(s).tagName).join();",
    );
    assert_eq!(kinds, "SELECT,SELECT");
    // Closing asks first; Cancel leaves the ticket as it was.
    agent.click_text("#close-ticket", "");
    assert_eq!(agent.answer_prompt(false), format!("Close ticket #{}?", 1));
    agent.wait_text("#side-status option:checked", "open");
    agent.click_text("#internal-note", "");
    agent.fill("#reply", "SECRET-NOTE: customer is on the VIP plan");
    agent.click_text("#send", "");
    agent.wait_text("#messages .message.internal", "SECRET-NOTE");
    agent.select("#side-assignee", "Alex Agent");
    agent.wait_text("#ticket-list a", "Alex Agent");
    agent.click_text("#resolve", "");
    agent.find("#reopen");
    agent.screenshot(shots, "05-agent-ticket");
}

fn customer_sees_the_answer(customer: &Browser, shots: &Path) {
    // The customer sees the reply live, never the note.
    customer.wait_text("#messages .message", "Please unplug it right away.");
    assert_eq!(
        customer.text(&customer.find("#typing")),
        "",
        "the typing notice goes with the message"
    );
    customer.wait_for("the answer's image", || {
        customer
            .script("const i = document.querySelector('#messages img.thumb'); return !!(i && i.complete && i.naturalWidth > 0);")
            .as_bool()
            .filter(|shown| *shown)
    });
    customer.wait_text("#ticket-status", "resolved");
    assert!(!customer.page_text().contains("SECRET-NOTE"));
    customer.screenshot(shots, "06-customer-ticket");
}

fn portal_and_widget(agent: &Browser, visitor: &Browser, server: &Server, shots: &Path) {
    // A portal link answers without an account; the agent sees the reply live.
    agent.click_text("#portal-link", "");
    let portal_path = agent.text_containing(".sidebar .secret", "/portal/");
    let portal_path = &portal_path[portal_path.find("/portal/").unwrap()..];
    visitor.goto(&server.url(portal_path));
    visitor.fill("#reply", "Thanks, it is unplugged now.");
    visitor.click_text("#send", "");
    visitor.wait_text("#messages .message", "Thanks, it is unplugged now.");
    assert!(!visitor.page_text().contains("SECRET-NOTE"));
    visitor.screenshot(shots, "07-token-portal");
    agent.wait_text("#messages .message", "Thanks, it is unplugged now.");

    // The widget on a web page opens a ticket; it shows up in the inbox.
    visitor.goto(&server.url("/widget-demo.html"));
    let host = visitor.find("#helpline-widget");
    visitor.click(&visitor.in_shadow(&host, "button.bubble"));
    for (css, value) in [
        ("#hlw-name", "Wendy Web"),
        ("#hlw-email", "wendy@example.org"),
        ("#hlw-subject", "Question from the website"),
        ("#hlw-message", "Do you ship to Portugal?"),
    ] {
        let input = visitor.in_shadow(&host, css);
        visitor.type_into(&input, value);
    }
    visitor.click(&visitor.in_shadow(&host, "button.send"));
    visitor.wait_for("the widget's receipt", || {
        let message = visitor.in_shadow(&host, ".msg");
        visitor.text(&message).contains("ticket #").then_some(())
    });
    visitor.screenshot(shots, "08-widget");
    agent.click_text(".views a", "All open");
    agent.wait_text("#ticket-list a", "Question from the website");

    // On a phone, one pane at a time.
    agent.resize(390, 844);
    agent.goto(&server.url("/inbox"));
    agent.wait_text("#ticket-list a", "Question from the website");
    agent.screenshot(shots, "09-phone-inbox");
}

#[test]
fn a_team_runs_support_from_the_browser() {
    let Some(Stage {
        _dir,
        server,
        driver,
        chromium,
    }) = stage()
    else {
        return;
    };
    let shots = shots();

    let admin = driver.session(&chromium);
    first_run(&admin, &server, &shots);
    let agent = driver.session(&chromium);
    agent_joins(&agent, &server);
    let customer = driver.session(&chromium);
    customer_writes_in(&customer, &server);
    agent_works_the_ticket(&agent, &customer, &shots);
    customer_sees_the_answer(&customer, &shots);
    let visitor = driver.session(&chromium);
    portal_and_widget(&agent, &visitor, &server, &shots);

    for (name, browser) in [
        ("admin", &admin),
        ("agent", &agent),
        ("customer", &customer),
        ("visitor", &visitor),
    ] {
        assert_no_console_errors(name, browser);
    }
}

/// One JSON call to the server over loopback; (status, body).
/// Clicks with Shift held (a range of checkboxes).
fn shift_click(browser: &Browser, css: &str) {
    browser.find(css);
    browser.script(&format!(
        "document.querySelector({css:?}).dispatchEvent(new MouseEvent('click', {{ bubbles: true, cancelable: true, shiftKey: true }})); return true;"
    ));
}

fn reply_box_value(browser: &Browser) -> String {
    browser
        .script("return document.querySelector('#reply').value;")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Opens ticket `id` from the list and waits for its page; clicks again
/// when a live reload of the list swallowed the click.
fn open_from_list(browser: &Browser, id: i64, subject: &str) {
    let shown = |b: &Browser| {
        b.find_all("#ticket-subject")
            .iter()
            .any(|e| b.text(e).contains(subject))
    };
    if browser.url().contains(&format!("/tickets/{id}")) && shown(browser) {
        return;
    }
    browser.wait_for(&format!("ticket #{id} open"), || {
        browser.click_text("#ticket-list a", &format!("#{id} "));
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if browser
                .find_all("#ticket-subject")
                .iter()
                .any(|e| browser.text(e).contains(subject))
            {
                return Some(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    });
}

const CTRL_ENTER: &str = "\u{E009}\u{E007}\u{E000}";

#[test]
#[allow(clippy::too_many_lines)] // one day's story: unread, saved reply, merge, bulk, portal, keys, phone, axe
fn an_agent_works_a_day_from_the_keyboard() {
    let Some(Stage {
        _dir,
        server,
        driver,
        chromium,
    }) = stage()
    else {
        return;
    };
    let shots = shots();

    // The team, set up through the API: an admin, an agent with a signature,
    // two customers, a shared saved reply, and the morning's tickets.
    let (status, pair) = call(
        &server,
        "POST",
        "/api/v1/auth/setup",
        None,
        &json!({
            "token": server.setup_token, "email": "ada@example.com", "name": "Ada Admin", "password": PASSWORD,
        }),
    );
    assert_eq!(status, 201, "{pair}");
    let admin = pair["access_token"].as_str().unwrap().to_string();
    for (email, name, role) in [
        ("alex@example.com", "Alex Agent", "agent"),
        ("carla@customer.example", "Carla Customer", "customer"),
        ("dan@spam.example", "Dan Spammer", "customer"),
    ] {
        let (status, user) = call(
            &server,
            "POST",
            "/api/v1/users",
            Some(&admin),
            &json!({ "email": email, "name": name, "role": role, "password": PASSWORD }),
        );
        assert_eq!(status, 201, "{user}");
    }
    let (status, _) = call(
        &server,
        "POST",
        "/api/v1/saved-replies",
        Some(&admin),
        &json!({
            "title": "Refund issued",
            "body": "Hello {{customer.first_name}},\n\nyour refund for ticket #{{ticket.id}} is **on its way**.",
            "shared": true,
        }),
    );
    assert_eq!(status, 201);
    let alex = sign_in(&server, "alex@example.com");
    let (status, _) = call(
        &server,
        "PATCH",
        "/api/v1/users/me",
        Some(&alex),
        &json!({ "signature": "Alex, Support team" }),
    );
    assert_eq!(status, 200);
    let carla = sign_in(&server, "carla@customer.example");
    let dan = sign_in(&server, "dan@spam.example");
    let refund = open_ticket(
        &server,
        &carla,
        "Refund please",
        "I returned the kettle two weeks ago.",
    );
    let again = open_ticket(
        &server,
        &carla,
        "Where is my refund",
        "Still nothing on my card.",
    );
    let spam: Vec<i64> = (1..=3)
        .map(|n| open_ticket(&server, &dan, &format!("Cheap watches {n}"), "Buy now"))
        .collect();

    // Five tickets with news: the markers and the count in the title.
    let agent = driver.session(&chromium);
    sign_in_browser(&agent, &server, "alex@example.com");
    agent.wait_text(".views a", "Unread");
    agent.wait_for("the unread count in the title", || {
        agent
            .script("return document.title;")
            .as_str()
            .filter(|t| t.starts_with("(5) "))
            .map(String::from)
    });
    agent.click_text(".views a", "Unread");
    agent.wait_text("#ticket-list li.unread a", "Refund please");
    agent.screenshot(&shots, "10-agent-unread");
    assert_accessible(&agent, "inbox");
    // The check sees a planted problem (an image without a text alternative).
    agent.script("const i = document.createElement('img'); i.id = 'planted'; i.src = '/docs/favicon.png'; document.querySelector('main').append(i); return true;");
    assert!(
        axe_violations(&agent)
            .iter()
            .any(|v| v.starts_with("image-alt")),
        "axe-core runs"
    );
    agent.script("document.getElementById('planted').remove(); return true;");

    // Opening a ticket clears its marker; a new message elsewhere brings one back, live.
    open_from_list(&agent, again, "Where is my refund");
    agent.click_text(".views a", "All open");
    open_from_list(&agent, refund, "Refund please");
    agent.wait_for("both of Carla's tickets read", || {
        let unread = agent.find_all("#ticket-list li.unread");
        (unread.len() == 3).then_some(())
    });
    let (status, _) = call(
        &server,
        "POST",
        &format!("/api/v1/tickets/{again}/messages"),
        Some(&carla),
        &json!({ "body": "Hello?" }),
    );
    assert_eq!(status, 201);
    agent.wait_text("#ticket-list li.unread a", "Where is my refund");
    assert_accessible(&agent, "open ticket");

    // A saved reply from the picker, Markdown and the signature, sent with Ctrl+Enter.
    agent.click_and_press("#reply", "/refund");
    agent.wait_text("#saved-replies [role=option]", "Refund issued");
    agent.press_css("#reply", "\u{E007}");
    agent.wait_for("the rendered saved reply in the reply box", || {
        let text = reply_box_value(&agent);
        text.contains("Hello Carla,").then_some(text)
    });
    assert!(
        !reply_box_value(&agent).contains("/refund"),
        "the trigger is replaced"
    );
    assert!(reply_box_value(&agent).contains(&format!("ticket #{refund}")));
    agent.press_css("#reply", CTRL_ENTER);
    agent.wait_text("#messages .message .body strong", "on its way");
    agent.wait_text("#messages .message", "Alex, Support team");

    // Merging the duplicate: search, pick, confirm; the conversation moves.
    open_from_list(&agent, again, "Where is my refund");
    agent.click_text("#merge", "");
    agent.fill("#merge-search", &format!("#{refund}"));
    agent.click_text("#merge-results button.merge-option", "Refund please");
    assert!(
        agent
            .find_all("#merge-warning")
            .iter()
            .all(|w| agent.text(w).is_empty()),
        "same customer: no warning"
    );
    agent.click_text("#merge-confirm", "");
    agent.wait_text("#ticket-subject", "Refund please");
    agent.wait_text("#messages .message", "Still nothing on my card.");
    let (_, merged) = call(
        &server,
        "GET",
        &format!("/api/v1/tickets/{again}"),
        Some(&alex),
        &Value::Null,
    );
    assert_eq!(merged["merged_into"], refund);

    // Bulk: three spam tickets closed at once (a range with Shift), after a confirmation.
    agent.click_text(".views a", "All open");
    agent.wait_text("#ticket-list a", "Cheap watches 3");
    agent.click_text(&format!("input[data-select=\"{}\"]", spam[0]), "");
    shift_click(&agent, &format!("input[data-select=\"{}\"]", spam[2]));
    agent.wait_text("#bulk-bar", "3 selected");
    agent.screenshot(&shots, "11-agent-bulk");
    agent.click_text("#bulk-close", "");
    assert_eq!(agent.answer_prompt(true), "Close 3 tickets?");
    agent.wait_text("#bulk-result", "Updated 3 tickets.");
    for id in &spam {
        let (_, ticket) = call(
            &server,
            "GET",
            &format!("/api/v1/tickets/{id}"),
            Some(&alex),
            &Value::Null,
        );
        assert_eq!(ticket["status"], "closed", "#{id}");
    }

    // The customer's portal page follows the conversation live.
    let (status, link) = call(
        &server,
        "POST",
        "/api/v1/portal-tokens",
        Some(&alex),
        &json!({ "ticket_id": refund }),
    );
    assert_eq!(status, 201, "{link}");
    let portal = link["url"].as_str().unwrap();
    let visitor = driver.session(&chromium);
    visitor.goto(&server.url(&portal[portal.find("/portal/").unwrap()..]));
    visitor.wait_text("#messages .message .body strong", "on its way");
    assert_accessible(&visitor, "portal page");
    open_from_list(&agent, refund, "Refund please");
    agent.click_and_press(
        "#reply",
        &format!("The label is in your mail: https://example.com/label{CTRL_ENTER}"),
    );
    visitor.wait_text("#messages .message", "The label is in your mail");
    let link_rel = visitor.script(
        "const a = [...document.querySelectorAll('#messages .body a')].find((a) => a.href.includes('label')); return a ? a.rel : null;",
    );
    assert_eq!(link_rel, "noopener noreferrer nofollow");
    agent.click_text("#resolve", "");
    visitor.wait_text("#ticket-status", "resolved");
    visitor.screenshot(&shots, "12-portal-live");

    // The shortcuts, one key away.
    agent.click_text("#ticket-subject", "");
    agent.press_css("body", "?");
    agent.wait_text("#shortcuts", "Ctrl");
    assert_accessible(&agent, "shortcuts dialog");
    agent.press_css("#shortcuts", "\u{E00C}");

    // Admin and customer pages pass axe too.
    let admin_browser = driver.session(&chromium);
    sign_in_browser(&admin_browser, &server, "ada@example.com");
    admin_browser.wait_text(".views a", "Unread");
    for page in [
        "/admin/users",
        "/admin/saved-replies",
        "/admin/audit",
        "/profile",
    ] {
        admin_browser.goto(&server.url(page));
        admin_browser.find("main h1");
        std::thread::sleep(Duration::from_millis(300));
        assert_accessible(&admin_browser, page);
    }
    admin_browser.goto(&server.url("/admin/audit"));
    admin_browser.wait_text("table td", "Alex Agent");
    // Deactivating asks first.
    admin_browser.goto(&server.url("/admin/users"));
    let dan_row = "//tr[td[contains(., 'dan@spam.example')]]";
    admin_browser.wait_text("table td", "dan@spam.example");
    admin_browser.script(&format!(
        "document.evaluate(\"{dan_row}//button[contains(., 'Deactivate')]\", document, null, 9, null).singleNodeValue.click(); return true;"
    ));
    assert_eq!(
        admin_browser.answer_prompt(true),
        "Deactivate Dan Spammer? They can no longer sign in."
    );
    admin_browser.wait_for("Dan deactivated", || {
        let (_, user) = call(
            &server,
            "GET",
            "/api/v1/users?q=dan",
            Some(&admin),
            &Value::Null,
        );
        (user["items"][0]["active"] == false).then_some(())
    });
    // A refused change says what is wrong at the field itself.
    admin_browser.goto(&server.url("/profile"));
    admin_browser.fill("#profile-current-password", "not my password at all");
    admin_browser.fill("#profile-new-password", "another long password");
    admin_browser.fill("#profile-password-again", "another long password");
    submit(&admin_browser, "#password-form");
    admin_browser.wait_text("#password-form .field-error", "is not correct");
    assert_eq!(
        admin_browser.script("return document.querySelector('#profile-current-password').getAttribute('aria-invalid');"),
        "true"
    );
    assert!(!admin_browser
        .page_text()
        .contains("the request has invalid fields"));
    // The browser logs the refused request itself; nothing else went wrong.
    let logged = admin_browser.wait_for("the refused request in the log", || {
        Some(admin_browser.console_errors()).filter(|l| !l.is_empty())
    });
    assert!(
        logged
            .iter()
            .all(|e| e.contains("/api/v1/users/me") && e.contains("422")),
        "{logged:#?}"
    );
    let customer = driver.session(&chromium);
    sign_in_browser(&customer, &server, "carla@customer.example");
    customer.wait_text("a", "Refund please");
    assert_accessible(&customer, "customer's tickets");
    customer.goto(&server.url("/login"));
    assert_accessible(&customer, "sign-in page");

    // On a phone the filters wait behind a button.
    agent.resize(390, 844);
    agent.goto(&server.url("/inbox?view=resolved"));
    agent.wait_text("#ticket-list a", "Refund please");
    agent.click_text("#filters-toggle", "");
    agent.find("#inbox-filters select");
    agent.screenshot(&shots, "13-phone-filters");

    for (name, browser) in [
        ("agent", &agent),
        ("visitor", &visitor),
        ("admin", &admin_browser),
        ("customer", &customer),
    ] {
        assert_no_console_errors(name, browser);
    }
}
