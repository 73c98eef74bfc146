//! Lists at scale: `total` is exact where a counter is kept or the matches
//! are few, and stops at 10,000 (`total_capped`) where counting would walk
//! a large part of the tickets.

mod common;

use common::{item_ids, json, total_of, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::Get;

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
            total_of(&app.tickets(&agent, query).await),
            (12_000, false),
            "{query}"
        );
    }
    assert_eq!(
        total_of(&app.tickets(&agent, "status=closed").await),
        (0, false)
    );
    // Few matches: exact.
    assert_eq!(
        total_of(&app.tickets(&agent, "channel=phone").await),
        (5, false)
    );
    assert_eq!(
        total_of(&app.tickets(&agent, "channel=phone&status=open").await),
        (5, false)
    );
    // Many matches without a counter: counting stops at 10,000.
    for query in ["category=billing", "channel=web", "status=open&channel=web"] {
        assert_eq!(
            total_of(&app.tickets(&agent, query).await),
            (10_000, true),
            "{query}"
        );
    }
    assert_eq!(
        total_of(&app.tickets(&customer, "").await),
        (10_000, true),
        "a customer's own list"
    );
    // The pages themselves go on past the cap.
    let far = app
        .tickets(&agent, "category=billing&per_page=100&page=119")
        .await;
    assert_eq!(far["items"].as_array().unwrap().len(), 100);
    assert_eq!(total_of(&far), (10_000, true));
    let last = app
        .tickets(&agent, "category=billing&per_page=100&page=120")
        .await;
    assert_eq!(last["items"].as_array().unwrap().len(), 100);
    // Every list carries the flag.
    let users = json(app.call(Get, "/api/v1/users", &agent, None).await).await;
    assert_eq!(users["total_capped"], false);
}

#[rocket::async_test]
async fn pages_over_several_statuses_keep_the_order_of_one_sorted_list() {
    let (app, agent, _) = twelve_thousand().await;
    // Mixed statuses, priorities and times (the triggers keep the counters).
    app.state()
        .db
        .write(|tx| {
            tx.execute_batch(
                "UPDATE tickets SET status = 1 + (id * 7) % 3, priority = 1 + (id * 5) % 4,
                        updated_at = printf('2026-02-01T00:%02d:%02dZ', (id * 37) % 60, (id * 11) % 60)",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let cases = [
        (
            "status=open,pending",
            "status IN (1, 3)",
            "updated_at DESC, id DESC",
        ),
        (
            "status=open,in_progress,pending&sort=created_at",
            "status IN (1, 2, 3)",
            "created_at ASC, id ASC",
        ),
        (
            "status=in_progress,pending&sort=-priority",
            "status IN (2, 3)",
            "priority DESC, updated_at DESC, id DESC",
        ),
        (
            "status=open,pending&priority=high",
            "status IN (1, 3) AND priority = 3",
            "updated_at DESC, id DESC",
        ),
    ];
    assert_pages_match(&app, &agent, &cases).await;
}

/// Tags added before the tickets change (their rows' sort keys must follow
/// the tickets), one added through the API after: every page of a tag, alone
/// and with other filters and orders, is the page of one sorted SQL query.
#[rocket::async_test]
async fn a_tag_keeps_the_order_of_its_tickets_as_they_change() {
    let (app, agent, _) = twelve_thousand().await;
    app.state()
        .db
        .write(|tx| {
            tx.execute_batch(
                "INSERT INTO ticket_tags (tag, ticket_id, status, priority, created_at, updated_at)
                 SELECT 'vip', id, status, priority, created_at, updated_at FROM tickets WHERE id % 5 = 1;
                 UPDATE tickets SET status = 1 + (id * 7) % 3, priority = 1 + (id * 5) % 4,
                        updated_at = printf('2026-02-01T00:%02d:%02dZ', (id * 37) % 60, (id * 11) % 60)",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let tagged = app
        .call(
            rocket::http::Method::Patch,
            "/api/v1/tickets/7",
            &agent,
            Some(serde_json::json!({"tags": ["vip"], "priority": "urgent"})),
        )
        .await;
    assert_eq!(tagged.status(), rocket::http::Status::Ok);
    let vip = "id IN (SELECT ticket_id FROM ticket_tags WHERE tag = 'vip')";
    let cases = [
        ("tag=vip", vip.to_string(), "updated_at DESC, id DESC"),
        (
            "tag=vip&sort=created_at",
            vip.to_string(),
            "created_at ASC, id ASC",
        ),
        (
            "tag=vip&sort=-priority",
            vip.to_string(),
            "priority DESC, updated_at DESC, id DESC",
        ),
        (
            "tag=vip&status=pending&sort=status",
            format!("{vip} AND status = 3"),
            "status ASC, updated_at DESC, id DESC",
        ),
        (
            "tag=vip&status=open,pending",
            format!("{vip} AND status IN (1, 3)"),
            "updated_at DESC, id DESC",
        ),
        (
            "tag=vip&priority=urgent&channel=web",
            format!("{vip} AND priority = 4 AND channel = 'web'"),
            "updated_at DESC, id DESC",
        ),
    ];
    assert_pages_match(&app, &agent, &cases).await;
    let first = item_ids(
        &app.tickets(&agent, "tag=vip&priority=urgent&sort=-updated_at")
            .await,
    );
    assert!(
        first.contains(&7),
        "the ticket tagged through the API: {first:?}"
    );
}

/// Pages 1, 7 and 40 of each `(query, condition, order)` are those of
/// `SELECT id FROM tickets WHERE condition ORDER BY order`.
async fn assert_pages_match<C: AsRef<str>>(app: &TestApp, agent: &Auth, cases: &[(&str, C, &str)]) {
    for (query, condition, order) in cases {
        let condition = condition.as_ref();
        for (number, per_page) in [(1, 25), (7, 25), (40, 100)] {
            let got = item_ids(
                &app.tickets(agent, &format!("{query}&page={number}&per_page={per_page}"))
                    .await,
            );
            let offset = (number - 1) * per_page;
            let sql = format!(
                "SELECT id FROM tickets WHERE {condition} ORDER BY {order} LIMIT {per_page} OFFSET {offset}"
            );
            let expected: Vec<i64> = app
                .state()
                .db
                .read(move |c| {
                    let mut stmt = c.prepare(&sql)?;
                    let ids = stmt
                        .query_map([], |r| r.get(0))?
                        .collect::<Result<Vec<i64>, _>>()?;
                    Ok(ids)
                })
                .await
                .unwrap();
            assert!(number > 1 || !expected.is_empty(), "{query}");
            assert_eq!(got, expected, "{query} page {number}");
        }
    }
}

#[rocket::async_test]
async fn a_repeated_status_is_one_filter() {
    let (app, agent, _) = twelve_thousand().await;
    let once = app.tickets(&agent, "status=open&per_page=50").await;
    let twice = app
        .tickets(&agent, "status=open,open,open&per_page=50")
        .await;
    assert_eq!(once, twice);
    let many = format!("status={}&per_page=10", vec!["open"; 600].join(","));
    let page_of_many = app.tickets(&agent, &many).await;
    assert_eq!(page_of_many["items"].as_array().unwrap().len(), 10);
}
