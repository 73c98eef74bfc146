//! Bulk changes: each ticket changed and audited on its own; one refusal
//! (a 409, a missing ticket) stops none of the others.

mod common;

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Post};
use serde_json::{json, Value};

#[rocket::async_test]
#[allow(clippy::too_many_lines)] // one story: change, check each ticket, refuse the bad requests
async fn one_change_to_many_tickets_with_mixed_outcomes() {
    let app = TestApp::new().await;
    let (agent_id, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (agent, ana) = (Auth::Bearer(agent), Auth::Bearer(ana));
    let mut ids = Vec::new();
    for n in 0..4 {
        let t = json(
            app.call(
                Post,
                "/api/v1/tickets",
                &ana,
                Some(json!({ "subject": format!("Spam {n}"), "body": "Buy now", "tags": ["inbox", "Promo"] })),
            )
            .await,
        )
        .await;
        ids.push(t["id"].as_i64().unwrap());
    }
    // The last one is already closed: it can only be reopened (409 for "pending").
    app.call(
        Post,
        &format!("/api/v1/tickets/{}/close", ids[3]),
        &agent,
        None,
    )
    .await;

    let res = app
        .call(
            Post,
            "/api/v1/tickets/bulk",
            &agent,
            Some(json!({
                "ids": [ids[0], ids[1], ids[2], ids[3], 999_999, ids[0]],
                "changes": { "status": "pending", "priority": "low", "assignee_id": agent_id.0,
                             "add_tags": ["spam"], "remove_tags": ["promo"] }
            })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let outcome = json(res).await;
    assert_eq!(
        outcome["updated"],
        json!([ids[0], ids[1], ids[2]]),
        "{outcome}"
    );
    let failed = outcome["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{outcome}");
    assert_eq!(
        (failed[0]["id"].as_i64(), failed[0]["status"].as_u64()),
        (Some(ids[3]), Some(409))
    );
    assert!(failed[0]["detail"].as_str().unwrap().len() > 5);
    assert_eq!(
        (failed[1]["id"].as_i64(), failed[1]["status"].as_u64()),
        (Some(999_999), Some(404))
    );

    for id in &ids[..3] {
        let t = json(
            app.call(Get, &format!("/api/v1/tickets/{id}"), &agent, None)
                .await,
        )
        .await;
        assert_eq!(t["status"], "pending");
        assert_eq!(t["priority"], "low");
        assert_eq!(t["assignee"]["id"], agent_id.0);
        assert_eq!(t["tags"], json!(["inbox", "spam"]), "{t}");
        // One audit entry for the change on each ticket.
        let trail = json(
            app.call(Get, &format!("/api/v1/tickets/{id}/events"), &agent, None)
                .await,
        )
        .await;
        let updates: Vec<&Value> = trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "ticket.updated")
            .collect();
        assert_eq!(updates.len(), 1, "{trail}");
    }
    let untouched = json(
        app.call(Get, &format!("/api/v1/tickets/{}", ids[3]), &agent, None)
            .await,
    )
    .await;
    assert_eq!(untouched["status"], "closed");
    assert_eq!(untouched["priority"], "medium");

    // Customers may not; nothing to change or too many tickets: 422.
    assert_eq!(
        app.call(
            Post,
            "/api/v1/tickets/bulk",
            &ana,
            Some(json!({ "ids": [ids[0]], "changes": { "priority": "high" } }))
        )
        .await
        .status()
        .code,
        403
    );
    for bad in [
        json!({ "ids": [], "changes": { "priority": "high" } }),
        json!({ "ids": [ids[0]], "changes": {} }),
        json!({ "ids": (1..=501).collect::<Vec<i64>>(), "changes": { "priority": "high" } }),
    ] {
        let res = app
            .call(Post, "/api/v1/tickets/bulk", &agent, Some(bad))
            .await;
        assert_eq!(res.status().code, 422);
    }
}

/// An agent opens a ticket for a caller by address: a new customer is made
/// (no password), an existing one is found; customers cannot.
#[rocket::async_test]
async fn agents_open_tickets_for_a_caller_by_address() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (agent, ana) = (Auth::Bearer(agent), Auth::Bearer(ana));
    let open = |body: Value| {
        let (app, agent) = (&app, &agent);
        async move {
            let res = app.call(Post, "/api/v1/tickets", agent, Some(body)).await;
            let status = res.status().code;
            (status, json(res).await)
        }
    };
    let (status, t) = open(
        json!({ "subject": "Phone call", "body": "Called about the printer",
        "requester_email": " Carla@Customer.example ", "requester_name": "Carla Caller" }),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["requester"]["email"], "Carla@Customer.example");
    assert_eq!(t["requester"]["name"], "Carla Caller");
    let carla = t["requester"]["id"].as_i64().unwrap();
    // The same address again (any case) finds the same customer.
    let (_, again) = open(json!({ "subject": "Again", "body": "Second call", "requester_email": "carla@customer.example" })).await;
    assert_eq!(again["requester"]["id"], carla);
    // An existing account by address.
    let (_, for_ana) = open(json!({ "subject": "For Ana", "body": "Walk-in", "requester_email": "ana@customer.example" })).await;
    assert_eq!(for_ana["requester"]["email"], "ana@customer.example");
    // The new customer has no password: they cannot sign in until they set one.
    let res = app
        .client
        .post("/api/v1/auth/login")
        .header(rocket::http::ContentType::JSON)
        .body(
            json!({ "email": "carla@customer.example", "password": "anything at all" }).to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(res.status().code, 401);
    for bad in [
        json!({ "subject": "x", "body": "y", "requester_email": "not an address" }),
        json!({ "subject": "x", "body": "y", "requester_email": "a@b.example", "requester_id": carla }),
        json!({ "subject": "x", "body": "y", "requester_name": "Nobody" }),
    ] {
        assert_eq!(open(bad.clone()).await.0, 422, "{bad}");
    }
    let res = app
        .call(
            Post,
            "/api/v1/tickets",
            &ana,
            Some(json!({ "subject": "x", "body": "y", "requester_email": "z@customer.example" })),
        )
        .await;
    assert_eq!(res.status().code, 403);
}
