//! The webhook dispatcher: a `queue::Courier` that POSTs each claimed
//! delivery (signed, with a timeout, redirects not followed, private targets
//! refused unless allowed) and records the answer.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::format::{self, Summary};
use super::model::Format;
use super::repo::{self, Claimed};
use crate::config::{Config, WebhooksConfig};
use crate::db::Db;
use crate::error::Error;
use crate::net::{self, Targets};
use crate::queue::{self, Courier, DrainReport, Outcome};
use crate::tickets::repo as tickets;

/// Sends one webhook may have in flight at once: a target that hangs holds
/// at most this many of the worker's sends.
const PER_WEBHOOK: usize = 2;

pub struct Dispatcher {
    db: Db,
    /// Sends in flight per webhook.
    busy: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
    client: reqwest::Client,
    config: WebhooksConfig,
    public_url: String,
    wake: tokio::sync::Notify,
}

/// Why an attempt failed: the answer's status if one came, and words.
struct Failure {
    status: Option<u16>,
    error: String,
    /// Not worth retrying (a target the guard refuses).
    permanent: bool,
}

impl Dispatcher {
    pub fn new(config: &Config, db: Db) -> Result<Self, Error> {
        let targets = if config.webhooks.allow_private {
            Targets::Any
        } else {
            Targets::PublicOnly
        };
        let client = net::client(
            targets,
            Some(Duration::from_secs(config.webhooks.timeout_secs)),
        )
        .map_err(Error::Internal)?;
        Ok(Self {
            db,
            busy: std::sync::Mutex::default(),
            client,
            config: config.webhooks.clone(),
            public_url: config.public_url(),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// Asks the worker to look for due deliveries now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends every delivery due now. Tests drive delivery with it.
    pub async fn drain_once(self: &Arc<Self>) -> Result<DrainReport, Error> {
        queue::drain_once(self).await
    }

    /// Delivers until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        queue::run(self, shutdown).await;
    }

    async fn send(self: &Arc<Self>, job: Claimed) -> Result<Outcome, Error> {
        let webhook = job.webhook_id;
        let outcome = self.try_send(job).await;
        if let Ok(mut busy) = self.busy.lock() {
            if let Some(n) = busy.get_mut(&webhook) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    busy.remove(&webhook);
                }
            }
        }
        outcome
    }

    async fn try_send(self: &Arc<Self>, job: Claimed) -> Result<Outcome, Error> {
        let (id, webhook, ticket) = (job.id, job.webhook_id, job.ticket_id);
        let looked_up = self
            .db
            .read(move |c| {
                let hook = repo::target(c, webhook)?;
                let ticket = match ticket {
                    Some(t) => tickets::get_both_views(c, t)?
                        .and_then(|(staff, _)| serde_json::to_value(staff).ok()),
                    None => None,
                };
                Ok((hook, ticket))
            })
            .await?;
        let (Some(hook), ticket) = looked_up else {
            // The webhook was deleted meanwhile (its deliveries with it).
            return Ok(Outcome::Dead);
        };
        // The webhook as it is now decides, not as it was at the event.
        let refusal = if !hook.active {
            Some("the webhook was turned off; send it again once it is on")
        } else if job.internal && !hook.include_internal {
            Some("an internal note, and the webhook no longer takes those")
        } else {
            None
        };
        if let Some(why) = refusal {
            let failure = Failure {
                status: None,
                error: why.into(),
                permanent: true,
            };
            return self.record_failure(&job, failure).await;
        }
        let (url, secret, format) = (hook.url, hook.secret, hook.format);
        let data: Value = serde_json::from_str(&job.data).unwrap_or(Value::Null);
        let envelope = json!({
            "id": job.id,
            "event": job.event,
            "created_at": job.created_at,
            "data": data,
        });
        let summary = Summary::from_event(&data, ticket.as_ref());
        let link = summary
            .ticket_id
            .filter(|_| job.event != "ticket.deleted")
            .map(|t| format!("{}/tickets/{t}", self.public_url));
        let body = format::body(format, &job.event, &envelope, &summary, link.as_deref());
        let body = serde_json::to_vec(&body)
            .map_err(|e| Error::Internal(format!("serializing a delivery: {e}")))?;
        match self.post(&url, &secret, format, &job, body).await {
            Ok(status) => {
                self.db
                    .write(move |tx| repo::mark_sent(tx, id, status))
                    .await?;
                tracing::info!(delivery = id, webhook, status, "webhook delivered");
                Ok(Outcome::Sent)
            }
            Err(failure) => self.record_failure(&job, failure).await,
        }
    }

    async fn post(
        &self,
        url: &str,
        secret: &str,
        format: Format,
        job: &Claimed,
        body: Vec<u8>,
    ) -> Result<u16, Failure> {
        let permanent = |error: String| Failure {
            status: None,
            error,
            permanent: true,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| permanent(format!("bad URL: {e}")))?;
        if !self.config.allow_private {
            net::check_url(&parsed).map_err(permanent)?;
        }
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut request = self
            .client
            .post(parsed)
            .header("Content-Type", "application/json")
            .header("Helpline-Event", &job.event)
            .header("Helpline-Delivery", job.id.to_string());
        if format == Format::Json {
            request = request.header("Helpline-Signature", format::signature(secret, unix, &body));
        }
        let response = request.body(body).send().await.map_err(|e| {
            let error = describe(&e);
            Failure {
                status: None,
                permanent: error.contains("allow_private"),
                error,
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let error = if status.is_redirection() {
            format!(
                "answered {status}: redirects are not followed; point the webhook at the final URL"
            )
        } else {
            format!("answered {status}")
        };
        Err(Failure {
            status: Some(status.as_u16()),
            error,
            permanent: false,
        })
    }

    async fn record_failure(&self, job: &Claimed, failure: Failure) -> Result<Outcome, Error> {
        let retry_at = queue::retry_at(
            self.config.retry_base_secs,
            job.attempts,
            self.config.max_attempts,
            failure.permanent,
        );
        let (id, give_up) = (job.id, retry_at.is_none());
        let (status, error) = (failure.status, failure.error);
        tracing::warn!(delivery = id, webhook = job.webhook_id, attempts = job.attempts, error = %error,
            "webhook delivery failed{}", if give_up { "; giving up" } else { "; will retry" });
        self.db
            .write(move |tx| repo::mark_failed(tx, id, status, &error, retry_at))
            .await?;
        Ok(if give_up {
            Outcome::Dead
        } else {
            Outcome::Retrying
        })
    }
}

/// A client error with its causes, in words.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

impl Courier for Dispatcher {
    type Job = Claimed;
    const WHAT: &'static str = "webhook delivery";

    fn db(&self) -> &Db {
        &self.db
    }

    fn lease_secs(&self) -> u64 {
        self.config.lease_secs
    }

    const IN_FLIGHT: usize = 8;

    fn claim(
        &self,
    ) -> impl FnOnce(&rusqlite::Connection) -> Result<Option<Claimed>, Error> + Send + 'static {
        let lease = self.config.lease_secs;
        let busy: Vec<i64> = self
            .busy
            .lock()
            .map(|b| {
                b.iter()
                    .filter(|(_, n)| **n >= PER_WEBHOOK)
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        move |conn| repo::claim_due(conn, lease, &busy)
    }

    fn claimed(&self, job: &Claimed) {
        if let Ok(mut busy) = self.busy.lock() {
            *busy.entry(job.webhook_id).or_default() += 1;
        }
    }

    fn release_leases(conn: &rusqlite::Connection) -> Result<usize, Error> {
        repo::release_leases(conn)
    }

    fn deliver(
        self: &Arc<Self>,
        job: Claimed,
    ) -> impl std::future::Future<Output = Result<Outcome, Error>> + Send {
        self.send(job)
    }

    async fn woken(&self) {
        self.wake.notified().await;
    }
}
