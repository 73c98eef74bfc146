//! Service levels: the policy an admin sets (business hours in a time zone,
//! holidays, targets per priority) and who may read or change it.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Put};
use serde_json::json;

#[rocket::async_test]
async fn agents_read_the_policy_and_only_admins_change_it() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("c@customer.example", Role::Customer).await;
    let (admin, agent, customer) = (
        Auth::Bearer(admin),
        Auth::Bearer(agent),
        Auth::Bearer(customer),
    );

    // Off until an admin turns it on, with office hours and default targets.
    let policy = json(app.call(Get, "/api/v1/sla", &agent, None).await).await;
    assert_eq!(policy["enabled"], false);
    assert_eq!(policy["timezone"], "UTC");
    assert_eq!(policy["business_hours"]["mon"], json!([["09:00", "17:00"]]));
    assert_eq!(policy["business_hours"]["sat"], json!([]));
    assert_eq!(policy["targets"]["urgent"]["first_response_minutes"], 30);
    problem(app.call(Get, "/api/v1/sla", &customer, None).await, 403).await;
    problem(app.call(Get, "/api/v1/sla", &Auth::None, None).await, 401).await;

    let wanted = json!({
        "enabled": true,
        "timezone": "Europe/Berlin",
        "business_hours": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["10:00", "14:00"]]},
        "holidays": ["2026-12-24", "2026-12-25"],
        "targets": {
            "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
            "high": {"first_response_minutes": 60, "resolution_minutes": 480},
            "medium": {"first_response_minutes": 240, "resolution_minutes": 1440},
            "low": {"first_response_minutes": 480, "resolution_minutes": 2400}
        },
        "warning_percent": 75
    });
    problem(
        app.call(Put, "/api/v1/sla", &agent, Some(wanted.clone()))
            .await,
        403,
    )
    .await;
    let saved = json(
        app.call(Put, "/api/v1/sla", &admin, Some(wanted.clone()))
            .await,
    )
    .await;
    assert_eq!(saved["timezone"], "Europe/Berlin");
    assert_eq!(
        saved["business_hours"]["tue"],
        json!([]),
        "a day left out has no hours"
    );
    let read = json(app.call(Get, "/api/v1/sla", &agent, None).await).await;
    assert_eq!(read, saved);
    for (key, value) in wanted.as_object().unwrap() {
        if key != "business_hours" {
            assert_eq!(&read[key], value, "{key}");
        }
    }
    let audit = json(
        app.call(Get, "/api/v1/admin/audit?action=sla.updated", &admin, None)
            .await,
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

#[rocket::async_test]
async fn a_wrong_policy_is_refused_field_by_field_and_nothing_changes() {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let admin = Auth::Bearer(admin);
    let before = json(app.call(Get, "/api/v1/sla", &admin, None).await).await;
    let body = problem(
        app.call(
            Put,
            "/api/v1/sla",
            &admin,
            Some(json!({
                "enabled": true,
                "timezone": "Europe/Atlantis",
                "business_hours": {"mon": [["17:00", "09:00"]], "tue": [["09:00", "25:00"]]},
                "holidays": ["2026-02-30"],
                "warning_percent": 0
            })),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "timezone",
            "business_hours.mon[0]",
            "business_hours.tue[0]",
            "holidays[0]",
            "warning_percent"
        ],
        "{body}"
    );
    // Unknown fields and wrong types are refused too.
    for wrong in [
        json!({"enabled": true, "colour": "red"}),
        json!({"targets": {"urgent": {"first_response_minutes": -5, "resolution_minutes": 10}}}),
        json!({"business_hours": {"mon": [["09:00"]]}}),
    ] {
        problem(app.call(Put, "/api/v1/sla", &admin, Some(wrong)).await, 422).await;
    }
    let after = json(app.call(Get, "/api/v1/sla", &admin, None).await).await;
    assert_eq!(before, after);
}
