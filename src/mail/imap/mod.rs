//! Hosted mailboxes fetched over IMAP inside the server: no MTA, no cron.
//! One watcher per `[[mailboxes]]` entry (`fetch`), sessions opened by
//! `connect`; this file keeps what the admin page and metrics show.

mod connect;
mod fetch;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

pub use connect::open;
pub use fetch::Fetcher;

use crate::config::MailboxConfig;

/// What a mailbox's watcher is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailboxState {
    Connecting,
    /// Connected and waiting for mail (IDLE, or between polls).
    Idle,
    Fetching,
    /// The last attempt failed; see `last_error`. It retries with backoff.
    Error,
}

/// A mailbox as the admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailboxView {
    pub name: String,
    pub address: String,
    pub state: MailboxState,
    pub last_fetch_at: Option<String>,
    /// What went wrong, as a hint.
    pub last_error: Option<String>,
    /// Messages filed since the server started.
    pub filed: u64,
}

/// A mailbox failing this long is worth a warning in the log.
const WARN_AFTER: Duration = Duration::from_mins(10);

struct Status {
    view: MailboxView,
    failing_since: Option<Instant>,
    warned: bool,
    /// The current connection got as far as waiting for mail.
    reached_idle: bool,
}

/// The configured mailboxes and how each is doing.
pub struct Mailboxes {
    entries: Vec<(MailboxConfig, Mutex<Status>)>,
}

impl Mailboxes {
    pub fn new(configs: &[MailboxConfig]) -> Self {
        let entries = configs
            .iter()
            .map(|c| {
                let view = MailboxView {
                    name: c.name.clone(),
                    address: c.address.clone(),
                    state: MailboxState::Connecting,
                    last_fetch_at: None,
                    last_error: None,
                    filed: 0,
                };
                (
                    c.clone(),
                    Mutex::new(Status {
                        view,
                        failing_since: None,
                        warned: false,
                        reached_idle: false,
                    }),
                )
            })
            .collect();
        Self { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every mailbox's state, in configuration order.
    pub fn views(&self) -> Vec<MailboxView> {
        self.entries
            .iter()
            .map(|(_, s)| s.lock().map(|s| s.view.clone()))
            .collect::<Result<_, _>>()
            .unwrap_or_default()
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut Status)) {
        if let Some((_, status)) = self.entries.get(index) {
            if let Ok(mut status) = status.lock() {
                f(&mut status);
            }
        }
    }

    fn set_state(&self, index: usize, state: MailboxState) {
        self.update(index, |s| {
            s.view.state = state;
            match state {
                MailboxState::Connecting => s.reached_idle = false,
                MailboxState::Idle => s.reached_idle = true,
                _ => {}
            }
        });
    }

    /// Whether the connection that just ended had got as far as waiting for mail.
    fn reached_idle(&self, index: usize) -> bool {
        self.entries
            .get(index)
            .and_then(|(_, s)| s.lock().ok().map(|s| s.reached_idle))
            .unwrap_or(false)
    }

    /// A round went through: the mailbox works (again).
    fn fetched(&self, index: usize, filed: u64) {
        self.update(index, |s| {
            s.view.last_fetch_at = Some(crate::db::now());
            s.view.filed += filed;
            s.failing_since = None;
            s.warned = false;
            s.view.last_error = None;
        });
    }

    fn failed(&self, index: usize, hint: &str) {
        self.update(index, |s| {
            s.view.state = MailboxState::Error;
            s.view.last_error = Some(hint.to_string());
            let since = *s.failing_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= WARN_AFTER && !s.warned {
                s.warned = true;
                tracing::warn!(mailbox = %s.view.name, error = %hint, "a mailbox has failed for 10 minutes; no mail comes in from it");
            }
        });
    }
}

/// Shared by the watchers: the mailboxes and what filing needs.
pub type SharedMailboxes = Arc<Mailboxes>;
