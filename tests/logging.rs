//! The operator's log, read from the real binary: a value a client sends never
//! writes control characters (terminal escapes, fake line breaks) into it, and
//! a client's mistake is not logged as a warning.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{serve_logging, Served};

/// An email holding ESC (a colour escape) and CR (a fake line start).
const HOSTILE_EMAIL: &str = "mallory\u{1b}[31mred\rroot@example.com";

fn start(format: &str, dir: &std::path::Path) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpline"));
    cmd.env_clear()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("HELPLINE_LOG", "info")
        .env("HELPLINE_LOG_FORMAT", format)
        .env("HELPLINE_BCRYPT_COST", "4");
    serve_logging(&mut cmd)
}

/// Waits until a logged line holds `needle` (the server logs after answering).
fn line_with(served: &Served, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(line) = served
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(needle))
        {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "no log line with {needle:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exchange(served: &Served, request: &str) -> u16 {
    common::http_request(served.addr, request).0
}

fn post_json(served: &Served, path: &str, body: &str) -> u16 {
    exchange(
        served,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn logged_user_values_never_carry_control_characters() {
    for format in ["pretty", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let mut served = start(format, dir.path());
        let body = serde_json::json!({ "email": HOSTILE_EMAIL, "password": "wrong password" });
        assert_eq!(
            post_json(&served, "/api/v1/auth/login", &body.to_string()),
            401
        );
        // Client mistakes: bad JSON, no credentials, no such path, a bad id.
        assert_eq!(post_json(&served, "/api/v1/auth/login", "{bad"), 400);
        let get =
            |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(exchange(&served, &get("/api/v1/tickets")), 401);
        assert_eq!(exchange(&served, &get("/api/v1/nothing")), 404);
        assert_eq!(exchange(&served, &get("/api/v1/tickets/abc")), 401);
        let marker = "/api/v1/health-marker";
        assert_eq!(exchange(&served, &get(marker)), 404);

        let line = line_with(&served, "failed sign-in");
        assert!(line.contains("mallory"), "{format}: {line}");
        assert!(
            line.contains(r"\u{1b}") || line.contains(r"\u001b"),
            "{format}: the escape is written out: {line}"
        );
        line_with(&served, marker);
        let _ = served.child.kill();
        let _ = served.child.wait();
        let log = served.log.lock().unwrap();
        for line in log.iter() {
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "{format}: a control character in {line:?}"
            );
            let warns = if format == "json" {
                line.contains(r#""level":"WARN""#)
            } else {
                line.contains(" WARN ")
            };
            assert!(!warns, "{format}: a client's mistake is no warning: {line}");
        }
    }
}

#[test]
fn portal_tokens_never_reach_the_log() {
    let secret = "s3cr3tPortalTok3n";
    let dir = tempfile::tempdir().unwrap();
    let mut served = start("pretty", dir.path());
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(
        exchange(&served, &get(&format!("/api/v1/portal/{secret}"))),
        404
    );
    exchange(&served, &get(&format!("/portal/{secret}")));
    let body = r#"{"body":"hello"}"#;
    let path = format!("/api/v1/portal/{secret}/messages");
    assert_eq!(post_json(&served, &path, body), 404);
    let line = line_with(&served, "/api/v1/portal/***/messages");
    assert!(line.contains("status=404"), "{line}");
    let _ = served.child.kill();
    let _ = served.child.wait();
    let log = served.log.lock().unwrap();
    assert!(
        log.iter().all(|l| !l.contains(secret)),
        "a portal token in the log: {log:#?}"
    );
}
