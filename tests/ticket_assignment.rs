//! Automatic assignment: round-robin fairness, deactivation midway, concurrency.

mod common;

use std::collections::BTreeMap;

use common::{Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Patch, Post, Put};
use serde_json::json;

async fn with_auto_assign(mode: &str) -> (TestApp, Auth, Vec<i64>) {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let mut agents = Vec::new();
    for i in 0..3 {
        agents.push(
            app.create_user(&format!("agent{i}@example.com"), Role::Agent, None)
                .await
                .0,
        );
    }
    let status = app
        .call(
            Put,
            "/api/v1/settings",
            &admin,
            Some(json!({ "auto_assign": mode })),
        )
        .await
        .status()
        .code;
    assert_eq!(status, 200);
    (app, admin, agents)
}

async fn open(app: &TestApp, auth: &Auth, n: usize) -> Vec<Option<i64>> {
    let mut assignees = Vec::new();
    for i in 0..n {
        let res = app
            .call(
                Post,
                "/api/v1/tickets",
                auth,
                Some(json!({ "subject": format!("T{i}"), "body": "b" })),
            )
            .await;
        assert_eq!(res.status().code, 201);
        assignees.push(common::json(res).await["assignee"]["id"].as_i64());
    }
    assignees
}

fn tally(assignees: &[Option<i64>]) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for a in assignees {
        *counts.entry(a.expect("every ticket assigned")).or_insert(0) += 1;
    }
    counts
}

#[rocket::async_test]
async fn round_robin_is_fair_and_skips_deactivated_agents() {
    let (app, admin, agents) = with_auto_assign("round_robin").await;
    let first = open(&app, &admin, 15).await;
    assert_eq!(
        first[..3],
        [Some(agents[0]), Some(agents[1]), Some(agents[2])],
        "in turn"
    );
    assert!(
        tally(&first).values().all(|c| *c == 5),
        "{:?}",
        tally(&first)
    );

    // Agent 1 leaves midway; the other two share the next 15 alternately.
    let res = app
        .call(
            Patch,
            &format!("/api/v1/users/{}", agents[1]),
            &admin,
            Some(json!({ "active": false })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let second = open(&app, &admin, 15).await;
    let counts = tally(&second);
    assert!(
        !counts.contains_key(&agents[1]),
        "a deactivated agent gets nothing"
    );
    let (a, b) = (counts[&agents[0]], counts[&agents[2]]);
    assert!(a.abs_diff(b) <= 1, "{counts:?}");
    let total = tally(&[first, second].concat());
    assert_eq!(total.values().sum::<usize>(), 30);
}

#[rocket::async_test]
async fn round_robin_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(&dir);
    let mut seen = Vec::new();
    for round in 0..3 {
        let app = helpline::App::builder()
            .config(config.clone())
            .build()
            .unwrap();
        let client = rocket::local::asynchronous::Client::tracked(app.rocket())
            .await
            .unwrap();
        let test = TestApp {
            client,
            dir: tempfile::tempdir().unwrap(),
            mailer: std::sync::Arc::default(),
        };
        if round == 0 {
            test.create_user("admin@example.com", Role::Admin, Some(common::PASSWORD))
                .await;
            for i in 0..3 {
                test.create_user(&format!("agent{i}@example.com"), Role::Agent, None)
                    .await;
            }
        }
        let admin = Auth::Bearer(
            test.login("admin@example.com", common::PASSWORD).await["access_token"]
                .as_str()
                .unwrap()
                .into(),
        );
        test.call(
            Put,
            "/api/v1/settings",
            &admin,
            Some(json!({ "auto_assign": "round_robin" })),
        )
        .await;
        seen.extend(open(&test, &admin, 2).await);
    }
    let counts = tally(&seen);
    assert_eq!(counts.len(), 3);
    assert!(
        counts.values().all(|c| *c == 2),
        "restarts do not reset the turn: {counts:?}"
    );
}

#[rocket::async_test]
async fn concurrent_creation_loses_nothing_and_stays_fair() {
    let (app, admin, _) = with_auto_assign("round_robin").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (app, admin) = (app.clone(), admin.clone());
        tasks.push(rocket::tokio::spawn(async move {
            let res = app
                .call(
                    Post,
                    "/api/v1/tickets",
                    &admin,
                    Some(json!({ "subject": format!("C{i}"), "body": "b" })),
                )
                .await;
            assert_eq!(res.status().code, 201);
            common::json(res).await["assignee"]["id"].as_i64()
        }));
    }
    let mut assignees = Vec::new();
    for task in tasks {
        assignees.push(task.await.unwrap());
    }
    let counts = tally(&assignees);
    assert!(counts.values().all(|c| *c == 10), "{counts:?}");
    let listed = common::json(
        app.call(Get, "/api/v1/tickets?per_page=100", &admin, None)
            .await,
    )
    .await;
    assert_eq!(listed["total"], 30);
}

#[rocket::async_test]
async fn random_assignment_uses_active_agents_and_off_assigns_nobody() {
    let (app, admin, agents) = with_auto_assign("random").await;
    let assignees = open(&app, &admin, 12).await;
    assert!(assignees
        .iter()
        .all(|a| a.is_some_and(|id| agents.contains(&id))));
    app.call(
        Put,
        "/api/v1/settings",
        &admin,
        Some(json!({ "auto_assign": "off" })),
    )
    .await;
    assert!(open(&app, &admin, 3).await.iter().all(Option::is_none));
}
