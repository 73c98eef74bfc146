//! Lists at scale: `total` is exact where a counter is kept or the matches
//! are few, and stops at 10,000 (`total_capped`) where counting would walk
//! a large part of the tickets.

mod common;

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::Get;
use serde_json::Value;

/// 12,000 tickets of one customer, written in one statement (the triggers
/// keep counters and search as for any ticket); five of them by phone.
async fn twelve_thousand() -> (TestApp, Auth, Auth) {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (customer_id, customer, _) = app.signed_in("many@customer.example", Role::Customer).await;
    app.state()
        .db
        .write(move |tx| {
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
                 INSERT INTO tickets (subject, status, priority, channel, category, requester_id,
                                      created_at, updated_at, public_updated_at)
                 SELECT 'Ticket ' || i, 1, 2, CASE WHEN i <= 5 THEN 'phone' ELSE 'web' END, 'billing', ?1,
                        printf('2026-01-01T00:00:%05dZ', i), printf('2026-01-01T00:00:%05dZ', i),
                        printf('2026-01-01T00:00:%05dZ', i)
                 FROM n",
                [customer_id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    (app, Auth::Bearer(agent), Auth::Bearer(customer))
}

async fn page(app: &TestApp, auth: &Auth, query: &str) -> Value {
    let res = app
        .call(Get, &format!("/api/v1/tickets?{query}"), auth, None)
        .await;
    assert_eq!(res.status().code, 200, "{query}");
    json(res).await
}

fn count(page: &Value) -> (i64, bool) {
    (
        page["total"].as_i64().unwrap(),
        page["total_capped"].as_bool().unwrap(),
    )
}

#[rocket::async_test]
async fn totals_are_exact_from_counters_or_few_matches_and_capped_above_ten_thousand() {
    let (app, agent, customer) = twelve_thousand().await;
    // An agent's views come from the counters: exact at any size.
    for query in [
        "",
        "status=open",
        "status=open,pending&priority=medium",
        "unassigned=true",
    ] {
        assert_eq!(
            count(&page(&app, &agent, query).await),
            (12_000, false),
            "{query}"
        );
    }
    assert_eq!(
        count(&page(&app, &agent, "status=closed").await),
        (0, false)
    );
    // Few matches: exact.
    assert_eq!(
        count(&page(&app, &agent, "channel=phone").await),
        (5, false)
    );
    assert_eq!(
        count(&page(&app, &agent, "channel=phone&status=open").await),
        (5, false)
    );
    // Many matches without a counter: counting stops at 10,000.
    for query in ["category=billing", "channel=web", "status=open&channel=web"] {
        assert_eq!(
            count(&page(&app, &agent, query).await),
            (10_000, true),
            "{query}"
        );
    }
    assert_eq!(
        count(&page(&app, &customer, "").await),
        (10_000, true),
        "a customer's own list"
    );
    // The pages themselves go on past the cap.
    let far = page(&app, &agent, "category=billing&per_page=100&page=119").await;
    assert_eq!(far["items"].as_array().unwrap().len(), 100);
    assert_eq!(count(&far), (10_000, true));
    let last = page(&app, &agent, "category=billing&per_page=100&page=120").await;
    assert_eq!(last["items"].as_array().unwrap().len(), 100);
    // Every list carries the flag.
    let users = json(app.call(Get, "/api/v1/users", &agent, None).await).await;
    assert_eq!(users["total_capped"], false);
}
