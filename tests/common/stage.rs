//! The stage of the browser stories: the real binary serving a fresh data
//! directory on loopback, a WebDriver session per person, and the calls,
//! sign-ins and checks the stories share.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::webdriver::{find_browser, Browser, Driver, WAIT};

pub const PASSWORD: &str = "a long enough password";

#[allow(clippy::disallowed_methods)] // a test switch, not configuration
pub fn required() -> bool {
    std::env::var("HELPLINE_E2E").is_ok_and(|v| v == "required")
}

pub fn browser_tools() -> Option<(PathBuf, PathBuf)> {
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

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub setup_token: String,
    pub data: PathBuf,
}

impl Server {
    pub fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    /// Starts with these `HELPLINE_*` variables set too.
    pub fn start_with(data: &Path, env: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env_clear()
            .env("HELPLINE_BCRYPT_COST", "4");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let served = super::process::serve(cmd);
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

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The link in the newest mail written to the outgoing-mail folder that contains `needle`.
    pub fn link_in_mail(&self, needle: &str) -> String {
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

/// A fresh server on its own data directory and a browser driver.
pub struct Stage {
    pub _dir: tempfile::TempDir,
    pub server: Server,
    pub driver: Driver,
    pub chromium: PathBuf,
}

/// The stage for a story, or `None` (skipped loudly) without Chromium.
pub fn stage() -> Option<Stage> {
    stage_with(&[])
}

/// The stage with a server started with these `HELPLINE_*` variables.
pub fn stage_with(env: &[(&str, String)]) -> Option<Stage> {
    let (chromium, chromedriver) = browser_tools()?;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&dir.path().join("data"), env);
    let driver = Driver::start(&chromedriver);
    Some(Stage {
        _dir: dir,
        server,
        driver,
        chromium,
    })
}

pub fn shots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots")
}

pub fn submit(browser: &Browser, form: &str) {
    browser.click_text(&format!("{form} button[type=submit]"), "");
}

pub fn assert_no_console_errors(name: &str, browser: &Browser) {
    let errors = browser.console_errors();
    assert!(
        errors.is_empty(),
        "console errors in the {name} window: {errors:#?}"
    );
}

pub fn call(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (status, _, answer) = super::http_request(
        server.addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            server.addr,
            body.len()
        ),
    );
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

pub fn sign_in(server: &Server, email: &str) -> String {
    let (status, pair) = call(
        server,
        "POST",
        "/api/v1/auth/login",
        None,
        &json!({ "email": email, "password": PASSWORD }),
    );
    assert_eq!(status, 200, "{pair}");
    pair["access_token"].as_str().unwrap().to_string()
}

pub fn open_ticket(server: &Server, token: &str, subject: &str, body: &str) -> i64 {
    let (status, ticket) = call(
        server,
        "POST",
        "/api/v1/tickets",
        Some(token),
        &json!({ "subject": subject, "body": body }),
    );
    assert_eq!(status, 201, "{ticket}");
    ticket["id"].as_i64().unwrap()
}

pub fn sign_in_browser(browser: &Browser, server: &Server, email: &str) {
    browser.goto(&server.url("/login"));
    browser.fill("input[name=email]", email);
    browser.fill("input[name=password]", PASSWORD);
    submit(browser, "form");
}

/// The serious and critical accessibility problems axe-core finds on the page.
pub fn axe_violations(browser: &Browser) -> Vec<String> {
    const AXE: &str = include_str!("../support/axe-core/axe.min.js");
    browser.script(&format!("{AXE}\nreturn true;"));
    let found = browser.script(
        "return axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
           .filter((v) => v.impact === 'serious' || v.impact === 'critical')
           .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));",
    );
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn assert_accessible(browser: &Browser, page: &str) {
    let found = axe_violations(browser);
    assert!(found.is_empty(), "axe-core on the {page}: {found:#?}");
}
