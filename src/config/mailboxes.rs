//! `[[mailboxes]]`: hosted mailboxes the server fetches over IMAP.

use serde::{Deserialize, Serialize};

use super::Secret;

/// How the IMAP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapSecurity {
    /// Plain text; only for a server on loopback.
    None,
    Starttls,
    Tls,
}

/// What happens on the server to a message once it is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterFiling {
    /// Flag it `\Seen`.
    Seen,
    /// Move it to `move_to`.
    Move,
    /// Delete it (expunge).
    Delete,
}

/// One mailbox to fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Shown in the admin page, the log and the metrics.
    pub name: String,
    /// The support address this mailbox receives.
    pub address: String,
    pub host: String,
    /// Default: 993 for `tls`, 143 otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "tls")]
    pub security: ImapSecurity,
    pub username: String,
    /// The password in the file; better `password_env`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The environment variable that holds the password.
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default = "inbox")]
    pub folder: String,
    #[serde(default = "seen")]
    pub after: AfterFiling,
    /// The folder filed messages move to, with `after = "move"`.
    #[serde(default)]
    pub move_to: Option<String>,
    /// Seconds between checks when the server has no IDLE.
    #[serde(default = "poll_secs")]
    pub poll_secs: u64,
    /// `From` of notifications; default: `address`.
    #[serde(default)]
    pub from: Option<String>,
    /// The value of `password_env`, read when the configuration loads.
    #[serde(skip)]
    pub(super) password_from_env: Option<Secret>,
}

fn tls() -> ImapSecurity {
    ImapSecurity::Tls
}
fn inbox() -> String {
    "INBOX".into()
}
fn seen() -> AfterFiling {
    AfterFiling::Seen
}
fn poll_secs() -> u64 {
    60
}

impl MailboxConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            ImapSecurity::Tls => 993,
            ImapSecurity::Starttls | ImapSecurity::None => 143,
        })
    }

    /// The password, from the environment variable it names or the file.
    pub fn password(&self) -> Option<Secret> {
        match &self.password_env {
            Some(_) => self.password_from_env.clone(),
            None => self.password.clone(),
        }
    }

    /// Problems with this entry, as `(key, message)`.
    pub(super) fn problems(&self, index: usize) -> Vec<(String, String)> {
        let key = |k: &str| format!("mailboxes[{index}].{k}");
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push((key("name"), "must not be empty".into()));
        }
        if !self.address.contains('@') || self.address.contains(char::is_whitespace) {
            out.push((
                key("address"),
                format!("`{}` is not an email address", self.address),
            ));
        }
        if self.host.trim().is_empty() || self.host.contains(char::is_whitespace) {
            out.push((key("host"), format!("`{}` is not a host name", self.host)));
        }
        let loopback = self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.security == ImapSecurity::None && !loopback {
            out.push((
                key("security"),
                "`none` sends the password in clear text; use `tls` or `starttls` (none is only for a server on loopback)".into(),
            ));
        }
        if self.username.trim().is_empty() {
            out.push((key("username"), "must not be empty".into()));
        }
        match (&self.password, &self.password_env) {
            (Some(_), Some(_)) => out.push((
                key("password"),
                "give `password` or `password_env`, not both".into(),
            )),
            (None, None) => out.push((
                key("password_env"),
                "name the environment variable that holds the password (or set `password`)".into(),
            )),
            (None, Some(var)) if self.password_from_env.is_none() => out.push((
                key("password_env"),
                format!("the environment variable `{var}` is not set"),
            )),
            _ => {}
        }
        if self.folder.trim().is_empty() {
            out.push((key("folder"), "must not be empty".into()));
        }
        match (self.after, &self.move_to) {
            (AfterFiling::Move, None) => {
                out.push((key("move_to"), "is needed with after = \"move\"".into()));
            }
            (AfterFiling::Move, Some(to)) if to == &self.folder => {
                out.push((key("move_to"), "must differ from `folder`".into()));
            }
            _ => {}
        }
        if !(5..=3600).contains(&self.poll_secs) {
            out.push((key("poll_secs"), "must be between 5 and 3600".into()));
        }
        if let Some(from) = &self.from {
            if from.parse::<lettre::message::Mailbox>().is_err() {
                out.push((
                    key("from"),
                    format!("`{from}` is not an address like `Support <support@example.com>`"),
                ));
            }
        }
        out
    }
}
