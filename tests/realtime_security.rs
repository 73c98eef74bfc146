//! Live connections under abuse, over real TCP: a typing flood does not cost
//! agents their stream, and a refresh token presented twice (theft) ends the
//! stream of the session it revokes.

mod common;

use common::live::{self, http, login, open_ticket, SseReader, PATIENCE};
use helpline::users::Role;
use rocket::futures::SinkExt as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const AGENT: &str = "agent@example.com";
const CUSTOMER: &str = "ana@customer.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typing_flood_does_not_drop_an_agents_stream() {
    // The smallest event channel: a flood of passing signals would overrun it.
    let server = live::start(&[(AGENT, Role::Agent), (CUSTOMER, Role::Customer)], |c| {
        c.realtime.backlog = 10;
    })
    .await;
    let addr = server.addr;
    let (_, agent) = login(addr, AGENT).await;
    let (_, customer) = login(addr, CUSTOMER).await;
    let ticket = open_ticket(addr, &customer, "Printer").await;
    let mut stream = SseReader::open(addr, "/api/v1/events", Some(&agent), None).await;
    assert_eq!(stream.status, 200);

    let url = format!("ws://{addr}/api/v1/tickets/{ticket}/chat?token={customer}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let typing = json!({ "type": "typing" }).to_string();
    for _ in 0..20_000 {
        ws.send(Message::Text(typing.clone())).await.unwrap();
    }
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/v1/tickets/{ticket}/messages"),
        Some(&customer),
        Some(&json!({ "body": "Still jams" })),
    )
    .await;
    assert_eq!(status, 201);
    let mut typings = 0;
    loop {
        let event = stream.next().await.expect("the agent's stream stays open");
        assert_ne!(event.event, "reset", "the agent's stream was not dropped");
        match event.event.as_str() {
            "typing" => typings += 1,
            "message.created" if event.data["body"] == "Still jams" => break,
            _ => {}
        }
    }
    assert!(
        typings <= 3,
        "typing is relayed at most once a second ({typings})"
    );
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_ends_the_sessions_stream() {
    let server = live::start(&[(CUSTOMER, Role::Customer)], |_| {}).await;
    let addr = server.addr;
    let (status, pair) = http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({ "email": CUSTOMER, "password": common::PASSWORD })),
    )
    .await;
    assert_eq!(status, 200);
    let access = pair["access_token"].as_str().unwrap().to_string();
    let refresh = json!({ "refresh_token": pair["refresh_token"] });
    let ticket = open_ticket(addr, &access, "Printer").await;
    let mut stream = SseReader::open(
        addr,
        &format!("/api/v1/events?ticket_id={ticket}"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    let (status, _) = http(addr, "POST", "/api/v1/auth/refresh", None, Some(&refresh)).await;
    assert_eq!(status, 200);
    // The spent token again: theft. Its session ends, and so does the stream.
    let (status, _) = http(addr, "POST", "/api/v1/auth/refresh", None, Some(&refresh)).await;
    assert_eq!(status, 401);
    let ended =
        tokio::time::timeout(PATIENCE, async { while stream.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the stream of the revoked session ended");
    server.handle.shutdown().await.unwrap();
}
