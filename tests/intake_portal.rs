//! The public support form and portal links.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Post, Put};
use serde_json::json;

fn request(email: &str) -> serde_json::Value {
    json!({ "channel": "email", "name": "Carol Jones", "email": email, "phone": "+44 20 7946 0958", "subject": "Order 1234 late", "message": "Where is my parcel?" })
}

#[rocket::async_test]
async fn a_support_request_creates_the_customer_the_ticket_and_a_portal_link() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let res = app
        .call(
            Post,
            "/api/v1/support/request",
            &Auth::None,
            Some(request("Carol@Example.com")),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let receipt = json(res).await;
    let ticket_id = receipt["ticket_id"].as_i64().unwrap();
    // Anyone could have typed the address: the link goes there by mail.
    assert!(receipt["portal_url"].is_null(), "{receipt}");
    let mails = app.deliver().await;
    let to_carol = mails
        .iter()
        .find(|m| m.to == "Carol@Example.com")
        .expect("the acknowledgement to the requester");
    let portal_url = to_carol
        .text
        .split_whitespace()
        .find(|w| w.contains("/portal/"))
        .expect("a portal link in the acknowledgement")
        .to_string();
    assert!(
        portal_url.starts_with("http://127.0.0.1:0/portal/"),
        "{portal_url}"
    );

    let ticket = json(
        app.call(Get, &format!("/api/v1/tickets/{ticket_id}"), &agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["channel"], "email");
    assert_eq!(ticket["requester"]["email"], "Carol@Example.com");
    assert_eq!(ticket["messages"][0]["body"], "Where is my parcel?");
    assert_eq!(
        ticket["messages"][1]["internal"], true,
        "the phone number is a note for the team"
    );
    assert!(ticket["messages"][1]["body"]
        .as_str()
        .unwrap()
        .contains("+44 20 7946 0958"));

    // The same email again: the same customer, no second account.
    let res = app
        .call(
            Post,
            "/api/v1/support/request",
            &Auth::None,
            Some(request("carol@example.com")),
        )
        .await;
    let again = json(res).await;
    let second = json(
        app.call(
            Get,
            &format!("/api/v1/tickets/{}", again["ticket_id"]),
            &agent,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(second["requester"]["id"], ticket["requester"]["id"]);
    let customers = json(app.call(Get, "/api/v1/users?q=carol", &agent, None).await).await;
    assert_eq!(customers["total"], 1);
    assert_eq!(customers["items"][0]["role"], "customer");

    // The customer has no password: signing in does not work, the portal does.
    let res = app
        .call(
            Post,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "carol@example.com", "password": "anything at all" })),
        )
        .await;
    assert_eq!(res.status().code, 401);
    let token = portal_url.rsplit('/').next().unwrap();
    let view = json(
        app.call(Get, &format!("/api/v1/portal/{token}"), &Auth::None, None)
            .await,
    )
    .await;
    assert_eq!(view["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(view["tickets"][0]["id"], ticket_id);
    assert_eq!(
        view["tickets"][0]["messages"].as_array().unwrap().len(),
        1,
        "no note in the portal"
    );
}

#[rocket::async_test]
async fn support_requests_are_validated_and_rate_limited() {
    let app = TestApp::with(|c| c.rate_limits.intake_per_ip = 3, Vec::new()).await;
    let mut bad = request("not-an-email");
    bad["channel"] = json!("api");
    bad["phone"] = json!("call me");
    bad["message"] = json!(" ");
    let body = problem(
        app.call(Post, "/api/v1/support/request", &Auth::None, Some(bad))
            .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["channel"], "the channel is checked first: {body}");
    let mut bad = request("not-an-email");
    bad["phone"] = json!("call me");
    bad["message"] = json!(" ");
    let body = problem(
        app.call(Post, "/api/v1/support/request", &Auth::None, Some(bad))
            .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "phone"], "{body}");
    let mut no_message = request("x@example.com");
    no_message["message"] = json!(" ");
    let body = problem(
        app.call(
            Post,
            "/api/v1/support/request",
            &Auth::None,
            Some(no_message),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "message", "{body}");
    let res = app
        .call(
            Post,
            "/api/v1/support/request",
            &Auth::None,
            Some(request("x@example.com")),
        )
        .await;
    assert!(res.headers().get_one("Retry-After").is_some());
    problem(res, 429).await;
}

#[rocket::async_test]
async fn intake_can_require_an_api_key() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    app.call(
        Put,
        "/api/v1/settings",
        &Auth::Bearer(admin),
        Some(json!({ "intake_requires_api_key": true })),
    )
    .await;
    problem(
        app.call(
            Post,
            "/api/v1/support/request",
            &Auth::None,
            Some(request("a@example.com")),
        )
        .await,
        401,
    )
    .await;
    problem(
        app.call(
            Post,
            "/api/v1/support/request",
            &Auth::ApiKey("hlk_forged".into()),
            Some(request("a@example.com")),
        )
        .await,
        401,
    )
    .await;
    let key = Auth::ApiKey(app.api_key(Role::Customer).await);
    assert_eq!(
        app.call(
            Post,
            "/api/v1/support/request",
            &key,
            Some(request("a@example.com"))
        )
        .await
        .status()
        .code,
        201
    );
}

#[rocket::async_test]
#[allow(clippy::too_many_lines)] // one story: issue, use, extend, refuse, revoke, expire
async fn portal_links_answer_open_tickets_and_expire_or_revoke() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("dana@example.com", Role::Customer).await;
    let (agent, customer) = (Auth::Bearer(agent), Auth::Bearer(customer));
    let ticket = json(
        app.call(
            Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({ "subject": "Wifi", "body": "Down" })),
        )
        .await,
    )
    .await;
    let id = ticket["id"].as_i64().unwrap();
    app.call(Post, &format!("/api/v1/tickets/{id}/resolve"), &agent, None)
        .await;

    let issued = json(
        app.call(
            Post,
            "/api/v1/portal-tokens",
            &agent,
            Some(json!({ "ticket_id": id, "expires_in_days": 3 })),
        )
        .await,
    )
    .await;
    let token = issued["token"].as_str().unwrap().to_string();
    assert!(issued["url"].as_str().unwrap().ends_with(&token));
    assert!(issued["expires_at"].as_str().unwrap().ends_with('Z'));

    // Answering a resolved ticket through the portal reopens it.
    let res = app
        .call(
            Post,
            &format!("/api/v1/portal/{token}/messages"),
            &Auth::None,
            Some(json!({ "body": "Still down" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let message = json(res).await;
    assert_eq!(message["channel"], "portal");
    assert_eq!(
        message["author"]["email"],
        serde_json::Value::Null,
        "authors show name and role only"
    );
    let t = json(
        app.call(Get, &format!("/api/v1/tickets/{id}"), &agent, None)
            .await,
    )
    .await;
    assert_eq!(t["status"], "open");

    let res = app
        .call(
            Post,
            &format!("/api/v1/portal/{token}/tickets"),
            &Auth::None,
            Some(json!({ "subject": "Printer too", "body": "Jammed" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let new_ticket = json(res).await;
    assert_eq!(new_ticket["channel"], "portal");
    assert_eq!(new_ticket["requester"]["email"], "dana@example.com");
    let view = json(
        app.call(Get, &format!("/api/v1/portal/{token}"), &Auth::None, None)
            .await,
    )
    .await;
    assert_eq!(
        view["tickets"].as_array().unwrap().len(),
        2,
        "the new ticket joins the link's scope"
    );
    let other = json(
        app.call(
            Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({ "subject": "Private", "body": "x" })),
        )
        .await,
    )
    .await;
    let res = app
        .call(
            Post,
            &format!("/api/v1/portal/{token}/messages"),
            &Auth::None,
            Some(json!({ "body": "sneaky", "ticket_id": other["id"] })),
        )
        .await;
    problem(res, 404).await;

    for bad in [
        json!({ "ticket_id": id, "expires_in_days": 31 }),
        json!({ "ticket_id": 9999 }),
    ] {
        problem(
            app.call(Post, "/api/v1/portal-tokens", &agent, Some(bad))
                .await,
            422,
        )
        .await;
    }

    let revoke = format!("/api/v1/portal-tokens/{}/revoke", issued["id"]);
    assert_eq!(
        app.call(Post, &revoke, &agent, None).await.status().code,
        204
    );
    problem(
        app.call(Get, &format!("/api/v1/portal/{token}"), &Auth::None, None)
            .await,
        404,
    )
    .await;
    problem(
        app.call(
            Post,
            &format!("/api/v1/portal/{token}/messages"),
            &Auth::None,
            Some(json!({ "body": "x" })),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.call(Get, "/api/v1/portal/not-a-token", &Auth::None, None)
            .await,
        404,
    )
    .await;
    problem(
        app.call(Post, "/api/v1/portal-tokens/9999/revoke", &agent, None)
            .await,
        404,
    )
    .await;

    // Expired links are 404 too.
    let expired = app
        .state()
        .db
        .write(move |tx| {
            let issued = helpline::portal::issue(
                tx,
                helpline::ids::TicketId(id),
                helpline::users::UserId(2),
                None,
                1,
                "http://x",
            )?;
            tx.execute(
                "UPDATE portal_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?1",
                [issued.id],
            )?;
            Ok(issued.token)
        })
        .await
        .unwrap();
    problem(
        app.call(Get, &format!("/api/v1/portal/{expired}"), &Auth::None, None)
            .await,
        404,
    )
    .await;

    // Uses are counted in memory and written by the maintenance task.
    let counter = std::sync::Arc::clone(&app.state().portal_uses);
    app.state()
        .db
        .write(move |tx| counter.flush(tx))
        .await
        .unwrap();
    let uses: i64 = app
        .state()
        .db
        .read(|c| Ok(c.query_row("SELECT MAX(use_count) FROM portal_tokens", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(uses, 3, "each use is counted");
}

#[rocket::async_test]
async fn portal_tokens_rest_only_as_hashes_and_reach_only_their_ticket() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("erin@example.com", Role::Customer).await;
    let (agent, customer) = (Auth::Bearer(agent), Auth::Bearer(customer));
    let mut ids = Vec::new();
    for subject in ["One", "Two"] {
        let res = app
            .call(
                Post,
                "/api/v1/tickets",
                &customer,
                Some(json!({ "subject": subject, "body": "x" })),
            )
            .await;
        ids.push(json(res).await["id"].as_i64().unwrap());
    }
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{}/messages", ids[0]),
            &agent,
            Some(json!({ "body": "NOTE-SECRET", "internal": true })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let issued = json(
        app.call(
            Post,
            "/api/v1/portal-tokens",
            &agent,
            Some(json!({ "ticket_id": ids[0] })),
        )
        .await,
    )
    .await;
    let token = issued["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 43, "256 bits, base64");

    // Scope: the link shows its ticket only, never the requester's other one, and no notes.
    let res = app
        .call(Get, &format!("/api/v1/portal/{token}"), &Auth::None, None)
        .await;
    let view = json(res).await;
    let shown: Vec<i64> = view["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(shown, vec![ids[0]]);
    assert!(!view.to_string().contains("NOTE-SECRET"));

    // At rest: the database file and its WAL hold the SHA-256, never the token.
    let stored: String = app
        .state()
        .db
        .read(move |c| Ok(c.query_row("SELECT token_hash FROM portal_tokens", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(stored, helpline::auth::tokens::secret_hash(&token));
    for file in ["helpline.db", "helpline.db-wal"] {
        let bytes = std::fs::read(app.data_dir().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{file} holds the token"
        );
    }
}
