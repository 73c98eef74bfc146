//! Listing tickets: filters, sorts, pagination, full-text search and query plans.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::tickets::list::{explain, TicketFilter, TicketSort, Viewer};
use helpline::tickets::{Priority, TicketStatus};
use helpline::users::{Role, UserId};
use rocket::http::Method::{Get, Patch, Post};
use serde_json::{json, Value};

async fn seeded() -> (TestApp, Auth, Auth, i64) {
    let app = TestApp::new().await;
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("customer@example.com", Role::Customer).await;
    let agent = Auth::Bearer(agent);
    let customer = Auth::Bearer(customer);
    let tickets = [
        (
            "Printer on fire",
            "The office printer is printing smoke",
            "urgent",
            vec!["hardware"],
        ),
        (
            "Invoice question",
            "Why was I charged twice for the invoice?",
            "low",
            vec!["billing"],
        ),
        (
            "Password reset",
            "I cannot log in after the password reset",
            "high",
            vec!["account", "login"],
        ),
        (
            "Printers in general",
            "Which printers do you recommend?",
            "medium",
            vec!["hardware"],
        ),
    ];
    for (subject, body, priority, tags) in tickets {
        let res = app
            .call(
                Post,
                "/api/v1/tickets",
                &customer,
                Some(
                    json!({ "subject": subject, "body": body, "priority": priority, "tags": tags }),
                ),
            )
            .await;
        assert_eq!(res.status().code, 201);
    }
    (app, agent, customer, agent_id.0)
}

fn subjects(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect()
}

async fn get(app: &TestApp, auth: &Auth, query: &str) -> Value {
    let res = app
        .call(Get, &format!("/api/v1/tickets?{query}"), auth, None)
        .await;
    assert_eq!(res.status().code, 200, "{query}");
    json(res).await
}

#[rocket::async_test]
async fn filters_and_sorts() {
    let (app, agent, _, agent_id) = seeded().await;
    app.call(
        Post,
        "/api/v1/tickets/3/assign",
        &agent,
        Some(json!({ "assignee_id": agent_id })),
    )
    .await;
    app.call(
        Patch,
        "/api/v1/tickets/2",
        &agent,
        Some(json!({ "status": "pending", "category": "billing" })),
    )
    .await;

    assert_eq!(
        subjects(&get(&app, &agent, "sort=-priority").await)[0],
        "Printer on fire"
    );
    assert_eq!(
        subjects(&get(&app, &agent, "sort=priority").await)[0],
        "Invoice question"
    );
    assert_eq!(
        subjects(&get(&app, &agent, "sort=created_at").await)[0],
        "Printer on fire"
    );
    let default = get(&app, &agent, "").await;
    let updated: Vec<&str> = default["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["updated_at"].as_str().unwrap())
        .collect();
    assert!(
        updated.windows(2).all(|w| w[0] >= w[1]),
        "default: most recently updated first: {updated:?}"
    );
    assert_eq!(get(&app, &agent, "status=pending").await["total"], 1);
    assert_eq!(get(&app, &agent, "status=open,pending").await["total"], 4);
    assert_eq!(get(&app, &agent, "priority=urgent,high").await["total"], 2);
    assert_eq!(
        subjects(&get(&app, &agent, &format!("assignee_id={agent_id}")).await),
        ["Password reset"]
    );
    assert_eq!(get(&app, &agent, "unassigned=true").await["total"], 3);
    assert_eq!(get(&app, &agent, "tag=hardware").await["total"], 2);
    assert_eq!(get(&app, &agent, "tag=HARDWARE").await["total"], 2);
    assert_eq!(get(&app, &agent, "category=billing").await["total"], 1);
    assert_eq!(get(&app, &agent, "channel=web").await["total"], 4);
    assert_eq!(get(&app, &agent, "channel=email").await["total"], 0);
    assert_eq!(get(&app, &agent, "requester_id=2").await["total"], 4);
    assert_eq!(
        get(&app, &agent, "created_after=2000-01-01T00:00:00Z").await["total"],
        4
    );
    assert_eq!(
        get(&app, &agent, "updated_after=2999-01-01T00:00:00%2B02:00").await["total"],
        0
    );
    let page = get(&app, &agent, "per_page=3&page=2&sort=created_at").await;
    assert_eq!(page["total"], 4);
    assert_eq!(subjects(&page), ["Printers in general"]);
}

#[rocket::async_test]
async fn bad_filter_values_are_422_with_the_field() {
    let (app, agent, _, _) = seeded().await;
    for (query, field) in [
        ("status=sleeping", "status"),
        ("status=open,bogus", "status"),
        ("priority=9", "priority"),
        ("assignee_id=abc", "assignee_id"),
        ("requester_id=-1", "requester_id"),
        ("unassigned=maybe", "unassigned"),
        ("channel=pigeon", "channel"),
        ("created_after=yesterday", "created_after"),
        ("sort=subject", "sort"),
        ("sort=-requester_id;DROP+TABLE+tickets", "sort"),
        ("per_page=1000", "per_page"),
        ("page=-2", "page"),
    ] {
        let res = app
            .call(Get, &format!("/api/v1/tickets?{query}"), &agent, None)
            .await;
        let body = problem(res, 422).await;
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{query}: {body}");
    }
    assert_eq!(
        get(&app, &agent, "").await["total"],
        4,
        "nothing was dropped"
    );
}

#[rocket::async_test]
async fn full_text_search_stems_prefixes_and_ranks() {
    let (app, agent, customer, _) = seeded().await;
    // Stemming: "printing" finds "printer"/"printers"; prefix: "pass" finds "password".
    let found = get(&app, &agent, "q=printing").await;
    assert_eq!(found["total"], 2, "{found}");
    assert_eq!(
        subjects(&get(&app, &agent, "q=pass").await),
        ["Password reset"]
    );
    // Ranking: the subject match comes before the body-only match.
    let ranked = subjects(&get(&app, &agent, "q=invoice").await);
    assert_eq!(ranked, ["Invoice question"]);
    for (subject, body) in [
        ("Unrelated topic", "A long story that mentions a quokka once, among many other words about many other things"),
        ("Quokka enclosure", "Needs a new fence"),
    ] {
        app.call(Post, "/api/v1/tickets", &customer, Some(json!({ "subject": subject, "body": body }))).await;
    }
    let ranked = subjects(&get(&app, &agent, "q=quokka").await);
    assert_eq!(
        ranked,
        ["Quokka enclosure", "Unrelated topic"],
        "subject matches rank first"
    );
    // Search sees messages added later, in the same transaction as the write.
    app.call(
        Post,
        "/api/v1/tickets/2/messages",
        &agent,
        Some(json!({ "body": "Refund approved by finance" })),
    )
    .await;
    assert_eq!(
        subjects(&get(&app, &agent, "q=finance").await),
        ["Invoice question"]
    );
    assert_eq!(
        subjects(&get(&app, &agent, "q=%232").await),
        ["Invoice question"],
        "#2 finds ticket 2"
    );
    assert_eq!(
        subjects(&get(&app, &agent, "q=charged+finance").await),
        ["Invoice question"],
        "words may sit in different messages"
    );
    assert_eq!(
        get(&app, &agent, "q=%22printer+is+printing%22").await["total"],
        1,
        "phrase"
    );
    assert_eq!(
        get(&app, &agent, "q=printer+-fire").await["total"],
        1,
        "exclusion"
    );
    assert_eq!(
        get(&app, &agent, "q=invoice+OR+password").await["total"],
        2,
        "alternatives"
    );
    assert_eq!(
        get(&app, &customer, "q=printer&status=open").await["total"],
        2,
        "search combines with filters"
    );
    assert_eq!(
        subjects(&get(&app, &agent, "q=printer&sort=created_at").await)[0],
        "Printer on fire"
    );
}

#[rocket::async_test]
async fn hostile_search_input_gives_results_or_422_never_500() {
    let (app, agent, customer, _) = seeded().await;
    for q in [
        "%22",
        "%22%22%22",
        "*",
        "NEAR(",
        "NEAR(printer",
        "printer%22",
        "%22unbalanced",
        "a%22+OR+%22b",
        "AND",
        "OR+OR",
        "-",
        "--x",
        "(((",
        ")))",
        "subject:printer",
        "^printer",
        "printer*",
        "%27;+DROP+TABLE+tickets;--",
        "%00",
        "%E2%80%AE",
        "%F0%9F%94%A5",
        "NOT",
        "x+NOT",
        "%2B%2B%2B",
    ] {
        for auth in [&agent, &customer] {
            let res = app
                .call(Get, &format!("/api/v1/tickets?q={q}"), auth, None)
                .await;
            let status = res.status().code;
            assert!(status == 200 || status == 422, "q={q}: {status}");
            if status == 422 {
                problem(res, 422).await;
            }
        }
    }
    assert_eq!(get(&app, &agent, "q=printer*").await["total"], 2);
}

#[rocket::async_test]
async fn main_list_queries_use_indexes() {
    let app = TestApp::new().await;
    let conn = app.state().db.clone();
    let plans = conn
        .read(|c| {
            let mut out = Vec::new();
            for (name, filter, viewer) in list_cases() {
                let plan = explain(
                    c,
                    &filter,
                    viewer,
                    (
                        TicketSort::UpdatedAt,
                        helpline::http::query::SortOrder::Desc,
                    ),
                )?;
                out.push((name, plan));
            }
            Ok(out)
        })
        .await
        .unwrap();
    for (name, plan) in plans {
        assert_plan_uses_indexes(name, &plan);
    }
}

/// The list filters whose plans are checked, each with who is looking.
fn list_cases() -> Vec<(&'static str, TicketFilter, Viewer)> {
    vec![
        (
            "status",
            TicketFilter {
                statuses: vec![TicketStatus::Open],
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "assignee",
            TicketFilter {
                assignee_id: Some(UserId(3)),
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "unassigned",
            TicketFilter {
                unassigned: true,
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "requester",
            TicketFilter {
                requester_id: Some(UserId(3)),
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "customer view",
            TicketFilter::default(),
            Viewer::Requester(UserId(7)),
        ),
        (
            "tag",
            TicketFilter {
                tag: Some("vip".into()),
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "tag among open tickets",
            TicketFilter {
                tag: Some("vip".into()),
                statuses: vec![TicketStatus::Open],
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "tag and priority",
            TicketFilter {
                tag: Some("vip".into()),
                priorities: vec![Priority::High],
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "following",
            TicketFilter {
                following: true,
                agent: Some(UserId(3)),
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
        (
            "unread among open tickets",
            TicketFilter {
                statuses: vec![TicketStatus::Open],
                unread: true,
                agent: Some(UserId(3)),
                ..TicketFilter::default()
            },
            Viewer::Staff,
        ),
    ]
}

/// The list's page comes from indexes in order: no full scan of the tickets,
/// no sort but of the page's own rows (an agent's few follows aside).
fn assert_plan_uses_indexes(name: &str, plan: &[String]) {
    let ticket_steps: Vec<&String> = plan
        .iter()
        .filter(|s| s.contains(" t ") || s.ends_with(" t"))
        .collect();
    assert!(!ticket_steps.is_empty(), "{name}: {plan:?}");
    if name.starts_with("tag") {
        assert!(
            plan.iter()
                .any(|s| s.starts_with("SEARCH g USING") && s.contains("(tag=?")),
            "{name}: the tag's own rows are not read in order: {plan:?}"
        );
    }
    for step in ticket_steps {
        assert!(
            step.starts_with("SEARCH t USING"),
            "{name}: full scan in {plan:?}"
        );
    }
    // An agent's follows are few: sorting them is cheap; any other
    // list's page must come out of an index in order. Only the page's
    // own rows (at most `per_page`, read after `SCAN page`) are sorted
    // again once they are read in full.
    let picking = plan
        .iter()
        .take_while(|s| s.as_str() != "SCAN page")
        .collect::<Vec<_>>();
    assert!(
        plan.iter().any(|s| s == "SCAN page"),
        "{name}: the page is not picked by id first: {plan:?}"
    );
    assert!(
        name == "following" || !picking.iter().any(|s| s.contains("TEMP B-TREE")),
        "{name}: sorts without an index: {plan:?}"
    );
}

#[rocket::async_test]
async fn stats_count_and_measure() {
    let (app, agent, _, agent_id) = seeded().await;
    app.call(
        Post,
        "/api/v1/tickets/1/assign",
        &agent,
        Some(json!({ "assignee_id": agent_id })),
    )
    .await;
    app.call(
        Post,
        "/api/v1/tickets/1/messages",
        &agent,
        Some(json!({ "body": "On it" })),
    )
    .await;
    app.call(Post, "/api/v1/tickets/1/resolve", &agent, None)
        .await;
    app.call(Post, "/api/v1/tickets/2/close", &agent, None)
        .await;
    let stats = json(app.call(Get, "/api/v1/tickets/stats", &agent, None).await).await;
    assert_eq!(
        stats["by_status"],
        json!({ "open": 2, "in_progress": 0, "pending": 0, "resolved": 1, "closed": 1 })
    );
    assert_eq!(
        stats["by_priority"],
        json!({ "low": 0, "medium": 1, "high": 1, "urgent": 0 })
    );
    assert_eq!(stats["unassigned_open"], 2);
    assert!(
        stats["by_assignee"].as_array().unwrap().is_empty(),
        "the assigned ticket is resolved"
    );
    assert!(stats["median_first_response_secs"].as_f64().unwrap() >= 0.0);
    assert!(stats["median_resolution_secs"].as_f64().unwrap() >= 0.0);
    let later = json(
        app.call(
            Get,
            "/api/v1/tickets/stats?since=2999-01-01T00:00:00Z",
            &agent,
            None,
        )
        .await,
    )
    .await;
    assert!(later["median_resolution_secs"].is_null());
    problem(
        app.call(Get, "/api/v1/tickets/stats?since=last+week", &agent, None)
            .await,
        422,
    )
    .await;
}

#[rocket::async_test]
async fn service_level_lists_read_the_due_indexes() {
    use helpline::tickets::list::SlaFilter;
    let app = TestApp::new().await;
    let plans = app
        .state()
        .db
        .read(|c| {
            let mut out = Vec::new();
            for (name, filter, sort) in [
                (
                    "breached, newest first",
                    TicketFilter {
                        sla: Some(SlaFilter::Breached),
                        ..TicketFilter::default()
                    },
                    TicketSort::UpdatedAt,
                ),
                (
                    "due soon",
                    TicketFilter {
                        sla: Some(SlaFilter::DueSoon),
                        ..TicketFilter::default()
                    },
                    TicketSort::DueAt,
                ),
                (
                    "open by due",
                    TicketFilter {
                        statuses: vec![TicketStatus::Open],
                        ..TicketFilter::default()
                    },
                    TicketSort::DueAt,
                ),
                (
                    "an agent's by due",
                    TicketFilter {
                        assignee_id: Some(UserId(3)),
                        ..TicketFilter::default()
                    },
                    TicketSort::DueAt,
                ),
            ] {
                let plan = explain(
                    c,
                    &filter,
                    Viewer::Staff,
                    (sort, helpline::http::query::SortOrder::Asc),
                )?;
                out.push((name, plan));
            }
            Ok(out)
        })
        .await
        .unwrap();
    for (name, plan) in plans {
        assert!(
            plan.iter()
                .any(|s| s.starts_with("SEARCH t USING") && s.contains("sla_due")),
            "{name}: {plan:?}"
        );
        if name != "breached, newest first" {
            // In due order straight from the index.
            let picking: Vec<&String> = plan
                .iter()
                .take_while(|s| s.as_str() != "SCAN page")
                .collect();
            assert!(
                !picking.iter().any(|s| s.contains("TEMP B-TREE")),
                "{name}: {plan:?}"
            );
        }
    }
}
