//! Tickets end to end: lifecycle, conversation rules, assignment, listing and search.

mod common;

use common::{problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Patch, Post, Put};
use serde_json::{json, Value};

struct Desk {
    app: TestApp,
    admin: Auth,
    agent: Auth,
    agent_id: i64,
    alice: Auth,
    alice_id: i64,
    bob: Auth,
}

async fn desk() -> Desk {
    desk_with(|_| {}).await
}

async fn desk_with(tweak: impl FnOnce(&mut helpline::Config)) -> Desk {
    let app = TestApp::with(tweak, Vec::new()).await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (alice_id, alice, _) = app.signed_in("alice@example.com", Role::Customer).await;
    let (_, bob, _) = app.signed_in("bob@example.com", Role::Customer).await;
    Desk {
        app,
        admin: Auth::Bearer(admin),
        agent: Auth::Bearer(agent),
        agent_id: agent_id.0,
        alice: Auth::Bearer(alice),
        alice_id: alice_id.0,
        bob: Auth::Bearer(bob),
    }
}

impl Desk {
    async fn send(
        &self,
        method: rocket::http::Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> (u16, Value) {
        let res = self.app.call(method, path, auth, body).await;
        let status = res.status().code;
        let text = res.into_string().await.unwrap_or_default();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            },
        )
    }

    async fn ok(
        &self,
        method: rocket::http::Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Value {
        let (status, body) = self.send(method, path, auth, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {body}"
        );
        body
    }

    async fn ticket(&self, auth: &Auth, subject: &str, body: &str) -> i64 {
        let created = self
            .ok(
                Post,
                "/api/v1/tickets",
                auth,
                Some(json!({ "subject": subject, "body": body })),
            )
            .await;
        created["id"].as_i64().unwrap()
    }
}

#[rocket::async_test]
async fn a_ticket_is_a_conversation() {
    let d = desk().await;
    let created = d
        .ok(Post, "/api/v1/tickets", &d.alice, Some(json!({ "subject": "  Printer on fire ", "body": "It smokes.", "tags": ["Hardware", "hardware", "Floor 2"], "category": "Technical" })))
        .await;
    assert_eq!(created["subject"], "Printer on fire");
    assert_eq!(created["status"], "open");
    assert_eq!(created["priority"], "medium");
    assert_eq!(created["channel"], "web");
    assert_eq!(created["category"], "technical");
    assert_eq!(created["tags"], json!(["hardware", "floor-2"]));
    assert_eq!(created["requester"]["email"], "alice@example.com");
    assert!(created["assignee"].is_null());
    assert_eq!(created["message_count"], 1);
    assert_eq!(created["messages"][0]["body"], "It smokes.");
    assert_eq!(created["messages"][0]["author"]["role"], "customer");
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/tickets/{id}");

    // Agent note and reply; the first public agent reply is the first response.
    d.ok(
        Post,
        &format!("{path}/messages"),
        &d.agent,
        Some(json!({ "body": "Probably the fuser.", "internal": true })),
    )
    .await;
    let t = d.ok(Get, &path, &d.agent, None).await;
    assert!(t["first_response_at"].is_null(), "notes are no response");
    assert_eq!(t["message_count"], 2);
    d.ok(
        Post,
        &format!("{path}/messages"),
        &d.agent,
        Some(json!({ "body": "Unplug it, please." })),
    )
    .await;
    let t = d.ok(Get, &path, &d.agent, None).await;
    assert!(t["first_response_at"].is_string());

    // The customer sees public messages only, and counts without notes.
    let t = d.ok(Get, &path, &d.alice, None).await;
    assert_eq!(t["message_count"], 2);
    let bodies: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["It smokes.", "Unplug it, please."]);

    // Pending, then the customer answers: back to open.
    d.ok(Patch, &path, &d.agent, Some(json!({ "status": "pending" })))
        .await;
    d.ok(
        Post,
        &format!("{path}/messages"),
        &d.alice,
        Some(json!({ "body": "Done. Now it beeps." })),
    )
    .await;
    assert_eq!(d.ok(Get, &path, &d.agent, None).await["status"], "open");

    // Resolved, the customer answers: back to open; resolved_at cleared.
    let t = d.ok(Post, &format!("{path}/resolve"), &d.agent, None).await;
    assert_eq!(t["status"], "resolved");
    assert!(t["resolved_at"].is_string());
    d.ok(
        Post,
        &format!("{path}/messages"),
        &d.alice,
        Some(json!({ "body": "Still beeping." })),
    )
    .await;
    let t = d.ok(Get, &path, &d.agent, None).await;
    assert_eq!(t["status"], "open");
    assert!(t["resolved_at"].is_null());

    // Closed: no more messages until reopened.
    let t = d.ok(Post, &format!("{path}/close"), &d.alice, None).await;
    assert_eq!(t["status"], "closed");
    assert!(t["closed_at"].is_string());
    let (status, body) = d
        .send(
            Post,
            &format!("{path}/messages"),
            &d.agent,
            Some(json!({ "body": "One more thing" })),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = d
        .send(
            Patch,
            &path,
            &d.agent,
            Some(json!({ "status": "resolved" })),
        )
        .await;
    assert_eq!(status, 409, "closed -> resolved is not a transition");
    d.ok(Post, &format!("{path}/reopen"), &d.alice, None).await;
    d.ok(
        Post,
        &format!("{path}/messages"),
        &d.agent,
        Some(json!({ "body": "One more thing" })),
    )
    .await;
}

#[rocket::async_test]
async fn requesters_may_only_close_and_reopen() {
    let d = desk().await;
    let id = d.ticket(&d.alice, "Help", "Please").await;
    let path = format!("/api/v1/tickets/{id}");
    for body in [
        json!({ "priority": "urgent" }),
        json!({ "status": "resolved" }),
        json!({ "subject": "Mine now" }),
        json!({ "assignee_id": null }),
    ] {
        let (status, b) = d.send(Patch, &path, &d.alice, Some(body.clone())).await;
        assert_eq!(status, 403, "{body} -> {b}");
    }
    let (status, _) = d
        .send(Post, &format!("{path}/resolve"), &d.alice, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = d
        .send(
            Post,
            &format!("{path}/messages"),
            &d.alice,
            Some(json!({ "body": "psst", "internal": true })),
        )
        .await;
    assert_eq!(status, 403, "customers write no notes");
    assert_eq!(
        d.ok(Patch, &path, &d.alice, Some(json!({ "status": "closed" })))
            .await["status"],
        "closed"
    );
    assert_eq!(
        d.ok(Patch, &path, &d.alice, Some(json!({ "status": "open" })))
            .await["status"],
        "open"
    );
}

#[rocket::async_test]
async fn agents_change_assign_and_audit() {
    let d = desk().await;
    let id = d.ticket(&d.alice, "Refund", "Charged twice").await;
    let path = format!("/api/v1/tickets/{id}");
    let t = d
        .ok(Patch, &path, &d.agent, Some(json!({ "priority": "high", "type": "incident", "tags": ["billing"], "status": "in_progress" })))
        .await;
    assert_eq!(t["priority"], "high");
    assert_eq!(t["type"], "incident");
    assert_eq!(t["status"], "in_progress");

    let t = d
        .ok(
            Post,
            &format!("{path}/assign"),
            &d.agent,
            Some(json!({ "assignee_id": d.agent_id, "priority": "urgent" })),
        )
        .await;
    assert_eq!(t["assignee"]["id"], d.agent_id);
    assert_eq!(t["priority"], "urgent");
    for (body, field) in [
        (json!({ "assignee_id": d.alice_id }), "assignee_id"),
        (json!({ "assignee_id": 9999 }), "assignee_id"),
        (json!({ "priority": "high" }), "assignee_id"),
    ] {
        let (status, b) = d
            .send(Post, &format!("{path}/assign"), &d.agent, Some(body))
            .await;
        assert_eq!(status, 422, "{b}");
        assert_eq!(b["errors"][0]["field"], field, "{b}");
    }
    let t = d
        .ok(
            Post,
            &format!("{path}/assign"),
            &d.agent,
            Some(json!({ "assignee_id": null })),
        )
        .await;
    assert!(t["assignee"].is_null());

    for (body, field) in [
        (json!({ "category": "astrology" }), "category"),
        (json!({ "status": "sleeping" }), "status"),
        (json!({ "priority": "whenever" }), "priority"),
        (json!({ "tags": ["<b>"] }), "tags"),
        (json!({ "subject": "" }), "subject"),
        (json!({ "colour": "red" }), "colour"),
    ] {
        let (status, b) = d.send(Patch, &path, &d.agent, Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {b}");
        assert_eq!(b["errors"][0]["field"], field, "{b}");
    }
    // A failed change writes nothing, not even its valid parts.
    let (status, _) = d
        .send(
            Patch,
            &path,
            &d.agent,
            Some(json!({ "priority": "low", "category": "astrology" })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(d.ok(Get, &path, &d.agent, None).await["priority"], "urgent");

    let events = d.ok(Get, &format!("{path}/events"), &d.agent, None).await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "ticket.created",
            "ticket.updated",
            "ticket.updated",
            "ticket.assigned"
        ]
    );
    let update = &events["items"][1];
    assert_eq!(
        update["details"]["priority"],
        json!({ "from": "medium", "to": "high" })
    );
    assert_eq!(
        update["details"]["status"],
        json!({ "from": "open", "to": "in_progress" })
    );
    assert_eq!(update["actor_id"], d.agent_id);
    assert!(update["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let (status, _) = d.send(Get, &format!("{path}/events"), &d.alice, None).await;
    assert_eq!(status, 403);
}

#[rocket::async_test]
async fn staff_open_tickets_for_customers_and_keys_must_name_them() {
    let d = desk().await;
    let t = d
        .ok(Post, "/api/v1/tickets", &d.agent, Some(json!({ "subject": "Phone call", "body": "Customer called about X", "requester_id": d.alice_id })))
        .await;
    assert_eq!(t["requester"]["id"], d.alice_id);
    assert!(
        t["first_response_at"].is_null(),
        "the opening message is no response"
    );
    let (status, _) = d
        .send(
            Post,
            "/api/v1/tickets",
            &d.bob,
            Some(json!({ "subject": "x", "body": "y", "requester_id": d.alice_id })),
        )
        .await;
    assert_eq!(status, 403);
    let key = Auth::ApiKey(d.app.api_key(Role::Agent).await);
    let (status, b) = d
        .send(
            Post,
            "/api/v1/tickets",
            &key,
            Some(json!({ "subject": "x", "body": "y" })),
        )
        .await;
    assert_eq!(status, 422, "{b}");
    let t = d
        .ok(
            Post,
            "/api/v1/tickets",
            &key,
            Some(json!({ "subject": "From CRM", "body": "sync", "requester_id": d.alice_id })),
        )
        .await;
    assert_eq!(t["channel"], "api");
    let (status, _) = d
        .send(
            Post,
            "/api/v1/tickets",
            &d.agent,
            Some(json!({ "subject": "x", "body": "y", "requester_id": 424_242 })),
        )
        .await;
    assert_eq!(status, 422);
}

#[rocket::async_test]
async fn message_bodies_are_bounded_and_stored_as_given() {
    let d = desk().await;
    let id = d
        .ticket(&d.alice, "Markup", "<script>alert(1)</script> **bold**")
        .await;
    let t = d
        .ok(Get, &format!("/api/v1/tickets/{id}"), &d.agent, None)
        .await;
    assert_eq!(
        t["messages"][0]["body"],
        "<script>alert(1)</script> **bold**"
    );
    let (status, b) = d
        .send(
            Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &d.agent,
            Some(json!({ "body": "x".repeat(64 * 1024 + 1) })),
        )
        .await;
    assert_eq!(status, 422, "{b}");
    let res = d
        .app
        .call(
            Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &d.agent,
            Some(json!({ "body": "x".repeat(2 * 1024 * 1024) })),
        )
        .await;
    problem(res, 413).await;
    let (status, _) = d
        .send(
            Post,
            &format!("/api/v1/tickets/{id}/messages"),
            &d.agent,
            Some(json!({ "body": "   " })),
        )
        .await;
    assert_eq!(status, 422);
}

#[rocket::async_test]
async fn settings_validate_every_key_and_are_audited() {
    let d = desk().await;
    let all = d.ok(Get, "/api/v1/settings", &d.admin, None).await;
    for key in [
        "auto_assign",
        "allow_registration",
        "intake_requires_api_key",
        "categories",
        "types",
        "support_email",
        "support_bubble_enabled",
        "whatsapp_number",
        "phone_number",
        "portal_token_days",
    ] {
        assert!(all.get(key).is_some(), "{key} missing from {all}");
    }
    let (status, b) = d
        .send(
            Put,
            "/api/v1/settings",
            &d.admin,
            Some(json!({ "auto_assing": "round_robin" })),
        )
        .await;
    assert_eq!(status, 422, "{b}");
    assert_eq!(b["errors"][0]["field"], "auto_assing");
    let (status, b) = d
        .send(
            Put,
            "/api/v1/settings",
            &d.admin,
            Some(json!({ "auto_assign": "sometimes" })),
        )
        .await;
    assert_eq!(status, 422, "{b}");
    let (status, b) = d
        .send(
            Put,
            "/api/v1/settings",
            &d.admin,
            Some(json!({ "portal_token_days": 0, "categories": ["a", "A"] })),
        )
        .await;
    assert_eq!(status, 422, "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 2);

    let mut new = all.clone();
    new["auto_assign"] = json!("round_robin");
    new["categories"] = json!(["sales", "support"]);
    let saved = d.ok(Put, "/api/v1/settings", &d.admin, Some(new)).await;
    assert_eq!(saved["auto_assign"], "round_robin");
    let log = d
        .ok(
            Get,
            "/api/v1/admin/audit?action=settings.updated",
            &d.admin,
            None,
        )
        .await;
    assert_eq!(
        log["items"][0]["details"]["keys"],
        json!(["auto_assign", "categories"])
    );
    let public = d
        .ok(Get, "/api/v1/settings/public", &Auth::None, None)
        .await;
    assert!(
        public.get("auto_assign").is_none(),
        "internal settings stay private"
    );
    let (status, _) = d
        .send(
            Post,
            "/api/v1/tickets",
            &d.alice,
            Some(json!({ "subject": "s", "body": "b", "category": "billing" })),
        )
        .await;
    assert_eq!(status, 422, "billing is no longer a category");
}

#[rocket::async_test]
async fn admins_delete_tickets_and_the_trail_remains() {
    let d = desk().await;
    let id = d.ticket(&d.alice, "Spam", "Buy now").await;
    let path = format!("/api/v1/tickets/{id}");
    let (status, _) = d
        .send(rocket::http::Method::Delete, &path, &d.agent, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = d
        .send(rocket::http::Method::Delete, &path, &d.admin, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = d.send(Get, &path, &d.admin, None).await;
    assert_eq!(status, 404);
    let events = d.ok(Get, &format!("{path}/events"), &d.admin, None).await;
    assert_eq!(
        events["items"].as_array().unwrap().last().unwrap()["action"],
        "ticket.deleted"
    );
    let found = d.ok(Get, "/api/v1/tickets?q=spam", &d.admin, None).await;
    assert_eq!(found["total"], 0, "search forgets deleted tickets");
    let counts = d.ok(Get, "/api/v1/tickets/stats", &d.admin, None).await;
    assert_eq!(
        counts["by_status"]["open"], 0,
        "counts forget deleted tickets"
    );
}
