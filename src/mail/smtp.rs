//! SMTP delivery through lettre: one pooled transport built at start, and
//! lettre's errors turned into hints an operator can act on.

use std::error::Error as _;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Email, Mailer, SendError};
use crate::config::{SmtpConfig, SmtpSecurity};
use crate::error::Error;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    endpoint: String,
    timeout: Duration,
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, Error> {
        let host = config
            .host
            .as_deref()
            .ok_or_else(|| Error::Config("`smtp.host` is not set".into()))?;
        let port = config.port.unwrap_or(config.security.default_port());
        let bad_host = |e: lettre::transport::smtp::Error| {
            Error::Config(format!("`smtp.host`: cannot use {host} for TLS: {e}"))
        };
        let builder = match config.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(bad_host)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(bad_host)?
            }
        };
        let timeout = Duration::from_secs(config.timeout_secs);
        let mut builder = builder
            .port(port)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(4));
        if let Some(user) = &config.username {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let security = match config.security {
            SmtpSecurity::None => "none",
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
        };
        Ok(Self {
            transport: builder.build(),
            endpoint: format!("smtp://{host}:{port} ({security})"),
            timeout,
        })
    }
}

#[rocket::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), SendError> {
        // lettre's own timeout covers each command; this one bounds the whole exchange.
        let bytes = email.formatted();
        let sending = self.transport.send_raw(email.envelope(), &bytes);
        match tokio::time::timeout(self.timeout * 3, sending).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(hint(&e)),
            Err(_) => Err(SendError::transient(format!(
                "timed out after {} s",
                (self.timeout * 3).as_secs()
            ))),
        }
    }

    fn describe(&self) -> String {
        self.endpoint.clone()
    }

    async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(self.timeout * 2, self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("the server did not answer as an SMTP server".into()),
            Ok(Err(e)) => Err(hint(&e).hint),
            Err(_) => Err(format!(
                "timed out after {} s",
                (self.timeout * 2).as_secs()
            )),
        }
    }
}

/// Words for an operator: what failed and, where the server said, its code.
pub fn hint(e: &lettre::transport::smtp::Error) -> SendError {
    let server_says = || {
        e.source()
            .map(|s| s.to_string().trim().to_string())
            .filter(|s| !s.is_empty())
            .map_or_else(String::new, |s| format!(": {s}"))
    };
    if let Some(code) = e.status() {
        let code = code.to_string();
        let what =
            if matches!(code.as_str(), "535" | "534" | "530") || (code == "454" && is_auth(e)) {
                "authentication failed"
            } else if code.starts_with("55") {
                "recipient or sender rejected"
            } else if code.starts_with('5') {
                "rejected by the server"
            } else {
                "temporarily refused by the server"
            };
        let text = format!("{what} ({code}){}", server_says());
        return if e.is_permanent() {
            SendError::permanent(text)
        } else {
            SendError::transient(text)
        };
    }
    if e.is_tls() {
        return SendError::transient(format!("TLS handshake failed{}", server_says()));
    }
    if e.is_timeout() {
        return SendError::transient("timed out waiting for the server");
    }
    if let Some(io) = io_cause(e) {
        use std::io::ErrorKind;
        let text = match io.kind() {
            ErrorKind::ConnectionRefused => "connection refused".to_string(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                "connection reset by the server".to_string()
            }
            ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
            ErrorKind::TimedOut => "timed out connecting".to_string(),
            _ if io.to_string().contains("lookup") || io.to_string().contains("resolve") => {
                format!("cannot resolve the host name ({io})")
            }
            _ => format!("network error: {io}"),
        };
        return SendError::transient(text);
    }
    if e.is_client() {
        // E.g. no authentication mechanism in common: the configuration is wrong.
        return SendError::permanent(format!("cannot talk to the server{}", server_says()));
    }
    SendError::transient(e.to_string())
}

fn is_auth(e: &lettre::transport::smtp::Error) -> bool {
    e.to_string().to_ascii_lowercase().contains("auth")
}

fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = err.source();
    }
    None
}
