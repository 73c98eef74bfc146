//! Embedding: `App::spawn` on a real socket, graceful shutdown, two apps in one process.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use common::{http_get, split_response, test_config};
use helpline::App;
use rocket::{post, routes};

#[post("/echo", data = "<body>")]
fn echo(body: String) -> String {
    format!("echo:{body}")
}

#[rocket::async_test]
async fn spawn_on_port_zero_serves_real_http_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::builder().config(test_config(&dir)).build().unwrap();
    let server = app.spawn().await.unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0, "the real port is reported");

    let (status, head, body) = tokio::task::spawn_blocking(move || http_get(addr, "/health"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("x-request-id:"),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");

    server.shutdown().await.unwrap();
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

#[rocket::async_test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::builder()
        .config(test_config(&dir))
        .mount("/test", routes![echo])
        .build()
        .unwrap();
    let server = app.spawn().await.unwrap();
    let addr = server.local_addr();

    // Start a request and wait until the handler is reading its body
    // (the server's `100 Continue` proves it), so it is truly in flight.
    let mut stream = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(
                format!(
                    "POST /test/echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
                     Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 100"), "{line}");
        reader.read_line(&mut line).unwrap();
        stream
    })
    .await
    .unwrap();

    let stopping = tokio::spawn(server.shutdown());
    // The request completes although shutdown has begun.
    let response = tokio::task::spawn_blocking(move || {
        stream.write_all(b"hello").unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    let (status, _, body) = split_response(&response);
    assert_eq!(status, 200, "{response}");
    assert_eq!(body, "echo:hello");
    stopping.await.unwrap().unwrap();
    assert!(TcpStream::connect(addr).is_err());
}

#[rocket::async_test]
async fn two_apps_with_their_own_data_run_in_one_process() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = App::builder().config(test_config(&dir_a)).build().unwrap();
    let b = App::builder().config(test_config(&dir_b)).build().unwrap();
    // Each has its own database: a change in one is not seen by the other.
    a.state()
        .db
        .write(|tx| {
            let mut s = helpline::settings::load(tx)?;
            s.helpdesk_name = "Alpha Desk".into();
            helpline::settings::save(tx, &s)
        })
        .await
        .unwrap();

    let a = a.spawn().await.unwrap();
    let b = b.spawn().await.unwrap();
    assert_ne!(a.local_addr(), b.local_addr());
    let (addr_a, addr_b) = (a.local_addr(), b.local_addr());
    let (name_a, name_b) = tokio::task::spawn_blocking(move || {
        let get = |addr| {
            let (status, _, body) = http_get(addr, "/api/v1/settings/public");
            assert_eq!(status, 200);
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["helpdesk_name"].clone()
        };
        (get(addr_a), get(addr_b))
    })
    .await
    .unwrap();
    assert_eq!(name_a, "Alpha Desk");
    assert_eq!(name_b, "Helpline");
    assert_ne!(
        std::fs::read(dir_a.path().join("data/secret.key")).unwrap(),
        std::fs::read(dir_b.path().join("data/secret.key")).unwrap()
    );

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[rocket::async_test]
async fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.listen = taken.local_addr().unwrap();
    let err = match App::builder().config(config).build().unwrap().spawn().await {
        Ok(_) => panic!("binding a taken port must fail"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("cannot listen on") && err.contains("listen"),
        "{err}"
    );
}
