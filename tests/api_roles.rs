//! The role matrix: every users/auth/admin route against every kind of caller.

mod common;

use common::{Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{self, Delete, Get, Patch, Post, Put};
use serde_json::json;

/// Callers, in the column order of `ROWS`.
const CALLERS: [&str; 8] = [
    "anonymous",
    "customer",
    "agent",
    "admin",
    "deactivated",
    "key:customer",
    "key:agent",
    "key:admin",
];

struct Fixture {
    app: TestApp,
    callers: Vec<Auth>,
    customer_id: i64,
    agent_id: i64,
    target_id: i64,
    key_id: i64,
}

async fn fixture() -> Fixture {
    let app = TestApp::new().await;
    let (customer_id, customer, _) = app.signed_in("customer@example.com", Role::Customer).await;
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (gone_id, gone, _) = app.signed_in("gone@example.com", Role::Agent).await;
    let target_id = app
        .create_user("target@example.com", Role::Customer, None)
        .await;
    let keys = [
        app.api_key(Role::Customer).await,
        app.api_key(Role::Agent).await,
        app.api_key(Role::Admin).await,
    ];
    let key_id = app
        .state()
        .db
        .write(|tx| helpline::auth::api_keys::create(tx, "to revoke", Role::Agent, None))
        .await
        .unwrap()
        .0
        .id
        .0;
    let res = app
        .call(
            Delete,
            &format!("/api/v1/users/{gone_id}"),
            &Auth::Bearer(admin.clone()),
            None,
        )
        .await;
    assert_eq!(res.status().code, 204);
    drop(res);
    let [k_customer, k_agent, k_admin] = keys;
    Fixture {
        callers: vec![
            Auth::None,
            Auth::Bearer(customer),
            Auth::Bearer(agent),
            Auth::Bearer(admin),
            Auth::Bearer(gone),
            Auth::ApiKey(k_customer),
            Auth::ApiKey(k_agent),
            Auth::ApiKey(k_admin),
        ],
        app,
        customer_id: customer_id.0,
        agent_id: agent_id.0,
        target_id: target_id.0,
        key_id,
    }
}

type Body = fn(&Fixture, usize) -> Option<serde_json::Value>;
type Path = fn(&Fixture) -> String;

struct Row {
    method: Method,
    path: Path,
    body: Body,
    expect: [u16; 8],
}

fn no_body(_: &Fixture, _: usize) -> Option<serde_json::Value> {
    None
}

const ROWS: &[Row] = &[
    Row {
        method: Get,
        path: |_| "/api/v1/auth/me".into(),
        body: no_body,
        expect: [401, 200, 200, 200, 401, 403, 403, 403],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/logout-all".into(),
        body: no_body,
        expect: [401, 204, 204, 204, 401, 403, 403, 403],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/logout".into(),
        body: |_, _| Some(json!({ "refresh_token": "not-a-token" })),
        expect: [204; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/refresh".into(),
        body: |_, _| Some(json!({ "refresh_token": "not-a-token" })),
        expect: [401; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/login".into(),
        body: |_, _| Some(json!({ "email": "admin@example.com", "password": "wrong password!" })),
        expect: [401; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/register".into(),
        body: |_, i| {
            Some(
                json!({ "email": format!("new{i}@example.com"), "password": "a long password", "name": "New" }),
            )
        },
        // The confirmation link is mailed (require_email_verification).
        expect: [202; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/password-reset".into(),
        // A different address per caller: one address may ask only 3 times a minute.
        body: |_, i| {
            Some(
                json!({ "email": if i == 0 { "customer@example.com".to_string() } else { format!("someone{i}@example.com") } }),
            )
        },
        expect: [204; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/password-reset/confirm".into(),
        body: |_, _| Some(json!({ "token": "forged", "password": "a long password" })),
        expect: [422; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/invite/accept".into(),
        body: |_, _| Some(json!({ "token": "forged", "password": "a long password" })),
        expect: [422; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/auth/setup".into(),
        body: |_, _| {
            Some(
                json!({ "token": "forged", "email": "x@example.com", "name": "X", "password": "a long password" }),
            )
        },
        expect: [422; 8],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/users".into(),
        body: no_body,
        expect: [401, 403, 200, 200, 401, 403, 200, 200],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/users".into(),
        body: |_, i| {
            Some(
                json!({ "email": format!("made{i}@example.com"), "name": "Made", "role": "customer" }),
            )
        },
        expect: [401, 403, 403, 201, 401, 403, 403, 201],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/users/me".into(),
        body: no_body,
        expect: [401, 200, 200, 200, 401, 403, 403, 403],
    },
    Row {
        method: Patch,
        path: |_| "/api/v1/users/me".into(),
        body: |_, _| Some(json!({ "name": "Renamed" })),
        expect: [401, 200, 200, 200, 401, 403, 403, 403],
    },
    // Customers see themselves only; other users are 404 to them, not 403.
    Row {
        method: Get,
        path: |f| format!("/api/v1/users/{}", f.customer_id),
        body: no_body,
        expect: [401, 200, 200, 200, 401, 404, 200, 200],
    },
    Row {
        method: Get,
        path: |f| format!("/api/v1/users/{}", f.agent_id),
        body: no_body,
        expect: [401, 404, 200, 200, 401, 404, 200, 200],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/users/999999".into(),
        body: no_body,
        expect: [401, 404, 404, 404, 401, 404, 404, 404],
    },
    Row {
        method: Patch,
        path: |f| format!("/api/v1/users/{}", f.target_id),
        body: |_, _| Some(json!({ "name": "Changed" })),
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
    Row {
        method: Delete,
        path: |f| format!("/api/v1/users/{}", f.target_id),
        body: no_body,
        expect: [401, 403, 403, 204, 401, 403, 403, 204],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/api-keys".into(),
        body: no_body,
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/api-keys".into(),
        body: |_, _| Some(json!({ "name": "integration", "role": "agent" })),
        expect: [401, 403, 403, 201, 401, 403, 403, 201],
    },
    Row {
        method: Delete,
        path: |f| format!("/api/v1/api-keys/{}", f.key_id),
        body: no_body,
        expect: [401, 403, 403, 204, 401, 403, 403, 204],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/settings".into(),
        body: no_body,
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
    Row {
        method: Put,
        path: |_| "/api/v1/settings".into(),
        body: |_, _| Some(json!({ "helpdesk_name": "Acme Support" })),
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/settings/public".into(),
        body: no_body,
        expect: [200; 8],
    },
    Row {
        method: Post,
        path: |_| "/api/v1/ratings/not-a-rating-link".into(),
        body: |_, _| Some(json!({ "score": "good" })),
        expect: [404; 8],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/reports".into(),
        body: no_body,
        expect: [401, 403, 200, 200, 401, 403, 200, 200],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/sla".into(),
        body: no_body,
        expect: [401, 403, 200, 200, 401, 403, 200, 200],
    },
    Row {
        method: Put,
        path: |_| "/api/v1/sla".into(),
        body: |_, _| Some(json!({ "timezone": "Europe/Berlin" })),
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
    Row {
        method: Get,
        path: |_| "/api/v1/admin/audit".into(),
        body: no_body,
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
    Row {
        method: Get,
        path: |_| "/metrics".into(),
        body: no_body,
        // Admins only (or a client on the server itself) unless metrics_public.
        expect: [401, 403, 403, 200, 401, 403, 403, 200],
    },
];

#[rocket::async_test]
async fn every_route_answers_every_caller_as_specified() {
    let mut failures = Vec::new();
    for row in ROWS {
        // A fresh installation per row: rows that sign out or deactivate stay independent.
        let f = fixture().await;
        let path = (row.path)(&f);
        for (i, caller) in f.callers.iter().enumerate() {
            let res = f
                .app
                .call(row.method, &path, caller, (row.body)(&f, i))
                .await;
            let status = res.status().code;
            if status != row.expect[i] {
                let body = res.into_string().await.unwrap_or_default();
                failures.push(format!(
                    "{} {path} as {}: expected {}, got {status}: {body}",
                    row.method, CALLERS[i], row.expect[i]
                ));
            } else if status >= 400 {
                common::problem(res, status).await;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
