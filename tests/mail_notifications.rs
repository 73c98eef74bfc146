//! Who gets which email: written with the change, sent by the worker, with
//! threading headers, portal links that work, and never about internal notes
//! or to the person who acted.

mod common;

use common::{json, Auth, SentMail, TestApp};
use helpline::users::Role;
use rocket::http::Method;
use serde_json::{json, Value};

fn of_kind<'a>(mails: &'a [SentMail], to: &str) -> Vec<&'a SentMail> {
    mails.iter().filter(|m| m.to == to).collect()
}

async fn setup() -> (TestApp, Auth, Auth, Auth, i64) {
    let app = TestApp::new().await;
    let (_, admin) = {
        let (id, token, _) = app.signed_in("admin@example.com", Role::Admin).await;
        (id, Auth::Bearer(token))
    };
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    (
        app,
        admin,
        Auth::Bearer(agent),
        Auth::Bearer(customer),
        agent_id.0,
    )
}

/// A customer opens a ticket: their receipt (threading headers, a working
/// portal link) and the team address get mail. Returns (ticket, References, portal token).
async fn open_and_check_receipt(
    app: &TestApp,
    admin: &Auth,
    customer: &Auth,
) -> (i64, String, String) {
    let res = app
        .call(
            Method::Put,
            "/api/v1/settings",
            admin,
            Some(json!({ "support_email": "team@example.com" })),
        )
        .await;
    assert_eq!(res.status().code, 200);

    // A customer opens a ticket: their receipt with a portal link, and the team address.
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            customer,
            Some(json!({ "subject": "Printer", "body": "It smokes" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let ticket = json(res).await;
    let id = ticket["id"].as_i64().unwrap();
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let receipt = of_kind(&mails, "ana@customer.example")[0];
    assert_eq!(
        receipt.subject,
        format!("[#{id}] We received your request: Printer")
    );
    assert!(receipt.text.contains("It smokes"));
    assert_eq!(
        receipt.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    // With no sender configured, mail goes out from the support address
    // the admin entered, and answers come back to it.
    let from = receipt.header("From").unwrap();
    assert!(from.contains("team@example.com"), "{from}");
    let reply_to = receipt.header("Reply-To").unwrap();
    assert!(reply_to.contains(&format!("team+t{id}u")), "{reply_to}");
    let root = receipt.header("References").unwrap();
    assert!(root.contains(&format!(".t{id}.")), "{root}");
    let message_id = receipt.header("Message-ID").unwrap();
    assert_ne!(message_id, root);
    // The portal link in the mail opens the ticket.
    let portal = receipt
        .text
        .split_whitespace()
        .find(|w| w.contains("/portal/"))
        .expect("portal link in the receipt");
    let token = portal.rsplit('/').next().unwrap();
    let res = app
        .call(
            Method::Get,
            &format!("/api/v1/portal/{token}"),
            &Auth::None,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    let team = of_kind(&mails, "team@example.com")[0];
    assert!(team
        .subject
        .starts_with(&format!("[#{id}] New unassigned ticket")));
    (id, root, token.to_string())
}

#[rocket::async_test]
async fn a_conversation_mails_the_right_people_with_threading_headers() {
    let (app, admin, agent, customer, agent_id) = setup().await;
    let (id, root, token) = open_and_check_receipt(&app, &admin, &customer).await;
    let token = token.as_str();

    // An internal note mails nobody.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &agent,
            Some(json!({ "body": "SECRET note", "internal": true })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    assert!(app.deliver().await.is_empty());

    // The admin assigns the agent: the agent hears; nobody else.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/assign"),
            &admin,
            Some(json!({ "assignee_id": agent_id })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "agent@example.com");
    assert!(mails[0].subject.contains("Assigned to you"));

    // The agent answers: the requester gets it, same thread, the agent does not.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &agent,
            Some(json!({ "body": "Unplug it now." })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].to, "ana@customer.example");
    assert!(mails[0].text.contains("Unplug it now."));
    assert!(!mails[0].raw.contains("SECRET"));
    assert_eq!(mails[0].header("References").unwrap(), root);

    // The requester answers: the assignee hears, the requester does not.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &customer,
            Some(json!({ "body": "Done, it is quiet." })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "agent@example.com");
    assert!(mails[0].text.contains("Done, it is quiet."));

    // Resolved by the agent: the requester hears.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/resolve"),
            &agent,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "ana@customer.example");
    assert!(
        mails[0].subject.contains("resolved"),
        "{}",
        mails[0].subject
    );

    // Closed by the requester: their own action, no mail.
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/close"),
            &customer,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert!(app.deliver().await.is_empty());

    check_email_log(&app, &admin, &agent, id, token).await;
}

/// The email log lists every notification as sent, and no link token rests in the outbox.
async fn check_email_log(app: &TestApp, admin: &Auth, agent: &Auth, id: i64, token: &str) {
    // The email log has every notification as sent, with its Message-ID.
    let res = app
        .call(
            Method::Get,
            &format!("/api/v1/admin/email-log?ticket_id={id}"),
            admin,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    let log = json(res).await;
    assert_eq!(log["total"], 6, "{log}");
    for item in log["items"].as_array().unwrap() {
        assert_eq!(item["status"], "sent", "{item}");
        assert_eq!(item["attempts"], 1);
        assert!(item["message_id"].as_str().is_some());
    }
    let first = log["items"][0]["id"].as_i64().unwrap();
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/admin/email-log/{first}/retry"),
            admin,
            None,
        )
        .await;
    assert_eq!(res.status().code, 409, "a sent notification is not retried");
    let res = app
        .call(Method::Get, "/api/v1/admin/email-log", agent, None)
        .await;
    assert_eq!(res.status().code, 403);
    // The database never holds a link token: links are made when sent.
    let stored: Vec<String> = app
        .state()
        .db
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT params || COALESCE(subject, '') FROM outbox")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert!(stored.iter().all(|s| !s.contains(token)));
}

#[rocket::async_test]
async fn a_failed_change_writes_no_notification_and_opted_out_agents_get_none() {
    let (app, admin, agent, customer, agent_id) = setup().await;
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({ "subject": "", "body": "x" })),
        )
        .await;
    assert_eq!(res.status().code, 422);
    assert!(app.deliver().await.is_empty(), "no ticket, no mail");

    let res = app
        .call(
            Method::Patch,
            "/api/v1/users/me",
            &agent,
            Some(json!({ "email_notifications": false })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(json(res).await["email_notifications"], false);
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({ "subject": "Hi", "body": "x" })),
        )
        .await;
    let id = json(res).await["id"].as_i64().unwrap();
    app.deliver().await;
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/assign"),
            &admin,
            Some(json!({ "assignee_id": agent_id })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert!(app.deliver().await.is_empty(), "the agent turned mail off");

    // An agent assigning themselves is not told about it either.
    let res = app
        .call(
            Method::Patch,
            "/api/v1/users/me",
            &agent,
            Some(json!({ "email_notifications": true })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/assign"),
            &agent,
            Some(json!({ "assignee_id": null })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let res = app
        .call(
            Method::Post,
            &format!("/api/v1/tickets/{id}/assign"),
            &agent,
            Some(json!({ "assignee_id": agent_id })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert!(app.deliver().await.is_empty());
}

#[rocket::async_test]
async fn password_reset_and_invite_links_arrive_by_mail_and_work() {
    let (app, admin, _, _, _) = setup().await;
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/password-reset",
            &Auth::None,
            Some(json!({ "email": "ana@customer.example" })),
        )
        .await;
    assert_eq!(res.status().code, 204);
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/password-reset",
            &Auth::None,
            Some(json!({ "email": "nobody@example.com" })),
        )
        .await;
    assert_eq!(res.status().code, 204);
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1, "only the real account gets mail");
    let link = mails[0]
        .text
        .split_whitespace()
        .find(|w| w.contains("#token="))
        .unwrap();
    let token = link.split("#token=").nth(1).unwrap();
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/password-reset/confirm",
            &Auth::None,
            Some(json!({ "token": token, "password": "a brand new password" })),
        )
        .await;
    assert_eq!(res.status().code, 204);
    app.login("ana@customer.example", "a brand new password")
        .await;

    let res = app
        .call(
            Method::Post,
            "/api/v1/users",
            &admin,
            Some(json!({ "email": "new@example.com", "name": "New Agent", "role": "agent" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "new@example.com");
    let link = mails[0]
        .text
        .split_whitespace()
        .find(|w| w.contains("#token="))
        .unwrap();
    assert!(link.contains("/accept-invite#token="));
    let token = link.split("#token=").nth(1).unwrap();
    let res = app
        .call(
            Method::Post,
            "/api/v1/auth/invite/accept",
            &Auth::None,
            Some(json!({ "token": token, "password": "an invited password" })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let _: Value = json(res).await;
}

#[rocket::async_test]
async fn chat_lines_are_gathered_into_one_mail_after_a_pause() {
    let (app, _admin, _agent, customer, agent_id) = setup().await;
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({ "subject": "Chat", "body": "hello" })),
        )
        .await;
    let id = json(res).await["id"].as_i64().unwrap();
    app.deliver().await;
    let agent_user = app
        .state()
        .db
        .read(move |conn| {
            Ok(
                helpline::users::repo::get(conn, helpline::users::UserId(agent_id))?
                    .unwrap()
                    .user,
            )
        })
        .await
        .unwrap();
    let actor = helpline::actor::Actor {
        principal: helpline::actor::Principal::User {
            user: agent_user,
            session_id: "chat-test".into(),
        },
        role: Role::Agent,
        request_id: "chat-test".into(),
    };
    for line in ["first line", "second line", "third line"] {
        helpline::tickets::conversation::reply_on(
            &app.state().db,
            &actor,
            helpline::ids::TicketId(id),
            (line.into(), false, helpline::attachments::Files::none()),
            helpline::tickets::Channel::Chat,
        )
        .await
        .unwrap();
    }
    assert!(
        app.deliver().await.is_empty(),
        "chat mail waits for a pause"
    );
    app.state()
        .db
        .write(|tx| Ok(tx.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE status = 'pending'", [])?))
        .await
        .unwrap();
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1, "one mail for the burst: {mails:#?}");
    for line in ["first line", "second line", "third line"] {
        assert!(mails[0].text.contains(line), "{}", mails[0].text);
    }
}
