//! Startup configuration: defaults < `helpline.toml` < `HELPLINE_*` variables < CLI flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use rocket::data::ByteUnit;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod mailboxes;
pub use mailboxes::{AfterFiling, ImapSecurity, MailboxConfig};
mod env_vars;
mod integrations;
pub use integrations::{AiConfig, WebhooksConfig};
mod load;
mod validate;

pub use load::Overrides;

/// The documented example configuration, printed by `helpline config --example`.
pub const EXAMPLE: &str = include_str!("../helpline.example.toml");

/// Configuration file read from the working directory when no other is named.
pub const DEFAULT_FILE: &str = "helpline.toml";

/// Prefix of every environment variable Helpline reads.
pub const ENV_PREFIX: &str = "HELPLINE_";

/// A secret value: never printed by `Debug`, never serialized in clear.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

impl SmtpSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Normal,
    Full,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// SMTP server; without it, outgoing mail is written to files in the data directory.
    pub host: Option<String>,
    /// Defaults to 25, 587 or 465 depending on `security`.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "Helpline <helpline@localhost>".into(),
            timeout_secs: 30,
        }
    }
}

/// Addressing, templates and delivery of email (the transport is `[smtp]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Reply-To of notifications; `{token}` becomes the ticket's reply token.
    /// Default: the `smtp.from` address with `+{token}` after its local part.
    pub reply_address: Option<String>,
    /// Folder whose `<name>.txt` / `<name>.html` files replace the built-in templates.
    pub templates_dir: Option<PathBuf>,
    /// Delivery attempts before a notification is `dead`.
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry waits twice as long (plus jitter).
    pub retry_base_secs: u64,
    /// How long a worker may hold a notification it is sending before another takes it.
    pub lease_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            reply_address: None,
            templates_dir: None,
            max_attempts: 8,
            retry_base_secs: 60,
            lease_secs: 300,
        }
    }
}

/// Files on messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentsConfig {
    /// Largest file accepted (uploads, and each file of an inbound mail).
    pub max_file_bytes: ByteUnit,
    /// Largest total of one message's files.
    pub max_message_bytes: ByteUnit,
    /// Largest total of files put into one outgoing mail; above it the mail
    /// carries download links instead.
    pub max_mail_bytes: ByteUnit,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: ByteUnit::Mebibyte(25),
            max_message_bytes: ByteUnit::Mebibyte(50),
            max_mail_bytes: ByteUnit::Mebibyte(10),
        }
    }
}

impl AttachmentsConfig {
    /// Largest inbound mail: the files of one message in base64, plus text.
    pub fn max_inbound_mail_bytes(&self) -> u64 {
        (self.max_message_bytes.as_u64() / 3 * 4 + (1 << 20)).max(25 << 20)
    }
}

/// Live updates (SSE) and chat (WebSocket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeConfig {
    /// Open event streams and chat sockets, all users together.
    pub max_connections: usize,
    /// Open event streams and chat sockets per user or API key.
    pub max_connections_per_user: usize,
    /// Recent events kept for clients resuming with `Last-Event-ID`.
    pub backlog: u32,
    /// Seconds between keep-alive comments on an idle event stream.
    pub heartbeat_secs: u64,
    /// Largest chat frame accepted; a larger one closes the socket (1009).
    pub max_frame_bytes: usize,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            max_connections_per_user: 20,
            backlog: 1000,
            heartbeat_secs: 15,
            max_frame_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connections in the read pool (writes always go through one connection).
    pub read_pool_size: u32,
    /// `normal` (fast, safe against process crashes) or `full` (every commit on disk).
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            read_pool_size: 4,
            synchronous: Synchronous::Normal,
            busy_timeout_ms: 5000,
        }
    }
}

/// Attempts allowed per minute (refilled evenly); 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub login_per_ip: u32,
    pub login_per_account: u32,
    pub register_per_ip: u32,
    pub refresh_per_ip: u32,
    pub password_reset_per_ip: u32,
    pub password_reset_per_account: u32,
    pub api_key_failures_per_ip: u32,
    pub intake_per_ip: u32,
    /// Portal link requests (read, answer, open) per client network.
    pub portal_per_ip: u32,
    /// Requests per portal link, known or not.
    pub portal_per_token: u32,
    /// New tickets through one portal link, per hour (each mails the requester).
    pub portal_tickets_per_token: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            login_per_ip: 30,
            login_per_account: 10,
            register_per_ip: 10,
            refresh_per_ip: 60,
            password_reset_per_ip: 10,
            password_reset_per_account: 3,
            api_key_failures_per_ip: 60,
            intake_per_ip: 10,
            portal_per_ip: 120,
            portal_per_token: 60,
            portal_tickets_per_token: 10,
        }
    }
}

/// Everything Helpline needs to start. Runtime settings live in the database instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Public URL used in links; defaults to `http://<listen>`.
    pub base_url: Option<String>,
    pub log: String,
    pub log_format: LogFormat,
    pub body_limit: ByteUnit,
    #[serde(deserialize_with = "string_or_list")]
    pub cors_origins: Vec<String>,
    pub smtp: SmtpConfig,
    pub mail: MailConfig,
    pub realtime: RealtimeConfig,
    pub attachments: AttachmentsConfig,
    /// Hosted mailboxes fetched over IMAP.
    pub mailboxes: Vec<MailboxConfig>,
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub bcrypt_cost: u32,
    pub inbound_secret: Option<Secret>,
    /// Header holding the client's IP when behind a reverse proxy (e.g. `X-Real-IP`).
    pub ip_header: Option<String>,
    pub rate_limits: RateLimitConfig,
    pub database: DatabaseConfig,
    pub webhooks: WebhooksConfig,
    pub ai: AiConfig,
    pub shutdown_grace_secs: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            base_url: None,
            log: "info".into(),
            log_format: LogFormat::Pretty,
            body_limit: ByteUnit::Mebibyte(1),
            cors_origins: Vec::new(),
            smtp: SmtpConfig::default(),
            mail: MailConfig::default(),
            realtime: RealtimeConfig::default(),
            attachments: AttachmentsConfig::default(),
            mailboxes: Vec::new(),
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            bcrypt_cost: 12,
            inbound_secret: None,
            ip_header: None,
            rate_limits: RateLimitConfig::default(),
            database: DatabaseConfig::default(),
            webhooks: WebhooksConfig::default(),
            ai: AiConfig::default(),
            shutdown_grace_secs: 5,
        }
    }
}

impl Config {
    /// The public URL used in links, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("helpline.db")
    }
}

/// Accepts `["a", "b"]` or a comma-separated string `"a,b"` (handy in env vars).
fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

#[cfg(test)]
mod tests;
