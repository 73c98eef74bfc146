//! Delivery over a real SMTP server (aiosmtpd, started by each test on
//! loopback): AUTH, headers, outages, permanent refusals, and a crash mid-send.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{json, Auth, SentMail, TestApp};
use helpline::config::SmtpSecurity;
use helpline::notify::delivery::DrainReport;
use helpline::users::Role;
use helpline::Config;
use rocket::http::Method;
use serde_json::json;

/// The Python that has aiosmtpd (CI installs `python3-aiosmtpd`).
fn python() -> &'static str {
    for candidate in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return candidate;
        }
    }
    panic!("these tests need aiosmtpd: apt-get install python3-aiosmtpd (or pip install aiosmtpd)");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct SmtpServer {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl SmtpServer {
    fn start(port: u16, auth: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut cmd = Command::new(python());
        cmd.arg(script).arg(dir.path()).arg(port.to_string());
        if let Some(auth) = auth {
            cmd.arg(auth);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("SMTP server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Self { child, dir, port }
    }

    fn reject_with(&self, reply: Option<&str>) {
        let path = self.dir.path().join("reject");
        match reply {
            Some(reply) => std::fs::write(path, reply).unwrap(),
            None => std::fs::remove_file(path).unwrap(),
        }
    }

    /// Messages received so far, in arrival order.
    fn received(&self) -> Vec<SentMail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort_by_key(|p| {
            p.file_stem()
                .unwrap()
                .to_string_lossy()
                .parse::<u32>()
                .unwrap()
        });
        files
            .iter()
            .map(|p| SentMail::parse(&std::fs::read(p).unwrap()))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(config: &mut Config, port: u16, user: Option<(&str, &str)>) {
    config.smtp.host = Some("127.0.0.1".into());
    config.smtp.port = Some(port);
    config.smtp.security = SmtpSecurity::None;
    config.smtp.timeout_secs = 5;
    config.smtp.from = "Acme Support <support@example.com>".into();
    if let Some((name, password)) = user {
        config.smtp.username = Some(name.into());
        config.smtp.password = Some(helpline::config::Secret::new(password));
    }
}

async fn support_request(app: &TestApp, email: &str) -> i64 {
    let res = app
        .call(
            Method::Post,
            "/api/v1/support/request",
            &Auth::None,
            Some(json!({ "channel": "web", "name": "Ana Pereira", "email": email, "subject": "Printer", "message": "It smokes." })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    json(res).await["ticket_id"].as_i64().unwrap()
}

async fn email_log(app: &TestApp) -> Vec<serde_json::Value> {
    let (_, token, _) = app
        .signed_in(&format!("admin{}@example.com", uuid()), Role::Admin)
        .await;
    let res = app
        .call(
            Method::Get,
            "/api/v1/admin/email-log?per_page=100",
            &Auth::Bearer(token),
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    json(res).await["items"].as_array().unwrap().clone()
}

fn uuid() -> String {
    format!("{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

#[rocket::async_test]
async fn delivers_with_auth_and_the_right_headers() {
    let server = SmtpServer::start(free_port(), Some("mailer:s3cret-pass"));
    let app =
        TestApp::with_real_mail(|c| smtp(c, server.port, Some(("mailer", "s3cret-pass")))).await;
    let id = support_request(&app, "ana@customer.example").await;
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, "ana@customer.example");
    assert_eq!(
        mail.subject,
        format!("[#{id}] We received your request: Printer")
    );
    assert!(mail.text.contains("It smokes."), "{}", mail.text);
    assert!(mail.text.contains("/portal/"));
    assert!(mail.html.contains("It smokes."));
    assert!(mail.header("From").unwrap().contains("support@example.com"));
    assert!(mail
        .header("Reply-To")
        .unwrap()
        .contains(&format!("support+t{id}u")));
    assert_eq!(
        mail.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let log = email_log(&app).await;
    assert_eq!(log[0]["status"], "sent");
    let logged_id = log[0]["message_id"].as_str().unwrap();
    assert_eq!(mail.header("Message-ID").unwrap(), format!("<{logged_id}>"));
}

#[rocket::async_test]
async fn wrong_credentials_are_dead_at_once_with_a_hint() {
    let server = SmtpServer::start(free_port(), Some("mailer:s3cret-pass"));
    let app =
        TestApp::with_real_mail(|c| smtp(c, server.port, Some(("mailer", "wrong-pass")))).await;
    support_request(&app, "ana@customer.example").await;
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let log = email_log(&app).await;
    assert_eq!(log[0]["status"], "dead");
    assert_eq!(log[0]["attempts"], 1);
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.starts_with("authentication failed (535)"), "{error}");
    assert!(server.received().is_empty());
}

#[rocket::async_test]
async fn an_outage_loses_nothing_and_sends_nothing_twice() {
    let port = free_port();
    let app = TestApp::with_real_mail(|c| smtp(c, port, None)).await;
    for n in 0..3 {
        support_request(&app, &format!("customer{n}@customer.example")).await;
    }
    // Nobody listens: every row fails, with a hint, and waits for its retry.
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.retrying, 3, "{report:?}");
    let log = email_log(&app).await;
    for row in &log {
        assert_eq!(row["status"], "failed", "{row}");
        assert_eq!(row["attempts"], 1);
        assert_eq!(row["last_error"], "connection refused");
        assert!(row["next_attempt_at"].as_str().is_some());
    }

    let server = SmtpServer::start(port, None);
    // Not due yet: nothing is sent before the backoff.
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report, DrainReport::default());
    // Time passes (the retry comes due).
    app.state()
        .db
        .write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z'",
                [],
            )?)
        })
        .await
        .unwrap();
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.sent, 3, "{report:?}");
    assert_eq!(
        app.state().delivery.drain_once().await.unwrap(),
        DrainReport::default()
    );

    let received = server.received();
    assert_eq!(received.len(), 3, "each message exactly once");
    let mut recipients: Vec<String> = received.iter().map(|m| m.to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        [
            "customer0@customer.example",
            "customer1@customer.example",
            "customer2@customer.example"
        ]
    );
    for row in email_log(&app).await {
        assert_eq!(row["status"], "sent", "{row}");
        assert_eq!(row["attempts"], 2);
    }
}

#[rocket::async_test]
async fn a_permanent_refusal_is_dead_after_one_attempt_and_an_admin_can_retry() {
    let server = SmtpServer::start(free_port(), None);
    server.reject_with(Some("550 5.1.1 mailbox unavailable"));
    let app = TestApp::with_real_mail(|c| smtp(c, server.port, None)).await;
    support_request(&app, "gone@customer.example").await;
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.dead, 1);
    let (_, token, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let admin = Auth::Bearer(token);
    let res = app
        .call(
            Method::Get,
            "/api/v1/admin/email-log?status=dead",
            &admin,
            None,
        )
        .await;
    let log = json(res).await;
    assert_eq!(log["total"], 1);
    let row = &log["items"][0];
    assert_eq!(row["attempts"], 1);
    assert!(
        row["last_error"].as_str().unwrap().contains("(550)"),
        "{row}"
    );

    server.reject_with(None);
    let id = row["id"].as_i64().unwrap();
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/admin/email-log/{id}/retry"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    let requeued = json(res).await;
    assert_eq!(requeued["status"], "pending");
    assert_eq!(requeued["attempts"], 0);
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(server.received().len(), 1);
    let res = app
        .call(
            Method::Post,
            "/api/v1/admin/email-log/999999/retry",
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status().code, 404);
}

/// The real binary, killed with SIGKILL while it is sending.
struct Helpline {
    child: Child,
    addr: SocketAddr,
}

impl Helpline {
    fn start(data: &Path, smtp_port: u16) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env_clear()
            .env("HELPLINE_SMTP__HOST", "127.0.0.1")
            .env("HELPLINE_SMTP__PORT", smtp_port.to_string())
            .env("HELPLINE_SMTP__SECURITY", "none")
            .env("HELPLINE_SMTP__TIMEOUT_SECS", "60");
        let common::process::Served { child, addr, .. } = common::process::serve(cmd);
        Self { child, addr }
    }
}

impl Drop for Helpline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn outbox_row(data: &Path) -> (String, i64, bool) {
    let conn = rusqlite::Connection::open(data.join("helpline.db")).unwrap();
    conn.query_row(
        "SELECT status, attempts, lease_until IS NOT NULL FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn a_send_cut_by_a_crash_is_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An SMTP server that accepts the connection and never answers: the send hangs.
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_port = black_hole.local_addr().unwrap().port();
    let server = Helpline::start(&data, hole_port);
    let body = json!({ "channel": "web", "name": "Ana", "email": "ana@customer.example", "subject": "Printer", "message": "It smokes." }).to_string();
    let (status, _, _) = common::http_request(
        server.addr,
        &format!(
            "POST /api/v1/support/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 201);
    // The worker connects (it holds the row), then the process dies.
    let (_held, _) = black_hole.accept().unwrap();
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let (status, attempts, leased) = outbox_row(&data);
    assert_eq!(
        (status.as_str(), attempts, leased),
        ("pending", 1, true),
        "claimed, not sent"
    );

    let smtp = SmtpServer::start(free_port(), None);
    let _restarted = Helpline::start(&data, smtp.port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.received().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the message was not delivered after the restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, "ana@customer.example");
    while outbox_row(&data).0 != "sent" {
        assert!(Instant::now() < deadline, "the row was not marked sent");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn mail_test_sends_now_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(free_port(), None);
    let run = |port: u16| {
        Command::new(env!("CARGO_BIN_EXE_helpline"))
            .args(["mail", "test", "--to", "ops@example.com", "--data-dir"])
            .arg(dir.path().join("data"))
            .env_clear()
            .env("HELPLINE_SMTP__HOST", "127.0.0.1")
            .env("HELPLINE_SMTP__PORT", port.to_string())
            .env("HELPLINE_SMTP__SECURITY", "none")
            .output()
            .unwrap()
    };
    let out = run(server.port);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, "ops@example.com");
    assert_eq!(received[0].subject, "Helpline test message");

    let out = run(free_port());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connection refused"), "{stderr}");
}

#[rocket::async_test]
async fn a_public_answer_reaches_the_smtp_server_with_its_file() {
    let server = SmtpServer::start(free_port(), None);
    let app = TestApp::with_real_mail(|c| smtp(c, server.port, None)).await;
    let id = support_request(&app, "ana@customer.example").await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let pdf = std::fs::read(format!(
        "{}/tests/fixtures/files/invoice.pdf",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let upload = app
        .upload(&agent, "Invoice%204471.pdf", "application/pdf", &pdf)
        .await;
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &Auth::Bearer(agent),
            Some(json!({ "body": "The corrected invoice.", "attachments": [upload] })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.sent, 2, "the receipt and the answer: {report:?}");

    let received = server.received();
    let answer = received
        .iter()
        .find(|m| m.text.contains("The corrected invoice."))
        .expect("the answer arrived");
    let parsed = mail_parser::MessageParser::default()
        .parse(answer.raw.as_bytes())
        .unwrap();
    let files: Vec<_> = parsed.attachments().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(
        mail_parser::MimeHeaders::attachment_name(files[0]),
        Some("Invoice 4471.pdf")
    );
    assert_eq!(
        files[0].contents(),
        pdf.as_slice(),
        "the PDF arrives byte for byte"
    );
}
