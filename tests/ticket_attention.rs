//! What needs an agent's attention: `unread` (a requester message since the
//! agent last saw the ticket), following (mail and a view), and message
//! bodies rendered from Markdown without anything active getting through.

mod common;

use common::{json, problem, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Delete, Get, Post, Put};
use serde_json::{json, Value};

async fn open(app: &TestApp, auth: &Auth, subject: &str, body: &str) -> i64 {
    let res = app
        .call(
            Post,
            "/api/v1/tickets",
            auth,
            Some(json!({ "subject": subject, "body": body })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    json(res).await["id"].as_i64().unwrap()
}

async fn say(app: &TestApp, auth: &Auth, ticket: i64, body: &str, internal: bool) -> Value {
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{ticket}/messages"),
            auth,
            Some(json!({ "body": body, "internal": internal })),
        )
        .await;
    assert_eq!(res.status().code, 201);
    json(res).await
}

async fn status(app: &TestApp, method: rocket::http::Method, path: &str, auth: &Auth) -> u16 {
    app.call(method, path, auth, None).await.status().code
}

/// The ids a list query answers, in order.
async fn ids(app: &TestApp, auth: &Auth, query: &str) -> Vec<i64> {
    let res = app
        .call(Get, &format!("/api/v1/tickets?{query}"), auth, None)
        .await;
    assert_eq!(res.status().code, 200, "{query}");
    json(res).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

async fn flags(app: &TestApp, auth: &Auth, id: i64) -> (Value, Value) {
    let t = json(
        app.call(Get, &format!("/api/v1/tickets/{id}"), auth, None)
            .await,
    )
    .await;
    (t["unread"].clone(), t["following"].clone())
}

#[rocket::async_test]
#[allow(clippy::too_many_lines)] // one story: two agents, one customer, every way a ticket becomes read or unread
async fn unread_follows_the_requester_and_each_agent_reads_for_themselves() {
    let app = TestApp::new().await;
    let (_, alex, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, bea, _) = app.signed_in("bea@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (alex, bea, ana) = (Auth::Bearer(alex), Auth::Bearer(bea), Auth::Bearer(ana));

    let asked = open(&app, &ana, "Printer smokes", "It smokes").await;
    let quiet = open(&app, &alex, "Made by an agent", "for myself").await;
    // A new ticket from the requester is unread for every agent; one an agent opened for themselves is not.
    assert_eq!(flags(&app, &alex, asked).await, (json!(true), json!(false)));
    assert_eq!(
        flags(&app, &alex, quiet).await,
        (json!(false), json!(false))
    );
    assert_eq!(ids(&app, &alex, "unread=true").await, [asked]);

    // Seeing it is per agent.
    assert_eq!(
        status(&app, Post, &format!("/api/v1/tickets/{asked}/seen"), &alex).await,
        204
    );
    assert_eq!(flags(&app, &alex, asked).await.0, json!(false));
    assert_eq!(flags(&app, &bea, asked).await.0, json!(true));
    assert!(ids(&app, &alex, "unread=true").await.is_empty());

    // Team replies and notes do not make it unread; the requester's next message does.
    say(&app, &bea, asked, "Try turning it off", false).await;
    say(&app, &bea, asked, "note to self", true).await;
    assert_eq!(flags(&app, &alex, asked).await.0, json!(false));
    say(&app, &ana, asked, "It still smokes", false).await;
    assert_eq!(flags(&app, &alex, asked).await.0, json!(true));
    assert_eq!(ids(&app, &alex, "unread=true&status=open").await, [asked]);
    // The list carries the same flags as the ticket.
    let listed = json(app.call(Get, "/api/v1/tickets", &alex, None).await).await;
    let row = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == asked)
        .unwrap()
        .clone();
    assert_eq!(
        (row["unread"].clone(), row["following"].clone()),
        (json!(true), json!(false))
    );

    // Following: idempotent both ways, a filter of its own, per agent.
    for _ in 0..2 {
        assert_eq!(
            status(&app, Put, &format!("/api/v1/tickets/{asked}/follow"), &alex).await,
            204
        );
    }
    assert_eq!(flags(&app, &alex, asked).await.1, json!(true));
    assert_eq!(flags(&app, &bea, asked).await.1, json!(false));
    assert_eq!(ids(&app, &alex, "following=true").await, [asked]);
    assert!(ids(&app, &bea, "following=true").await.is_empty());
    assert_eq!(
        ids(&app, &alex, "following=true&unread=true").await,
        [asked]
    );
    for _ in 0..2 {
        assert_eq!(
            status(
                &app,
                Delete,
                &format!("/api/v1/tickets/{asked}/follow"),
                &alex
            )
            .await,
            204
        );
    }
    assert!(ids(&app, &alex, "following=true").await.is_empty());

    // Customers see neither field, cannot use the filters or the actions, and
    // another customer's ticket is as missing as one that does not exist.
    let mine = json(
        app.call(Get, &format!("/api/v1/tickets/{asked}"), &ana, None)
            .await,
    )
    .await;
    assert!(
        mine.get("unread").is_none() && mine.get("following").is_none(),
        "{mine}"
    );
    let refused = problem(
        app.call(Get, "/api/v1/tickets?unread=true", &ana, None)
            .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "unread");
    assert_eq!(
        status(&app, Put, &format!("/api/v1/tickets/{asked}/follow"), &ana).await,
        403
    );
    assert_eq!(
        status(&app, Post, &format!("/api/v1/tickets/{asked}/seen"), &ana).await,
        403
    );
    assert_eq!(
        status(&app, Post, "/api/v1/tickets/999999/seen", &alex).await,
        404
    );
    assert_eq!(
        status(&app, Put, "/api/v1/tickets/999999/follow", &alex).await,
        404
    );
    problem(
        app.call(Get, "/api/v1/tickets?following=maybe", &alex, None)
            .await,
        422,
    )
    .await;

    // An API key has no view of its own: both flags false, the filters refused.
    let key = Auth::ApiKey(app.api_key(Role::Agent).await);
    assert_eq!(flags(&app, &key, asked).await, (json!(false), json!(false)));
    problem(
        app.call(Get, "/api/v1/tickets?following=true", &key, None)
            .await,
        422,
    )
    .await;
    assert_eq!(
        status(&app, Post, &format!("/api/v1/tickets/{asked}/seen"), &key).await,
        403
    );

    // A merge brings the requester's unseen message along.
    let other = open(&app, &ana, "Printer smokes (again)", "Still!").await;
    assert_eq!(
        status(&app, Post, &format!("/api/v1/tickets/{asked}/seen"), &alex).await,
        204
    );
    assert_eq!(
        status(&app, Post, &format!("/api/v1/tickets/{other}/seen"), &alex).await,
        204
    );
    say(&app, &ana, other, "Hello?", false).await;
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{other}/merge"),
            &alex,
            Some(json!({ "into": asked })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(json(res).await["unread"], json!(true));
}

#[rocket::async_test]
async fn followers_are_mailed_each_public_message_but_their_own() {
    let app = TestApp::new().await;
    let (_, alex, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (bea_id, bea, _) = app.signed_in("bea@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (alex, bea, ana) = (Auth::Bearer(alex), Auth::Bearer(bea), Auth::Bearer(ana));
    let id = open(&app, &ana, "Printer smokes", "It smokes").await;
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{id}/assign"),
            &alex,
            Some(json!({ "assignee_id": bea_id.0 })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    assert_eq!(
        status(&app, Put, &format!("/api/v1/tickets/{id}/follow"), &alex).await,
        204
    );
    assert_eq!(
        status(&app, Put, &format!("/api/v1/tickets/{id}/follow"), &bea).await,
        204
    );
    app.deliver().await;

    say(&app, &ana, id, "It **still** smokes", false).await;
    let mails = app.deliver().await;
    let to = |who: &str| mails.iter().filter(|m| m.to == who).collect::<Vec<_>>();
    // The follower gets it; the assignee (also following) gets one mail, not two.
    assert_eq!(to("alex@example.com").len(), 1, "{mails:?}");
    assert!(to("alex@example.com")[0].subject.contains("you follow"));
    assert!(to("alex@example.com")[0]
        .text
        .contains("It **still** smokes"));
    assert!(to("alex@example.com")[0]
        .html
        .contains("<strong>still</strong>"));
    assert_eq!(to("bea@example.com").len(), 1, "{mails:?}");

    // A colleague's public answer reaches the other follower, not its writer; notes reach no one.
    say(&app, &bea, id, "Unplug it", false).await;
    say(&app, &bea, id, "internal thought", true).await;
    let mails = app.deliver().await;
    let followers: Vec<_> = mails
        .iter()
        .filter(|m| m.to != "ana@customer.example")
        .map(|m| m.to.as_str())
        .collect();
    assert_eq!(followers, ["alex@example.com"], "{mails:?}");
    assert!(mails.iter().all(|m| !m.text.contains("internal thought")));

    // After unfollowing, nothing more.
    assert_eq!(
        status(&app, Delete, &format!("/api/v1/tickets/{id}/follow"), &alex).await,
        204
    );
    say(&app, &bea, id, "Anything else?", false).await;
    assert!(app
        .deliver()
        .await
        .iter()
        .all(|m| m.to != "alex@example.com"));
}

#[rocket::async_test]
async fn markdown_is_rendered_and_nothing_active_survives_in_the_app_or_mail() {
    let app = TestApp::new().await;
    let (_, alex, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (alex, ana) = (Auth::Bearer(alex), Auth::Bearer(ana));
    let id = open(&app, &ana, "Hostile", "Plain start").await;
    app.deliver().await;
    let hostile = "**Bold** and https://example.com/docs\n\n[x](javascript:alert(2)) [y](data:text/html,hi)\n\n\
        <script>alert(1)</script> <img src=x onerror=alert(3)>\n\
        ![track](https://tracker.example/p.png) <a href=\"https://evil.example\" onclick=\"x()\">a</a>";
    let message = say(&app, &alex, id, hostile, false).await;
    // Stored as written.
    assert_eq!(message["body"], hostile);
    let seen_by_customer = json(
        app.call(Get, &format!("/api/v1/tickets/{id}"), &ana, None)
            .await,
    )
    .await;
    let html_in_app = seen_by_customer["messages"][1]["body_html"]
        .as_str()
        .unwrap()
        .to_string();
    let mails = app.deliver().await;
    let mail = mails
        .iter()
        .find(|m| m.to == "ana@customer.example")
        .expect("the answer is mailed");
    // The text part keeps the source.
    assert!(mail.text.contains("**Bold**"), "{}", mail.text);
    for html in [html_in_app.as_str(), mail.html.as_str()] {
        assert!(html.contains("<strong>Bold</strong>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com/docs" rel="noopener noreferrer nofollow">"#
            ),
            "{html}"
        );
        assert_eq!(active_tags(html), Vec::<String>::new(), "{html}");
        assert!(
            html.contains("&lt;script&gt;"),
            "raw HTML is shown as text: {html}"
        );
    }
}

/// The tags in `html` that could act: anything but plain formatting, or one
/// with an event handler, a style, a source, or a script or data address.
/// Text is escaped, so every `<` left starts a real tag.
fn active_tags(html: &str) -> Vec<String> {
    const PLAIN: &[&str] = &[
        "p",
        "a",
        "br",
        "em",
        "strong",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "div",
        "blockquote",
        "!doctype",
        "html",
        "head",
        "body",
        "meta",
        "title",
        "table",
        "tr",
        "td",
        "h1",
        "span",
        "hr",
    ];
    html.split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or("").to_string())
        .filter(|tag| {
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap_or("");
            let lower = tag.to_ascii_lowercase();
            !PLAIN.contains(&name.to_ascii_lowercase().as_str())
                || [" on", "javascript:", "data:", "src="]
                    .iter()
                    .any(|bad| lower.contains(bad))
        })
        .collect()
}
