//! Files by mail: attachments and inline images of inbound mail become the
//! filed message's files (named, typed, deduplicated, searchable), a file over
//! the limit is left out and said so, and a public answer carries its files
//! to the customer (or links to them when they are too big for a mail).

mod common;

use std::fmt::Write as _;

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method;
use serde_json::{json, Value};

use common::INBOUND_SECRET as SECRET;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/mail/{name}.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn file(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/files/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn app(tweak: impl FnOnce(&mut helpline::Config)) -> TestApp {
    TestApp::receiving_mail(tweak).await
}

async fn post(app: &TestApp, raw: &[u8]) -> (u16, Value) {
    app.mail_in(SECRET, raw).await
}

/// The files of the message a receipt names: (filename, content type, size, url).
async fn files_of(
    app: &TestApp,
    agent: &Auth,
    receipt: &Value,
) -> Vec<(String, String, i64, String)> {
    let ticket = receipt["ticket_id"].as_i64().unwrap();
    let message = receipt["message_id"].as_i64().unwrap();
    let t = json(
        app.call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}"),
            agent,
            None,
        )
        .await,
    )
    .await;
    let m = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message)
        .unwrap_or_else(|| panic!("message {message} in {t}"));
    m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["filename"].as_str().unwrap().to_string(),
                f["content_type"].as_str().unwrap().to_string(),
                f["size"].as_i64().unwrap(),
                f["url"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn bytes(app: &TestApp, agent: &Auth, url: &str) -> Vec<u8> {
    let res = app.call(Method::Get, url, agent, None).await;
    assert_eq!(res.status().code, 200, "{url}");
    res.into_bytes().await.unwrap()
}

async fn search(app: &TestApp, agent: &Auth, q: &str) -> Vec<i64> {
    let page = json(
        app.call(Method::Get, &format!("/api/v1/tickets?q={q}"), agent, None)
            .await,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn files_of_inbound_mail_land_on_the_filed_message() {
    let app = app(|_| {}).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);

    // A PDF: kept byte for byte, typed, and its text found by search.
    let (status, receipt) = post(&app, &fixture("with_pdf")).await;
    assert_eq!(status, 202, "{receipt}");
    let files = files_of(&app, &agent, &receipt).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (files[0].0.as_str(), files[0].1.as_str()),
        ("invoice.pdf", "application/pdf")
    );
    assert_eq!(bytes(&app, &agent, &files[0].3).await, file("invoice.pdf"));
    let pdf_ticket = receipt["ticket_id"].as_i64().unwrap();
    assert_eq!(
        search(&app, &agent, "4471").await,
        [pdf_ticket],
        "the PDF's words"
    );

    // An inline image (cid:) of an HTML mail.
    let (_, receipt) = post(&app, &fixture("inline_image")).await;
    let files = files_of(&app, &agent, &receipt).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (files[0].0.as_str(), files[0].1.as_str()),
        ("screenshot.png", "image/png")
    );
    let png = file("screenshot.png");
    assert_eq!(bytes(&app, &agent, &files[0].3).await, png);

    // A forwarded mail: kept whole, and its own files beside it.
    let (_, receipt) = post(&app, &fixture("forwarded_with_attachments")).await;
    let files = files_of(&app, &agent, &receipt).await;
    let names: Vec<(&str, &str)> = files.iter().map(|f| (f.0.as_str(), f.1.as_str())).collect();
    assert_eq!(
        names,
        [
            ("Supplier offer.eml", "message/rfc822"),
            ("prices.csv", "text/csv"),
            ("logo.png", "image/png"),
        ]
    );
    let forwarded = receipt["ticket_id"].as_i64().unwrap();
    assert_eq!(
        search(&app, &agent, "tangerine").await,
        [forwarded],
        "the CSV inside the forwarded mail"
    );
    // The logo has the screenshot's bytes: one blob holds both.
    assert_eq!(bytes(&app, &agent, &files[2].3).await, png);
    let blobs: i64 = app
        .state()
        .db
        .read(|c| {
            Ok(
                c.query_row("SELECT COUNT(*) FROM blobs WHERE size = 121", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(blobs, 1, "the same content is stored once");

    // An unknown type (TNEF) is kept as it came.
    let (_, receipt) = post(&app, &fixture("winmail")).await;
    let files = files_of(&app, &agent, &receipt).await;
    assert_eq!(
        (files[0].0.as_str(), files[0].1.as_str()),
        ("winmail.dat", "application/ms-tnef")
    );
    assert_eq!(files[0].2, 224);

    // Hostile names are made harmless; HTML posing as a PNG is never shown as one.
    let (_, receipt) = post(&app, &fixture("tricky_filenames")).await;
    let files = files_of(&app, &agent, &receipt).await;
    assert_eq!(files.len(), 4, "{files:?}");
    assert_eq!(files[0].0, "passwd");
    assert_eq!(files[1].0, "invoicefdp.exe");
    assert_eq!(files[2].0.chars().count(), 200);
    assert_eq!(files[2].0.rsplit('.').next(), Some("txt"));
    let fake = app.call(Method::Get, &files[3].3, &agent, None).await;
    assert_eq!(
        fake.headers().get_one("Content-Type"),
        Some("application/octet-stream")
    );
    assert!(fake
        .headers()
        .get_one("Content-Disposition")
        .unwrap()
        .starts_with("attachment;"));
}

#[tokio::test]
async fn a_file_over_the_limit_is_left_out_and_the_mail_still_filed() {
    let app = app(|_| {}).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    // 30 MB against the default 25 MiB per file; the mail itself (40 MB in
    // base64) is within what the webhook takes.
    let big: Vec<u8> = (0..30_000_000u32).map(|i| (i % 251) as u8).collect();
    let encoded = base64_lines(&big);
    let small = base64_lines(b"a small file that fits");
    let mail = format!(
        "From: Dana <dana@customer.example>\r\nTo: support@example.com\r\nSubject: Huge log\r\n\
         Message-ID: <huge-1@customer.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nThe log is attached.\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"huge.log\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}\
         --b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"small.txt\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{small}--b1--\r\n"
    );
    let (status, receipt) = post(&app, mail.as_bytes()).await;
    assert_eq!(status, 202, "{receipt}");
    let files = files_of(&app, &agent, &receipt).await;
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        ["small.txt"],
        "the big file is left out, the small one kept"
    );
    let ticket = receipt["ticket_id"].as_i64().unwrap();
    let t = json(
        app.call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}"),
            &agent,
            None,
        )
        .await,
    )
    .await;
    let body = t["messages"][0]["body"].as_str().unwrap();
    assert!(body.contains("The log is attached."), "{body}");
    assert!(
        body.contains("\"huge.log\" (30000000 bytes) was not kept"),
        "{body}"
    );
    let stored: i64 = app
        .state()
        .db
        .read(|c| Ok(c.query_row("SELECT COALESCE(MAX(size), 0) FROM blobs", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert!(stored < 1000, "nothing of the big file is stored");
}

#[tokio::test]
async fn a_mail_with_many_files_is_filed_with_all_of_them() {
    let app = app(|_| {}).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let mut mail = String::from(
        "From: Newsletter Fan <fan@customer.example>\r\nTo: support@example.com\r\n\
         Subject: Many pictures\r\nMessage-ID: <many-1@customer.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
         Twenty-five files.\r\n",
    );
    for n in 0..25 {
        let _ = write!(
            mail,
            "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"part-{n}.txt\"\r\n\r\nfile number {n}\r\n"
        );
    }
    mail.push_str("--b1--\r\n");
    let (status, receipt) = post(&app, mail.as_bytes()).await;
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(files_of(&app, &agent, &receipt).await.len(), 25);
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 76 * 2 + 2);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push_str("\r\n");
    }
    out
}

#[tokio::test]
async fn a_public_answer_mails_its_files_and_a_big_one_as_a_link() {
    let app = app(|c| c.attachments.max_mail_bytes = rocket::data::ByteUnit::Kibibyte(2)).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let (_, receipt) = post(&app, &fixture("with_pdf")).await;
    let ticket = receipt["ticket_id"].as_i64().unwrap();
    app.deliver().await;

    let bearer = token(&agent);
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let (app, bearer) = (&app, bearer.clone());
        async move {
            app.upload(&bearer, name, "application/octet-stream", &bytes)
                .await
        }
    };
    // Within max_mail_bytes (2 KiB): the mail carries the file.
    let pdf = upload("answer.pdf", file("invoice.pdf")).await;
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{ticket}/messages"),
            &agent,
            Some(json!({ "body": "Corrected invoice attached.", "attachments": [pdf] })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let sent = app.deliver().await;
    assert_eq!(sent.len(), 1);
    let raw = sent[0].raw.clone();
    assert!(raw.contains("multipart/mixed"), "{raw}");
    assert!(raw.contains("filename=\"answer.pdf\""), "{raw}");
    assert!(raw.contains("Attached:"), "{raw}");
    let carried = mail_parser::MessageParser::default()
        .parse(sent[0].raw.as_bytes())
        .unwrap();
    let attachment = carried.attachments().next().expect("an attachment");
    assert_eq!(attachment.contents(), file("invoice.pdf").as_slice());

    // Over it: links through the portal instead, which download the file.
    let big = upload("big.bin", vec![1u8; 4096]).await;
    app.call(
        Method::Post,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        Some(json!({ "body": "A big one.", "attachments": [big] })),
    )
    .await;
    let sent = app.deliver().await;
    let raw = sent[0].raw.clone();
    assert!(!raw.contains("filename=\"big.bin\""), "not carried");
    let link = sent[0]
        .text
        .split_whitespace()
        .find(|w| w.contains("/attachments/") && w.starts_with("http"))
        .unwrap_or_else(|| panic!("a download link in {}", sent[0].text));
    let path = link
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .unwrap();
    let res = app.call(Method::Get, &path, &Auth::None, None).await;
    assert_eq!(res.status().code, 200, "{path}");
    assert_eq!(res.into_bytes().await.unwrap(), vec![1u8; 4096]);

    // Internal notes with files mail no customer.
    let note = upload("note.txt", b"internal".to_vec()).await;
    app.call(
        Method::Post,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        Some(json!({ "body": "Note", "internal": true, "attachments": [note] })),
    )
    .await;
    assert!(app.deliver().await.is_empty());
}

fn token(auth: &Auth) -> String {
    match auth {
        Auth::Bearer(t) => t.clone(),
        _ => unreachable!(),
    }
}
