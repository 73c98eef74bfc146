//! Satisfaction: the "resolved" mail carries three one-click rating links;
//! a rating is recorded from the link's token alone, a second replaces the
//! first, agents see it on the ticket, and a bad, expired or foreign link,
//! a deleted ticket or ratings turned off answer 404.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Delete, Get, Patch, Post, Put};
use serde_json::json;

struct Desk {
    app: TestApp,
    admin: Auth,
    agent: Auth,
    customer: Auth,
}

async fn desk() -> Desk {
    let app = TestApp::new().await;
    let (_, admin, _) = app.signed_in("admin@example.com", Role::Admin).await;
    let (_, agent, _) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, customer, _) = app.signed_in("c@customer.example", Role::Customer).await;
    Desk {
        app,
        admin: Auth::Bearer(admin),
        agent: Auth::Bearer(agent),
        customer: Auth::Bearer(customer),
    }
}

/// Opens a ticket as the customer, resolves it as the agent, and returns the
/// ticket's id and the links of the mail that says so (score -> URL).
async fn resolved(d: &Desk, subject: &str) -> (i64, Vec<(String, String)>) {
    let id = json(
        d.app
            .call(
                Post,
                "/api/v1/tickets",
                &d.customer,
                Some(json!({"subject": subject, "body": "help"})),
            )
            .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    d.app.deliver().await;
    let code = d
        .app
        .call(
            Patch,
            &format!("/api/v1/tickets/{id}"),
            &d.agent,
            Some(json!({"status": "resolved"})),
        )
        .await
        .status()
        .code;
    assert_eq!(code, 200);
    let mails = d.app.deliver().await;
    let mail = mails
        .iter()
        .find(|m| m.to == "c@customer.example")
        .expect("the requester hears the ticket is resolved");
    let links = mail
        .text
        .lines()
        .filter_map(|line| {
            let (label, url) = line.split_once(": ")?;
            url.contains("/rate?score=")
                .then(|| (label.to_lowercase(), url.trim().to_string()))
        })
        .collect();
    (id, links)
}

/// The token and score of a rating link.
fn token_and_score(url: &str) -> (String, String) {
    let (before, token) = url
        .split_once("#token=")
        .expect("the token is in the fragment");
    let score = before.rsplit_once("score=").unwrap().1.to_string();
    (token.to_string(), score)
}

async fn rate<'a>(
    d: &'a Desk,
    token: &str,
    body: serde_json::Value,
) -> rocket::local::asynchronous::LocalResponse<'a> {
    d.app
        .call(
            Post,
            &format!("/api/v1/ratings/{token}"),
            &Auth::None,
            Some(body),
        )
        .await
}

#[rocket::async_test]
async fn one_click_rates_a_resolved_ticket_and_a_second_rating_replaces_the_first() {
    let d = desk().await;
    let (id, links) = resolved(&d, "Printer jams").await;
    let labels: Vec<&str> = links.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["good", "okay", "bad"]);
    let (token, score) = token_and_score(&links[0].1);
    assert_eq!(score, "good");

    let ticket = json(
        d.app
            .call(Get, &format!("/api/v1/tickets/{id}"), &d.agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["rating"], serde_json::Value::Null, "not rated yet");
    let rated = rate(&d, &token, json!({"score": "good"})).await;
    assert_eq!(rated.status().code, 201);
    let ticket = json(
        d.app
            .call(Get, &format!("/api/v1/tickets/{id}"), &d.agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["rating"]["score"], "good");
    assert_eq!(ticket["rating"]["comment"], serde_json::Value::Null);

    // The comment box of the page sends the score again with the comment.
    let again = json(
        rate(
            &d,
            &token,
            json!({"score": "okay", "comment": "  Took a while  "}),
        )
        .await,
    )
    .await;
    assert_eq!(again["score"], "okay");
    let ticket = json(
        d.app
            .call(Get, &format!("/api/v1/tickets/{id}"), &d.agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["rating"]["score"], "okay");
    assert_eq!(ticket["rating"]["comment"], "Took a while");
    // Opening the link again (the page posts the score alone) keeps the comment.
    let reopened = json(rate(&d, &token, json!({"score": "okay"})).await).await;
    assert_eq!(reopened["comment"], "Took a while");
    let listed = d.app.tickets(&d.agent, "status=resolved").await;
    assert_eq!(listed["items"][0]["rating"]["score"], "okay");

    // The customer never sees the rating field.
    let own = json(
        d.app
            .call(Get, &format!("/api/v1/tickets/{id}"), &d.customer, None)
            .await,
    )
    .await;
    assert!(own.get("rating").is_none(), "{own}");

    // A wrong score or an unknown field is a 422 and changes nothing.
    problem(rate(&d, &token, json!({"score": "great"})).await, 422).await;
    problem(
        rate(&d, &token, json!({"score": "bad", "stars": 5})).await,
        422,
    )
    .await;
    let long = "x".repeat(2_001);
    problem(
        rate(&d, &token, json!({"score": "bad", "comment": long})).await,
        422,
    )
    .await;
    let ticket = json(
        d.app
            .call(Get, &format!("/api/v1/tickets/{id}"), &d.agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["rating"]["score"], "okay");
}

#[rocket::async_test]
async fn bad_expired_foreign_or_dead_links_are_404() {
    let d = desk().await;
    let (id, links) = resolved(&d, "Refund").await;
    let (token, _) = token_and_score(&links[2].1);
    let keys = &d.app.state().keys;
    let now = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .unsigned_abs();
    let claims = |aud: &str, sub: String, exp: u64| helpline::auth::tokens::PurposeClaims {
        sub,
        tv: 0,
        jti: "test".into(),
        iat: now - 40 * 86_400,
        exp,
        aud: aud.into(),
    };
    let expired = keys
        .sign(&claims(
            helpline::ratings::AUDIENCE,
            id.to_string(),
            now - 3_600,
        ))
        .unwrap();
    let other_purpose = keys
        .sign(&claims(
            "helpline:password-reset",
            id.to_string(),
            now + 3_600,
        ))
        .unwrap();
    for bad in [
        expired.as_str(),
        other_purpose.as_str(),
        "not-a-token",
        "a.b.c",
    ] {
        problem(rate(&d, bad, json!({"score": "good"})).await, 404).await;
    }
    // A link of a deleted ticket rates nothing.
    let deleted = d
        .app
        .call(Delete, &format!("/api/v1/tickets/{id}"), &d.admin, None)
        .await
        .status()
        .code;
    assert_eq!(deleted, 204);
    problem(rate(&d, &token, json!({"score": "good"})).await, 404).await;
}

#[rocket::async_test]
async fn with_ratings_off_the_mail_has_no_links_and_links_rate_nothing() {
    let d = desk().await;
    let (id, links) = resolved(&d, "Before").await;
    let (token, _) = token_and_score(&links[0].1);
    let off = d
        .app
        .call(
            Put,
            "/api/v1/settings",
            &d.admin,
            Some(json!({"csat_enabled": false})),
        )
        .await
        .status()
        .code;
    assert_eq!(off, 200);
    let (_, none) = resolved(&d, "After").await;
    assert!(none.is_empty(), "{none:?}");
    problem(rate(&d, &token, json!({"score": "good"})).await, 404).await;
    let ticket = json(
        d.app
            .call(Get, &format!("/api/v1/tickets/{id}"), &d.agent, None)
            .await,
    )
    .await;
    assert_eq!(ticket["rating"], serde_json::Value::Null);
}
