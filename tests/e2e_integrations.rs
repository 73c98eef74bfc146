//! In a real headless Chromium against the real binary: an admin creates a
//! webhook (secret shown once), sends a ping that a real receiver gets, and
//! reads the delivery log; an agent inserts a similar ticket's answer and
//! has a reply drafted by a fake OpenAI-compatible server streamed into the
//! reply box, which sends nothing by itself. Skipped loudly without Chromium.

mod common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::stage::{
    assert_accessible, assert_no_console_errors, call, open_ticket, shots, sign_in,
    sign_in_browser, stage_with, submit, Server, Stage, PASSWORD,
};
use common::webdriver::Browser;
use serde_json::json;

fn chunk(text: &str) -> (Duration, String) {
    let body = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    (Duration::from_millis(150), format!("data: {body}\n\n"))
}

fn draft_stream() -> Reply {
    let mut chunks: Vec<_> = ["Hi Carla, ", "the export button ", "is under Reports."]
        .iter()
        .map(|t| chunk(t))
        .collect();
    let end = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    chunks.push((
        Duration::from_millis(50),
        format!("data: {end}\n\ndata: [DONE]\n\n"),
    ));
    Reply::Stream {
        chunks,
        complete: true,
    }
}

#[test]
fn an_admin_wires_a_webhook_and_an_agent_gets_suggested_replies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hooks = runtime.block_on(Receiver::start(|_| Reply::Status(200)));
    let model = runtime.block_on(Receiver::start(|_| draft_stream()));
    let env = [
        ("HELPLINE_WEBHOOKS__ALLOW_PRIVATE", "true".to_string()),
        ("HELPLINE_AI__BASE_URL", model.url("/v1")),
        ("HELPLINE_AI__MODEL", "test-model".to_string()),
    ];
    let Some(Stage {
        _dir,
        server,
        driver,
        chromium,
    }) = stage_with(&env)
    else {
        return;
    };
    let shots = shots();
    team(&server);

    let lead = driver.session(&chromium);
    admin_wires_a_webhook(&lead, &server, &hooks, &shots);

    // A resolved ticket with an answer, and a new one like it.
    let carla = sign_in(&server, "carla@customer.example");
    let alex = sign_in(&server, "alex@example.com");
    let old = open_ticket(
        &server,
        &carla,
        "Where is the export button?",
        "I cannot find the export of orders.",
    );
    let answer = "The export button is on the Reports page, top right.";
    let (status, _) = call(
        &server,
        "POST",
        &format!("/api/v1/tickets/{old}/messages"),
        Some(&alex),
        &json!({"body": answer}),
    );
    assert_eq!(status, 201);
    let (status, _) = call(
        &server,
        "PATCH",
        &format!("/api/v1/tickets/{old}"),
        Some(&alex),
        &json!({"status": "resolved"}),
    );
    assert_eq!(status, 200);
    let new = open_ticket(
        &server,
        &carla,
        "Export of orders",
        "How do I export my orders? No export button anywhere.",
    );

    let agent = driver.session(&chromium);
    sign_in_browser(&agent, &server, "alex@example.com");
    agent.wait_text("#ticket-list a", "Export of orders");
    agent.goto(&server.url(&format!("/tickets/{new}")));
    agent.wait_text("#similar .similar-item a", "Where is the export button?");
    agent.click_text("#similar button.insert-answer", "Insert this answer");
    assert_eq!(reply_box(&agent), answer);
    agent.script("document.querySelector('#reply').value = ''; return true;");

    agent.click_text("#suggest-reply", "Suggest a reply");
    agent.wait_for("the streamed draft in the reply box", || {
        (reply_box(&agent) == "Hi Carla, the export button is under Reports.").then_some(())
    });
    agent.wait_text("#reply-form [aria-live]", "Draft ready");
    assert_accessible(&agent, "ticket page with suggestions");
    agent.screenshot(&shots, "41-suggested-reply");
    // Nothing went to the customer.
    let (_, ticket) = call(
        &server,
        "GET",
        &format!("/api/v1/tickets/{new}"),
        Some(&alex),
        &json!(null),
    );
    assert_eq!(ticket["messages"].as_array().unwrap().len(), 1, "{ticket}");
    let prompt = model.received()[0].json()["messages"].to_string();
    assert!(
        prompt.contains("No export button anywhere") && prompt.contains(answer),
        "{prompt}"
    );
    for (name, browser) in [("lead", &lead), ("agent", &agent)] {
        assert_no_console_errors(name, browser);
    }
}

/// The admin creates a webhook, copies its secret, pings it and sees the
/// ping delivered.
fn admin_wires_a_webhook(
    lead: &Browser,
    server: &Server,
    hooks: &Receiver,
    shots: &std::path::Path,
) {
    sign_in_browser(lead, server, "ada@example.com");
    lead.wait_text("header nav a", "Admin");
    lead.goto(&server.url("/admin/webhooks"));
    lead.fill(
        "form#create-webhook input[name=url]",
        &hooks.url("/helpline"),
    );
    submit(lead, "form#create-webhook");
    let secret = lead.text(&lead.wait_text("#webhook-secret", "whsec_"));
    lead.click_text("button.ping", "Send a ping");
    lead.wait_for("the ping at the receiver", || {
        hooks
            .received()
            .iter()
            .find(|r| r.header("helpline-event") == Some("ping"))
            .cloned()
    });
    lead.wait_for("the ping in the delivery log", || {
        lead.click_text("#deliveries button", "Refresh");
        lead.find_all("#deliveries td")
            .iter()
            .any(|cell| lead.text(cell) == "sent")
            .then_some(())
    });
    assert!(!secret.is_empty());
    assert_accessible(lead, "webhooks page");
    lead.screenshot(shots, "40-webhooks");
}

fn reply_box(browser: &Browser) -> String {
    browser
        .script("return document.querySelector('#reply').value;")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The admin (through the setup link), an agent and a customer.
fn team(server: &Server) {
    let (status, pair) = call(
        server,
        "POST",
        "/api/v1/auth/setup",
        None,
        &json!({"token": server.setup_token, "email": "ada@example.com", "name": "Ada Admin", "password": PASSWORD}),
    );
    assert_eq!(status, 201, "{pair}");
    let admin = pair["access_token"].as_str().unwrap().to_string();
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
    }
}
