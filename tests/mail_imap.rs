//! Mail from a hosted mailbox: the real `helpline` binary fetching from a
//! real Dovecot on loopback. IDLE files new mail at once; a reply to a
//! notification lands on its ticket; a backlog is filed exactly once through
//! a restart of the IMAP server and a SIGKILL of Helpline; a renumbered
//! folder refiles nothing; a wrong password shows as an error with a hint
//! while the server keeps serving; move and delete modes; `mail check`.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::dovecot::{Dovecot, PASSWORD};
use common::process::{serve, Served};
use serde_json::Value;

const PATIENCE: Duration = Duration::from_mins(1);
const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "correct horse battery";

fn helpline(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.env_clear()
        .env("HELPLINE_DATA_DIR", data)
        .env("HELPLINE_BCRYPT_COST", "4")
        .env("HELPLINE_LOG", "info,rocket=warn")
        .env("IMAP_TEST_PASSWORD", PASSWORD)
        .env("HELPLINE_CONFIG", data.join("helpline.toml"));
    cmd
}

/// A data directory with an admin and a configuration naming the mailbox.
fn setup(imap: &Dovecot, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_config(&data, imap.port, extra);
    let mut child = helpline(&data)
        .args([
            "user",
            "create",
            "--email",
            ADMIN,
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{ADMIN_PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());
    (dir, data)
}

fn write_config(data: &Path, port: u16, extra: &str) {
    std::fs::write(
        data.join("helpline.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\n\n[[mailboxes]]\nname = \"support\"\naddress = \"support@example.com\"\n\
             host = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nusername = \"support@example.com\"\n\
             password_env = \"IMAP_TEST_PASSWORD\"\npoll_secs = 3600\n{extra}\n"
        ),
    )
    .unwrap();
}

fn start(data: &Path) -> Served {
    let mut cmd = helpline(data);
    cmd.arg("serve");
    serve(cmd)
}

fn db(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data.join("helpline.db")).unwrap()
}

fn count(data: &Path, sql: &str) -> i64 {
    db(data).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Waits until `check` holds (a guard against hangs, not a speed check).
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mail(n: usize, subject: &str) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@customer.example>\r\nTo: support@example.com\r\n\
         Subject: {subject}\r\nMessage-ID: <m{n}.{subject_id}@customer.example>\r\n\
         Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nMessage number {n}.\r\n",
        subject_id = subject.len()
    )
    .into_bytes()
}

fn get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (status, _, body) = common::http_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{auth}\r\n"),
    );
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn admin_token(addr: std::net::SocketAddr) -> String {
    let body = format!("{{\"email\":\"{ADMIN}\",\"password\":\"{ADMIN_PASSWORD}\"}}");
    let (status, _, answer) = common::http_request(
        addr,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 200, "{answer}");
    let pair: Value = serde_json::from_str(&answer).unwrap();
    pair["access_token"].as_str().unwrap().to_string()
}

fn mailbox(addr: std::net::SocketAddr, token: &str) -> Value {
    let (status, list) = get(addr, "/api/v1/admin/mailboxes", Some(token));
    assert_eq!(status, 200, "{list}");
    list[0].clone()
}

fn kill(served: &mut Served) {
    let _ = served.child.kill();
    let _ = served.child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_files_new_mail_and_a_reply_lands_on_its_ticket() {
    let imap = Dovecot::start();
    let (_dir, data) = setup(&imap, "");
    let mut served = start(&data);
    let token = admin_token(served.addr);
    wait_for("the mailbox to idle", || {
        mailbox(served.addr, &token)["state"] == "idle"
    });

    // Polling is an hour apart here: what is filed now came through IDLE.
    imap.append("INBOX", &mail(1, "Printer on fire")).await;
    wait_for("the mail to become a ticket", || {
        count(&data, "SELECT COUNT(*) FROM tickets") == 1
    });
    let status = mailbox(served.addr, &token);
    assert_eq!(status["filed"], 1, "{status}");
    assert!(status["last_fetch_at"].is_string());
    wait_for("the message to be flagged", || {
        futures_block(imap.counts("INBOX")) == (1, 0)
    });

    // The receipt goes out from the mailbox's address; the customer's
    // answer to it lands on the same ticket.
    let outgoing = data.join("outgoing-mail");
    wait_for("the receipt", || {
        std::fs::read_dir(&outgoing).is_ok_and(|d| d.count() > 0)
    });
    let receipt_path = std::fs::read_dir(&outgoing)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let receipt = std::fs::read_to_string(receipt_path).unwrap();
    let header = |name: &str| {
        receipt
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name} in {receipt}"))
            .to_string()
    };
    assert!(
        header("From").contains("support@example.com"),
        "{}",
        header("From")
    );
    let reply_to = header("Reply-To");
    let reply_address =
        reply_to[reply_to.find('<').unwrap() + 1..reply_to.find('>').unwrap()].to_string();
    let reply = format!(
        "From: Customer 1 <customer1@customer.example>\r\nTo: {reply_address}\r\n\
         Subject: Re: {}\r\nMessage-ID: <reply-1@customer.example>\r\nIn-Reply-To: {}\r\n\r\n\
         It is out now, thanks.\r\n",
        header("Subject"),
        header("Message-ID")
    );
    imap.append("INBOX", reply.as_bytes()).await;
    wait_for("the reply on the ticket", || {
        count(
            &data,
            "SELECT COUNT(*) FROM messages WHERE body LIKE 'It is out now%'",
        ) == 1
    });
    assert_eq!(
        count(&data, "SELECT COUNT(*) FROM tickets"),
        1,
        "no second ticket"
    );
    kill(&mut served);
}

/// Runs a future to completion on a fresh runtime (from a sync closure).
fn futures_block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_is_filed_once_through_restarts_and_a_sigkill() {
    let mut imap = Dovecot::start();
    let (_dir, data) = setup(&imap, "");
    let mut session = imap.session().await;
    for n in 0..1000 {
        session
            .append("INBOX", None, None, &mail(n, "Backlog"))
            .await
            .unwrap();
    }
    let _ = session.logout().await;
    let tickets = || count(&data, "SELECT COUNT(*) FROM tickets");

    let mut served = start(&data);
    wait_for("a first part of the backlog", || tickets() >= 200);
    // Helpline killed mid-stream: between filing and flagging somewhere.
    kill(&mut served);
    let mut served = start(&data);
    wait_for("more of the backlog", || tickets() >= 500);
    // The IMAP server restarts under the fetcher.
    imap.restart();
    wait_for("the whole backlog", || tickets() >= 1000);
    let token = admin_token(served.addr);
    wait_for("the mailbox to idle again", || {
        mailbox(served.addr, &token)["state"] == "idle"
    });
    assert_eq!(tickets(), 1000, "each message filed once");
    assert_eq!(
        count(
            &data,
            "SELECT COUNT(DISTINCT message_id) FROM inbound_mail WHERE outcome = 'filed'"
        ),
        1000
    );
    assert_eq!(
        imap.counts("INBOX").await,
        (1000, 0),
        "every message flagged"
    );

    // A renumbered folder (new UIDVALIDITY) with everything unread again
    // files nothing twice; a new message still arrives.
    imap.renumber();
    imap.mark_all_unread("INBOX").await;
    imap.append("INBOX", &mail(5000, "After renumbering")).await;
    wait_for("the new message", || tickets() == 1001);
    wait_for("the mailbox to idle again", || {
        mailbox(served.addr, &token)["state"] == "idle"
    });
    assert_eq!(tickets(), 1001, "nothing refiled");
    kill(&mut served);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_shows_a_hint_and_the_server_keeps_serving() {
    let imap = Dovecot::start();
    let (_dir, data) = setup(&imap, "");
    let config = std::fs::read_to_string(data.join("helpline.toml")).unwrap();
    let mut cmd = helpline(&data);
    cmd.env("IMAP_TEST_PASSWORD", "not the password")
        .arg("serve");
    let mut served = serve(cmd);
    let token = admin_token(served.addr);
    wait_for("the error", || {
        mailbox(served.addr, &token)["state"] == "error"
    });
    let status = mailbox(served.addr, &token);
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("authentication failed"),
        "{status}"
    );
    assert_eq!(get(served.addr, "/health", None).0, 200);
    let (_, metrics) = {
        let (status, _, body) = common::http_request(
            served.addr,
            "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        );
        (status, body)
    };
    assert!(
        metrics.contains("helpline_mailbox_up{mailbox=\"support\"} 0"),
        "{metrics}"
    );
    kill(&mut served);

    // `mail check`: one line per mailbox and for outgoing mail; exit 0 only when all work.
    let out = helpline(&data)
        .env("IMAP_TEST_PASSWORD", "not the password")
        .args(["mail", "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL mailbox support"), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
    let out = helpline(&data).args(["mail", "check"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ok   mailbox support"), "{text}");
    assert!(text.contains("ok   outgoing mail"), "{text}");
    assert!(config.contains("password_env"));
}

#[tokio::test(flavor = "multi_thread")]
async fn filed_mail_can_be_moved_or_deleted_on_the_server() {
    for (after, folder_after) in [
        ("after = \"move\"\nmove_to = \"Filed\"", Some("Filed")),
        ("after = \"delete\"", None),
    ] {
        let imap = Dovecot::start();
        imap.create_folder("Filed").await;
        let (_dir, data) = setup(&imap, after);
        // Mail read before Helpline came stays as it is, in every mode.
        imap.append("INBOX", &mail(1, "First")).await;
        imap.append_read("INBOX", &mail(2, "Read long ago")).await;
        imap.append("INBOX", &mail(3, "Second")).await;
        let mut served = start(&data);
        let tickets = || count(&data, "SELECT COUNT(*) FROM tickets");
        wait_for("both tickets", || tickets() == 2);
        wait_for("the inbox to hold the read one only", || {
            futures_block(imap.counts("INBOX")) == (1, 0)
        });
        // New mail after the first connect is filed whatever its flags.
        imap.append("INBOX", &mail(4, "Third")).await;
        wait_for("the third ticket", || tickets() == 3);
        wait_for("the inbox to hold the read one only again", || {
            futures_block(imap.counts("INBOX")) == (1, 0)
        });
        let moved = futures_block(imap.counts("Filed")).0;
        assert_eq!(moved, if folder_after.is_some() { 3 } else { 0 }, "{after}");
        assert_eq!(
            count(
                &data,
                "SELECT COUNT(*) FROM messages WHERE body LIKE 'Message number 2.%'"
            ),
            0,
            "the read one is not filed"
        );
        kill(&mut served);
    }
}
