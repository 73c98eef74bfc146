//! Reports against a hand-computed fixture: counts per day, medians and 90th
//! percentiles (within the buckets' 2.5 %), service levels met, satisfaction,
//! the per-agent table, CSV, and the rollups following reassignments and
//! deletions.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Post};
use rocket::http::{Accept, Header};
use serde_json::{json, Value};

async fn sql(app: &TestApp, statements: String) {
    app.state()
        .db
        .write(move |tx| {
            tx.execute_batch(&statements)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn close_to(value: &Value, exact: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"));
    assert!(
        (got - exact).abs() <= exact * 0.025,
        "{got} is not within 2.5 % of {exact}"
    );
}

/// Four tickets over 2026-03-02..04 (see the test for the figures), two
/// agents, two ratings.
struct Fixture {
    app: TestApp,
    admin: Auth,
    agent: Auth,
    customer: Auth,
    ana: i64,
    ben: i64,
    tickets: [i64; 4],
}

async fn fixture() -> Fixture {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (ana, agent, _) = app.signed_in("ana@example.com", Role::Agent).await;
    let (ben, _, _) = app.signed_in("ben@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("c@customer.example", Role::Customer).await;
    let (admin, agent, customer) = (
        Auth::Bearer(admin),
        Auth::Bearer(agent),
        Auth::Bearer(customer),
    );
    let mut ids = Vec::new();
    for subject in ["Ticket one", "Ticket two", "Ticket three", "Ticket four"] {
        let t = json(
            app.call(
                Post,
                "/api/v1/tickets",
                &customer,
                Some(json!({"subject": subject, "body": "Please help"})),
            )
            .await,
        )
        .await;
        ids.push(t["id"].as_i64().unwrap_or_else(|| panic!("{t}")));
    }
    let [t1, t2, t3, t4] = ids[..] else {
        unreachable!()
    };
    let (ana, ben) = (ana.0, ben.0);
    // Opening times first (no durations yet), then answers, resolutions,
    // due times and ratings: the triggers keep the rollups throughout.
    sql(&app, format!(
        "UPDATE tickets SET created_at = '2026-03-02T10:00:00.000Z', assignee_id = {ana} WHERE id = {t1};
         UPDATE tickets SET created_at = '2026-03-02T11:00:00.000Z', assignee_id = {ana} WHERE id = {t2};
         UPDATE tickets SET created_at = '2026-03-03T09:00:00.000Z', assignee_id = {ben} WHERE id = {t3};
         UPDATE tickets SET created_at = '2026-03-04T09:00:00.000Z' WHERE id = {t4};
         UPDATE tickets SET first_response_due_at = '2026-03-02T10:15:00.000Z', resolution_due_at = '2026-03-02T14:00:00.000Z' WHERE id = {t1};
         UPDATE tickets SET first_response_due_at = '2026-03-02T11:15:00.000Z', resolution_due_at = '2026-03-02T19:00:00.000Z' WHERE id = {t2};
         UPDATE tickets SET first_response_at = '2026-03-02T10:10:00.000Z' WHERE id = {t1};
         UPDATE tickets SET first_response_at = '2026-03-02T11:30:00.000Z' WHERE id = {t2};
         UPDATE tickets SET first_response_at = '2026-03-03T10:00:00.000Z' WHERE id = {t3};
         UPDATE tickets SET status = 4, resolved_at = '2026-03-02T12:00:00.000Z' WHERE id = {t1};
         UPDATE tickets SET status = 4, resolved_at = '2026-03-03T11:00:00.000Z' WHERE id = {t2};
         INSERT INTO ratings (ticket_id, score, agent_id, created_at, updated_at)
           VALUES ({t1}, 'good', {ana}, '2026-03-03T08:00:00.000Z', 't'), ({t2}, 'bad', {ana}, 't', 't');
         UPDATE ratings SET created_at = '2026-03-04T08:00:00.000Z' WHERE ticket_id = {t2};"
    ))
    .await;
    Fixture {
        app,
        admin,
        agent,
        customer,
        ana,
        ben,
        tickets: [t1, t2, t3, t4],
    }
}

const PATH: &str = "/api/v1/reports?from=2026-03-02&to=2026-03-04";

#[rocket::async_test]
async fn a_report_of_three_days_matches_the_hand_computed_figures() {
    let Fixture {
        app,
        agent,
        ana,
        ben,
        ..
    } = fixture().await;
    let path = PATH;
    let r = json(app.call(Get, path, &agent, None).await).await;
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (Some("2026-03-02"), Some("2026-03-04"))
    );
    assert_eq!(
        (r["created"].as_i64(), r["resolved"].as_i64()),
        (Some(4), Some(2))
    );
    assert_eq!(
        r["by_day"],
        json!([
            {"date": "2026-03-02", "created": 2, "resolved": 1},
            {"date": "2026-03-03", "created": 1, "resolved": 1},
            {"date": "2026-03-04", "created": 1, "resolved": 0},
        ])
    );
    // First responses 600, 1,800 and 3,600 s; resolutions 7,200 and 86,400 s.
    close_to(&r["first_response"]["median_secs"], 1_800.0);
    close_to(&r["first_response"]["p90_secs"], 3_600.0);
    close_to(&r["resolution"]["median_secs"], 46_800.0);
    close_to(&r["resolution"]["p90_secs"], 86_400.0);
    assert_eq!(
        r["sla"],
        json!({"first_response_met_pct": 50.0, "resolution_met_pct": 50.0})
    );
    assert_eq!(
        r["csat"],
        json!({"good": 1, "okay": 0, "bad": 1, "score_pct": 50.0})
    );
    let agents = r["by_agent"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{agents:?}");
    let row = |id: i64| {
        agents
            .iter()
            .find(|a| a["agent"]["id"] == id)
            .unwrap()
            .clone()
    };
    let a = row(ana);
    assert_eq!(
        (a["assigned"].as_i64(), a["resolved"].as_i64()),
        (Some(2), Some(2))
    );
    close_to(&a["first_response_median_secs"], 1_200.0);
    assert_eq!(a["csat_score_pct"], 50.0);
    let b = row(ben);
    assert_eq!(
        (b["assigned"].as_i64(), b["resolved"].as_i64()),
        (Some(1), Some(0))
    );
    close_to(&b["first_response_median_secs"], 3_600.0);
    assert_eq!(b["csat_score_pct"], Value::Null);
    // A whole month reads the monthly rollups; the figures are the same.
    let month = json(
        app.call(
            Get,
            "/api/v1/reports?from=2026-03-01&to=2026-03-31",
            &agent,
            None,
        )
        .await,
    )
    .await;
    for key in ["first_response", "resolution"] {
        assert_eq!(month[key], r[key], "{key}");
    }
    let edges = json(
        app.call(
            Get,
            "/api/v1/reports?from=2026-02-27&to=2026-04-02",
            &agent,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(edges["first_response"], r["first_response"]);
    assert_eq!(edges["by_agent"], r["by_agent"]);
}

#[rocket::async_test]
async fn csv_days_rollups_that_follow_changes_and_refused_ranges() {
    let Fixture {
        app,
        admin,
        agent,
        customer,
        ana,
        tickets: [_, _, t3, t4],
        ..
    } = fixture().await;
    let path = PATH;
    // The days as CSV.
    let mut req = app.client.get(path);
    req.add_header(Header::new(
        "Authorization",
        match &agent {
            Auth::Bearer(t) => format!("Bearer {t}"),
            _ => unreachable!(),
        },
    ));
    req.add_header(Accept::CSV);
    let res = req.dispatch().await;
    assert_eq!(res.status().code, 200);
    assert_eq!(
        res.content_type().map(|c| c.to_string()).as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        res.into_string().await.unwrap(),
        "date,created,resolved\n2026-03-02,2,1\n2026-03-03,1,1\n2026-03-04,1,0\n"
    );

    // A reassignment moves the ticket's part; a deletion removes it.
    sql(&app, format!("UPDATE tickets SET assignee_id = {ana} WHERE id = {t3}; DELETE FROM tickets WHERE id = {t4};")).await;
    let r = json(app.call(Get, path, &admin, None).await).await;
    assert_eq!(r["created"], 3);
    let agents = r["by_agent"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0]["assigned"], 3);
    close_to(&agents[0]["first_response_median_secs"], 1_800.0);

    // Customers get none; wrong ranges are 422.
    problem(app.call(Get, path, &customer, None).await, 403).await;
    for bad in [
        "from=2026-03-05&to=2026-03-01",
        "from=2026-3-1",
        "from=2025-01-01&to=2026-03-01",
        "to=yesterday",
    ] {
        problem(
            app.call(Get, &format!("/api/v1/reports?{bad}"), &agent, None)
                .await,
            422,
        )
        .await;
    }
    // The last day of the calendar is a day like any other.
    let end = app
        .call(
            Get,
            "/api/v1/reports?from=9999-12-30&to=9999-12-31",
            &agent,
            None,
        )
        .await
        .status()
        .code;
    assert_eq!(end, 200);
    // A resolution whose clock stopped in time (pending before its due time)
    // counts as met, also when the ticket is resolved later.
    sql(&app, format!(
        "UPDATE tickets SET resolution_due_at = '2026-03-05T12:00:00.000Z', sla_paused_at = '2026-03-05T11:00:00.000Z',
                status = 4, resolved_at = '2026-03-06T09:00:00.000Z' WHERE id = {t3};"
    ))
    .await;
    let day = json(
        app.call(
            Get,
            "/api/v1/reports?from=2026-03-06&to=2026-03-06",
            &agent,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(day["sla"]["resolution_met_pct"], 100.0, "{day}");
    // By default the last 30 days, today included.
    let recent = json(app.call(Get, "/api/v1/reports", &agent, None).await).await;
    assert_eq!(recent["by_day"].as_array().unwrap().len(), 30);
}
