//! Findings of the security review, each as the attack it was: a date that
//! crashed the server, headers and `/metrics`, sign-in lockout and IPv6
//! rotation, portal links that outlived their account or cost a write and
//! an unlimited number of mails, world-readable files, forged senders.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::{ContentType, Header, Method};
use serde_json::{json, Value};

async fn create_ticket(app: &TestApp, auth: &Auth, subject: &str) -> i64 {
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            auth,
            Some(json!({ "subject": subject, "body": "It jams" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    json(res).await["id"].as_i64().unwrap()
}

#[rocket::async_test]
async fn a_time_past_the_calendar_is_422_not_a_crash() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let auth = Auth::Bearer(agent);
    for path in [
        "/api/v1/tickets?created_after=9999-12-31T23:59:59-23:59",
        "/api/v1/tickets?updated_after=9999-12-31T23:59:59-23:59",
        "/api/v1/tickets/stats?since=9999-12-31T23:59:59-23:59",
    ] {
        let body = problem(app.call(Method::Get, path, &auth, None).await, 422).await;
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("out of range"));
    }
}

#[rocket::async_test]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    for (base, hsts) in [
        (Some("https://help.example.com"), true),
        (Some("http://help.example.com"), false),
        (None, false),
    ] {
        let app = TestApp::with(|c| c.base_url = base.map(String::from), Vec::new()).await;
        let res = app.client.get("/health").dispatch().await;
        assert_eq!(
            res.headers().get_one("Strict-Transport-Security").is_some(),
            hsts,
            "{base:?}"
        );
    }
}

#[rocket::async_test]
async fn metrics_are_for_admins_unless_made_public() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let from = |ip: &str| -> std::net::SocketAddr { format!("{ip}:40000").parse().unwrap() };
    let anonymous = app.client.get("/metrics").remote(from("203.0.113.9"));
    problem(anonymous.dispatch().await, 401).await;
    problem(
        app.call(Method::Get, "/metrics", &Auth::Bearer(agent), None)
            .await,
        403,
    )
    .await;
    let res = app
        .call(Method::Get, "/metrics", &Auth::Bearer(admin.clone()), None)
        .await;
    assert_eq!(res.status().code, 200);
    // A Prometheus on the same machine needs no account.
    let local = app.client.get("/metrics").remote(from("127.0.0.1"));
    assert_eq!(local.dispatch().await.status().code, 200);
    let res = app
        .call(
            Method::Put,
            "/api/v1/settings",
            &Auth::Bearer(admin),
            Some(json!({ "metrics_public": true })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let anonymous = app.client.get("/metrics").remote(from("203.0.113.9"));
    assert_eq!(anonymous.dispatch().await.status().code, 200);
}

async fn login_from(app: &TestApp, ip: &str, password: &str) -> u16 {
    app.client
        .post("/api/v1/auth/login")
        .remote(format!("{ip}:40000").parse().unwrap())
        .header(ContentType::JSON)
        .body(json!({ "email": "ana@example.com", "password": password }).to_string())
        .dispatch()
        .await
        .status()
        .code
}

#[rocket::async_test]
async fn guessing_from_elsewhere_does_not_lock_the_owner_out() {
    let app = TestApp::with(
        |c| {
            c.rate_limits.login_per_account = 3;
            c.rate_limits.login_per_ip = 100;
        },
        Vec::new(),
    )
    .await;
    app.create_user("ana@example.com", Role::Customer, Some(common::PASSWORD))
        .await;
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, "198.51.100.7", "wrong password").await,
            401
        );
    }
    assert_eq!(
        login_from(&app, "198.51.100.7", "wrong password").await,
        429
    );
    // The owner, elsewhere, still signs in.
    assert_eq!(login_from(&app, "203.0.113.5", common::PASSWORD).await, 200);
}

#[rocket::async_test]
async fn an_ipv6_client_counts_by_its_64() {
    let app = TestApp::with(|c| c.rate_limits.intake_per_ip = 3, Vec::new()).await;
    let request = |ip: String, n: u32| {
        app.client
            .post("/api/v1/support/request")
            .remote(format!("[{ip}]:40000").parse().unwrap())
            .header(ContentType::JSON)
            .body(
                json!({
                    "channel": "web", "name": "Bo", "email": format!("bo{n}@example.com"),
                    "subject": "Hello", "message": "A question"
                })
                .to_string(),
            )
    };
    for n in 1..=3 {
        let res = request(format!("2001:db8:5:6::{n:x}"), n).dispatch().await;
        assert_eq!(res.status().code, 201);
    }
    // Another address of the same /64 is the same client.
    let res = request("2001:db8:5:6:ffff::1".into(), 4).dispatch().await;
    problem(res, 429).await;
    let res = request("2001:db8:5:7::1".into(), 5).dispatch().await;
    assert_eq!(res.status().code, 201, "another /64 is another client");
}

/// Issues a portal link to a customer's ticket; returns (customer id, token).
async fn portal_link(app: &TestApp, agent: &Auth) -> (i64, String) {
    let (customer, token, _) = app.signed_in("ana@example.com", Role::Customer).await;
    let ticket = create_ticket(app, &Auth::Bearer(token), "Printer").await;
    let res = app
        .call(
            Method::Post,
            "/api/v1/portal-tokens",
            agent,
            Some(json!({ "ticket_id": ticket })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    (
        customer.0,
        json(res).await["token"].as_str().unwrap().to_string(),
    )
}

#[rocket::async_test]
async fn portal_links_die_with_the_account() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let (customer, token) = portal_link(&app, &admin).await;
    let read = format!("/api/v1/portal/{token}");
    let res = app.call(Method::Get, &read, &Auth::None, None).await;
    assert_eq!(res.status().code, 200);
    let res = app
        .call(
            Method::Delete,
            &format!("/api/v1/users/{customer}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status().code, 204);
    problem(app.call(Method::Get, &read, &Auth::None, None).await, 404).await;
    let answer = json!({ "body": "Still there?" });
    let path = format!("{read}/messages");
    problem(
        app.call(Method::Post, &path, &Auth::None, Some(answer))
            .await,
        404,
    )
    .await;
    // Revoked for good: reactivating the account does not bring it back.
    let res = app
        .call(
            Method::Patch,
            &format!("/api/v1/users/{customer}"),
            &admin,
            Some(json!({ "active": true })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    problem(app.call(Method::Get, &read, &Auth::None, None).await, 404).await;
}

async fn use_count(app: &TestApp) -> i64 {
    app.state()
        .db
        .read(|conn| {
            Ok(conn.query_row("SELECT SUM(use_count) FROM portal_tokens", [], |r| r.get(0))?)
        })
        .await
        .unwrap()
}

#[rocket::async_test]
async fn portal_reads_take_no_write_and_links_are_rate_limited() {
    let app = TestApp::with(
        |c| {
            c.rate_limits.portal_per_token = 5;
            c.rate_limits.portal_tickets_per_token = 2;
        },
        Vec::new(),
    )
    .await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, token) = portal_link(&app, &Auth::Bearer(agent)).await;
    let read = format!("/api/v1/portal/{token}");
    for _ in 0..2 {
        let res = app.call(Method::Get, &read, &Auth::None, None).await;
        assert_eq!(res.status().code, 200);
    }
    // Counted in memory; written by the maintenance task in one batch.
    assert_eq!(use_count(&app).await, 0);
    let uses = std::sync::Arc::clone(&app.state().portal_uses);
    app.state()
        .db
        .write(move |tx| uses.flush(tx))
        .await
        .unwrap();
    assert_eq!(use_count(&app).await, 2);
    // Two new tickets an hour through one link, then 429: each one mails.
    let open = format!("{read}/tickets");
    for n in 0..3 {
        let body = json!({ "subject": format!("Another {n}"), "body": "Hello" });
        let res = app.call(Method::Post, &open, &Auth::None, Some(body)).await;
        assert_eq!(
            res.status().code,
            if n < 2 { 201 } else { 429 },
            "ticket {n}"
        );
    }
    // Five requests a minute per link, known or not.
    problem(app.call(Method::Get, &read, &Auth::None, None).await, 429).await;
    for _ in 0..5 {
        let res = app
            .call(Method::Get, "/api/v1/portal/made-up", &Auth::None, None)
            .await;
        assert_eq!(res.status().code, 404);
    }
    problem(
        app.call(Method::Get, "/api/v1/portal/made-up", &Auth::None, None)
            .await,
        429,
    )
    .await;
}

#[cfg(unix)]
#[rocket::async_test]
async fn the_database_and_mail_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = TestApp::with_real_mail(|c| c.data_dir.clone_from(&data)).await;
    app.create_user("ana@example.com", Role::Customer, Some(common::PASSWORD))
        .await;
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/password-reset",
            &Auth::None,
            Some(json!({ "email": "ana@example.com" })),
        )
        .await;
    assert_eq!(res.status().code, 204);
    let report = app.state().delivery.drain_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data.join("helpline.db")), 0o600);
    let wal = data.join("helpline.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    let outgoing = data.join("outgoing-mail");
    assert_eq!(mode(&outgoing), 0o700);
    let mails: Vec<_> = std::fs::read_dir(&outgoing).unwrap().collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mode(&mails[0].as_ref().unwrap().path()),
        0o600,
        "the reset link"
    );
}

const SECRET: &str = "an-inbound-secret-for-tests";

async fn inbound(app: &TestApp, raw: &str) -> Value {
    let res = app
        .client
        .post("/api/v1/inbound/email")
        .header(ContentType::new("message", "rfc822"))
        .header(Header::new("Authorization", format!("Bearer {SECRET}")))
        .body(raw.as_bytes())
        .dispatch()
        .await;
    assert_eq!(res.status().code, 202);
    json(res).await
}

fn mail(from: &str, subject: &str, id: &str, references: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@example.com\r\nSubject: {subject}\r\nMessage-ID: <{id}@mail.example>\r\n{references}Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nHello there.\r\n"
    )
}

#[rocket::async_test]
async fn a_forged_sender_cannot_speak_on_a_ticket() {
    let app = TestApp::with(
        |c| c.inbound_secret = Some(helpline::config::Secret::new(SECRET)),
        Vec::new(),
    )
    .await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    // Ana opens a ticket by mail.
    let first = inbound(&app, &mail("ana@example.com", "Printer jams", "one", "")).await;
    let ticket = first["ticket_id"].as_i64().unwrap();

    // Anyone can type Ana's address and `[#id]`: that opens a new ticket.
    let subject = format!("Re: Printer jams [#{ticket}]");
    let forged = inbound(&app, &mail("ana@example.com", &subject, "two", "")).await;
    assert_eq!(forged["rule"], "subject_tag");
    assert_eq!(forged["created_ticket"], true, "{forged}");
    assert_ne!(forged["ticket_id"], ticket);

    // A reference to Ana's first mail is a real reply, but only the newest
    // 20 references are looked at.
    let mut references: Vec<String> = vec!["<one@mail.example>".into()];
    references.extend((0..20).map(|n| format!("<unknown{n}@mail.example>")));
    let long = format!("References: {}\r\n", references.join(" "));
    let reply = inbound(&app, &mail("ana@example.com", "Re: jams", "three", &long)).await;
    assert_eq!(reply["created_ticket"], true, "{reply}");
    let short = "References: <one@mail.example>\r\n";
    let reply = inbound(&app, &mail("ana@example.com", "Re: jams", "four", short)).await;
    assert_eq!(reply["ticket_id"], ticket, "{reply}");
    assert_eq!(reply["rule"], "references");

    // An agent's address on a closed ticket, without their reply link, writes nothing.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{ticket}/close"),
            &agent,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    let subject = format!("Re: Printer jams [#{ticket}]");
    let before =
        json(app.call(Method::Get, "/api/v1/tickets", &agent, None).await).await["total"].clone();
    let staff = inbound(&app, &mail("agent@example.com", &subject, "five", short)).await;
    assert_eq!(staff["status"], "ignored", "{staff}");
    let after =
        json(app.call(Method::Get, "/api/v1/tickets", &agent, None).await).await["total"].clone();
    assert_eq!(before, after, "no ticket written as the agent");
}

async fn count(app: &TestApp, sql: &'static str, id: i64) -> i64 {
    app.state()
        .db
        .read(move |conn| Ok(conn.query_row(sql, [id], |r| r.get(0))?))
        .await
        .unwrap()
}

#[rocket::async_test]
async fn a_deleted_ticket_takes_its_id_events_and_mail_along() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let (_, ana, _) = app.signed_in("ana@example.com", Role::Customer).await;
    let (_, bo, _) = app.signed_in("bo@example.com", Role::Customer).await;
    let spam = create_ticket(&app, &Auth::Bearer(ana), "Spam").await;
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{spam}/messages"),
            &admin,
            Some(json!({ "body": "An answer that was never sent" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let message = json(res).await["id"].as_i64().unwrap();
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE ticket_id = ?1",
            spam
        )
        .await
            > 0
    );
    let res = app
        .call(
            Method::Delete,
            &format!("/api/v1/tickets/{spam}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status().code, 204);
    for sql in [
        "SELECT COUNT(*) FROM outbox WHERE ticket_id = ?1",
        "SELECT COUNT(*) FROM mail_threads WHERE ticket_id = ?1",
        "SELECT COUNT(*) FROM events WHERE ticket_id = ?1 AND kind <> 'ticket.deleted'",
    ] {
        assert_eq!(count(&app, sql, spam).await, 0, "{sql}");
    }
    // The next customer's ticket and message get new ids.
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            &Auth::Bearer(bo),
            Some(json!({ "subject": "Mine", "body": "Hello" })),
        )
        .await;
    let ticket = json(res).await;
    assert!(ticket["id"].as_i64().unwrap() > spam, "{ticket}");
    assert!(ticket["messages"][0]["id"].as_i64().unwrap() > message);
}

#[rocket::async_test]
async fn an_internal_note_does_not_show_through_the_customers_timestamps() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let (_, ana, _) = app.signed_in("ana@example.com", Role::Customer).await;
    let ana = Auth::Bearer(ana);
    let ticket = create_ticket(&app, &ana, "Printer").await;
    let path = format!("/api/v1/tickets/{ticket}");
    // An old ticket: whatever happens now is later.
    app.state()
        .db
        .write(move |tx| {
            tx.execute(
                "UPDATE tickets SET updated_at = '2026-01-01T00:00:00.000Z',
                 public_updated_at = '2026-01-01T00:00:00.000Z' WHERE id = ?1",
                [ticket],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let seen = json(app.call(Method::Get, &path, &ana, None).await).await["updated_at"].clone();
    assert_eq!(seen, "2026-01-01T00:00:00.000Z");
    let note = json!({ "body": "Between us: this customer again", "internal": true });
    let res = app
        .call(
            Method::Post,
            &format!("{path}/messages"),
            &agent,
            Some(note),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let staff_view = json(app.call(Method::Get, &path, &agent, None).await).await;
    assert_ne!(
        staff_view["updated_at"], seen,
        "agents see the note move it"
    );
    let customer_view = json(app.call(Method::Get, &path, &ana, None).await).await;
    assert_eq!(customer_view["updated_at"], seen);
    let after = seen.as_str().unwrap();
    let list = json(
        app.call(
            Method::Get,
            &format!("/api/v1/tickets?updated_after={after}"),
            &ana,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["total"], 0, "{list}");
    // A public answer moves it for everyone.
    let reply = json!({ "body": "We are on it" });
    let res = app
        .call(
            Method::Post,
            &format!("{path}/messages"),
            &agent,
            Some(reply),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let customer_view = json(app.call(Method::Get, &path, &ana, None).await).await;
    assert_ne!(customer_view["updated_at"], seen);
}

#[rocket::async_test]
async fn a_registration_proves_its_address_before_it_signs_in() {
    let app = TestApp::new().await;
    let register =
        json!({ "email": "sam@example.com", "password": common::PASSWORD, "name": "Sam" });
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/register",
            &Auth::None,
            Some(register),
        )
        .await;
    assert_eq!(res.status().code, 202);
    assert_eq!(json(res).await, json!({ "status": "verification_sent" }));
    // The right password is not enough yet.
    let login = json!({ "email": "sam@example.com", "password": common::PASSWORD });
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(login.clone()),
        )
        .await;
    problem(res, 403).await;
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "sam@example.com");
    let link = mails[0]
        .text
        .split_whitespace()
        .find(|w| w.contains("/verify#token="))
        .expect("the confirmation link")
        .to_string();
    let token = link.split_once("#token=").unwrap().1.to_string();
    let verify = json!({ "token": token });
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/verify",
            &Auth::None,
            Some(verify.clone()),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(json(res).await["user"]["role"], "customer");
    let res = app
        .call(Method::Post, "/api/v1/auth/login", &Auth::None, Some(login))
        .await;
    assert_eq!(res.status().code, 200);
    // The link works once.
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/verify",
            &Auth::None,
            Some(verify),
        )
        .await;
    problem(res, 422).await;
}

#[rocket::async_test]
async fn an_anonymous_form_neither_reads_for_nor_speaks_as_an_account() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    app.signed_in("ana@example.com", Role::Customer).await;
    app.signed_in("boss@example.com", Role::Admin).await;
    let form = |email: &str| {
        json!({ "channel": "web", "name": "Someone", "email": email,
                "subject": "Send me the answers", "message": "Hello" })
    };
    for email in ["ana@example.com", "boss@example.com"] {
        let res = app
            .call(
                Method::Post,
                "/api/v1/support/request",
                &Auth::None,
                Some(form(email)),
            )
            .await;
        assert_eq!(res.status().code, 201);
        let receipt = json(res).await;
        assert!(
            receipt["portal_url"].is_null(),
            "no link for {email}: {receipt}"
        );
        let ticket = json(
            app.call(
                Method::Get,
                &format!("/api/v1/tickets/{}", receipt["ticket_id"]),
                &agent,
                None,
            )
            .await,
        )
        .await;
        let first = &ticket["messages"][0];
        assert!(first["author"].is_null(), "not written as {email}: {first}");
        let flag = &ticket["messages"][1];
        assert_eq!(flag["internal"], true);
        assert!(
            flag["body"].as_str().unwrap().contains("did not prove"),
            "{flag}"
        );
    }
    // An integration with an API key gets the link to hand on.
    let key = app.api_key(Role::Agent).await;
    let res = app
        .call(
            Method::Post,
            "/api/v1/support/request",
            &Auth::ApiKey(key),
            Some(form("new@example.com")),
        )
        .await;
    assert_eq!(res.status().code, 201);
    assert!(json(res).await["portal_url"]
        .as_str()
        .unwrap()
        .contains("/portal/"));
}
