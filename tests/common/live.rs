//! Clients over real TCP for live updates: a small HTTP client, an SSE
//! reader (chunked transfer decoding, event parsing) and a spawned server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use helpline::users::{repo as users_repo, Role, UserId};
use helpline::{App, Config, ServerHandle};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{CapturingMailer, PASSWORD};

/// Longest wait for anything in these tests: a guard against hangs, not a speed check.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct LiveServer {
    pub addr: SocketAddr,
    /// The server's event hub (to set its gap hook).
    pub events: Arc<helpline::events::EventHub>,
    pub handle: ServerHandle,
    pub dir: tempfile::TempDir,
}

/// Starts a server on 127.0.0.1:0 with the given users (email, role) created first.
pub async fn start(users: &[(&str, Role)], tweak: impl FnOnce(&mut Config)) -> LiveServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = super::test_config(&dir);
    tweak(&mut config);
    let app = App::builder()
        .config(config)
        .mailer(Arc::new(CapturingMailer::default()))
        .background_delivery(false)
        .build()
        .unwrap();
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    for (email, role) in users {
        let (email, key, role, hash) =
            (email.to_string(), email.to_lowercase(), *role, hash.clone());
        app.state()
            .db
            .write(move |tx| {
                users_repo::insert(
                    tx,
                    &users_repo::NewUser {
                        email: &email,
                        email_key: &key,
                        name: &email,
                        role,
                        password_hash: Some(&hash),
                    },
                )
                .map(|u| u.user.id)
            })
            .await
            .unwrap();
    }
    let events = Arc::clone(&app.state().events);
    let handle = app.spawn().await.unwrap();
    LiveServer {
        addr: handle.local_addr(),
        events,
        handle,
        dir,
    }
}

/// One HTTP/1.1 request; returns (status, JSON body or Null).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (status, _, body) = super::split_response(&text);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

pub async fn login(addr: SocketAddr, email: &str) -> (UserId, String) {
    let (status, pair) = http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&serde_json::json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 200, "login {email}: {pair}");
    (
        UserId(pair["user"]["id"].as_i64().unwrap()),
        pair["access_token"].as_str().unwrap().to_string(),
    )
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// Reads an event stream from a real socket.
pub struct SseReader {
    reader: BufReader<TcpStream>,
    pub status: u16,
    pending: String,
    chunked: bool,
    done: bool,
}

impl SseReader {
    pub async fn open(
        addr: SocketAddr,
        path: &str,
        token: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Self {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let last = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        Self::open_with(addr, path, &format!("{auth}{last}")).await
    }

    /// Opens a stream with extra header lines (each ending in CRLF).
    pub async fn open_with(addr: SocketAddr, path: &str, headers: &str) -> Self {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n{headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = 0;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
                .await
                .expect("headers")
                .unwrap();
            let line = line.trim_end();
            if status == 0 {
                status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            } else if line.is_empty() {
                break;
            } else if line.to_ascii_lowercase().starts_with("transfer-encoding:")
                && line.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
        Self {
            reader,
            status,
            pending: String::new(),
            chunked,
            done: false,
        }
    }

    /// Reads body bytes: one chunk (chunked) or what is there. False at the end.
    async fn fill(&mut self) -> bool {
        if self.done {
            return false;
        }
        if self.chunked {
            let mut size = String::new();
            if self.reader.read_line(&mut size).await.unwrap_or(0) == 0 {
                self.done = true;
                return false;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                self.done = true;
                return false;
            }
            let mut buf = vec![0; size + 2];
            if self.reader.read_exact(&mut buf).await.is_err() {
                self.done = true;
                return false;
            }
            self.pending
                .push_str(&String::from_utf8_lossy(&buf[..size]));
        } else {
            let mut buf = vec![0; 4096];
            match self.reader.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    self.done = true;
                    return false;
                }
                Ok(n) => self.pending.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        true
    }

    /// The next event (comments and heartbeats skipped); `None` when the stream ends.
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(PATIENCE, self.next_inner())
            .await
            .expect("an event or the end of the stream")
    }

    async fn next_inner(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = String::new();
                let mut any = false;
                for line in block.lines() {
                    if line.starts_with(':') || line.is_empty() {
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    any = true;
                    match field {
                        "id" => event.id = Some(value.to_string()),
                        "event" => event.event = value.to_string(),
                        "data" => {
                            if !data.is_empty() {
                                data.push('\n');
                            }
                            data.push_str(value);
                        }
                        _ => {}
                    }
                }
                if any {
                    event.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    return Some(event);
                }
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Skips events until one named `kind` comes.
    pub async fn next_of(&mut self, kind: &str) -> SseEvent {
        loop {
            let event = self
                .next()
                .await
                .unwrap_or_else(|| panic!("the stream ended before a {kind} event"));
            if event.event == kind {
                return event;
            }
        }
    }
}

/// Opens a ticket as the holder of `token`; returns its id.
pub async fn open_ticket(addr: SocketAddr, token: &str, subject: &str) -> i64 {
    let (status, ticket) = http(
        addr,
        "POST",
        "/api/v1/tickets",
        Some(token),
        Some(&serde_json::json!({ "subject": subject, "body": "First message" })),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    ticket["id"].as_i64().unwrap()
}
