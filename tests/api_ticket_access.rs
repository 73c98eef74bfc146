//! Who sees which ticket: the visibility matrix over every ticket route, and
//! internal notes that never reach a customer by any route.

mod common;

use common::{Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{self, Delete, Get, Patch, Post};
use serde_json::{json, Value};

/// Callers, in column order.
const CALLERS: [&str; 5] = ["anonymous", "customer A", "customer B", "agent", "admin"];

struct World {
    app: TestApp,
    callers: [Auth; 5],
    ticket: i64,
    agent_id: i64,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let (_, a, _) = app.signed_in("a@example.com", Role::Customer).await;
    let (_, b, _) = app.signed_in("b@example.com", Role::Customer).await;
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let res = app
        .call(
            Post,
            "/api/v1/tickets",
            &Auth::Bearer(a.clone()),
            Some(json!({ "subject": "Zebra invoice", "body": "quagga details" })),
        )
        .await;
    let ticket = common::json(res).await["id"].as_i64().unwrap();
    World {
        callers: [
            Auth::None,
            Auth::Bearer(a),
            Auth::Bearer(b),
            Auth::Bearer(agent),
            Auth::Bearer(admin),
        ],
        app,
        ticket,
        agent_id: agent_id.0,
    }
}

struct Row {
    method: Method,
    path: fn(&World) -> String,
    body: fn(&World) -> Option<Value>,
    expect: [u16; 5],
}

fn none(_: &World) -> Option<Value> {
    None
}

const ROWS: &[Row] = &[
    Row {
        method: Get,
        path: |w| format!("/api/v1/tickets/{}", w.ticket),
        body: none,
        expect: [401, 200, 404, 200, 200],
    },
    Row {
        method: Get,
        path: |w| format!("/api/v1/tickets/{}/messages", w.ticket),
        body: none,
        expect: [401, 200, 404, 200, 200],
    },
    Row {
        method: Post,
        path: |w| format!("/api/v1/tickets/{}/messages", w.ticket),
        body: |_| Some(json!({ "body": "hello" })),
        expect: [401, 201, 404, 201, 201],
    },
    Row {
        method: Patch,
        path: |w| format!("/api/v1/tickets/{}", w.ticket),
        body: |_| Some(json!({ "status": "closed" })),
        expect: [401, 200, 404, 200, 200],
    },
    Row {
        method: Patch,
        path: |w| format!("/api/v1/tickets/{}", w.ticket),
        body: |_| Some(json!({ "priority": "high" })),
        expect: [401, 403, 404, 200, 200],
    },
    Row {
        method: Post,
        path: |w| format!("/api/v1/tickets/{}/assign", w.ticket),
        body: |w| Some(json!({ "assignee_id": w.agent_id })),
        expect: [401, 403, 403, 200, 200],
    },
    Row {
        method: Post,
        path: |w| format!("/api/v1/tickets/{}/resolve", w.ticket),
        body: none,
        expect: [401, 403, 403, 200, 200],
    },
    Row {
        method: Post,
        path: |w| format!("/api/v1/tickets/{}/close", w.ticket),
        body: none,
        expect: [401, 200, 404, 200, 200],
    },
    Row {
        method: Post,
        path: |w| format!("/api/v1/tickets/{}/reopen", w.ticket),
        body: none,
        expect: [401, 200, 404, 200, 200],
    },
    Row {
        method: Get,
        path: |w| format!("/api/v1/tickets/{}/events", w.ticket),
        body: none,
        expect: [401, 403, 403, 200, 200],
    },
    Row {
        method: Delete,
        path: |w| format!("/api/v1/tickets/{}", w.ticket),
        body: none,
        expect: [401, 403, 403, 403, 204],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/tickets".into(),
        body: none,
        expect: [401, 200, 200, 200, 200],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/tickets/stats".into(),
        body: none,
        expect: [401, 403, 403, 200, 200],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/tickets".into(),
        body: |_| Some(json!({ "subject": "New", "body": "one" })),
        expect: [401, 201, 201, 201, 201],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/portal-tokens".into(),
        body: |w| Some(json!({ "ticket_id": w.ticket })),
        expect: [401, 403, 403, 201, 201],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/support/request".into(),
        body: |_| {
            Some(
                json!({ "channel": "web", "name": "Carol", "email": "carol@example.com", "subject": "Hi", "message": "Hello" }),
            )
        },
        expect: [201, 201, 201, 201, 201],
    },
    // A ticket that does not exist looks exactly like one you may not see.
    Row {
        method: Get,
        path: |_| "/api/v1/tickets/424242".into(),
        body: none,
        expect: [401, 404, 404, 404, 404],
    },
];

#[rocket::async_test]
async fn every_ticket_route_answers_every_caller_as_specified() {
    let mut failures = Vec::new();
    for row in ROWS {
        let w = world().await;
        let path = (row.path)(&w);
        for (i, caller) in w.callers.iter().enumerate() {
            let res = w.app.call(row.method, &path, caller, (row.body)(&w)).await;
            let status = res.status().code;
            if status != row.expect[i] {
                let text = res.into_string().await.unwrap_or_default();
                failures.push(format!(
                    "{} {path} as {}: expected {}, got {status}: {text}",
                    row.method, CALLERS[i], row.expect[i]
                ));
            } else if status >= 400 {
                common::problem(res, status).await;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[rocket::async_test]
async fn customer_b_learns_nothing_about_customer_a() {
    let w = world().await;
    let b = &w.callers[2];
    let listed = common::json(w.app.call(Get, "/api/v1/tickets", b, None).await).await;
    assert_eq!(listed["total"], 0);
    for q in ["zebra", "quagga", &format!("%23{}", w.ticket)] {
        let found = common::json(
            w.app
                .call(Get, &format!("/api/v1/tickets?q={q}"), b, None)
                .await,
        )
        .await;
        assert_eq!(found["total"], 0, "search {q}");
    }
    let by_requester = common::json(
        w.app
            .call(Get, "/api/v1/tickets?requester_id=1", b, None)
            .await,
    )
    .await;
    assert_eq!(
        by_requester["total"], 0,
        "filters cannot widen a customer's view"
    );
    // Not found and not allowed read the same, apart from the request id.
    let mine = w
        .app
        .call(Get, &format!("/api/v1/tickets/{}", w.ticket), b, None)
        .await;
    let mut theirs = common::json(mine).await;
    let mut missing = common::json(w.app.call(Get, "/api/v1/tickets/999999", b, None).await).await;
    theirs.as_object_mut().unwrap().remove("request_id");
    missing.as_object_mut().unwrap().remove("request_id");
    assert_eq!(theirs, missing);
}

#[rocket::async_test]
async fn no_internal_note_reaches_a_customer_by_any_route() {
    let w = world().await;
    let [_, a, _, agent, _] = &w.callers;
    let secret = "SECRETNOTE fuser-replacement";
    let base = format!("/api/v1/tickets/{}", w.ticket);
    w.app
        .call(
            Post,
            &format!("{base}/messages"),
            agent,
            Some(json!({ "body": secret, "internal": true })),
        )
        .await;
    w.app
        .call(
            Post,
            &format!("{base}/messages"),
            agent,
            Some(json!({ "body": "public answer" })),
        )
        .await;

    let portal = common::json(
        w.app
            .call(
                Post,
                "/api/v1/portal-tokens",
                agent,
                Some(json!({ "ticket_id": w.ticket })),
            )
            .await,
    )
    .await;
    let token = portal["token"].as_str().unwrap().to_string();

    let views = [
        (base.clone(), a.clone()),
        (format!("{base}/messages"), a.clone()),
        ("/api/v1/tickets".to_string(), a.clone()),
        ("/api/v1/tickets?q=secretnote".to_string(), a.clone()),
        ("/api/v1/tickets?q=fuser".to_string(), a.clone()),
        (format!("/api/v1/portal/{token}"), Auth::None),
    ];
    for (path, auth) in views {
        let res = w.app.call(Get, &path, &auth, None).await;
        assert_eq!(res.status().code, 200, "{path}");
        let text = res.into_string().await.unwrap();
        assert!(
            !text.contains("SECRETNOTE"),
            "{path} leaked the note: {text}"
        );
        assert!(!text.contains("\"internal\":true"), "{path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        let counts: Vec<i64> = find_counts(&body);
        assert!(
            counts.iter().all(|c| *c == 2),
            "{path}: counts {counts:?} include the note"
        );
    }
    // The search finds the note for staff, so the customer's empty result is a real filter.
    let staff = common::json(
        w.app
            .call(Get, "/api/v1/tickets?q=secretnote", agent, None)
            .await,
    )
    .await;
    assert_eq!(staff["total"], 1);
    assert_eq!(staff["items"][0]["message_count"], 3);
}

fn find_counts(value: &Value) -> Vec<i64> {
    match value {
        Value::Object(map) => {
            let mut out: Vec<i64> = map
                .get("message_count")
                .and_then(Value::as_i64)
                .into_iter()
                .collect();
            for v in map.values() {
                out.extend(find_counts(v));
            }
            out
        }
        Value::Array(items) => items.iter().flat_map(find_counts).collect(),
        _ => Vec::new(),
    }
}
