//! What the first-day trial asked of the server: the token portal page
//! updates live, audit entries name who acted, invited agents show as
//! invited and can be invited again, admins' category and type lists reach
//! the forms, and agents record a phone call as a ticket.

mod common;

use common::live::{self, http, login, SseReader};
use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Post, Put};
use serde_json::json;

const AGENT: &str = "alex@example.com";
const CUSTOMER: &str = "ana@customer.example";

#[rocket::async_test]
#[allow(clippy::too_many_lines)] // one story: a link's stream from opening to revocation
async fn the_portal_page_hears_replies_and_status_changes_live() {
    // Heartbeats (and the link's checks) each second.
    let server = live::start(&[(AGENT, Role::Agent), (CUSTOMER, Role::Customer)], |c| {
        c.realtime.heartbeat_secs = 1;
    })
    .await;
    let (_, agent) = login(server.addr, AGENT).await;
    let (_, customer) = login(server.addr, CUSTOMER).await;
    let ticket = live::open_ticket(server.addr, &customer, "Printer smokes").await;
    let other = live::open_ticket(server.addr, &customer, "Another matter").await;
    let (status, link) = http(
        server.addr,
        "POST",
        "/api/v1/portal-tokens",
        Some(&agent),
        Some(&json!({ "ticket_id": ticket })),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let token = link["token"].as_str().unwrap().to_string();
    let mut stream = SseReader::open(
        server.addr,
        &format!("/api/v1/portal/{token}/events"),
        None,
        None,
    )
    .await;
    assert_eq!(stream.status, 200);

    // An internal note is never heard; a public reply and a status change are.
    let say = |body: &'static str, internal: bool| {
        let agent = agent.clone();
        async move {
            let (status, _) = http(
                server.addr,
                "POST",
                &format!("/api/v1/tickets/{ticket}/messages"),
                Some(&agent),
                Some(&json!({ "body": body, "internal": internal })),
            )
            .await;
            assert_eq!(status, 201);
        }
    };
    say("agents only", true).await;
    say("Try turning it off", false).await;
    let (status, _) = http(
        server.addr,
        "POST",
        &format!("/api/v1/tickets/{ticket}/resolve"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut heard = Vec::new();
    while !heard
        .iter()
        .any(|e: &live::SseEvent| e.data["status"] == "resolved")
    {
        let event = stream.next().await.expect("the stream stays open");
        assert_ne!(event.data["body"], "agents only", "{event:?}");
        assert!(event.data["internal"] != json!(true), "{event:?}");
        heard.push(event);
    }
    let message = heard
        .iter()
        .find(|e| e.event == "message.created")
        .expect("the reply");
    assert_eq!(message.data["body"], "Try turning it off");
    assert!(
        heard
            .iter()
            .any(|e| e.event == "ticket.updated" && e.data["status"] == "resolved"),
        "{heard:?}"
    );
    // A ticket outside the link's scope is not heard.
    let (status, _) = http(
        server.addr,
        "POST",
        &format!("/api/v1/tickets/{other}/messages"),
        Some(&agent),
        Some(&json!({ "body": "about the other one" })),
    )
    .await;
    assert_eq!(status, 201);
    say("back to the printer", false).await;
    let next = stream.next_of("message.created").await;
    assert_eq!(next.data["body"], "back to the printer");

    // A revoked link hears nothing more: its stream ends.
    let (status, _) = http(
        server.addr,
        "POST",
        &format!("/api/v1/portal-tokens/{}/revoke", link["id"]),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 204);
    // The stream ends by itself, also while only other tickets are busy.
    let (status, _) = http(
        server.addr,
        "POST",
        &format!("/api/v1/tickets/{other}/messages"),
        Some(&agent),
        Some(&json!({ "body": "elsewhere" })),
    )
    .await;
    assert_eq!(status, 201);
    let after = stream.next().await;
    assert!(after.is_none(), "a revoked link heard {after:?}");
    say("after revoking", false).await;
    // Unknown links are refused like any portal request.
    let refused =
        SseReader::open(server.addr, "/api/v1/portal/not-a-token/events", None, None).await;
    assert_eq!(refused.status, 404);
}

#[rocket::async_test]
async fn audit_entries_name_who_acted() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("root@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let (_, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let res = app
        .call(
            Post,
            "/api/v1/tickets",
            &Auth::Bearer(agent),
            Some(json!({ "subject": "S", "body": "B" })),
        )
        .await;
    let id = json(res).await["id"].as_i64().unwrap();
    let key = Auth::ApiKey(app.api_key(Role::Agent).await);
    let res = app
        .call(Post, &format!("/api/v1/tickets/{id}/resolve"), &key, None)
        .await;
    assert_eq!(res.status().code, 200);
    let trail = json(
        app.call(Get, &format!("/api/v1/tickets/{id}/events"), &admin, None)
            .await,
    )
    .await;
    let entries = trail["items"].as_array().unwrap();
    // The agent by their name, the API key by its name.
    assert_eq!(entries[0]["actor_name"], "Test User", "{trail}");
    assert!(entries[1]["api_key_id"].is_i64(), "{trail}");
    assert_eq!(entries[1]["actor_name"], "test key", "{trail}");
    let log = json(
        app.call(
            Get,
            "/api/v1/admin/audit?action=ticket.created",
            &admin,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(log["items"][0]["actor_name"], "Test User", "{log}");
}

#[rocket::async_test]
async fn an_invited_agent_shows_as_invited_until_they_accept_and_can_be_invited_again() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("root@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let res = app
        .call(
            Post,
            "/api/v1/users",
            &admin,
            Some(json!({ "email": "new@example.com", "name": "New Agent", "role": "agent" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let user = json(res).await;
    assert_eq!(user["invited"], true, "{user}");
    let id = user["id"].as_i64().unwrap();
    let first = app.deliver().await;
    assert_eq!(first.len(), 1);

    let res = app
        .call(Post, &format!("/api/v1/users/{id}/invite"), &admin, None)
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(json(res).await["invited"], true);
    let again = app.deliver().await;
    assert_eq!(again.len(), 1, "the invitation is mailed again");
    assert_eq!(again[0].to, "new@example.com");
    let link = again[0]
        .text
        .split_whitespace()
        .find(|w| w.contains("accept-invite#token="))
        .unwrap()
        .to_string();
    let token = link.split("#token=").nth(1).unwrap();

    // Agents cannot resend; unknown users are 404.
    let (_, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    assert_eq!(
        app.call(
            Post,
            &format!("/api/v1/users/{id}/invite"),
            &Auth::Bearer(agent),
            None
        )
        .await
        .status()
        .code,
        403
    );
    assert_eq!(
        app.call(Post, "/api/v1/users/999999/invite", &admin, None)
            .await
            .status()
            .code,
        404
    );

    // Accepting ends the invited state; a second resend is refused.
    let res = app
        .call(
            Post,
            "/api/v1/auth/invite/accept",
            &Auth::None,
            Some(json!({ "token": token, "password": "a long enough password" })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let now = json(
        app.call(Get, &format!("/api/v1/users/{id}"), &admin, None)
            .await,
    )
    .await;
    assert_eq!(now["invited"], false, "{now}");
    problem(
        app.call(Post, &format!("/api/v1/users/{id}/invite"), &admin, None)
            .await,
        409,
    )
    .await;
    // Someone who signed up with a password was never invited.
    let listed = json(
        app.call(Get, "/api/v1/users?per_page=100", &admin, None)
            .await,
    )
    .await;
    let root = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "root@example.com")
        .unwrap()
        .clone();
    assert_eq!(root["invited"], false);
}

#[rocket::async_test]
async fn admins_lists_reach_the_forms_and_agents_record_a_phone_call() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("root@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let mut settings = json(app.call(Get, "/api/v1/settings", &admin, None).await).await;
    settings["categories"] = json!(["Billing", "Hardware"]);
    settings["types"] = json!(["Question", "Incident"]);
    let res = app
        .call(Put, "/api/v1/settings", &admin, Some(settings))
        .await;
    assert_eq!(res.status().code, 200);
    let public = json(
        app.call(Get, "/api/v1/settings/public", &Auth::None, None)
            .await,
    )
    .await;
    assert_eq!(public["categories"], json!(["Billing", "Hardware"]));
    assert_eq!(public["types"], json!(["Question", "Incident"]));

    let (_, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let res = app
        .call(
            Post,
            "/api/v1/tickets",
            &agent,
            Some(json!({
                "subject": "Caller's printer", "body": "Called about the printer",
                "requester_email": "caller@customer.example", "requester_name": "Carla Caller",
                "channel": "phone", "category": "Hardware",
            })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    let ticket = json(res).await;
    assert_eq!(ticket["channel"], "phone");
    assert_eq!(ticket["messages"][0]["channel"], "phone");
    assert_eq!(ticket["requester"]["name"], "Carla Caller");
    // Only phone or web; customers do not choose.
    for channel in ["email", "chat"] {
        let res = app
            .call(
                Post,
                "/api/v1/tickets",
                &agent,
                Some(json!({ "subject": "S", "body": "B", "channel": channel })),
            )
            .await;
        assert_eq!(problem(res, 422).await["errors"][0]["field"], "channel");
    }
    let (_, customer, _) = app.signed_in(CUSTOMER, Role::Customer).await;
    let res = app
        .call(
            Post,
            "/api/v1/tickets",
            &Auth::Bearer(customer),
            Some(json!({ "subject": "S", "body": "B", "channel": "phone" })),
        )
        .await;
    problem(res, 403).await;
}
