//! Inbound mail: a corpus of messages in the shapes real clients produce,
//! each with the ticket, body and rule it must get; the webhook's guards; and
//! the MTA pipe (`helpline mail ingest`) with its exit codes.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::{ContentType, Header, Method};
use serde_json::Value;

use common::INBOUND_SECRET as SECRET;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/mail/{name}.eml",
        env!("CARGO_MANIFEST_DIR")
    );
    String::from_utf8(std::fs::read(&path).unwrap()).expect("fixtures are ASCII")
}

async fn app() -> TestApp {
    TestApp::receiving_mail(|_| {}).await
}

async fn post(app: &TestApp, raw: &str) -> (u16, Value) {
    app.mail_in(SECRET, raw.as_bytes()).await
}

/// The conversation of a ticket as an agent sees it: (author email, body, internal).
async fn conversation(app: &TestApp, agent: &Auth, id: i64) -> Vec<(String, String, bool)> {
    let res = app
        .call(Method::Get, &format!("/api/v1/tickets/{id}"), agent, None)
        .await;
    assert_eq!(res.status().code, 200);
    let ticket = json(res).await;
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"]["id"]
                    .as_i64()
                    .map_or("system".into(), |a| a.to_string()),
                m["body"].as_str().unwrap().to_string(),
                m["internal"].as_bool().unwrap(),
            )
        })
        .collect()
}

struct Case {
    file: &'static str,
    /// `Some(true)`: the first ticket; `Some(false)`: a new one; `None`: ignored.
    same_ticket: Option<bool>,
    rule: Option<&'static str>,
    requester: &'static str,
    body: &'static str,
    exact: bool,
}

const CASES: &[Case] = &[
    Case {
        file: "gmail_reply",
        same_ticket: Some(true),
        rule: Some("reply_token"),
        requester: "ana@customer.example",
        body: "Thanks, turning it off and on fixed it.",
        exact: true,
    },
    Case {
        file: "outlook_reply",
        same_ticket: Some(true),
        rule: Some("references"),
        requester: "ana@customer.example",
        body: "The technician\u{2019}s visit helped, it works now.\n\nBest regards\nAna",
        exact: true,
    },
    // A `[#id]` in the subject is no proof: without a reply link or a
    // reference to our mail, a customer's address opens a new ticket.
    Case {
        file: "apple_reply_subject_tag",
        same_ticket: Some(false),
        rule: Some("subject_tag"),
        requester: "ana@customer.example",
        body: "One more question: does it need new toner?",
        exact: true,
    },
    Case {
        file: "forwarded",
        same_ticket: Some(false),
        rule: Some("new_ticket"),
        requester: "bruno@customer.example",
        body: "Amount due: 1,200.00 EUR",
        exact: false,
    },
    Case {
        file: "html_only",
        same_ticket: Some(false),
        rule: Some("new_ticket"),
        requester: "carla@customer.example",
        body: "account locked",
        exact: false,
    },
    Case {
        file: "iso_8859_1",
        same_ticket: Some(false),
        rule: Some("new_ticket"),
        requester: "juergen@customer.example",
        body: "Guten Tag,\n\nder Drucker l\u{e4}uft nicht. Gr\u{fc}\u{df}e aus M\u{fc}nchen",
        exact: true,
    },
    Case {
        file: "stranger_reply",
        same_ticket: Some(false),
        rule: Some("references"),
        requester: "eve@other.example",
        body: "I have the same problem with my printer.",
        exact: true,
    },
    Case {
        file: "auto_reply",
        same_ticket: None,
        rule: None,
        requester: "",
        body: "",
        exact: false,
    },
    Case {
        file: "bounce",
        same_ticket: None,
        rule: None,
        requester: "",
        body: "",
        exact: false,
    },
    Case {
        file: "own_loop",
        same_ticket: None,
        rule: None,
        requester: "",
        body: "",
        exact: false,
    },
];

async fn check_case(app: &TestApp, agent: &Auth, id: i64, case: &Case, raw: &str) {
    let (status, receipt) = post(app, raw).await;
    assert_eq!(status, 202, "{}: {receipt}", case.file);
    assert_eq!(
        receipt["rule"].as_str(),
        case.rule,
        "{}: {receipt}",
        case.file
    );
    let Some(same) = case.same_ticket else {
        assert_eq!(receipt["status"], "ignored", "{}: {receipt}", case.file);
        assert!(receipt["ticket_id"].is_null() && receipt["message_id"].is_null());
        assert!(receipt["reason"].as_str().is_some());
        return;
    };
    assert_eq!(receipt["status"], "filed", "{}", case.file);
    let ticket = receipt["ticket_id"].as_i64().unwrap();
    assert_eq!(ticket == id, same, "{}: {receipt}", case.file);
    assert_eq!(receipt["created_ticket"], !same, "{}", case.file);
    let messages = conversation(app, agent, ticket).await;
    let message_id = receipt["message_id"].as_i64().unwrap();
    let res = app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}/messages"),
            agent,
            None,
        )
        .await;
    let listed = json(res).await;
    let stored = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id)
        .unwrap_or_else(|| panic!("{}: message {message_id} on ticket {ticket}", case.file));
    let res = app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}"),
            agent,
            None,
        )
        .await;
    let requester = json(res).await["requester"].clone();
    assert_eq!(requester["email"], case.requester, "{}", case.file);
    assert_eq!(stored["author"]["id"], requester["id"], "{}", case.file);
    assert_eq!(stored["channel"], "email");
    let body = stored["body"].as_str().unwrap();
    if case.exact {
        assert_eq!(body, case.body, "{}", case.file);
    } else {
        assert!(body.contains(case.body), "{}: {body}", case.file);
    }
    assert!(
        !body.contains("<p>") && !body.contains("\n>"),
        "{}: {body}",
        case.file
    );
    if case.file == "stranger_reply" {
        let note = messages
            .iter()
            .find(|m| m.2)
            .expect("an internal note links the tickets");
        assert!(note.1.contains(&format!("#{id}")), "{note:?}");
    }
}

#[rocket::async_test]
async fn the_corpus_lands_on_the_right_tickets() {
    let app = app().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);

    // A new request from Gmail opens a ticket for a new customer.
    let (status, first) = post(&app, &fixture("gmail_new")).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["created_ticket"], true);
    assert_eq!(first["rule"], "new_ticket");
    let id = first["ticket_id"].as_i64().unwrap();
    let res = app
        .call(Method::Get, &format!("/api/v1/tickets/{id}"), &agent, None)
        .await;
    let ticket = json(res).await;
    assert_eq!(ticket["channel"], "email");
    assert_eq!(ticket["subject"], "Printer does not print");
    assert_eq!(ticket["requester"]["email"], "ana@customer.example");
    assert_eq!(ticket["requester"]["name"], "Ana Pereira");
    assert!(ticket["messages"][0]["body"]
        .as_str()
        .unwrap()
        .contains("error E-42"));

    // Our acknowledgement gives the reply address and a Message-ID to answer.
    let mails = app.deliver().await;
    let ack = mails
        .iter()
        .find(|m| m.to == "ana@customer.example")
        .expect("acknowledgement");
    let reply_to = ack.header("Reply-To").unwrap();
    let reply_to = reply_to
        .rsplit('<')
        .next()
        .unwrap()
        .trim_end_matches('>')
        .to_string();
    let our_id = ack
        .header("Message-ID")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    let fill = |name: &str| {
        fixture(name)
            .replace("{{REPLY_TO}}", &reply_to)
            .replace("{{OUR_MESSAGE_ID}}", &our_id)
            .replace("{{TICKET}}", &id.to_string())
    };

    for case in CASES {
        check_case(&app, &agent, id, case, &fill(case.file)).await;
    }
    // The original ticket got exactly the two replies that reference it.
    let messages = conversation(&app, &agent, id).await;
    assert_eq!(messages.len(), 3, "{messages:#?}");
    let ana = ticket["requester"]["id"].as_i64().unwrap().to_string();
    assert!(messages.iter().all(|m| m.0 == ana), "{messages:#?}");

    // The same message again changes nothing and answers the first result.
    let (status, again) = post(&app, &fixture("gmail_new")).await;
    assert_eq!(status, 202);
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["ticket_id"], first["ticket_id"]);
    assert_eq!(again["message_id"], first["message_id"]);
    assert_eq!(first["created_ticket"], true);
    assert_eq!(
        again["created_ticket"], false,
        "a duplicate creates nothing"
    );
    assert_eq!(conversation(&app, &agent, id).await.len(), 3);

    // The subject of a non-ASCII mail decodes, and the raw message is kept.
    let kept: i64 = app
        .state()
        .db
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM inbound_mail WHERE length(raw) > 0",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(kept, 11);
}

#[rocket::async_test]
async fn the_webhook_needs_its_secret_and_a_mail_message() {
    let app = app().await;
    let raw = fixture("gmail_new");
    for auth in [None, Some("wrong-secret-value")] {
        let mut req = app
            .client
            .post("/api/v1/inbound/email")
            .header(ContentType::new("message", "rfc822"))
            .body(raw.as_bytes());
        if let Some(secret) = auth {
            req = req.header(Header::new("Authorization", format!("Bearer {secret}")));
        }
        let res = req.dispatch().await;
        common::problem(res, 401).await;
    }
    let res = app
        .client
        .post("/api/v1/inbound/email")
        .header(ContentType::JSON)
        .header(Header::new("Authorization", format!("Bearer {SECRET}")))
        .body("{}")
        .dispatch()
        .await;
    common::problem(res, 415).await;
    let (status, body) = post(&app, "this is not a mail message").await;
    assert_eq!(status, 422, "{body}");

    let disabled = TestApp::new().await;
    let res = disabled
        .client
        .post("/api/v1/inbound/email")
        .header(Header::new("Authorization", format!("Bearer {SECRET}")))
        .body(raw.as_bytes())
        .dispatch()
        .await;
    common::problem(res, 404).await;
    let _ = disabled
        .call(Method::Get, "/health", &Auth::None, None)
        .await;
}

fn ingest(data: &std::path::Path, input: &[u8], extra_env: &[(&str, &str)]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpline"))
        .args(["mail", "ingest", "--data-dir"])
        .arg(data)
        .env_clear()
        .envs(extra_env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_mta_pipe_files_mail_and_asks_for_a_retry_when_busy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, out) = ingest(&data, fixture("gmail_new").as_bytes(), &[]);
    assert_eq!(code, 0, "{out}");
    let receipt: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(receipt["created_ticket"], true);
    let (code, out) = ingest(&data, fixture("auto_reply").as_bytes(), &[]);
    assert_eq!(code, 0, "ignored mail is accepted: {out}");
    let (code, _) = ingest(&data, b"garbage without headers", &[]);
    assert_eq!(
        code, 65,
        "a message that is no mail is refused (the MTA bounces it)"
    );

    // Another writer holds the database: exit 75 so the MTA keeps the message.
    let conn = rusqlite::Connection::open(data.join("helpline.db")).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (code, _) = ingest(
        &data,
        fixture("html_only").as_bytes(),
        &[("HELPLINE_DATABASE__BUSY_TIMEOUT_MS", "50")],
    );
    assert_eq!(code, 75);
    conn.execute_batch("ROLLBACK").unwrap();
    let (code, out) = ingest(&data, fixture("html_only").as_bytes(), &[]);
    assert_eq!(code, 0, "{out}");
    let tickets: i64 = conn
        .query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tickets, 2);
}

/// A raw message from `from` to `to` with `subject`.
fn mail(from: &str, to: &str, subject: &str, body: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@test.example>\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// The stored message a receipt names.
async fn message_of(app: &TestApp, agent: &Auth, ticket: i64, receipt: &Value) -> Value {
    let res = app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}/messages"),
            agent,
            None,
        )
        .await;
    let messages = json(res).await;
    messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == receipt["message_id"])
        .unwrap()
        .clone()
}

#[rocket::async_test]
async fn an_agent_address_speaks_for_the_team_only_through_its_own_reply_link() {
    let app = app().await;
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let (status, first) = post(&app, &fixture("gmail_new")).await;
    assert_eq!(status, 202);
    let id = first["ticket_id"].as_i64().unwrap();
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/assign"),
            &Auth::Bearer(admin),
            Some(serde_json::json!({ "assignee_id": agent_id })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let mails = app.deliver().await;
    let to_customer = mails
        .iter()
        .find(|m| m.to == "ana@customer.example")
        .unwrap();
    let to_agent = mails
        .iter()
        .find(|m| m.to == "agent@example.com")
        .expect("assignment mail");
    let address = |m: &common::SentMail| {
        let h = m.header("Reply-To").unwrap();
        h.rsplit('<')
            .next()
            .unwrap()
            .trim_end_matches('>')
            .to_string()
    };

    // Forged: the agent's From with the subject tag, or even the customer's reply link.
    for (n, to) in [
        ("support@example.com".to_string(), 1),
        (address(to_customer), 2),
    ] {
        let raw = mail(
            "agent@example.com",
            &n,
            &format!("Re: [#{id}] x"),
            "Click http://evil.example to pay",
            &format!("forged{to}"),
        );
        let (status, receipt) = post(&app, &raw).await;
        assert_eq!(status, 202);
        assert_eq!(receipt["ticket_id"], id, "{receipt}");
        let stored = message_of(&app, &agent, id, &receipt).await;
        assert_eq!(stored["internal"], true, "kept from the customer: {stored}");
        assert!(stored["author"].is_null());
    }
    assert!(
        app.deliver()
            .await
            .iter()
            .all(|m| m.to != "ana@customer.example"),
        "nothing forged reaches the customer"
    );

    // Through the agent's own link: a public answer the customer gets.
    let raw = mail(
        "agent@example.com",
        &address(to_agent),
        &format!("Re: [#{id}] x"),
        "Unplug it, please.",
        "genuine",
    );
    let (_, receipt) = post(&app, &raw).await;
    assert_eq!(receipt["rule"], "reply_token");
    let stored = message_of(&app, &agent, id, &receipt).await;
    assert_eq!(stored["internal"], false);
    assert_eq!(stored["author"]["id"], agent_id.0);
    assert!(app
        .deliver()
        .await
        .iter()
        .any(|m| m.to == "ana@customer.example" && m.text.contains("Unplug it, please.")));
}
