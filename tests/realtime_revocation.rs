//! A sign-out that lands between a live connection's credential check and its
//! subscription to session changes still ends the connection. The gap hook
//! forces that interleaving, so the test does not depend on timing.

mod common;

use std::sync::{Arc, Mutex};

use common::live::{self, http, login, SseReader, PATIENCE};
use helpline::users::Role;
use rocket::futures::StreamExt as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const CUSTOMER: &str = "ana@customer.example";

/// Makes the next live connection sign `token` out everywhere in the gap.
fn sign_out_in_the_gap(server: &live::LiveServer, token: &str) -> Arc<Mutex<u32>> {
    let fired = Arc::new(Mutex::new(0));
    let (addr, token, count) = (server.addr, token.to_string(), Arc::clone(&fired));
    server.events.set_gap_hook(Arc::new(move || {
        let (token, count) = (token.clone(), Arc::clone(&count));
        Box::pin(async move {
            let first = {
                let mut n = count.lock().unwrap();
                *n += 1;
                *n == 1
            };
            if first {
                let (status, _) =
                    http(addr, "POST", "/api/v1/auth/logout-all", Some(&token), None).await;
                assert_eq!(status, 204);
            }
        })
    }));
    fired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_in_the_gap_ends_chat_and_streams() {
    let server = live::start(&[(CUSTOMER, Role::Customer)], |_| {}).await;
    let addr = server.addr;
    let (_, token) = login(addr, CUSTOMER).await;
    let (status, ticket) = http(
        addr,
        "POST",
        "/api/v1/tickets",
        Some(&token),
        Some(&json!({ "subject": "Printer", "body": "It jams" })),
    )
    .await;
    assert_eq!(status, 201);
    let ticket = ticket["id"].as_i64().unwrap();

    // Chat: the guard accepted the token; the sign-out comes before the
    // subscription; the socket closes with 4401 at once.
    let fired = sign_out_in_the_gap(&server, &token);
    let url = format!("ws://{addr}/api/v1/tickets/{ticket}/chat?token={token}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let close = loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a close")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert_eq!(*fired.lock().unwrap(), 1, "the hook ran in the gap");
    assert_eq!(close, Some(CloseCode::Library(4401)));

    // Event stream: the same gap answers 401 instead of a stream.
    let (_, token) = login(addr, CUSTOMER).await;
    let fired = sign_out_in_the_gap(&server, &token);
    let stream = SseReader::open(
        addr,
        &format!("/api/v1/events?ticket_id={ticket}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(*fired.lock().unwrap(), 1, "the hook ran in the gap");
    assert_eq!(stream.status, 401);

    // Without a sign-out in the gap, the same connection stays open.
    let (_, token) = login(addr, CUSTOMER).await;
    server.events.set_gap_hook(Arc::new(|| Box::pin(async {})));
    let mut stream = SseReader::open(
        addr,
        &format!("/api/v1/events?ticket_id={ticket}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/v1/tickets/{ticket}/messages"),
        Some(&token),
        Some(&json!({ "body": "Still jams" })),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        stream.next_of("message.created").await.event,
        "message.created"
    );
    server.handle.shutdown().await.unwrap();
}
