//! Email: the `Mailer` trait and its transports (SMTP, files), templates,
//! threading identifiers, and the inbound parsing path.

pub mod file;
pub mod identity;
pub mod imap;
pub mod inbound;
pub mod quote;
pub mod smtp;
pub mod templates;

use std::sync::Arc;

use crate::config::Config;
use crate::error::Error;

pub use identity::MailIdentity;
pub use lettre::Message as Email;

/// Why a message was not delivered, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// The server refused for good (SMTP 5xx): retrying cannot help.
    pub permanent: bool,
    /// "authentication failed (535)", "connection refused", ...
    pub hint: String,
}

impl SendError {
    pub fn transient(hint: impl Into<String>) -> Self {
        Self {
            permanent: false,
            hint: hint.into(),
        }
    }

    pub fn permanent(hint: impl Into<String>) -> Self {
        Self {
            permanent: true,
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hint)
    }
}

/// Delivers one finished message. Embedders and tests may supply their own.
#[rocket::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), SendError>;

    /// Where mail goes, for logs: `smtp://host:587 (starttls)`, `files in ...`.
    fn describe(&self) -> String;

    /// Connects (and signs in) without sending; `Err` is the hint.
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The transport the configuration asks for: SMTP when `smtp.host` is set,
/// otherwise `.eml` files in the data directory.
pub fn from_config(config: &Config) -> Result<Arc<dyn Mailer>, Error> {
    Ok(match &config.smtp.host {
        Some(_) => Arc::new(smtp::SmtpMailer::new(&config.smtp)?),
        None => Arc::new(file::FileMailer::new(
            config.data_dir.join(file::OUTGOING_DIR),
        )),
    })
}
