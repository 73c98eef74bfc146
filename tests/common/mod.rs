//! Test harness: one temporary data directory and database per test.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;

use helpline::{App, Config};
use rocket::local::asynchronous::{Client, LocalResponse};
use tempfile::TempDir;

/// A configuration for tests: its own data directory, any free port, cheap hashing.
pub fn test_config(dir: &TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        bcrypt_cost: 4,
        jwt_secret: None,
        ..Config::default()
    }
}

/// An app under test with Rocket's in-process client.
pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|_| {}, Vec::new()).await
    }

    /// Builds with a tweaked config and extra routes mounted at `/test`.
    pub async fn with(tweak: impl FnOnce(&mut Config), routes: Vec<rocket::Route>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir);
        tweak(&mut config);
        let app = App::builder()
            .config(config)
            .mount("/test", routes)
            .build()
            .expect("app builds");
        let client = Client::tracked(app.rocket()).await.expect("valid rocket");
        Self { client, dir }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// Reads a response as JSON.
pub async fn json(response: LocalResponse<'_>) -> serde_json::Value {
    let text = response.into_string().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts that a response is a problem document with `status`; returns it.
pub async fn problem(response: LocalResponse<'_>, status: u16) -> serde_json::Value {
    assert_eq!(response.status().code, status, "status");
    assert_eq!(
        response.content_type().map(|c| c.to_string()).as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    let request_id = response
        .headers()
        .get_one("X-Request-Id")
        .expect("X-Request-Id header")
        .to_string();
    let body = json(response).await;
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(body["detail"].as_str().is_some(), "{body}");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    body
}

/// A plain HTTP/1.1 exchange over real TCP: returns (status, headers, body).
pub fn http_request(addr: SocketAddr, raw: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    split_response(&out)
}

pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    http_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

pub fn split_response(raw: &str) -> (u16, String, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}
