//! The outbox worker: claims due notifications, has them composed (links are
//! made then, so they never rest in the database), sends them through the
//! `Mailer`, and records the outcome with backoff and dead letters.

mod compose;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
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
use crate::{portal, settings};

use compose::{Addressee, ComposeError};

/// Rows taken per claim: one, so that a lease only ever covers one send.
const BATCH: u32 = 1;
/// Longest wait between retries, whatever the attempt count.
const MAX_BACKOFF_SECS: u64 = 6 * 3600;

/// What one `drain_once` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    /// Failed, to be retried later.
    pub retrying: usize,
    /// Given up.
    pub dead: usize,
}

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
        let mut report = DrainReport::default();
        loop {
            let lease = self.config.lease_secs;
            let claimed = self
                .db
                .write(move |tx| outbox::claim_due(tx, lease, BATCH))
                .await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            for row in claimed {
                match self.deliver(row).await? {
                    Outcome::Sent => report.sent += 1,
                    Outcome::Retrying => report.retrying += 1,
                    Outcome::Dead => report.dead += 1,
                }
            }
        }
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
        let give_up = error.permanent || attempts >= self.config.max_attempts;
        let retry_at = (!give_up).then(|| {
            time::OffsetDateTime::now_utc()
                + time::Duration::seconds(
                    i64::try_from(backoff_secs(self.config.retry_base_secs, attempts))
                        .unwrap_or(i64::MAX / 2),
                )
        });
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

    /// Delivers until `shutdown`: looks for due rows every second and whenever woken.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        match self.db.write(outbox::release_leases).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                notifications = n,
                "resuming notifications an earlier run was sending"
            ),
            Err(e) => tracing::warn!(error = %e, "could not release notification leases"),
        }
        tracing::info!(transport = %self.mailer.describe(), "mail delivery started");
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.drain_once().await {
                tracing::warn!(error = %e, "mail delivery failed; trying again shortly");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

enum Outcome {
    Sent,
    Retrying,
    Dead,
}

/// Exponential backoff with ±20 % jitter: base, 2×base, 4×base, ... capped.
pub fn backoff_secs(base: u64, attempts: u32) -> u64 {
    let exp = base.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
    let capped = exp.clamp(1, MAX_BACKOFF_SECS);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let secs = (capped as f64 * jitter).round() as u64;
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for _ in 0..50 {
            let first = backoff_secs(60, 1);
            assert!((48..=72).contains(&first), "{first}");
            let third = backoff_secs(60, 3);
            assert!((192..=288).contains(&third), "{third}");
            assert!(backoff_secs(60, 40) <= 6 * 3600 * 12 / 10);
        }
    }
}
