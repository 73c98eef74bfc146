//! What request handlers are given (`AppState`, managed by Rocket), and the
//! small contexts it hands to the domain, which never sees the whole of it.

use std::sync::Arc;

use crate::auth::password::PasswordHasher;
use crate::auth::rate_limit::RateLimits;
use crate::auth::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::events::EventHub;
use crate::metrics::Metrics;
use crate::notify::delivery::Delivery;

/// Everything a request handler may need, given to Rocket with `.manage()`.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub keys: Arc<JwtKeys>,
    /// The outbox worker and the mail transport.
    pub delivery: Arc<Delivery>,
    /// The webhook delivery worker.
    pub webhooks: Arc<crate::webhooks::Dispatcher>,
    /// Drafted replies from the configured model, if any.
    pub suggester: Arc<crate::suggest::Suggester>,
    /// Live events, presence and connection limits.
    pub events: Arc<EventHub>,
    pub hasher: PasswordHasher,
    pub rate_limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    /// Portal link uses not yet written (the maintenance task writes them).
    pub portal_uses: Arc<crate::portal::UseCounter>,
    /// The IMAP mailboxes of the configuration and how each is doing.
    pub mailboxes: Arc<crate::mail::imap::Mailboxes>,
    /// The OpenAPI document, serialized once at start.
    pub openapi_json: String,
}

impl AppState {
    /// What account operations need: sign-in, registration, resets, user management.
    pub fn accounts(&self) -> crate::users::Accounts<'_> {
        crate::users::Accounts {
            config: &self.config,
            db: &self.db,
            keys: &self.keys,
            hasher: &self.hasher,
            rate_limits: &self.rate_limits,
            events: &self.events,
            delivery: &self.delivery,
        }
    }

    /// What a portal link's holder reaches the help desk through.
    pub fn portal(&self) -> crate::portal::access::Portal<'_> {
        crate::portal::access::Portal {
            db: &self.db,
            rate_limits: &self.rate_limits,
            uses: &self.portal_uses,
            max_message_bytes: self.config.attachments.max_message_bytes.as_u64(),
        }
    }

    /// What the support form and the support API need.
    pub fn intake(&self) -> crate::portal::intake::Intake<'_> {
        crate::portal::intake::Intake {
            db: &self.db,
            rate_limits: &self.rate_limits,
            public_url: self.config.public_url(),
        }
    }
}
