//! Test harness: one temporary data directory and database per test.

#![allow(dead_code)]

pub mod dovecot;
pub mod live;
pub mod process;
pub mod receiver;
pub mod stage;
pub mod webdriver;
pub mod wire;

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

/// Keeps every message the app sends, instead of sending it.
#[derive(Default)]
pub struct CapturingMailer {
    pub sent: std::sync::Mutex<Vec<Vec<u8>>>,
}

#[rocket::async_trait]
impl helpline::mail::Mailer for CapturingMailer {
    async fn send(&self, email: &helpline::mail::Email) -> Result<(), helpline::mail::SendError> {
        self.sent.lock().unwrap().push(email.formatted());
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// A sent message, parsed back.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl SentMail {
    pub fn parse(raw: &[u8]) -> Self {
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("parsable mail");
        Self {
            to: message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string(),
            subject: message.subject().unwrap_or_default().to_string(),
            text: message.body_text(0).unwrap_or_default().to_string(),
            html: message.body_html(0).unwrap_or_default().to_string(),
            raw: String::from_utf8_lossy(raw).to_string(),
        }
    }

    /// The value of a header, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = mail_parser::MessageParser::default().parse(self.raw.as_bytes())?;
        message
            .header_raw(name)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// The inbound webhook's secret in apps made by [`TestApp::receiving_mail`].
pub const INBOUND_SECRET: &str = "inbound-secret-for-tests";

/// An app under test with Rocket's in-process client. Mail is captured, and
/// sent only when the test calls [`TestApp::deliver`].
pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
    pub mailer: std::sync::Arc<CapturingMailer>,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|_| {}, Vec::new()).await
    }

    /// Builds with a tweaked config and extra routes mounted at `/test`.
    pub async fn with(tweak: impl FnOnce(&mut Config), routes: Vec<rocket::Route>) -> Self {
        Self::build(tweak, routes, true).await
    }

    /// Builds with the mail transport the config names (SMTP), not the capturing one.
    pub async fn with_real_mail(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::build(tweak, Vec::new(), false).await
    }

    async fn build(
        tweak: impl FnOnce(&mut Config),
        routes: Vec<rocket::Route>,
        capture: bool,
    ) -> Self {
        Self::build_in(tempfile::tempdir().unwrap(), tweak, routes, capture).await
    }

    /// The same data directory served by a new app, as after a restart.
    pub async fn restart(self) -> Self {
        let Self { client, dir, .. } = self;
        drop(client);
        Self::build_in(dir, |_| {}, Vec::new(), true).await
    }

    async fn build_in(
        dir: TempDir,
        tweak: impl FnOnce(&mut Config),
        routes: Vec<rocket::Route>,
        capture: bool,
    ) -> Self {
        let mut config = test_config(&dir);
        tweak(&mut config);
        let mailer = std::sync::Arc::new(CapturingMailer::default());
        let mut builder = App::builder()
            .config(config)
            .mount("/test", routes)
            .background_delivery(false);
        if capture {
            builder = builder.mailer(mailer.clone());
        }
        let app = builder.build().expect("app builds");
        let client = Client::tracked(app.rocket()).await.expect("valid rocket");
        Self {
            client,
            dir,
            mailer,
        }
    }

    /// Delivers every due notification; returns the messages sent now.
    pub async fn deliver(&self) -> Vec<SentMail> {
        let before = self.mailer.sent.lock().unwrap().len();
        self.state()
            .delivery
            .drain_once()
            .await
            .expect("delivery runs");
        let sent = self.mailer.sent.lock().unwrap();
        sent[before..]
            .iter()
            .map(|raw| SentMail::parse(raw))
            .collect()
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

use helpline::users::{repo as users_repo, Role, UserId};
use rocket::http::{ContentType, Header};

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer(String),
    ApiKey(String),
}

impl TestApp {
    pub fn state(&self) -> &helpline::AppState {
        self.client
            .rocket()
            .state::<helpline::AppState>()
            .expect("app state")
    }

    /// Creates a user straight in the database (password hashed at the test cost).
    pub async fn create_user(&self, email: &str, role: Role, password: Option<&str>) -> UserId {
        let hash = password.map(|p| bcrypt::hash(p, 4).unwrap());
        let (email, key) = (email.to_string(), email.to_lowercase());
        self.state()
            .db
            .write(move |tx| {
                let user = users_repo::insert(
                    tx,
                    &users_repo::NewUser {
                        email: &email,
                        email_key: &key,
                        name: "Test User",
                        role,
                        password_hash: hash.as_deref(),
                    },
                )?;
                Ok(user.user.id)
            })
            .await
            .unwrap()
    }

    /// Signs in and returns the token pair as JSON.
    pub async fn login(&self, email: &str, password: &str) -> serde_json::Value {
        let res = self
            .client
            .post("/api/v1/auth/login")
            .header(ContentType::JSON)
            .body(serde_json::json!({ "email": email, "password": password }).to_string())
            .dispatch()
            .await;
        assert_eq!(res.status().code, 200, "login of {email}");
        json(res).await
    }

    /// Creates a user with a password and signs them in; returns (id, access token, refresh token).
    pub async fn signed_in(&self, email: &str, role: Role) -> (UserId, String, String) {
        let id = self.create_user(email, role, Some(PASSWORD)).await;
        let pair = self.login(email, PASSWORD).await;
        (
            id,
            pair["access_token"].as_str().unwrap().to_string(),
            pair["refresh_token"].as_str().unwrap().to_string(),
        )
    }

    /// Creates an API key with `role` straight in the database; returns the key.
    pub async fn api_key(&self, role: Role) -> String {
        self.state()
            .db
            .write(move |tx| helpline::auth::api_keys::create(tx, "test key", role, None))
            .await
            .unwrap()
            .1
    }

    /// Uploads `bytes` as a raw body named `name`; returns the upload's id.
    pub async fn upload(&self, bearer: &str, name: &str, content_type: &str, bytes: &[u8]) -> i64 {
        let res = self
            .client
            .post(format!("/api/v1/uploads?filename={name}"))
            .header(ContentType::parse_flexible(content_type).expect("a media type"))
            .header(Header::new("Authorization", format!("Bearer {bearer}")))
            .body(bytes)
            .dispatch()
            .await;
        assert_eq!(res.status().code, 201, "upload of {name}");
        json(res).await["id"].as_i64().unwrap()
    }

    /// An app that takes mail on the inbound webhook (bearer [`INBOUND_SECRET`])
    /// and sends from `support@example.com`, tweaked further by `tweak`.
    pub async fn receiving_mail(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::with(
            |c| {
                c.inbound_secret = Some(helpline::config::Secret::new(INBOUND_SECRET));
                c.smtp.from = "Helpline <support@example.com>".into();
                tweak(c);
            },
            Vec::new(),
        )
        .await
    }

    /// Posts a raw mail to the inbound webhook with `secret`; returns (status, receipt).
    pub async fn mail_in(&self, secret: &str, raw: &[u8]) -> (u16, serde_json::Value) {
        let res = self
            .client
            .post("/api/v1/inbound/email")
            .header(ContentType::new("message", "rfc822"))
            .header(Header::new("Authorization", format!("Bearer {secret}")))
            .body(raw)
            .dispatch()
            .await;
        let status = res.status().code;
        (status, json(res).await)
    }

    /// Sends a request with optional auth and JSON body.
    /// `GET /api/v1/tickets?{query}` as `auth`; the page (the answer must be 200).
    pub async fn tickets(&self, auth: &Auth, query: &str) -> serde_json::Value {
        let res = self
            .call(
                rocket::http::Method::Get,
                &format!("/api/v1/tickets?{query}"),
                auth,
                None,
            )
            .await;
        assert_eq!(res.status().code, 200, "{query}");
        json(res).await
    }

    pub async fn call(
        &self,
        method: rocket::http::Method,
        path: &str,
        auth: &Auth,
        body: Option<serde_json::Value>,
    ) -> LocalResponse<'_> {
        let mut req = self.client.req(method, path.to_string());
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                req.add_header(Header::new("Authorization", format!("Bearer {token}")));
            }
            Auth::ApiKey(key) => req.add_header(Header::new("X-API-Key", key.clone())),
        }
        if let Some(body) = body {
            req.add_header(ContentType::JSON);
            req.set_body(body.to_string());
        }
        req.dispatch().await
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// The ids of a list page's items, in order.
pub fn item_ids(page: &serde_json::Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("a list page")
        .iter()
        .map(|t| t["id"].as_i64().expect("an id"))
        .collect()
}

/// A list page's `(total, total_capped)`.
pub fn total_of(page: &serde_json::Value) -> (i64, bool) {
    (
        page["total"].as_i64().expect("a total"),
        page["total_capped"].as_bool().expect("total_capped"),
    )
}
