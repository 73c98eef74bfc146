//! `GET /tickets/stats` medians come from daily duration buckets kept by
//! triggers: within 2.5 % of the exact median, over whole days and the
//! window's first partial day, following changes and deletions.

mod common;

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::Get;

/// The exact median of `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    f64::midpoint(values[(n - 1) / 2], values[n / 2])
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= want * 0.025 + 0.001
}

async fn stats(app: &TestApp, auth: &Auth, since: &str) -> serde_json::Value {
    let res = app
        .call(
            Get,
            &format!("/api/v1/tickets/stats?since={since}"),
            auth,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    json(res).await
}

#[rocket::async_test]
async fn medians_from_daily_buckets_match_the_exact_ones() {
    let app = TestApp::new().await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let agent = Auth::Bearer(agent);
    let (customer_id, _, _) = app.signed_in("c@customer.example", Role::Customer).await;
    // 400 tickets over ten days (40 a day, one every 36 minutes from
    // midnight): ticket i is answered after i * 7 + 30 seconds and resolved
    // after i * 90 + 600 seconds.
    app.state()
        .db
        .write(move |tx| {
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 399),
                 t(i, created) AS (SELECT i, julianday('2026-03-01') + i * 0.025 FROM n)
                 INSERT INTO tickets (subject, status, priority, channel, requester_id, created_at, updated_at,
                                      public_updated_at, first_response_at, resolved_at)
                 SELECT 'T' || i, 4, 2, 'web', ?1,
                        strftime('%Y-%m-%dT%H:%M:%fZ', created), strftime('%Y-%m-%dT%H:%M:%fZ', created),
                        strftime('%Y-%m-%dT%H:%M:%fZ', created),
                        strftime('%Y-%m-%dT%H:%M:%fZ', created + (i * 7 + 30) / 86400.0),
                        strftime('%Y-%m-%dT%H:%M:%fZ', created + (i * 90 + 600) / 86400.0)
                 FROM t",
                [customer_id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let exact = |from: u32, kind: u8| -> f64 {
        // Tickets created (kind 1) or resolved (kind 2) at or after `from`'s creation time.
        let created = |i: u32| f64::from(i) * 0.025 * 86400.0;
        let mut values: Vec<f64> = (0..400u32)
            .filter(|&i| match kind {
                1 => i >= from,
                _ => created(i) + f64::from(i * 90 + 600) >= created(from),
            })
            .map(|i| {
                if kind == 1 {
                    f64::from(i * 7 + 30)
                } else {
                    f64::from(i * 90 + 600)
                }
            })
            .collect();
        median(&mut values)
    };
    // From the first ticket on (whole days), and from ticket 130 (in the
    // middle of the fourth day, so its day is read from the tickets).
    for (since, from) in [("2026-03-01T00:00:00Z", 0), ("2026-03-04T06:00:00Z", 130)] {
        let got = stats(&app, &agent, since).await;
        let first = got["median_first_response_secs"].as_f64().unwrap();
        let resolution = got["median_resolution_secs"].as_f64().unwrap();
        assert!(
            close(first, exact(from, 1)),
            "{since}: first response {first} vs {}",
            exact(from, 1)
        );
        assert!(
            close(resolution, exact(from, 2)),
            "{since}: resolution {resolution} vs {}",
            exact(from, 2)
        );
    }
    // Reopening clears the resolution: it leaves its bucket; deleting a
    // ticket takes both of its durations away.
    app.state()
        .db
        .write(|tx| {
            tx.execute("UPDATE tickets SET resolved_at = NULL WHERE id > 200", [])?;
            tx.execute("DELETE FROM tickets WHERE id <= 100", [])?;
            Ok(())
        })
        .await
        .unwrap();
    let got = stats(&app, &agent, "2026-03-01T00:00:00Z").await;
    let mut first: Vec<f64> = (100..400u32).map(|i| f64::from(i * 7 + 30)).collect();
    let mut resolution: Vec<f64> = (100..200u32).map(|i| f64::from(i * 90 + 600)).collect();
    let (first, resolution) = (median(&mut first), median(&mut resolution));
    let got_first = got["median_first_response_secs"].as_f64().unwrap();
    let got_resolution = got["median_resolution_secs"].as_f64().unwrap();
    assert!(close(got_first, first), "{got_first} vs {first}");
    assert!(
        close(got_resolution, resolution),
        "{got_resolution} vs {resolution}"
    );
    let buckets: i64 = app
        .state()
        .db
        .read(|c| Ok(c.query_row("SELECT SUM(n) FROM duration_days", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(buckets, 300 + 100, "every kept duration counted once");
    // A window with no data has no median.
    let later = stats(&app, &agent, "2027-01-01T00:00:00Z").await;
    assert!(later["median_first_response_secs"].is_null());
}
