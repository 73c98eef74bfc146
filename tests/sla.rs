//! Service levels: the policy an admin sets (business hours in a time zone,
//! holidays, targets per priority) and who may read or change it.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Put};
use serde_json::json;

/// A help desk with an admin, an agent and a customer, each signed in.
struct Desk {
    app: TestApp,
    admin: Auth,
    agent: Auth,
    agent_id: helpline::users::UserId,
    customer: Auth,
}

async fn desk() -> Desk {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (agent_id, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("c@customer.example", Role::Customer).await;
    Desk {
        app,
        admin: Auth::Bearer(admin),
        agent: Auth::Bearer(agent),
        agent_id,
        customer: Auth::Bearer(customer),
    }
}

#[rocket::async_test]
async fn agents_read_the_policy_and_only_admins_change_it() {
    let Desk {
        app,
        admin,
        agent,
        customer,
        ..
    } = desk().await;

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

/// Round-the-clock business hours in UTC, so due times are plain offsets
/// from the ticket's opening: urgent 15 min / 2 h, high 90 min / 8 h, low
/// 8 h / 40 h.
async fn round_the_clock(app: &TestApp, admin: &Auth) {
    let day = json!([["00:00", "24:00"]]);
    let saved = app
        .call(
            Put,
            "/api/v1/sla",
            admin,
            Some(json!({
                "enabled": true,
                "timezone": "UTC",
                "business_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day},
                "targets": {
                    "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
                    "high": {"first_response_minutes": 90, "resolution_minutes": 480},
                    "medium": {"first_response_minutes": 240, "resolution_minutes": 1440},
                    "low": {"first_response_minutes": 480, "resolution_minutes": 2400}
                }
            })),
        )
        .await;
    assert_eq!(saved.status().code, 200);
}

fn secs(time: &serde_json::Value) -> i64 {
    time::OffsetDateTime::parse(
        time.as_str()
            .unwrap_or_else(|| panic!("not a time: {time}")),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp()
}

/// Sets a stored time of ticket `id` `ago` seconds back (what waiting would do).
async fn backdate(app: &TestApp, id: i64, column: &'static str, ago: i64) {
    app.state()
        .db
        .write(move |tx| {
            tx.execute(
                &format!(
                    "UPDATE tickets SET {column} = strftime('%Y-%m-%dT%H:%M:%fZ', {column}, '-{ago} seconds') WHERE id = ?1"
                ),
                [id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

#[rocket::async_test]
async fn a_ticket_carries_its_due_times_and_the_resolution_clock_stands_while_pending() {
    use rocket::http::Method::{Patch, Post};
    let Desk {
        app,
        admin,
        agent,
        customer,
        ..
    } = desk().await;

    // With the policy off a ticket has no service levels.
    let off = json(
        app.call(
            Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({"subject": "Before", "body": "x"})),
        )
        .await,
    )
    .await;
    let off = json(
        app.call(Get, &format!("/api/v1/tickets/{}", off["id"]), &agent, None)
            .await,
    )
    .await;
    assert_eq!(off["sla"], serde_json::Value::Null);

    round_the_clock(&app, &admin).await;
    let id = open_ticket(&app, &customer, &agent, "The printer is on fire", "urgent").await;
    let path = format!("/api/v1/tickets/{id}");
    let set = |body: serde_json::Value| app.call(Patch, &path, &agent, Some(body));
    let ticket = json(app.call(Get, &path, &agent, None).await).await;
    let opened = secs(&ticket["created_at"]);
    let sla = &ticket["sla"];
    assert_eq!(
        secs(&sla["first_response_due_at"]) - opened,
        15 * 60,
        "{sla}"
    );
    assert_eq!(secs(&sla["resolution_due_at"]) - opened, 120 * 60, "{sla}");
    assert_eq!(sla["first_response_breached"], false);
    assert_eq!(sla["resolution_breached"], false);
    assert_eq!(sla["paused"], false);
    // The customer sees no service levels.
    let own = json(app.call(Get, &path, &customer, None).await).await;
    assert_eq!(own["sla"], serde_json::Value::Null);

    // Pending for an hour: the resolution due time moves an hour later.
    assert_eq!(set(json!({"status": "pending"})).await.status().code, 200);
    let paused = json(app.call(Get, &path, &agent, None).await).await;
    assert_eq!(paused["sla"]["paused"], true);
    backdate(&app, id, "sla_paused_at", 3600).await;
    assert_eq!(set(json!({"status": "open"})).await.status().code, 200);
    let resumed = json(app.call(Get, &path, &agent, None).await).await;
    let moved = secs(&resumed["sla"]["resolution_due_at"]) - opened - 120 * 60;
    assert!((3600..3610).contains(&moved), "moved by {moved} s");
    assert_eq!(resumed["sla"]["paused"], false);
    assert_eq!(
        resumed["sla"]["first_response_due_at"], sla["first_response_due_at"],
        "the first-response clock does not stand"
    );

    // A lower priority gives longer targets (the pause still counts).
    assert_eq!(set(json!({"priority": "low"})).await.status().code, 200);
    let low = json(app.call(Get, &path, &agent, None).await).await;
    assert_eq!(
        secs(&low["sla"]["first_response_due_at"]) - opened,
        8 * 3600
    );
    let moved = secs(&low["sla"]["resolution_due_at"]) - opened - 40 * 3600;
    assert!((3600..3610).contains(&moved), "moved by {moved} s");
}

/// A ticket from `customer` that `agent` gives `priority`; its id.
async fn open_ticket(
    app: &TestApp,
    customer: &Auth,
    agent: &Auth,
    subject: &str,
    priority: &str,
) -> i64 {
    use rocket::http::Method::{Patch, Post};
    let t = json(
        app.call(
            Post,
            "/api/v1/tickets",
            customer,
            Some(json!({"subject": subject, "body": "help"})),
        )
        .await,
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let changed = app
        .call(
            Patch,
            &format!("/api/v1/tickets/{id}"),
            agent,
            Some(json!({"priority": priority})),
        )
        .await;
    assert_eq!(changed.status().code, 200);
    id
}

#[rocket::async_test]
async fn agents_list_what_breached_and_what_falls_due_first() {
    use rocket::http::Method::{Patch, Post};
    let Desk {
        app,
        admin,
        agent,
        customer,
        ..
    } = desk().await;
    round_the_clock(&app, &admin).await;
    let low = open_ticket(&app, &customer, &agent, "low one", "low").await;
    let urgent = open_ticket(&app, &customer, &agent, "urgent one", "urgent").await;
    let high = open_ticket(&app, &customer, &agent, "high one", "high").await;
    // Earliest target first; a ticket without one (resolved) last.
    let resolved = open_ticket(&app, &customer, &agent, "done", "medium").await;
    let done = app
        .call(
            Patch,
            &format!("/api/v1/tickets/{resolved}"),
            &agent,
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(done.status().code, 200);
    assert_eq!(
        common::item_ids(&app.tickets(&agent, "sort=due_at").await)[..4],
        [urgent, high, low, resolved]
    );
    assert!(app.tickets(&agent, "sla=breached").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // The urgent one's first response falls due within the hour; then it is late.
    assert_eq!(
        common::item_ids(&app.tickets(&agent, "sla=due_soon").await),
        [urgent]
    );
    backdate(&app, urgent, "sla_due_at", 3600).await;
    assert_eq!(
        common::item_ids(&app.tickets(&agent, "sla=breached").await),
        [urgent]
    );
    // An answer meets the first-response target: opened an hour earlier (its
    // due time with it), it comes late and shows as breached.
    backdate(&app, urgent, "created_at", 3600).await;
    backdate(&app, urgent, "first_response_due_at", 3600).await;
    let answered = app
        .call(
            Post,
            &format!("/api/v1/tickets/{urgent}/messages"),
            &agent,
            Some(json!({"body": "On it"})),
        )
        .await;
    assert_eq!(answered.status().code, 201);
    let ticket = json(
        app.call(Get, &format!("/api/v1/tickets/{urgent}"), &agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["sla"]["first_response_breached"], true, "{ticket}");
    assert_eq!(ticket["sla"]["resolution_breached"], false, "{ticket}");
    // Customers neither filter nor sort by service levels.
    problem(
        app.call(Get, "/api/v1/tickets?sla=breached", &customer, None)
            .await,
        422,
    )
    .await;
    problem(
        app.call(Get, "/api/v1/tickets?sort=due_at", &customer, None)
            .await,
        422,
    )
    .await;
    problem(
        app.call(Get, "/api/v1/tickets?sla=late", &agent, None)
            .await,
        422,
    )
    .await;
}

/// The notices of ticket `id` told so far: (event kind, mail subject) pairs
/// in order, read from the events and the outbox.
async fn told(app: &TestApp, id: i64) -> (Vec<String>, usize) {
    app.state()
        .db
        .read(move |c| {
            let events = c
                .prepare("SELECT kind FROM events WHERE ticket_id = ?1 AND kind LIKE 'ticket.sla_%' ORDER BY id")?
                .query_map([id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            let mails: i64 = c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE ticket_id = ?1 AND kind = 'sla_alert'",
                [id],
                |r| r.get(0),
            )?;
            Ok((events, usize::try_from(mails).unwrap()))
        })
        .await
        .unwrap()
}

async fn sweep_at(app: &TestApp, at: i64) -> usize {
    app.state()
        .db
        .write(move |tx| helpline::sla::notices::sweep(tx, at))
        .await
        .unwrap()
}

#[rocket::async_test]
async fn warnings_and_breaches_go_out_once_each_also_across_a_restart() {
    use rocket::http::Method::{Patch, Post};
    let Desk {
        app,
        admin,
        agent,
        agent_id,
        customer,
    } = desk().await;
    round_the_clock(&app, &admin).await;
    let id = open_ticket(&app, &customer, &agent, "Server down", "urgent").await;
    let assigned = app
        .call(
            Patch,
            &format!("/api/v1/tickets/{id}"),
            &agent,
            Some(json!({"assignee_id": agent_id})),
        )
        .await
        .status()
        .code;
    assert_eq!(assigned, 200);
    let ticket = json(
        app.call(Get, &format!("/api/v1/tickets/{id}"), &agent, None)
            .await,
    )
    .await;
    let opened = secs(&ticket["created_at"]);
    app.deliver().await;

    // Urgent: first response in 15 min (warning at 80 %: 12 min), resolution in 2 h (96 min).
    assert_eq!(sweep_at(&app, opened + 11 * 60).await, 0);
    assert_eq!(sweep_at(&app, opened + 12 * 60 + 1).await, 1);
    assert_eq!(sweep_at(&app, opened + 12 * 60 + 2).await, 0, "told once");
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "agent@example.com");
    assert!(
        mails[0]
            .subject
            .contains("Due soon: first response for Server down"),
        "{}",
        mails[0].subject
    );
    assert_eq!(sweep_at(&app, opened + 15 * 60 + 1).await, 1);
    let mails = app.deliver().await;
    assert!(
        mails[0].subject.contains("Overdue: first response"),
        "{}",
        mails[0].subject
    );
    assert_eq!(
        told(&app, id).await,
        (
            vec![
                "ticket.sla_warning".to_string(),
                "ticket.sla_breached".to_string()
            ],
            2
        )
    );

    // After a restart nothing is told twice; the resolution's turn comes.
    let app = app.restart().await;
    assert_eq!(sweep_at(&app, opened + 15 * 60 + 2).await, 0);
    // The server was down past the resolution's warning and breach: only
    // the breach is told.
    assert_eq!(sweep_at(&app, opened + 3 * 3600).await, 1);
    let (events, mails) = told(&app, id).await;
    assert_eq!(
        events.last().map(String::as_str),
        Some("ticket.sla_breached")
    );
    assert_eq!((events.len(), mails), (3, 3));
    assert_eq!(
        sweep_at(&app, opened + 30 * 3600).await,
        0,
        "nothing left to tell"
    );

    // A ticket answered in time and pending hears of nothing.
    let calm = open_ticket(&app, &customer, &agent, "Question", "urgent").await;
    let answered = app
        .call(
            Post,
            &format!("/api/v1/tickets/{calm}/messages"),
            &agent,
            Some(json!({"body": "Here you go"})),
        )
        .await;
    assert_eq!(answered.status().code, 201);
    let pending = app
        .call(
            Patch,
            &format!("/api/v1/tickets/{calm}"),
            &agent,
            Some(json!({"status": "pending"})),
        )
        .await;
    assert_eq!(pending.status().code, 200);
    assert_eq!(sweep_at(&app, opened + 40 * 3600).await, 0);
    assert_eq!(told(&app, calm).await, (Vec::new(), 0));
}

#[rocket::async_test]
async fn a_policy_change_applies_to_open_tickets_at_once_without_mailing_about_the_past() {
    use rocket::http::Method::Post;
    let Desk {
        app,
        admin,
        agent,
        customer,
        ..
    } = desk().await;
    // Opened a day ago, with service levels off.
    let old = open_ticket(&app, &customer, &agent, "Old question", "urgent").await;
    backdate(&app, old, "created_at", 86_400).await;
    let path = format!("/api/v1/tickets/{old}");
    assert_eq!(
        json(app.call(Get, &path, &agent, None).await).await["sla"],
        serde_json::Value::Null
    );
    // Turned on: the ticket has its (long past) due times at once, and the
    // sweep does not mail about them.
    round_the_clock(&app, &admin).await;
    let ticket = json(app.call(Get, &path, &agent, None).await).await;
    assert_eq!(ticket["sla"]["first_response_breached"], true, "{ticket}");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(sweep_at(&app, now).await, 0);
    assert_eq!(told(&app, old).await, (Vec::new(), 0));

    // A decided target keeps its due time when the priority changes.
    let answered = open_ticket(&app, &customer, &agent, "Answered one", "medium").await;
    let reply = app
        .call(
            Post,
            &format!("/api/v1/tickets/{answered}/messages"),
            &agent,
            Some(json!({"body": "Done"})),
        )
        .await
        .status()
        .code;
    assert_eq!(reply, 201);
    let before = json(
        app.call(Get, &format!("/api/v1/tickets/{answered}"), &agent, None)
            .await,
    )
    .await;
    open_ticket_priority(&app, &agent, answered, "urgent").await;
    let after = json(
        app.call(Get, &format!("/api/v1/tickets/{answered}"), &agent, None)
            .await,
    )
    .await;
    assert_eq!(
        after["sla"]["first_response_due_at"],
        before["sla"]["first_response_due_at"]
    );
    assert_ne!(
        after["sla"]["resolution_due_at"], before["sla"]["resolution_due_at"],
        "the open target follows the new priority"
    );

    // Turned off: unfinished tickets have none, at once.
    let off = app
        .call(Put, "/api/v1/sla", &admin, Some(json!({"enabled": false})))
        .await
        .status()
        .code;
    assert_eq!(off, 200);
    assert_eq!(
        json(app.call(Get, &path, &agent, None).await).await["sla"],
        serde_json::Value::Null
    );
    assert!(app.tickets(&agent, "sla=breached").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

async fn open_ticket_priority(app: &TestApp, agent: &Auth, id: i64, priority: &str) {
    use rocket::http::Method::Patch;
    let code = app
        .call(
            Patch,
            &format!("/api/v1/tickets/{id}"),
            agent,
            Some(json!({"priority": priority})),
        )
        .await
        .status()
        .code;
    assert_eq!(code, 200);
}
