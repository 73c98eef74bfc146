//! Webhooks against a real HTTP receiver on loopback: signatures, stable
//! delivery ids, retries through an outage in order per ticket, failures
//! until dead, redelivery, internal notes, chat formats, and the guard
//! against private targets.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::receiver::{Receiver, Reply, Request};
use common::{json, Auth, TestApp};
use helpline::actor::Role;
use helpline::Config;
use hmac::{Hmac, Mac as _};
use rocket::http::Method;
use serde_json::{json, Value};
use sha2::Sha256;

fn allowing_private(c: &mut Config) {
    c.webhooks.allow_private = true;
    c.webhooks.retry_base_secs = 1;
}

struct Desk {
    app: TestApp,
    admin: Auth,
    agent: Auth,
    customer: Auth,
}

async fn desk(tweak: impl FnOnce(&mut Config)) -> Desk {
    let app = TestApp::with(tweak, Vec::new()).await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("ann@example.com", Role::Customer).await;
    Desk {
        app,
        admin: Auth::Bearer(admin),
        agent: Auth::Bearer(agent),
        customer: Auth::Bearer(customer),
    }
}

impl Desk {
    async fn hook(&self, body: Value) -> Value {
        let res = self
            .app
            .call(Method::Post, "/api/v1/webhooks", &self.admin, Some(body))
            .await;
        assert_eq!(res.status().code, 201);
        json(res).await
    }

    async fn ticket(&self, subject: &str) -> i64 {
        let res = self
            .app
            .call(
                Method::Post,
                "/api/v1/tickets",
                &self.customer,
                Some(json!({ "subject": subject, "body": "It does not print." })),
            )
            .await;
        assert_eq!(res.status().code, 201);
        json(res).await["id"].as_i64().unwrap()
    }

    async fn message(&self, ticket: i64, body: &str, internal: bool) {
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

    async fn set_priority(&self, ticket: i64, priority: &str) {
        let res = self
            .app
            .call(
                Method::Patch,
                &format!("/api/v1/tickets/{ticket}"),
                &self.agent,
                Some(json!({ "priority": priority })),
            )
            .await;
        assert_eq!(res.status().code, 200);
    }

    async fn patch_hook(&self, hook: i64, body: Value) {
        let path = format!("/api/v1/webhooks/{hook}");
        let res = self
            .app
            .call(Method::Patch, &path, &self.admin, Some(body))
            .await;
        assert_eq!(res.status().code, 200);
    }

    async fn drain(&self) -> helpline::queue::DrainReport {
        self.app.state().webhooks.drain_once().await.unwrap()
    }

    /// Makes every waiting delivery due now, as if its backoff had passed;
    /// later ones fall due first, so only the order guard keeps a ticket's
    /// deliveries in order.
    async fn time_passes(&self) {
        self.app
            .state()
            .db
            .write(|tx| {
                tx.execute(
                    "UPDATE webhook_deliveries
                     SET next_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ', '2000-01-01', '-' || id || ' seconds')
                     WHERE status IN ('pending', 'failed')",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }

    async fn deliveries(&self, hook: i64) -> Vec<Value> {
        let res = self
            .app
            .call(
                Method::Get,
                &format!("/api/v1/webhooks/{hook}/deliveries?per_page=100"),
                &self.admin,
                None,
            )
            .await;
        assert_eq!(res.status().code, 200);
        json(res).await["items"].as_array().unwrap().clone()
    }
}

fn verify(secret: &str, request: &Request) -> bool {
    let header = request.header("helpline-signature").unwrap();
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

#[tokio::test]
async fn a_json_delivery_is_signed_and_described_by_its_headers() {
    let d = desk(allowing_private).await;
    let receiver = Receiver::start(|_| Reply::Status(204)).await;
    let created = d
        .hook(json!({ "url": receiver.url("/hook"), "events": ["ticket.created"] }))
        .await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let hook = created["id"].as_i64().unwrap();
    assert_eq!(created["format"], "json");
    // The secret is shown once.
    let shown = json(
        d.app
            .call(
                Method::Get,
                &format!("/api/v1/webhooks/{hook}"),
                &d.admin,
                None,
            )
            .await,
    )
    .await;
    assert!(shown.get("secret").is_none() && shown["url"] == receiver.url("/hook"));
    let listed = json(
        d.app
            .call(Method::Get, "/api/v1/webhooks", &d.admin, None)
            .await,
    )
    .await;
    assert!(!listed.to_string().contains(&secret));

    let ticket = d.ticket("Printer on fire").await;
    assert_eq!(d.drain().await.sent, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1, "only the event the hook takes");
    let request = &got[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/hook")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("helpline-event"), Some("ticket.created"));
    assert!(
        verify(&secret, request),
        "the signature verifies with the secret"
    );
    assert!(!verify("whsec_wrong", request), "and fails with another");
    let body = request.json();
    let delivery = d.deliveries(hook).await;
    assert_eq!(body["id"], delivery[0]["id"]);
    assert_eq!(
        request.header("helpline-delivery"),
        Some(delivery[0]["id"].to_string().as_str())
    );
    assert_eq!(body["event"], "ticket.created");
    assert_eq!(body["data"]["id"], ticket);
    assert_eq!(body["data"]["subject"], "Printer on fire");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(delivery[0]["status"], "sent");
    assert_eq!(delivery[0]["response_status"], 204);
    assert_eq!(delivery[0]["attempts"], 1);
}

#[tokio::test]
async fn internal_notes_only_reach_webhooks_that_take_them() {
    let d = desk(allowing_private).await;
    let receiver = Receiver::start(|_| Reply::Status(200)).await;
    let events = json!(["message.created"]);
    d.hook(json!({ "url": receiver.url("/all"), "events": events, "include_internal": true }))
        .await;
    d.hook(json!({ "url": receiver.url("/public"), "events": events }))
        .await;
    let ticket = d.ticket("Refund").await;
    d.message(ticket, "Customer is a reseller, secret margin 40%", true)
        .await;
    d.message(ticket, "We have sent the refund.", false).await;
    d.drain().await;
    let bodies = |path: &str| -> Vec<String> {
        receiver
            .received()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| {
                r.json()["data"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    let all = bodies("/all");
    assert!(all.iter().any(|b| b.contains("secret margin")), "{all:?}");
    assert!(all.iter().any(|b| b.contains("sent the refund")));
    let public = bodies("/public");
    assert!(
        public.iter().any(|b| b.contains("sent the refund")),
        "{public:?}"
    );
    assert!(
        receiver
            .received()
            .iter()
            .filter(|r| r.path == "/public")
            .all(|r| !String::from_utf8_lossy(&r.body).contains("secret margin")),
        "an internal note never reaches a webhook without include_internal"
    );
}

#[tokio::test]
async fn after_an_outage_every_delivery_arrives_in_order_per_ticket() {
    let d = desk(|c| {
        allowing_private(c);
        c.webhooks.max_attempts = 20;
    })
    .await;
    let requests = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start_on(
        0,
        Arc::clone(&requests),
        Arc::new(|_: &Request| Reply::Status(200)),
    )
    .await;
    let port = receiver.port;
    receiver.stop();
    let hook = d
        .hook(json!({ "url": format!("http://127.0.0.1:{port}/in"), "events": ["*"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    let (a, b) = (d.ticket("First").await, d.ticket("Second").await);
    for priority in ["high", "low", "urgent"] {
        d.set_priority(a, priority).await;
        d.set_priority(b, priority).await;
    }
    // Down: every first attempt fails and nothing is lost.
    for _ in 0..3 {
        let report = d.drain().await;
        assert_eq!(report.sent, 0);
        d.time_passes().await;
    }
    let log = d.deliveries(hook).await;
    assert!(log.len() >= 8, "{}", log.len());
    assert!(log
        .iter()
        .all(|x| x["status"] != "sent" && x["status"] != "dead"));
    assert!(
        log.iter().any(|x| x["attempts"].as_u64().unwrap() >= 2),
        "heads were retried"
    );
    assert!(
        log.iter().any(|x| x["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("connect"))),
        "{log:?}"
    );

    // Up again on the same port.
    let _up = Receiver::start_on(
        port,
        Arc::clone(&requests),
        Arc::new(|_: &Request| Reply::Status(200)),
    )
    .await;
    for _ in 0..10 {
        d.time_passes().await;
        d.drain().await;
    }
    let log = d.deliveries(hook).await;
    assert!(log.iter().all(|x| x["status"] == "sent"), "{log:?}");
    let got = requests.lock().unwrap().clone();
    let mut arrived: Vec<i64> = got
        .iter()
        .map(|r| r.json()["id"].as_i64().unwrap())
        .collect();
    for ticket in [a, b] {
        let ids: Vec<i64> = got
            .iter()
            .filter(|r| {
                let data = &r.json()["data"];
                data["id"] == ticket && data.get("subject").is_some() || data["ticket_id"] == ticket
            })
            .map(|r| r.json()["id"].as_i64().unwrap())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "ticket {ticket}'s deliveries arrived in order");
        assert!(ids.len() >= 4, "{ids:?}");
    }
    // Every delivery of the log arrived, under the id the log shows.
    arrived.sort_unstable();
    arrived.dedup();
    let mut logged: Vec<i64> = log.iter().map(|x| x["id"].as_i64().unwrap()).collect();
    logged.sort_unstable();
    assert_eq!(arrived, logged);
}

#[tokio::test]
async fn refusals_errors_and_silence_are_retried_until_dead_then_redelivered() {
    let d = desk(|c| {
        allowing_private(c);
        c.webhooks.max_attempts = 3;
        c.webhooks.timeout_secs = 1;
        c.webhooks.lease_secs = 30;
    })
    .await;
    let healthy = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&healthy);
    let receiver = Receiver::start(move |r| {
        if *flag.lock().unwrap() {
            return Reply::Status(200);
        }
        match r.path.as_str() {
            "/500" => Reply::Status(500),
            "/404" => Reply::Status(404),
            _ => Reply::Hang(Duration::from_secs(5)),
        }
    })
    .await;
    let mut hooks = Vec::new();
    for path in ["/500", "/404", "/slow"] {
        let created = d
            .hook(json!({ "url": receiver.url(path), "events": ["ticket.created"] }))
            .await;
        hooks.push(created["id"].as_i64().unwrap());
    }
    d.ticket("Broken").await;
    for _ in 0..3 {
        d.drain().await;
        d.time_passes().await;
    }
    let mut last = Vec::new();
    for (hook, expect) in hooks.iter().zip([Some(500u16), Some(404), None]) {
        let log = d.deliveries(*hook).await;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["status"], "dead", "{log:?}");
        assert_eq!(log[0]["attempts"], 3);
        assert_eq!(log[0]["response_status"].as_u64(), expect.map(u64::from));
        last.push(log[0].clone());
    }
    assert!(
        last[2]["last_error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{:?}",
        last[2]
    );
    let delivered_ids: Vec<String> = receiver
        .received()
        .iter()
        .filter(|r| r.path == "/500")
        .map(|r| r.header("helpline-delivery").unwrap().to_string())
        .collect();
    assert_eq!(delivered_ids.len(), 3);
    assert!(
        delivered_ids
            .iter()
            .all(|id| id.parse::<i64>().ok() == last[0]["id"].as_i64()),
        "the same id on every attempt"
    );

    // Redeliver the dead one once the receiver is well.
    *healthy.lock().unwrap() = true;
    let path = format!(
        "/api/v1/webhooks/{}/deliveries/{}/redeliver",
        hooks[0], last[0]["id"]
    );
    let res = d.app.call(Method::Post, &path, &d.admin, None).await;
    assert_eq!(res.status().code, 200);
    assert_eq!(json(res).await["status"], "pending");
    let again = d.app.call(Method::Post, &path, &d.admin, None).await;
    assert_eq!(again.status().code, 409, "already queued");
    assert_eq!(d.drain().await.sent, 1);
    let log = d.deliveries(hooks[0]).await;
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_u64()),
        (Some("sent"), Some(1))
    );
    let wrong = format!(
        "/api/v1/webhooks/{}/deliveries/{}/redeliver",
        hooks[1], last[0]["id"]
    );
    assert_eq!(
        d.app
            .call(Method::Post, &wrong, &d.admin, None)
            .await
            .status()
            .code,
        404
    );
}

#[tokio::test]
async fn chat_formats_post_a_readable_line_with_the_ticket_link() {
    let d = desk(|c| {
        allowing_private(c);
        c.base_url = Some("https://help.example.com".into());
    })
    .await;
    let receiver = Receiver::start(|_| Reply::Status(200)).await;
    for format in ["slack", "teams", "discord"] {
        d.hook(json!({ "url": receiver.url(&format!("/{format}")), "events": ["ticket.created"], "format": format }))
            .await;
    }
    let ticket = d.ticket("Printer <on> fire").await;
    d.drain().await;
    let body = |path: &str| {
        receiver
            .received()
            .iter()
            .find(|r| r.path == path)
            .unwrap()
            .json()
    };
    let link = format!("https://help.example.com/tickets/{ticket}");
    let slack = body("/slack")["text"].as_str().unwrap().to_string();
    assert!(
        slack.contains(&format!("<{link}|#{ticket} Printer &lt;on&gt; fire>")),
        "{slack}"
    );
    assert!(
        slack.contains("ann@example.com") && slack.contains("open"),
        "{slack}"
    );
    let discord = body("/discord");
    assert!(discord["content"].as_str().unwrap().contains(&link));
    assert_eq!(discord["allowed_mentions"]["parse"], json!([]));
    let teams = body("/teams");
    assert_eq!(
        teams["attachments"][0]["content"]["actions"][0]["url"],
        link
    );
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let d = desk(|_| {}).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "http://localhost:9/hook",
    ] {
        let res = d
            .app
            .call(
                Method::Post,
                "/api/v1/webhooks",
                &d.admin,
                Some(json!({ "url": url, "events": ["*"] })),
            )
            .await;
        let problem = common::problem(res, 422).await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
        assert!(problem.to_string().contains("allow_private"), "{problem}");
    }
    let res = d
        .app
        .call(
            Method::Post,
            "/api/v1/webhooks",
            &d.admin,
            Some(json!({ "url": "https://hooks.example.com/x", "events": ["nope"] })),
        )
        .await;
    assert_eq!(
        common::problem(res, 422).await["errors"][0]["field"],
        "events"
    );
    let res = d
        .app
        .call(
            Method::Post,
            "/api/v1/webhooks",
            &d.agent,
            Some(json!({ "url": "https://hooks.example.com/x", "events": ["*"] })),
        )
        .await;
    assert_eq!(res.status().code, 403);
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_guard_holds_at_send_time() {
    let d = desk(allowing_private).await;
    let inner = Receiver::start(|_| Reply::Status(200)).await;
    let to = inner.url("/inner");
    let outer = Receiver::start(move |_| Reply::Redirect(to.clone())).await;
    let hook = d
        .hook(json!({ "url": outer.url("/outer"), "events": ["ticket.created"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    d.ticket("Hello").await;
    assert_eq!(d.drain().await.retrying, 1);
    assert_eq!(outer.received().len(), 1);
    assert!(inner.received().is_empty(), "the redirect was not followed");
    let log = d.deliveries(hook).await;
    assert_eq!(log[0]["response_status"], 302);
    assert!(log[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));

    // A name that resolves to loopback, stored while private targets were
    // allowed, is refused when they no longer are.
    let path = format!("http://localhost:{}/named", inner.port);
    let named = d
        .hook(json!({ "url": path, "events": ["ticket.created"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    d.time_passes().await;
    let Desk { app, .. } = d;
    let app = app.restart().await;
    let login = |email: &'static str| {
        let app = &app;
        async move {
            Auth::Bearer(
                app.login(email, common::PASSWORD).await["access_token"]
                    .as_str()
                    .unwrap()
                    .into(),
            )
        }
    };
    let (admin, customer) = (
        login("admin@example.com").await,
        login("ann@example.com").await,
    );
    let res = app
        .call(
            Method::Post,
            "/api/v1/tickets",
            &customer,
            Some(json!({ "subject": "Hi", "body": "there" })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    app.state().webhooks.drain_once().await.unwrap();
    assert!(inner.received().is_empty(), "nothing reached loopback");
    assert_eq!(
        outer.received().len(),
        1,
        "nor the literal loopback address"
    );
    for id in [hook, named] {
        let log = json(
            app.call(
                Method::Get,
                &format!("/api/v1/webhooks/{id}/deliveries"),
                &admin,
                None,
            )
            .await,
        )
        .await;
        let delivery = &log["items"][0];
        assert_eq!(delivery["status"], "dead", "{delivery}");
        assert!(
            delivery["last_error"]
                .as_str()
                .unwrap()
                .contains("allow_private"),
            "{delivery}"
        );
    }
}

#[tokio::test]
async fn a_webhook_as_it_is_now_decides_what_queued_deliveries_may_send() {
    let d = desk(|c| {
        allowing_private(c);
        c.webhooks.max_attempts = 5;
    })
    .await;
    let healthy = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&healthy);
    let receiver = Receiver::start(move |_| {
        if *flag.lock().unwrap() {
            Reply::Status(200)
        } else {
            Reply::Status(503)
        }
    })
    .await;
    let created = d
        .hook(json!({ "url": receiver.url("/notes"), "events": ["message.created"], "include_internal": true }))
        .await;
    let hook = created["id"].as_i64().unwrap();
    let ticket = d.ticket("Refund").await;
    d.message(ticket, "Reseller with a secret margin", true)
        .await;
    assert_eq!(
        d.drain().await.retrying,
        1,
        "the first (customer) message fails"
    );
    // Internal notes are no longer wanted: the queued note must not go out.
    d.patch_hook(hook, json!({ "include_internal": false }))
        .await;
    *healthy.lock().unwrap() = true;
    for _ in 0..3 {
        d.time_passes().await;
        d.drain().await;
    }
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.body).contains("secret margin")),
        "a queued internal note was sent after include_internal was turned off"
    );
    let log = d.deliveries(hook).await;
    let note = log
        .iter()
        .find(|x| x["status"] == "dead")
        .expect("the note is dead");
    assert!(
        note["last_error"].as_str().unwrap().contains("internal"),
        "{note}"
    );
    let path = format!(
        "/api/v1/webhooks/{hook}/deliveries/{}/redeliver",
        note["id"]
    );
    assert_eq!(
        d.app
            .call(Method::Post, &path, &d.admin, None)
            .await
            .status()
            .code,
        409
    );

    // Turned off: what is queued is not sent either.
    d.patch_hook(hook, json!({ "active": false, "include_internal": true }))
        .await;
    let before = receiver.received().len();
    let other = d.ticket("Another").await;
    assert_eq!(
        d.deliveries(hook).await.len(),
        log.len(),
        "an inactive webhook takes no new events"
    );
    d.patch_hook(hook, json!({ "active": true })).await;
    d.message(other, "A public answer", false).await;
    d.patch_hook(hook, json!({ "active": false })).await;
    d.drain().await;
    assert_eq!(receiver.received().len(), before);
    let latest = &d.deliveries(hook).await[0];
    assert_eq!(latest["status"], "dead");
    assert!(
        latest["last_error"]
            .as_str()
            .unwrap()
            .contains("turned off"),
        "{latest}"
    );
}

#[tokio::test]
async fn a_busy_webhook_does_not_hold_back_the_others() {
    let d = desk(allowing_private).await;
    let receiver = Receiver::start(|_| Reply::Status(200)).await;
    let slow = d
        .hook(json!({ "url": receiver.url("/slow"), "events": ["ticket.created"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    let fast = d
        .hook(json!({ "url": receiver.url("/fast"), "events": ["ticket.created"] }))
        .await["id"]
        .as_i64()
        .unwrap();
    d.ticket("One").await;
    // With the slow webhook at its limit of sends in flight, the claim
    // passes over it to the other webhook's delivery.
    let claimed = d
        .app
        .state()
        .db
        .write(move |tx| helpline::webhooks::repo::claim_due(tx, 60, &[slow]))
        .await
        .unwrap()
        .expect("a delivery");
    assert_eq!(claimed.webhook_id, fast);
}
