//! Startup configuration: defaults < `helpline.toml` < `HELPLINE_*` variables < CLI flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use rocket::data::ByteUnit;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

mod env_vars;
use env_vars::EnvVars;

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
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub bcrypt_cost: u32,
    pub inbound_secret: Option<Secret>,
    /// Header holding the client's IP when behind a reverse proxy (e.g. `X-Real-IP`).
    pub ip_header: Option<String>,
    pub rate_limits: RateLimitConfig,
    pub database: DatabaseConfig,
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
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            bcrypt_cost: 12,
            inbound_secret: None,
            ip_header: None,
            rate_limits: RateLimitConfig::default(),
            database: DatabaseConfig::default(),
            shutdown_grace_secs: 5,
        }
    }
}

/// Values given on the command line; they win over every other source.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration the way the binary does: the given file (or
    /// `helpline.toml` in the working directory when it exists), then the
    /// process environment, then `overrides`. Then validates it.
    #[allow(clippy::disallowed_methods)] // the one place that reads the environment
    pub fn from_env(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Error> {
        Self::load(file, std::env::vars(), overrides)
    }

    /// Same as [`Config::from_env`] with the environment given explicitly.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, Error> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::Config(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        figment = figment.merge(EnvVars::new(env));
        if let Some(listen) = overrides.listen {
            figment = figment.merge(("listen", listen.to_string()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(("data_dir", dir));
        }
        let config: Config = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            Error::Config(messages.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense; each message names the key.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, msg: String| problems.push(format!("`{key}`: {msg}"));

        if self.data_dir.as_os_str().is_empty() {
            bad("data_dir", "must not be empty".into());
        }
        if let Some(url) = &self.base_url {
            if let Err(msg) = check_base_url(url) {
                bad("base_url", msg);
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            bad(
                "log",
                format!(
                    "`{}` is not a log filter ({e}); try `info` or `helpline=debug`",
                    self.log
                ),
            );
        }
        if self.body_limit < ByteUnit::Kibibyte(1) || self.body_limit > ByteUnit::Mebibyte(256) {
            bad("body_limit", "must be between 1KiB and 256MiB".into());
        }
        for origin in &self.cors_origins {
            if let Err(msg) = check_origin(origin) {
                bad("cors_origins", msg);
            }
        }
        self.check_smtp(&mut bad);
        if let Some(secret) = &self.jwt_secret {
            if secret.expose().len() < 32 {
                bad("jwt_secret", "must be at least 32 characters long".into());
            }
        }
        if let Some(secret) = &self.inbound_secret {
            if secret.expose().len() < 16 {
                bad(
                    "inbound_secret",
                    "must be at least 16 characters long".into(),
                );
            }
        }
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            bad(
                "access_token_ttl_secs",
                "must be between 60 and 86400".into(),
            );
        }
        if self.refresh_token_ttl_secs <= self.access_token_ttl_secs
            || self.refresh_token_ttl_secs > 365 * 86_400
        {
            bad(
                "refresh_token_ttl_secs",
                "must be longer than access_token_ttl_secs and at most 31536000 (a year)".into(),
            );
        }
        if let Some(header) = &self.ip_header {
            let valid = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !valid {
                bad(
                    "ip_header",
                    format!("`{header}` is not a header name like X-Real-IP"),
                );
            }
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            bad("bcrypt_cost", "must be between 4 and 31".into());
        }
        if !(1..=64).contains(&self.database.read_pool_size) {
            bad("database.read_pool_size", "must be between 1 and 64".into());
        }
        if self.database.busy_timeout_ms > 60_000 {
            bad("database.busy_timeout_ms", "must be at most 60000".into());
        }
        self.check_realtime(&mut bad);
        if self.shutdown_grace_secs > 300 {
            bad("shutdown_grace_secs", "must be at most 300".into());
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "invalid configuration: {}",
                problems.join("; ")
            )))
        }
    }

    fn check_realtime(&self, bad: &mut impl FnMut(&str, String)) {
        let rt = &self.realtime;
        if !(1..=100_000).contains(&rt.max_connections) {
            bad(
                "realtime.max_connections",
                "must be between 1 and 100000".into(),
            );
        }
        if rt.max_connections_per_user == 0 || rt.max_connections_per_user > rt.max_connections {
            bad(
                "realtime.max_connections_per_user",
                "must be between 1 and realtime.max_connections".into(),
            );
        }
        if !(10..=1_000_000).contains(&rt.backlog) {
            bad("realtime.backlog", "must be between 10 and 1000000".into());
        }
        if !(1..=300).contains(&rt.heartbeat_secs) {
            bad(
                "realtime.heartbeat_secs",
                "must be between 1 and 300".into(),
            );
        }
        if !(1024..=16 * 1024 * 1024).contains(&rt.max_frame_bytes) {
            bad(
                "realtime.max_frame_bytes",
                "must be between 1024 and 16777216".into(),
            );
        }
    }

    fn check_smtp(&self, bad: &mut impl FnMut(&str, String)) {
        if let Some(host) = &self.smtp.host {
            if host.trim().is_empty() || host.contains(char::is_whitespace) {
                bad("smtp.host", format!("`{host}` is not a host name"));
            }
            if self.smtp.port == Some(0) {
                bad("smtp.port", "must be between 1 and 65535".into());
            }
            if self.smtp.password.is_some() && self.smtp.username.is_none() {
                bad(
                    "smtp.username",
                    "is required when smtp.password is set".into(),
                );
            }
        }
        if !self.smtp.from.contains('@') {
            bad(
                "smtp.from",
                format!(
                    "`{}` is not an address like `Support <support@example.com>`",
                    self.smtp.from
                ),
            );
        }
        if self.smtp.timeout_secs == 0 || self.smtp.timeout_secs > 600 {
            bad("smtp.timeout_secs", "must be between 1 and 600".into());
        }
        if let Some(reply) = &self.mail.reply_address {
            let ok = reply.contains("{token}")
                && reply
                    .rsplit_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !reply.contains(char::is_whitespace);
            if !ok {
                bad(
                    "mail.reply_address",
                    format!("`{reply}` must be an address with `{{token}}` in it, like support+{{token}}@example.com"),
                );
            }
        }
        if let Some(dir) = &self.mail.templates_dir {
            if !dir.is_dir() {
                bad(
                    "mail.templates_dir",
                    format!("{} is not a directory", dir.display()),
                );
            }
        }
        if !(1..=100).contains(&self.mail.max_attempts) {
            bad("mail.max_attempts", "must be between 1 and 100".into());
        }
        if !(1..=86_400).contains(&self.mail.retry_base_secs) {
            bad("mail.retry_base_secs", "must be between 1 and 86400".into());
        }
        // One send may take up to three times the SMTP timeout (connect, talk, data).
        if self.mail.lease_secs <= 3 * self.smtp.timeout_secs || self.mail.lease_secs > 86_400 {
            bad(
                "mail.lease_secs",
                "must be longer than 3 × smtp.timeout_secs and at most 86400".into(),
            );
        }
    }

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

fn check_base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("`{url}` has no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("`{url}` must not contain a query or fragment"));
    }
    Ok(())
}

fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    check_base_url(origin)?;
    let rest = origin.split_once("://").map_or("", |(_, rest)| rest);
    if rest.contains('/') {
        return Err(format!(
            "`{origin}` is not an origin (scheme://host[:port] with no path)"
        ));
    }
    Ok(())
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
