//! In a real headless Chromium against the real binary: the service-level
//! badge in the inbox and on the ticket (time left, then overdue), the
//! admin's service-level form, the Reports page (tiles, chart, agents,
//! CSV), and a customer rating from the link in the "resolved" mail.
//! Skipped loudly without Chromium, as the other browser stories.

mod common;

use std::path::Path;

use common::stage::{
    assert_accessible, assert_no_console_errors, call, open_ticket, shots, sign_in,
    sign_in_browser, stage, submit, Server, Stage, PASSWORD,
};
use common::webdriver::Browser;
use serde_json::json;

#[test]
fn a_lead_sees_what_is_due_and_the_month_and_a_customer_rates_the_help() {
    let Some(Stage {
        _dir,
        server,
        driver,
        chromium,
    }) = stage()
    else {
        return;
    };
    let shots = shots();
    let (admin, alex_id) = team(&server);
    let carla = sign_in(&server, "carla@customer.example");
    let alex = sign_in(&server, "alex@example.com");
    let late = open_ticket(
        &server,
        &carla,
        "Invoice is wrong",
        "It says 300 instead of 30.",
    );
    let calm = open_ticket(
        &server,
        &carla,
        "How do I export?",
        "Where is the export button?",
    );

    // The agent's inbox shows the time left on each; one becomes overdue.
    let agent = driver.session(&chromium);
    sign_in_browser(&agent, &server, "alex@example.com");
    agent.wait_text("#ticket-list a", "How do I export?");
    agent.wait_text("#ticket-list [data-sla=due]", "left");
    let db = rusqlite::Connection::open(server.data.join("helpline.db")).unwrap();
    db.execute(
        "UPDATE tickets SET first_response_due_at = '2026-01-01T09:00:00.000Z',
                            sla_due_at = '2026-01-01T09:00:00.000Z' WHERE id = ?1",
        [late],
    )
    .unwrap();
    agent.goto(&server.url(&format!("/tickets/{late}")));
    agent.wait_text("#side-sla [data-sla=overdue]", "overdue");
    agent.wait_text("#ticket-list [data-sla=overdue]", "overdue");
    // The overdue filter keeps only that one.
    agent.goto(&server.url("/inbox?sla=breached"));
    agent.wait_text("#ticket-list a", "Invoice is wrong");
    agent.wait_for("only the overdue ticket", || {
        (agent.find_all("#ticket-list li").len() == 1).then_some(())
    });
    agent.screenshot(&shots, "30-sla-badges");

    // The admin's form changes the policy.
    let lead = driver.session(&chromium);
    sign_in_browser(&lead, &server, "ada@example.com");
    lead.wait_text("header nav a", "Reports");
    lead.goto(&server.url("/admin/sla"));
    lead.find("form#sla-form");
    lead.fill("form#sla-form input[name=warning_percent]", "0");
    lead.fill(
        "form#sla-form input[name=warning_percent]",
        "\u{E009}a\u{E000}75",
    );
    submit(&lead, "form#sla-form");
    lead.wait_for("the saved policy", || {
        let (_, p) = call(&server, "GET", "/api/v1/sla", Some(&admin), &json!(null));
        (p["warning_percent"] == 75).then_some(())
    });

    let customer = driver.session(&chromium);
    customer_rates(&customer, &server, &alex, alex_id, calm);
    reports_at_a_glance(&lead, &server, &shots);
    for (name, browser) in [("agent", &agent), ("lead", &lead), ("customer", &customer)] {
        assert_no_console_errors(name, browser);
    }
}

/// The admin (through the setup link), an agent and a customer; service
/// levels on, round the clock in Berlin. Returns the admin's token and the
/// agent's id.
fn team(server: &Server) -> (String, i64) {
    let (status, pair) = call(
        server,
        "POST",
        "/api/v1/auth/setup",
        None,
        &json!({"token": server.setup_token, "email": "ada@example.com", "name": "Ada Admin", "password": PASSWORD}),
    );
    assert_eq!(status, 201, "{pair}");
    let admin = pair["access_token"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (email, name, role) in [
        ("alex@example.com", "Alex Agent", "agent"),
        ("carla@customer.example", "Carla Customer", "customer"),
    ] {
        let (status, user) = call(
            server,
            "POST",
            "/api/v1/users",
            Some(&admin),
            &json!({"email": email, "name": name, "role": role, "password": PASSWORD}),
        );
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_i64().unwrap());
    }
    let day = json!([["00:00", "24:00"]]);
    let (status, policy) = call(
        server,
        "PUT",
        "/api/v1/sla",
        Some(&admin),
        &json!({"enabled": true, "timezone": "Europe/Berlin",
                "business_hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}}),
    );
    assert_eq!(status, 200, "{policy}");
    (admin, ids[0])
}

/// The Reports page: tiles, the chart, the agents' table, the CSV button,
/// accessible, and on a phone.
fn reports_at_a_glance(lead: &Browser, server: &Server, shots: &Path) {
    lead.goto(&server.url("/reports"));
    lead.wait_text("#tile-created", "2");
    lead.wait_text("#tile-csat", "100%");
    lead.wait_text("#tile-backlog", "1");
    lead.find("svg#report-chart polyline.created");
    lead.wait_text("#report-agents", "Alex Agent");
    lead.find("#report-csv");
    lead.screenshot(shots, "31-reports");
    assert_accessible(lead, "reports page");
    lead.resize(390, 844);
    lead.find("svg#report-chart");
    lead.screenshot(shots, "32-reports-phone");
}

/// The agent answers and resolves `ticket`; the customer rates the help from
/// the link in the mail, adds a comment, and the agent sees both.
fn customer_rates(customer: &Browser, server: &Server, alex: &str, alex_id: i64, calm: i64) {
    // Resolved with a reply: the customer rates from the mail's link.
    let (status, _) = call(
        server,
        "PATCH",
        &format!("/api/v1/tickets/{calm}"),
        Some(alex),
        &json!({"assignee_id": alex_id}),
    );
    assert_eq!(status, 200);
    let (status, _) = call(
        server,
        "POST",
        &format!("/api/v1/tickets/{calm}/messages"),
        Some(alex),
        &json!({"body": "Under Settings, Export."}),
    );
    assert_eq!(status, 201);
    let (status, _) = call(
        server,
        "POST",
        &format!("/api/v1/tickets/{calm}/resolve"),
        Some(alex),
        &json!(null),
    );
    assert_eq!(status, 200);
    let link = server.link_in_mail("/rate?score=good#token=");
    customer.goto(&server.url(&link));
    customer.wait_text("#rating-status", "Thank you");
    customer.fill("#rating-comment", "Quick and clear, thanks!");
    submit(customer, "#rating-form");
    customer.wait_text("#rating-status", "We have your comment too");
    assert_accessible(customer, "rating page");
    let (_, ticket) = call(
        server,
        "GET",
        &format!("/api/v1/tickets/{calm}"),
        Some(alex),
        &json!(null),
    );
    assert_eq!(ticket["rating"]["score"], "good", "{ticket}");
    assert_eq!(ticket["rating"]["comment"], "Quick and clear, thanks!");
}
