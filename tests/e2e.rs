//! End to end in a real headless Chromium (WebDriver), against the real
//! binary on loopback: setup, admin, agent, customer, portal and widget.
//! Without Chromium the test is skipped loudly, or fails when
//! `HELPLINE_E2E=required` (CI sets it). Screenshots go to
//! `target/e2e-screenshots/`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::webdriver::{find_browser, Browser, Driver, WAIT};

const PASSWORD: &str = "a long enough password";

#[allow(clippy::disallowed_methods)] // a test switch, not configuration
fn required() -> bool {
    std::env::var("HELPLINE_E2E").is_ok_and(|v| v == "required")
}

fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    if let Some(tools) = find_browser() {
        return Some(tools);
    }
    assert!(
        !required(),
        "HELPLINE_E2E=required but Chromium or chromedriver is missing: apt-get install -y chromium chromium-driver"
    );
    eprintln!(
        "\n==========\nSKIPPED: the end-to-end browser tests need Chromium and chromedriver \
         (apt-get install -y chromium chromium-driver); set HELPLINE_E2E=required to fail instead.\n==========\n"
    );
    None
}

struct Server {
    child: Child,
    addr: SocketAddr,
    setup_token: String,
    data: PathBuf,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env_clear()
            .env("HELPLINE_BCRYPT_COST", "4");
        let served = common::process::serve(cmd);
        let (child, addr) = (served.child, served.addr);
        let setup_token = served
            .setup_link
            .and_then(|link| link.split("#token=").nth(1).map(String::from))
            .expect("the setup link is logged");
        Self {
            child,
            addr,
            setup_token,
            data: data.to_path_buf(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The link in the newest mail written to the outgoing-mail folder that contains `needle`.
    fn link_in_mail(&self, needle: &str) -> String {
        let dir = self.data.join("outgoing-mail");
        let deadline = Instant::now() + WAIT;
        loop {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let raw = std::fs::read(entry.path()).unwrap();
                let Some(mail) = mail_parser::MessageParser::default().parse(&raw) else {
                    continue;
                };
                let text = mail.body_text(0).unwrap_or_default().to_string();
                if let Some(word) = text.split_whitespace().find(|w| w.contains(needle)) {
                    let path = &word[word.find(needle).unwrap()..];
                    return path.to_string();
                }
            }
            assert!(Instant::now() < deadline, "no mail with {needle}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots")
}

fn submit(browser: &Browser, form: &str) {
    browser.click(&browser.find(&format!("{form} button[type=submit]")));
}

fn assert_no_console_errors(name: &str, browser: &Browser) {
    let errors = browser.console_errors();
    assert!(
        errors.is_empty(),
        "console errors in the {name} window: {errors:#?}"
    );
}

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
    submit(admin, "form#settings");

    // The admin invites an agent and makes an API key.
    admin.find("form#invite-user");
    admin.fill("form#invite-user input[name=name]", "Alex Agent");
    admin.fill("form#invite-user input[name=email]", "alex@example.com");
    submit(admin, "form#invite-user");
    admin.wait_text("table td", "alex@example.com");
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

fn agent_works_the_ticket(agent: &Browser, shots: &Path) {
    // The agent sees it arrive without reloading, opens it and works it.
    agent.wait_text("#ticket-list a", "Printer is on fire");
    agent.screenshot(shots, "04-agent-inbox");
    agent.click_text("#ticket-list a", "Printer is on fire");
    agent.wait_text("#ticket-subject", "Printer is on fire");
    agent.wait_text("#messages a.file-link", "printer-log");
    agent.fill("#reply", "Please unplug it right away.");
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
    let Some((chromium, chromedriver)) = browser_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let driver = Driver::start(&chromedriver);
    let shots = shots();

    let admin = driver.session(&chromium);
    first_run(&admin, &server, &shots);
    let agent = driver.session(&chromium);
    agent_joins(&agent, &server);
    let customer = driver.session(&chromium);
    customer_writes_in(&customer, &server);
    agent_works_the_ticket(&agent, &shots);
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
