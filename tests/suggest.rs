//! Suggested replies: similar resolved tickets on a generated help desk, and
//! drafts from a fake OpenAI-compatible server on loopback that streams real
//! `text/event-stream` chunks the way the `OpenAI` API sends them.

mod common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::{json, Auth, TestApp};
use helpline::actor::Role;
use helpline::config::Secret;
use rocket::http::Method;
use serde_json::{json, Value};

/// An `OpenAI` chat-completions stream chunk.
fn chunk(delta: &Value, finish: Option<&str>) -> String {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    });
    format!("data: {body}\n\n")
}

fn streamed(words: &[&str], complete: bool) -> Reply {
    let pause = Duration::from_millis(20);
    let mut chunks = vec![(
        pause,
        chunk(&json!({ "role": "assistant", "content": "" }), None),
    )];
    for w in words {
        chunks.push((pause, chunk(&json!({ "content": w }), None)));
    }
    if complete {
        chunks.push((pause, chunk(&json!({}), Some("stop"))));
        chunks.push((pause, "data: [DONE]\n\n".to_string()));
    }
    Reply::Stream { chunks, complete }
}

/// The (event, data) frames of an SSE body.
fn sse_frames(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|frame| {
            let mut event = "message".to_string();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (!data.is_empty()).then(|| (event, serde_json::from_str(&data).unwrap()))
        })
        .collect()
}

struct Desk {
    app: TestApp,
    agent: Auth,
    customer: Auth,
}

async fn desk(tweak: impl FnOnce(&mut helpline::Config)) -> Desk {
    let app = TestApp::with(tweak, Vec::new()).await;
    let (_, agent, _) = app.signed_in("bo@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("ann@example.com", Role::Customer).await;
    Desk {
        app,
        agent: Auth::Bearer(agent),
        customer: Auth::Bearer(customer),
    }
}

impl Desk {
    async fn ticket(&self, subject: &str, body: &str) -> i64 {
        let res = self
            .app
            .call(
                Method::Post,
                "/api/v1/tickets",
                &self.customer,
                Some(json!({ "subject": subject, "body": body })),
            )
            .await;
        assert_eq!(res.status().code, 201);
        json(res).await["id"].as_i64().unwrap()
    }

    async fn say(&self, ticket: i64, body: &str, internal: bool) {
        let res = self
            .app
            .call(
                Method::Post,
                &format!("/api/v1/tickets/{ticket}/messages"),
                &self.agent,
                Some(json!({ "body": body, "internal": internal })),
            )
            .await;
        assert_eq!(res.status().code, 201);
    }

    async fn resolve(&self, ticket: i64) {
        let res = self
            .app
            .call(
                Method::Patch,
                &format!("/api/v1/tickets/{ticket}"),
                &self.agent,
                Some(json!({ "status": "resolved" })),
            )
            .await;
        assert_eq!(res.status().code, 200);
    }

    async fn draft(&self, ticket: i64) -> (u16, String) {
        let res = self
            .app
            .call(
                Method::Get,
                &format!("/api/v1/tickets/{ticket}/ai-reply"),
                &self.agent,
                None,
            )
            .await;
        let status = res.status().code;
        (status, res.into_string().await.unwrap_or_default())
    }
}

const TOPICS: &[(&str, &str)] = &[
    (
        "Password reset link expired",
        "The reset link in the email says it expired before I clicked it.",
    ),
    (
        "Cannot connect the label printer",
        "The thermal label printer is not found over USB on Windows.",
    ),
    (
        "Shipping to Norway",
        "Do you ship to Norway and how long does customs take?",
    ),
    (
        "Change the billing address",
        "We moved offices and need a new billing address on the account.",
    ),
    (
        "Export of all orders",
        "How can I export every order of last year as a spreadsheet?",
    ),
    (
        "Two factor codes not arriving",
        "The SMS codes for two factor sign-in never arrive on my phone.",
    ),
];

/// A generated help desk: many resolved tickets on other topics, one open
/// ticket on the asked topic (never suggested), one resolved match and a
/// near miss. Returns (the open twin, the expected match).
async fn generated(d: &Desk) -> (i64, i64) {
    for round in 0..15 {
        for (subject, body) in TOPICS {
            let id = d.ticket(&format!("{subject} ({round})"), body).await;
            d.say(id, &format!("Here is how to fix it, round {round}."), false)
                .await;
            d.resolve(id).await;
        }
    }
    let open_twin = d
        .ticket(
            "Invoice PDF lacks our VAT number",
            "The VAT number is missing on the invoice PDF.",
        )
        .await;
    let expected = d
        .ticket(
            "VAT number missing from invoice PDF",
            "Our invoice PDF does not show the VAT number, accounting needs it.",
        )
        .await;
    d.say(expected, "Internal: customer is on the legacy plan", true)
        .await;
    d.say(
        expected,
        "Add the VAT number under Settings > Billing; new invoice PDFs show it.",
        false,
    )
    .await;
    d.resolve(expected).await;
    let near = d
        .ticket(
            "Invoice sent twice",
            "We got the same invoice twice this month.",
        )
        .await;
    d.say(
        near,
        "That was a duplicate mail; you were charged once.",
        false,
    )
    .await;
    d.resolve(near).await;

    (open_twin, expected)
}

#[tokio::test]
async fn similar_tickets_rank_the_matching_resolved_one_first_with_its_answer() {
    let d = desk(|_| {}).await;
    let (open_twin, expected) = generated(&d).await;
    let asking = d
        .ticket(
            "Where is the VAT number on invoices?",
            "Hello, my invoice PDF has no VAT number. Can you add it?",
        )
        .await;
    let res = d
        .app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{asking}/similar"),
            &d.agent,
            None,
        )
        .await;
    assert_eq!(res.status().code, 200);
    let items = json(res).await["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    assert_eq!(items[0]["ticket_id"], expected, "{items:?}");
    assert_eq!(items[0]["subject"], "VAT number missing from invoice PDF");
    let excerpt = items[0]["answer_excerpt"].as_str().unwrap();
    assert!(
        excerpt.starts_with("Add the VAT number under Settings"),
        "{excerpt}"
    );
    assert!(
        !Value::from(items.clone())
            .to_string()
            .contains("legacy plan"),
        "internal notes are not answers"
    );
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["ticket_id"].as_i64().unwrap())
        .collect();
    assert!(
        !ids.contains(&open_twin) && !ids.contains(&asking),
        "only resolved tickets, never itself"
    );
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Agents only; 404 for no ticket.
    let res = d
        .app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{asking}/similar"),
            &d.customer,
            None,
        )
        .await;
    assert!(matches!(res.status().code, 403 | 404));
    let res = d
        .app
        .call(
            Method::Get,
            "/api/v1/tickets/999999/similar",
            &d.agent,
            None,
        )
        .await;
    assert_eq!(res.status().code, 404);
}

fn with_model(url: String) -> impl FnOnce(&mut helpline::Config) {
    move |c| {
        c.ai.base_url = Some(url);
        c.ai.model = Some("test-model".into());
        c.ai.api_key = Some(Secret::new("sk-test-123"));
        c.ai.per_agent_per_hour = 3;
    }
}

#[tokio::test]
async fn a_draft_streams_in_order_and_the_prompt_holds_the_conversation_but_no_notes() {
    let model =
        Receiver::start(|_| streamed(&["Hello Ann", ", the refund ", "is on its way."], true))
            .await;
    let d = desk(with_model(model.url("/v1"))).await;
    let old = d
        .ticket(
            "Refund for a double charge",
            "I was charged twice for order 4411.",
        )
        .await;
    d.say(
        old,
        "We refunded the second charge; it shows in 3-5 days.",
        false,
    )
    .await;
    d.resolve(old).await;
    let ticket = d
        .ticket(
            "Charged twice, need a refund",
            "My card was charged twice for one order.",
        )
        .await;
    d.say(
        ticket,
        "Customer threatened a chargeback, handle with care",
        true,
    )
    .await;

    let (status, body) = d.draft(ticket).await;
    assert_eq!(status, 200, "{body}");
    let frames = sse_frames(&body);
    let deltas: Vec<&str> = frames
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, ["Hello Ann", ", the refund ", "is on its way."]);
    let last = frames.last().unwrap();
    assert_eq!(last.0, "done");
    assert_eq!(last.1["text"], "Hello Ann, the refund is on its way.");

    let requests = model.received();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test-123"));
    let sent = request.json();
    assert_eq!(
        (sent["model"].as_str(), sent["stream"].as_bool()),
        (Some("test-model"), Some(true))
    );
    assert_eq!(sent["max_tokens"], 800);
    let prompt = sent["messages"].to_string();
    for expected in [
        "Helpline",
        "Test User",
        "charged twice for one order",
        "We refunded the second charge",
    ] {
        assert!(
            prompt.contains(expected),
            "{expected} missing from {prompt}"
        );
    }
    assert!(
        !prompt.contains("chargeback"),
        "internal notes stay out by default"
    );

    // Each use is audited, without the prompt.
    let admin = common::Auth::ApiKey(d.app.api_key(Role::Admin).await);
    let log = json(
        d.app
            .call(
                Method::Get,
                "/api/v1/admin/audit?per_page=100",
                &admin,
                None,
            )
            .await,
    )
    .await;
    let entry = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "ai.reply_suggested")
        .unwrap()
        .clone();
    assert_eq!(entry["ticket_id"], ticket);
    assert!(!entry.to_string().contains("charged twice"), "{entry}");
}

#[tokio::test]
async fn internal_notes_go_to_the_model_only_when_configured() {
    let model = Receiver::start(|_| streamed(&["Ok"], true)).await;
    let d = desk(|c| {
        with_model(model.url("/v1"))(c);
        c.ai.include_internal = true;
    })
    .await;
    let ticket = d.ticket("Slow site", "Pages take ten seconds.").await;
    d.say(
        ticket,
        "Probably the CDN misconfiguration from Monday",
        true,
    )
    .await;
    assert_eq!(d.draft(ticket).await.0, 200);
    assert!(model.received()[0].json()["messages"]
        .to_string()
        .contains("CDN misconfiguration"));
}

#[tokio::test]
async fn provider_refusals_and_broken_streams_become_error_events() {
    let refusing = Receiver::start(|_| {
        Reply::Json(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#
                .into(),
        )
    })
    .await;
    let d = desk(with_model(refusing.url("/v1"))).await;
    let ticket = d.ticket("Help", "Something broke.").await;
    let (status, body) = d.draft(ticket).await;
    assert_eq!(status, 200);
    let got = sse_frames(&body);
    assert_eq!(got.len(), 1, "{body}");
    let (event, problem) = &got[0];
    assert_eq!(event, "error");
    assert_eq!(problem["type"], "urn:helpline:problem:ai-unauthorized");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("Incorrect API key provided"));
    assert!(problem["request_id"].is_string() && problem["status"].is_u64());

    let breaking = Receiver::start(|_| streamed(&["Hello", " there"], false)).await;
    let d = desk(with_model(breaking.url("/v1"))).await;
    let ticket = d.ticket("Help", "Something broke.").await;
    let frames = sse_frames(&d.draft(ticket).await.1);
    let events: Vec<&str> = frames.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(events, ["delta", "delta", "error"], "{frames:?}");
    assert_eq!(frames[2].1["type"], "urn:helpline:problem:ai-stream-broken");

    let silent = Receiver::start(|_| Reply::Hang(Duration::from_secs(5))).await;
    let d = desk(|c| {
        with_model(silent.url("/v1"))(c);
        c.ai.timeout_secs = 1;
    })
    .await;
    let ticket = d.ticket("Help", "Something broke.").await;
    let frames = sse_frames(&d.draft(ticket).await.1);
    assert_eq!(
        frames[0].1["type"], "urn:helpline:problem:ai-timeout",
        "{frames:?}"
    );
}

#[tokio::test]
async fn without_a_model_the_answer_is_503_and_drafts_are_limited_per_agent() {
    let d = desk(|_| {}).await;
    let ticket = d.ticket("Help", "Something broke.").await;
    let res = d
        .app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}/ai-reply"),
            &d.agent,
            None,
        )
        .await;
    let problem = common::problem(res, 503).await;
    assert_eq!(problem["type"], "urn:helpline:problem:ai-not-configured");

    let model = Receiver::start(|_| streamed(&["Ok"], true)).await;
    let d = desk(with_model(model.url("/v1"))).await;
    let ticket = d.ticket("Help", "Something broke.").await;
    let res = d
        .app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}/ai-reply"),
            &d.customer,
            None,
        )
        .await;
    assert!(matches!(res.status().code, 403 | 404));
    for _ in 0..3 {
        assert_eq!(d.draft(ticket).await.0, 200);
    }
    let res = d
        .app
        .call(
            Method::Get,
            &format!("/api/v1/tickets/{ticket}/ai-reply"),
            &d.agent,
            None,
        )
        .await;
    assert_eq!(res.status().code, 429);
    assert!(res.headers().get_one("Retry-After").is_some());
    assert_eq!(model.received().len(), 3);
}
