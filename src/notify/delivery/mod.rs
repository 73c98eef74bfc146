//! The outbox worker: claims due notifications, has them composed (links are
//! made then, so they never rest in the database), sends them through the
//! `Mailer`, and records the outcome (the shared worker of `queue`).

mod compose;

pub use crate::queue::DrainReport;

use std::sync::Arc;

use serde_json::json;

use super::outbox::{self, Claimed};
use super::Kind;
use crate::auth::JwtKeys;
use crate::config::{Config, MailConfig};
use crate::db::Db;
use crate::error::Error;
use crate::ids::PortalTokenId;
use crate::mail::templates::Templates;
use crate::mail::{MailIdentity, Mailer, SendError};
use crate::queue::{self, Courier, Outcome};
use crate::{portal, settings};

use compose::{Addressee, ComposeError};

pub struct Delivery {
    db: Db,
    mailer: Arc<dyn Mailer>,
    templates: Templates,
    identity: MailIdentity,
    keys: Arc<JwtKeys>,
    public_url: String,
    config: MailConfig,
    /// Largest total of files a mail carries; above it, links instead.
    max_mail_bytes: u64,
    wake: tokio::sync::Notify,
}

impl Delivery {
    pub fn new(
        config: &Config,
        db: Db,
        keys: Arc<JwtKeys>,
        mailer: Arc<dyn Mailer>,
    ) -> Result<Self, Error> {
        Ok(Self {
            db,
            mailer,
            templates: Templates::load(config.mail.templates_dir.as_deref())?,
            identity: MailIdentity::new(config)?,
            keys,
            public_url: config.public_url(),
            config: config.mail.clone(),
            max_mail_bytes: config.attachments.max_mail_bytes.as_u64(),
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn identity(&self) -> &MailIdentity {
        &self.identity
    }

    pub fn mailer(&self) -> &Arc<dyn Mailer> {
        &self.mailer
    }

    /// Asks the worker to look for due rows now (after a commit that enqueued some).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends every row due now; returns what happened. Tests drive delivery with it.
    pub async fn drain_once(self: &Arc<Self>) -> Result<DrainReport, Error> {
        queue::drain_once(self).await
    }

    /// Delivers until `shutdown` (the shared worker of `queue`).
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tracing::info!(transport = %self.mailer.describe(), "mail delivery starting");
        queue::run(self, shutdown).await;
    }

    async fn deliver(self: &Arc<Self>, row: Claimed) -> Result<Outcome, Error> {
        let id = row.id;
        let attempts = row.attempts;
        let this = Arc::clone(self);
        let composed = self
            .db
            .write(move |tx| match this.compose(tx, &row) {
                Ok(c) => Ok(Ok(c)),
                Err(ComposeError::Gone(why)) => Ok(Err(why)),
                Err(ComposeError::Failed(e)) => Err(e),
            })
            .await;
        let composed = match composed {
            Ok(Ok(c)) => c,
            Ok(Err(why)) => {
                tracing::warn!(notification = id, reason = %why, "notification dropped");
                self.db
                    .write(move |tx| outbox::mark_failed(tx, id, &why, None, None))
                    .await?;
                return Ok(Outcome::Dead);
            }
            Err(e) => {
                // A rendering or database problem: count it as a failed attempt.
                let error = SendError::transient(format!("could not compose the message: {e}"));
                return self.record_failure(id, attempts, &error, None, None).await;
            }
        };
        match self.mailer.send(&composed.email).await {
            Ok(()) => {
                let subject = composed.subject;
                self.db
                    .write(move |tx| outbox::mark_sent(tx, id, &subject))
                    .await?;
                tracing::info!(notification = id, "notification sent");
                Ok(Outcome::Sent)
            }
            Err(error) => {
                self.record_failure(
                    id,
                    attempts,
                    &error,
                    Some(composed.subject),
                    composed.portal_token,
                )
                .await
            }
        }
    }

    async fn record_failure(
        &self,
        id: i64,
        attempts: u32,
        error: &SendError,
        subject: Option<String>,
        portal_token: Option<PortalTokenId>,
    ) -> Result<Outcome, Error> {
        let retry_at = queue::retry_at(
            self.config.retry_base_secs,
            attempts,
            self.config.max_attempts,
            error.permanent,
        );
        let give_up = retry_at.is_none();
        let hint = error.hint.clone();
        self.db
            .write(move |tx| {
                if let Some(token) = portal_token {
                    portal::revoke(tx, token)?;
                }
                outbox::mark_failed(tx, id, &hint, subject.as_deref(), retry_at)
            })
            .await?;
        if give_up {
            tracing::warn!(notification = id, attempts, error = %error, "notification dead");
            Ok(Outcome::Dead)
        } else {
            tracing::warn!(notification = id, attempts, error = %error, "notification failed; will retry");
            Ok(Outcome::Retrying)
        }
    }

    /// Sends a test message now, outside the outbox (`helpline mail test`).
    pub async fn send_test(&self, to: &str) -> Result<(), SendError> {
        let settings = self
            .db
            .read(settings::load)
            .await
            .map_err(|e| SendError::transient(e.to_string()))?;
        let helpdesk_name = settings.helpdesk_name.clone();
        let sender = self
            .identity
            .adopting(&helpdesk_name, settings.support_email.as_deref());
        let context = json!({
            "helpdesk_name": helpdesk_name,
            "base_url": self.public_url,
            "transport": self.mailer.describe(),
            "recipient": { "name": to, "email": to },
        });
        let rendered = self
            .templates
            .render("test", &context)
            .map_err(|e| SendError::permanent(e.to_string()))?;
        let message_id = self.identity.new_message_id(&self.keys, None);
        let email = self
            .build(
                &Addressee {
                    address: to,
                    name: to,
                    user: None,
                },
                &message_id,
                None,
                None,
                (&rendered, Vec::new()),
                (&sender, &helpdesk_name),
            )
            .map_err(SendError::permanent)?;
        self.mailer.send(&email).await
    }
}

impl Courier for Delivery {
    type Job = Claimed;
    const WHAT: &'static str = "mail delivery";

    fn db(&self) -> &Db {
        &self.db
    }

    fn lease_secs(&self) -> u64 {
        self.config.lease_secs
    }

    fn claim(
        &self,
    ) -> impl FnOnce(&rusqlite::Connection) -> Result<Option<Claimed>, Error> + Send + 'static {
        let lease = self.config.lease_secs;
        move |conn| Ok(outbox::claim_due(conn, lease, 1)?.pop())
    }

    fn release_leases(conn: &rusqlite::Connection) -> Result<usize, Error> {
        outbox::release_leases(conn)
    }

    fn deliver(
        self: &Arc<Self>,
        job: Claimed,
    ) -> impl std::future::Future<Output = Result<Outcome, Error>> + Send {
        Delivery::deliver(self, job)
    }

    async fn woken(&self) {
        self.wake.notified().await;
    }
}
