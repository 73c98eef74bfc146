//! Saved replies (shared and personal, placeholders, who may change which)
//! and signatures (below an agent's public replies, in the conversation and
//! in the mail; never on notes).

mod common;

use common::{Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Delete, Get, Patch, Post};
use serde_json::{json, Value};

async fn call(
    app: &TestApp,
    method: rocket::http::Method,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> (u16, Value) {
    let res = app.call(method, path, auth, body).await;
    let status = res.status().code;
    let text = res.into_string().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[rocket::async_test]
#[allow(clippy::too_many_lines)] // one story: create, see, search, fill, change, delete
async fn saved_replies_are_shared_or_personal_and_fill_their_placeholders() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (_, alex, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, bea, _) = app.signed_in("bea@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (admin, alex, bea, ana) = (
        Auth::Bearer(admin),
        Auth::Bearer(alex),
        Auth::Bearer(bea),
        Auth::Bearer(ana),
    );
    // Names to fill in.
    call(
        &app,
        Patch,
        "/api/v1/users/me",
        &alex,
        Some(json!({ "name": "Alex Agent" })),
    )
    .await;
    call(
        &app,
        Patch,
        "/api/v1/users/me",
        &ana,
        Some(json!({ "name": "Ana Pereira" })),
    )
    .await;

    let (status, shared) = call(
        &app,
        Post,
        "/api/v1/saved-replies",
        &admin,
        Some(json!({ "title": "Refund policy", "body": "Hi {{customer.first_name}}, refunds take 5 days.", "shared": true })),
    )
    .await;
    assert_eq!(status, 201, "{shared}");
    assert_eq!(shared["shared"], true);
    assert!(shared["owner_id"].is_null());
    // Agents cannot make shared ones; they make their own.
    let (status, _) = call(
        &app,
        Post,
        "/api/v1/saved-replies",
        &alex,
        Some(json!({ "title": "x", "body": "y", "shared": true })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, own) = call(
        &app,
        Post,
        "/api/v1/saved-replies",
        &alex,
        Some(json!({ "title": "Printer reset", "body": "Dear {{ customer.name }}, about #{{ticket.id}} ({{ticket.subject}}), mail {{customer.email}}.\n{{agent.first_name}} ({{agent.name}}) {{not.a.placeholder}}" })),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let own_id = own["id"].as_i64().unwrap();
    let shared_id = shared["id"].as_i64().unwrap();
    // Customers have none.
    assert_eq!(
        call(&app, Get, "/api/v1/saved-replies", &ana, None).await.0,
        403
    );
    // Empty titles, too long titles, unknown fields: 422.
    for bad in [
        json!({ "title": " ", "body": "b" }),
        json!({ "title": "t".repeat(201), "body": "b" }),
        json!({ "title": "t", "body": "" }),
        json!({ "title": "t", "body": "b", "owner_id": 1 }),
    ] {
        assert_eq!(
            call(
                &app,
                Post,
                "/api/v1/saved-replies",
                &alex,
                Some(bad.clone())
            )
            .await
            .0,
            422,
            "{bad}"
        );
    }

    // Alex sees both; Bea the shared one only, and Alex's is 404 for her.
    let (_, list) = call(&app, Get, "/api/v1/saved-replies", &alex, None).await;
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Printer reset", "Refund policy"]);
    assert_eq!(list["total"], 2);
    let (_, list) = call(&app, Get, "/api/v1/saved-replies", &bea, None).await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(
        call(
            &app,
            Get,
            &format!("/api/v1/saved-replies/{own_id}"),
            &bea,
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            &app,
            Delete,
            &format!("/api/v1/saved-replies/{own_id}"),
            &bea,
            None
        )
        .await
        .0,
        404
    );
    let (_, found) = call(&app, Get, "/api/v1/saved-replies?q=refund", &alex, None).await;
    assert_eq!(found["total"], 1);
    let (_, found) = call(&app, Get, "/api/v1/saved-replies?q=5%20days", &alex, None).await;
    assert_eq!(
        found["items"][0]["id"], shared_id,
        "the body is searched too"
    );

    // Placeholders, filled for a ticket the agent can see.
    let (_, ticket) = call(
        &app,
        Post,
        "/api/v1/tickets",
        &ana,
        Some(json!({ "subject": "Printer smokes", "body": "Help" })),
    )
    .await;
    let ticket_id = ticket["id"].as_i64().unwrap();
    let (status, rendered) = call(
        &app,
        Post,
        &format!("/api/v1/saved-replies/{own_id}/render"),
        &alex,
        Some(json!({ "ticket_id": ticket_id })),
    )
    .await;
    assert_eq!(status, 200, "{rendered}");
    assert_eq!(
        rendered["body"],
        format!("Dear Ana Pereira, about #{ticket_id} (Printer smokes), mail ana@customer.example.\nAlex (Alex Agent) {{{{not.a.placeholder}}}}")
    );
    let (status, rendered) = call(
        &app,
        Post,
        &format!("/api/v1/saved-replies/{shared_id}/render"),
        &bea,
        Some(json!({ "ticket_id": ticket_id })),
    )
    .await;
    assert_eq!(
        (status, rendered["body"].as_str()),
        (200, Some("Hi Ana, refunds take 5 days."))
    );
    assert_eq!(
        call(
            &app,
            Post,
            &format!("/api/v1/saved-replies/{shared_id}/render"),
            &bea,
            Some(json!({ "ticket_id": 999_999 }))
        )
        .await
        .0,
        422
    );

    // Only admins change shared ones; owners their own.
    assert_eq!(
        call(
            &app,
            Patch,
            &format!("/api/v1/saved-replies/{shared_id}"),
            &alex,
            Some(json!({ "title": "Mine now" }))
        )
        .await
        .0,
        403
    );
    let (status, changed) = call(
        &app,
        Patch,
        &format!("/api/v1/saved-replies/{shared_id}"),
        &admin,
        Some(json!({ "title": "Refunds" })),
    )
    .await;
    assert_eq!((status, changed["title"].as_str()), (200, Some("Refunds")));
    let (status, changed) = call(
        &app,
        Patch,
        &format!("/api/v1/saved-replies/{own_id}"),
        &alex,
        Some(json!({ "body": "Short" })),
    )
    .await;
    assert_eq!((status, changed["body"].as_str()), (200, Some("Short")));
    assert_eq!(
        call(
            &app,
            Delete,
            &format!("/api/v1/saved-replies/{own_id}"),
            &alex,
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &app,
            Get,
            &format!("/api/v1/saved-replies/{own_id}"),
            &alex,
            None
        )
        .await
        .0,
        404
    );
}

#[rocket::async_test]
async fn a_signature_ends_public_replies_in_the_conversation_and_the_mail() {
    let app = TestApp::new().await;
    let (_, alex, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (alex, ana) = (Auth::Bearer(alex), Auth::Bearer(ana));
    // Customers have no signature.
    assert_eq!(
        call(
            &app,
            Patch,
            "/api/v1/users/me",
            &ana,
            Some(json!({ "signature": "Ana" }))
        )
        .await
        .0,
        403
    );
    let (status, me) = call(
        &app,
        Patch,
        "/api/v1/users/me",
        &alex,
        Some(json!({ "signature": "Alex, Acme Support\nMon–Fri 9–17" })),
    )
    .await;
    assert_eq!(
        (status, me["signature"].as_str()),
        (200, Some("Alex, Acme Support\nMon–Fri 9–17"))
    );

    let (_, ticket) = call(
        &app,
        Post,
        "/api/v1/tickets",
        &ana,
        Some(json!({ "subject": "Printer", "body": "Help" })),
    )
    .await;
    let id = ticket["id"].as_i64().unwrap();
    app.deliver().await;
    let (_, reply) = call(
        &app,
        Post,
        &format!("/api/v1/tickets/{id}/messages"),
        &alex,
        Some(json!({ "body": "Unplug it." })),
    )
    .await;
    assert_eq!(
        reply["body"],
        "Unplug it.\n\n-- \nAlex, Acme Support\nMon–Fri 9–17"
    );
    let (_, note) = call(
        &app,
        Post,
        &format!("/api/v1/tickets/{id}/messages"),
        &alex,
        Some(json!({ "body": "Note.", "internal": true })),
    )
    .await;
    assert_eq!(note["body"], "Note.", "no signature on notes");
    let mails = app.deliver().await;
    let answer = mails
        .iter()
        .find(|m| m.to == "ana@customer.example")
        .expect("the answer is mailed");
    assert!(
        answer.text.contains("Alex, Acme Support"),
        "{}",
        answer.text
    );
    // `null` removes it.
    let (_, me) = call(
        &app,
        Patch,
        "/api/v1/users/me",
        &alex,
        Some(json!({ "signature": null })),
    )
    .await;
    assert!(me["signature"].is_null());
    let (_, reply) = call(
        &app,
        Post,
        &format!("/api/v1/tickets/{id}/messages"),
        &alex,
        Some(json!({ "body": "Plain." })),
    )
    .await;
    assert_eq!(reply["body"], "Plain.");
}
