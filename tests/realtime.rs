//! Live updates over real TCP: SSE streams read from the socket and WebSocket
//! chat with a real client, against a server spawned on 127.0.0.1:0.

mod common;

use common::live::{self, http, login, open_ticket, SseReader, PATIENCE};
use helpline::users::Role;
use rocket::futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const AGENT: &str = "agent@example.com";
const CUSTOMER: &str = "ana@customer.example";
const OTHER: &str = "bo@customer.example";

async fn chat(addr: std::net::SocketAddr, ticket: i64, token: &str) -> Ws {
    let url = format!("ws://{addr}/api/v1/tickets/{ticket}/chat?token={token}");
    tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket upgrade")
        .0
}

/// The next JSON frame of `kind` (other kinds skipped); panics on close.
async fn next_frame(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a frame")
            .expect("the socket is open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == kind {
                return frame;
            }
        }
    }
}

/// The close code the server ends with (frames before it skipped).
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a close")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// Typing reaches the other participant, except typing a note, which the customer never sees.
async fn typing_is_relayed_but_notes_stay_among_agents(agent_ws: &mut Ws, customer_ws: &mut Ws) {
    // Typing is relayed to the other participant.
    agent_ws
        .send(Message::Text(r#"{"type":"typing"}"#.into()))
        .await
        .unwrap();
    let typing = next_frame(customer_ws, "typing").await;
    assert_eq!(typing["typing"]["user"]["name"], AGENT);

    // Typing a note is not shown to the customer (agents see it).
    agent_ws
        .send(Message::Text(r#"{"type":"typing","note":true}"#.into()))
        .await
        .unwrap();
    agent_ws
        .send(Message::Text(
            json!({ "type": "message", "body": "after a note was typed" }).to_string(),
        ))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(PATIENCE, customer_ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(
            frame["type"], "typing",
            "note typing reached the customer: {frame}"
        );
        if frame["type"] == "message" && frame["message"]["body"] == "after a note was typed" {
            break;
        }
    }
    let own = next_frame(agent_ws, "message").await;
    assert_eq!(own["message"]["body"], "after a note was typed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_and_customer_chat_and_rest_replies_reach_socket_and_stream() {
    let server = live::start(&[(AGENT, Role::Agent), (CUSTOMER, Role::Customer)], |_| {}).await;
    let addr = server.addr;
    let (_, agent) = login(addr, AGENT).await;
    let (_, customer) = login(addr, CUSTOMER).await;
    let mut agent_sse = SseReader::open(addr, "/api/v1/events", Some(&agent), None).await;
    assert_eq!(agent_sse.status, 200);
    let ticket = open_ticket(addr, &customer, "Live help").await;
    let created = agent_sse.next_of("ticket.created").await;
    assert_eq!(created.data["id"], ticket);
    assert!(created.id.is_some());

    let mut customer_sse = SseReader::open(
        addr,
        &format!("/api/v1/events?ticket_id={ticket}"),
        Some(&customer),
        None,
    )
    .await;
    assert_eq!(customer_sse.status, 200);
    let mut agent_ws = chat(addr, ticket, &agent).await;
    let mut customer_ws = chat(addr, ticket, &customer).await;

    // Agents see who is on the ticket.
    let presence = next_frame(&mut agent_ws, "presence").await;
    assert!(presence["presence"]["viewers"].as_array().is_some());

    // Both sides see every chat message, in the same order.
    customer_ws
        .send(Message::Text(
            json!({ "type": "message", "body": "Hello?" }).to_string(),
        ))
        .await
        .unwrap();
    agent_ws
        .send(Message::Text(
            json!({ "type": "message", "body": "Hi, how can I help?" }).to_string(),
        ))
        .await
        .unwrap();
    let mut orders = Vec::new();
    for ws in [&mut agent_ws, &mut customer_ws] {
        let mut order = Vec::new();
        for _ in 0..2 {
            let frame = next_frame(ws, "message").await;
            assert_eq!(frame["message"]["channel"], "chat");
            order.push((
                frame["message"]["id"].as_i64().unwrap(),
                frame["message"]["body"].clone(),
            ));
        }
        assert!(order[0].0 < order[1].0, "in the order they were written");
        orders.push(order);
    }
    assert_eq!(orders[0], orders[1]);
    let mut bodies: Vec<String> = orders[0]
        .iter()
        .map(|(_, b)| b.as_str().unwrap().to_string())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["Hello?", "Hi, how can I help?"]);

    typing_is_relayed_but_notes_stay_among_agents(&mut agent_ws, &mut customer_ws).await;

    // An internal note reaches agents only; a REST reply reaches everyone.
    agent_ws
        .send(Message::Text(
            json!({ "type": "note", "body": "NOTE-SECRET" }).to_string(),
        ))
        .await
        .unwrap();
    let note = next_frame(&mut agent_ws, "message").await;
    assert_eq!(note["message"]["internal"], true);
    let (status, _) = http(
        addr,
        "POST",
        &format!("/api/v1/tickets/{ticket}/messages"),
        Some(&agent),
        Some(&json!({ "body": "Sent through the API" })),
    )
    .await;
    assert_eq!(status, 201);
    let from_rest = next_frame(&mut customer_ws, "message").await;
    assert_eq!(
        from_rest["message"]["body"], "Sent through the API",
        "the note never came first"
    );
    loop {
        let event = customer_sse.next_of("message.created").await;
        assert_ne!(event.data["body"], "NOTE-SECRET");
        assert_eq!(event.data["internal"], false);
        if event.data["body"] == "Sent through the API" {
            break;
        }
    }
    loop {
        let event = agent_sse.next_of("message.created").await;
        if event.data["body"] == "Sent through the API" {
            break;
        }
    }

    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_bad_frames_oversize_and_revoked_tokens() {
    let server = live::start(
        &[
            (AGENT, Role::Agent),
            (CUSTOMER, Role::Customer),
            (OTHER, Role::Customer),
        ],
        |c| c.realtime.max_frame_bytes = 4096,
    )
    .await;
    let addr = server.addr;
    let (_, customer) = login(addr, CUSTOMER).await;
    let (_, other) = login(addr, OTHER).await;
    let ticket = open_ticket(addr, &customer, "Mine").await;

    // Someone else's ticket: 404 before the upgrade.
    let url = format!("ws://{addr}/api/v1/tickets/{ticket}/chat?token={other}");
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
        }
        other => panic!("expected 404, got {other:?}"),
    }
    let stream = SseReader::open(
        addr,
        &format!("/api/v1/events?ticket_id={ticket}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(stream.status, 404);

    // A bad token: accepted, then closed with 4401.
    let mut ws = chat(addr, ticket, "not-a-token").await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4401)));

    // Invalid frames get an error frame and the socket stays up.
    let mut ws = chat(addr, ticket, &customer).await;
    for bad in [
        "not json",
        r#"{"type":"shout"}"#,
        r#"{"type":"message","body":""}"#,
        r#"{"type":"note","body":"x"}"#,
    ] {
        ws.send(Message::Text(bad.into())).await.unwrap();
        let error = next_frame(&mut ws, "error").await;
        assert!(error["status"].as_u64().unwrap() >= 400, "{error}");
    }
    ws.send(Message::Text(
        json!({ "type": "message", "body": "still here" }).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_frame(&mut ws, "message").await["message"]["body"],
        "still here"
    );

    // Oversized frame: closed with 1009.
    ws.send(Message::Text(
        json!({ "type": "message", "body": "x".repeat(10_000) }).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));

    // Logging out ends the session: open sockets close with 4401, streams end.
    let (_, session) = login(addr, CUSTOMER).await;
    let mut ws = chat(addr, ticket, &session).await;
    let mut stream = SseReader::open(
        addr,
        &format!("/api/v1/events?ticket_id={ticket}"),
        Some(&session),
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    let (status, _) = http(
        addr,
        "POST",
        "/api/v1/auth/logout-all",
        Some(&session),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4401)));
    assert!(stream.next().await.is_none(), "the stream ends");
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_gets_what_was_missed() {
    let server = live::start(&[(AGENT, Role::Agent), (CUSTOMER, Role::Customer)], |c| {
        c.realtime.backlog = 10;
    })
    .await;
    let addr = server.addr;
    let (_, agent) = login(addr, AGENT).await;
    let (_, customer) = login(addr, CUSTOMER).await;
    let mut sse = SseReader::open(addr, "/api/v1/events", Some(&agent), None).await;
    let ticket = open_ticket(addr, &customer, "Resume").await;
    let seen = sse.next_of("ticket.created").await.id.unwrap();
    drop(sse);

    // A failed change (empty body) records nothing; three replies do.
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let (status, _) = http(
        addr,
        "POST",
        &path,
        Some(&customer),
        Some(&json!({ "body": "" })),
    )
    .await;
    assert_eq!(status, 422);
    for n in 1..=3 {
        let (status, _) = http(
            addr,
            "POST",
            &path,
            Some(&customer),
            Some(&json!({ "body": format!("missed {n}") })),
        )
        .await;
        assert_eq!(status, 201);
    }
    let mut sse = SseReader::open(addr, "/api/v1/events", Some(&agent), Some(&seen)).await;
    let mut bodies = Vec::new();
    let mut last_id: i64 = seen.parse().unwrap();
    while bodies.len() < 4 {
        let event = sse.next().await.expect("replayed events");
        let id: i64 = event.id.as_deref().unwrap().parse().unwrap();
        assert!(id > last_id, "ids increase");
        last_id = id;
        if event.event == "message.created" {
            bodies.push(event.data["body"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        bodies,
        ["First message", "missed 1", "missed 2", "missed 3"]
    );

    // Too far behind (beyond the backlog): the stream says reset.
    for n in 0..30 {
        http(
            addr,
            "POST",
            &path,
            Some(&customer),
            Some(&json!({ "body": format!("more {n}") })),
        )
        .await;
    }
    let state_db = server.dir.path().join("data/helpline.db");
    let conn = rusqlite::Connection::open(state_db).unwrap();
    conn.execute(
        "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - 10",
        [],
    )
    .unwrap();
    let mut sse = SseReader::open(addr, "/api/v1/events", Some(&agent), Some(&seen)).await;
    assert_eq!(sse.next().await.unwrap().event, "reset");
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_chat_messages_arrive_complete_and_in_order() {
    let server = live::start(&[(AGENT, Role::Agent), (CUSTOMER, Role::Customer)], |_| {}).await;
    let addr = server.addr;
    let (_, agent) = login(addr, AGENT).await;
    let (_, customer) = login(addr, CUSTOMER).await;
    let ticket = open_ticket(addr, &customer, "Busy chat").await;
    let mut agent_ws = chat(addr, ticket, &agent).await;
    let mut customer_ws = chat(addr, ticket, &customer).await;
    let sender = tokio::spawn(async move {
        for n in 0..1000 {
            customer_ws
                .send(Message::Text(
                    json!({ "type": "message", "body": format!("m{n}") }).to_string(),
                ))
                .await
                .unwrap();
        }
        customer_ws
    });
    for n in 0..1000 {
        let frame = next_frame(&mut agent_ws, "message").await;
        assert_eq!(frame["message"]["body"], format!("m{n}"));
    }
    let mut customer_ws = sender.await.unwrap();
    for n in 0..1000 {
        let frame = next_frame(&mut customer_ws, "message").await;
        assert_eq!(frame["message"]["body"], format!("m{n}"));
    }
    let (status, page) = http(
        addr,
        "GET",
        &format!("/api/v1/tickets/{ticket}/messages?per_page=1"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 1001);
    server.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_fifty_open_streams_completes() {
    let server = live::start(&[(AGENT, Role::Agent), (CUSTOMER, Role::Customer)], |c| {
        c.realtime.max_connections_per_user = 60;
    })
    .await;
    let addr = server.addr;
    let (_, agent) = login(addr, AGENT).await;
    let (_, customer) = login(addr, CUSTOMER).await;
    let ticket = open_ticket(addr, &customer, "Many").await;
    let mut streams = Vec::new();
    for _ in 0..40 {
        let stream = SseReader::open(addr, "/api/v1/events", Some(&agent), None).await;
        assert_eq!(stream.status, 200);
        streams.push(stream);
    }
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(chat(addr, ticket, &agent).await);
    }
    // Over the per-user limit: refused.
    let mut extra = Vec::new();
    for _ in 0..10 {
        extra.push(SseReader::open(addr, "/api/v1/events", Some(&agent), None).await);
    }
    let refused = SseReader::open(addr, "/api/v1/events", Some(&agent), None).await;
    assert_eq!(refused.status, 429);
    drop((extra, refused));
    let shutdown = tokio::spawn(server.handle.shutdown());
    for mut stream in streams {
        while stream.next().await.is_some() {}
    }
    for mut socket in sockets {
        assert_eq!(close_code(&mut socket).await, Some(CloseCode::Away));
    }

    tokio::time::timeout(PATIENCE, shutdown)
        .await
        .expect("shutdown completes")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_or_a_revoked_key_ends_live_connections_at_once() {
    let server = live::start(
        &[(AGENT, Role::Agent), ("boss@example.com", Role::Admin)],
        |_| {},
    )
    .await;
    let addr = server.addr;
    let (agent_id, agent) = login(addr, AGENT).await;
    let (_, admin) = login(addr, "boss@example.com").await;

    // An agent demoted to customer stops receiving every ticket's events.
    let mut stream = SseReader::open(addr, "/api/v1/events", Some(&agent), None).await;
    assert_eq!(stream.status, 200);
    let (status, _) = http(
        addr,
        "PATCH",
        &format!("/api/v1/users/{}", agent_id.0),
        Some(&admin),
        Some(&json!({ "role": "customer" })),
    )
    .await;
    assert_eq!(status, 200);
    assert!(stream.next().await.is_none(), "the agent's stream ends");

    // A revoked API key's stream ends too.
    let (status, key) = http(
        addr,
        "POST",
        "/api/v1/api-keys",
        Some(&admin),
        Some(&json!({ "name": "feed", "role": "agent" })),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let header = format!("X-API-Key: {}\r\n", key["key"].as_str().unwrap());
    let mut stream = SseReader::open_with(addr, "/api/v1/events", &header).await;
    assert_eq!(stream.status, 200);
    let (status, _) = http(
        addr,
        "DELETE",
        &format!("/api/v1/api-keys/{}", key["id"]),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(stream.next().await.is_none(), "the key's stream ends");
    server.handle.shutdown().await.unwrap();
}
