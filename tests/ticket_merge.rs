//! Merging a duplicate: messages (and files) move in time order, the source
//! closes naming the target, later mail and portal replies land on the
//! target; a requester never sees another requester's conversation.

mod common;

use common::{json, Auth, TestApp};
use helpline::users::Role;
use rocket::http::Method::{Get, Post};
use serde_json::{json, Value};

use common::INBOUND_SECRET as SECRET;

async fn app() -> TestApp {
    TestApp::receiving_mail(|_| {}).await
}

/// Posts a raw mail to the inbound webhook; returns the receipt.
async fn mail_in(app: &TestApp, raw: String) -> Value {
    app.mail_in(SECRET, raw.as_bytes()).await.1
}

async fn open(app: &TestApp, auth: &Auth, subject: &str, body: Value) -> i64 {
    let mut request = json!({ "subject": subject, "body": "First" });
    if let Some(files) = body.get("attachments") {
        request["attachments"] = files.clone();
    }
    let res = app.call(Post, "/api/v1/tickets", auth, Some(request)).await;
    assert_eq!(res.status().code, 201);
    json(res).await["id"].as_i64().unwrap()
}

async fn say(app: &TestApp, auth: &Auth, ticket: i64, body: &str) {
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{ticket}/messages"),
            auth,
            Some(json!({ "body": body })),
        )
        .await;
    assert_eq!(res.status().code, 201);
}

async fn ticket(app: &TestApp, auth: &Auth, id: i64) -> Value {
    json(
        app.call(Get, &format!("/api/v1/tickets/{id}"), auth, None)
            .await,
    )
    .await
}

#[rocket::async_test]
#[allow(clippy::too_many_lines)] // one story: merge, look from every side, mail to the old one, refusals
async fn a_duplicate_merges_into_the_ticket_that_continues() {
    let app = app().await;
    let (_, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (agent, ana_auth) = (Auth::Bearer(agent), Auth::Bearer(ana.clone()));
    let target = open(&app, &ana_auth, "Printer smokes", json!({})).await;
    let file = app
        .upload(&ana, "photo.txt", "text/plain", b"a zebra in the printer")
        .await;
    let source = open(
        &app,
        &ana_auth,
        "Printer smokes again",
        json!({ "attachments": [file] }),
    )
    .await;
    say(&app, &ana_auth, target, "Second on the target").await;
    say(&app, &ana_auth, source, "Second on the duplicate").await;
    let receipt_of_source = app
        .deliver()
        .await
        .into_iter()
        .find(|m| m.subject.contains(&format!("[#{source}]")))
        .and_then(|m| m.header("Message-ID"))
        .expect("the duplicate's receipt");

    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{source}/merge"),
            &agent,
            Some(json!({ "into": target })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    let merged = json(res).await;
    assert_eq!(merged["id"], target);
    let bodies: Vec<&str> = merged["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies[..4],
        [
            "First",
            "First",
            "Second on the target",
            "Second on the duplicate"
        ],
        "time order: {bodies:?}"
    );
    assert!(
        bodies[4].contains(&format!("#{source}")),
        "a note says what was merged: {bodies:?}"
    );
    let files: Vec<&Value> = merged["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["id"], file, "the file moved with its message");
    // The requester (the same) sees everything on the target.
    let seen = ticket(&app, &ana_auth, target).await;
    assert_eq!(seen["message_count"], 4);
    let old = ticket(&app, &agent, source).await;
    assert_eq!(
        (old["status"].as_str(), old["merged_into"].as_i64()),
        (Some("closed"), Some(target))
    );
    assert_eq!(old["message_count"], 0);
    // Search finds the target by the duplicate's words (and its file's).
    let page = json(app.call(Get, "/api/v1/tickets?q=zebra", &agent, None).await).await;
    assert_eq!(page["items"][0]["id"], target, "{page}");

    // Mail naming the old ticket lands on the target.
    let mail = format!(
        "From: Ana <ana@customer.example>\r\nTo: support@example.com\r\nSubject: Re: [#{source}] Printer smokes again\r\n\
         Message-ID: <late-1@customer.example>\r\nIn-Reply-To: {receipt_of_source}\r\n\r\nStill smoking.\r\n"
    );
    let receipt = mail_in(&app, mail).await;
    assert_eq!(receipt["ticket_id"], target, "{receipt}");
    assert_eq!(receipt["created_ticket"], false);

    // 409: the same ticket, one already merged, a closed target.
    for (from, into) in [(target, target), (source, target)] {
        let res = app
            .call(
                Post,
                &format!("/api/v1/tickets/{from}/merge"),
                &agent,
                Some(json!({ "into": into })),
            )
            .await;
        assert_eq!(res.status().code, 409, "{from} into {into}");
    }
    let third = open(&app, &ana_auth, "Third", json!({})).await;
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{third}/merge"),
            &agent,
            Some(json!({ "into": source })),
        )
        .await;
    assert_eq!(res.status().code, 409, "into a merged (closed) ticket");
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{third}/merge"),
            &agent,
            Some(json!({ "into": 999_999 })),
        )
        .await;
    assert_eq!(res.status().code, 422);
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{third}/merge"),
            &ana_auth,
            Some(json!({ "into": target })),
        )
        .await;
    assert_eq!(res.status().code, 403, "agents merge");
}

#[rocket::async_test]
async fn another_requesters_conversation_never_reaches_the_target_requester() {
    let app = app().await;
    let (_, agent, _) = app.signed_in("alex@example.com", Role::Agent).await;
    let (_, ana, _) = app.signed_in("ana@customer.example", Role::Customer).await;
    let (_, bob, _) = app.signed_in("bob@customer.example", Role::Customer).await;
    let (agent, ana, bob) = (Auth::Bearer(agent), Auth::Bearer(ana), Auth::Bearer(bob));
    let target = open(&app, &ana, "Printer", json!({})).await;
    let source = open(&app, &bob, "Printer too", json!({})).await;
    say(&app, &bob, source, "BOB-SECRET: my account number").await;
    app.deliver().await;
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{source}/merge"),
            &agent,
            Some(json!({ "into": target })),
        )
        .await;
    assert_eq!(res.status().code, 200);
    // Bob hears his request goes on with another; Ana hears nothing of Bob.
    let mails = app.deliver().await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].to, "bob@customer.example");
    assert!(
        mails[0].text.contains("combined it with a related request"),
        "{}",
        mails[0].text
    );
    assert!(
        !mails[0].text.contains("/portal/"),
        "no link to an emptied ticket"
    );
    assert!(
        !mails[0].text.contains("Printer\n") && !mails[0].text.contains("ana@"),
        "{}",
        mails[0].text
    );
    let for_ana = ticket(&app, &ana, target).await;
    assert!(!for_ana.to_string().contains("BOB-SECRET"), "{for_ana}");
    assert_eq!(for_ana["message_count"], 1);
    let for_agent = ticket(&app, &agent, target).await;
    let bob_message = for_agent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"].as_str().unwrap().contains("BOB-SECRET"))
        .expect("agents see it");
    assert_eq!(bob_message["internal"], true);
    let page = json(app.call(Get, "/api/v1/tickets?q=SECRET", &ana, None).await).await;
    assert_eq!(page["total"], 0, "nor through search: {page}");
    // Bob sees his ticket closed, not where it went (another's ticket).
    let for_bob = ticket(&app, &bob, source).await;
    assert_eq!(for_bob["status"], "closed");
    assert!(for_bob["merged_into"].is_null(), "{for_bob}");
    assert_eq!(ticket(&app, &agent, source).await["merged_into"], target);
    // A merged ticket stays closed: work continues on the target.
    let res = app
        .call(
            Post,
            &format!("/api/v1/tickets/{source}/reopen"),
            &agent,
            None,
        )
        .await;
    assert_eq!(res.status().code, 409);

    // Mail naming Bob's old ticket never lands on Ana's ticket.
    let mail = format!(
        "From: Bob <bob@customer.example>\r\nTo: support@example.com\r\nSubject: Re: [#{source}] Printer too\r\n\
         Message-ID: <bob-late@customer.example>\r\n\r\nBOB-LATER: still broken.\r\n"
    );
    let receipt = mail_in(&app, mail).await;
    assert_ne!(receipt["ticket_id"], target, "{receipt}");
    assert!(!ticket(&app, &ana, target)
        .await
        .to_string()
        .contains("BOB-LATER"));
}
