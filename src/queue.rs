//! The delivery worker shared by the mail outbox and webhook deliveries.
//!
//! Both keep their work as rows written in the transaction of the change.
//! A worker claims one due row at a time under a lease (counting the
//! attempt), delivers it outside any transaction, and records the outcome:
//! sent, failed with the next attempt scheduled by exponential backoff with
//! jitter, or dead after the last attempt. Leases an earlier run of the
//! server held are released at start. What differs (the table, how a row is
//! sent) is a [`Courier`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use rusqlite::Connection;

use crate::db::Db;
use crate::error::Error;

/// Longest wait between retries, whatever the attempt count.
pub const MAX_BACKOFF_SECS: u64 = 6 * 3600;

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Given up.
    Dead,
}

/// What one `drain_once` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    /// Failed, to be retried later.
    pub retrying: usize,
    /// Given up.
    pub dead: usize,
}

impl DrainReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Retrying => self.retrying += 1,
            Outcome::Dead => self.dead += 1,
        }
    }
}

/// One kind of outgoing work: its rows and how to send one.
pub trait Courier: Send + Sync + 'static {
    /// A claimed row.
    type Job: Send + 'static;

    /// What is delivered, for logs ("mail delivery", "webhook delivery").
    const WHAT: &'static str;

    fn db(&self) -> &Db;

    fn lease_secs(&self) -> u64;

    /// Rows sent at once (each claimed alone, under its own lease).
    const IN_FLIGHT: usize = 1;

    /// The claim of the next due row the writer runs: it takes the row for
    /// `lease_secs`, counting the attempt, given what is in flight now.
    fn claim(
        &self,
    ) -> impl FnOnce(&Connection) -> Result<Option<Self::Job>, Error> + Send + 'static;

    /// Notes a claimed row as in flight, before the next claim.
    fn claimed(&self, _job: &Self::Job) {}

    /// Frees rows held by workers of an earlier run of the server.
    fn release_leases(conn: &Connection) -> Result<usize, Error>;

    /// Sends one claimed row and records the outcome.
    fn deliver(
        self: &Arc<Self>,
        job: Self::Job,
    ) -> impl Future<Output = Result<Outcome, Error>> + Send;

    /// Completes when someone asks the worker to look for due rows now.
    fn woken(&self) -> impl Future<Output = ()> + Send;
}

/// Sends every row due now, one claim at a time (a lease only ever covers
/// one send), up to `IN_FLIGHT` sends at once. Tests drive delivery with it.
pub async fn drain_once<C: Courier>(courier: &Arc<C>) -> Result<DrainReport, Error> {
    let mut report = DrainReport::default();
    let mut running = tokio::task::JoinSet::new();
    let mut more = true;
    loop {
        while more && running.len() < C::IN_FLIGHT.max(1) {
            match courier.db().write(courier.claim()).await? {
                Some(job) => {
                    courier.claimed(&job);
                    let courier = Arc::clone(courier);
                    running.spawn(async move { courier.deliver(job).await });
                }
                None => more = false,
            }
        }
        let Some(done) = running.join_next().await else {
            return Ok(report);
        };
        let outcome = done.map_err(|e| Error::Internal(format!("a delivery task failed: {e}")))?;
        report.count(outcome?);
        // A finished send may let rows it held back go (same ticket, same target).
        more = true;
    }
}

/// Delivers until `shutdown`: looks for due rows every second and whenever woken.
pub async fn run<C: Courier>(courier: Arc<C>, shutdown: impl Future<Output = ()>) {
    match courier.db().write(C::release_leases).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            rows = n,
            what = C::WHAT,
            "resuming rows an earlier run was sending"
        ),
        Err(e) => tracing::warn!(error = %e, what = C::WHAT, "could not release leases"),
    }
    tracing::info!(what = C::WHAT, "started");
    tokio::pin!(shutdown);
    loop {
        if let Err(e) = drain_once(&courier).await {
            tracing::warn!(error = %e, what = C::WHAT, "delivery failed; trying again shortly");
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = courier.woken() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// When to try again after attempt number `attempts` failed, or `None` to
/// give up (a permanent failure, or the last allowed attempt).
pub fn retry_at(
    base_secs: u64,
    attempts: u32,
    max_attempts: u32,
    permanent: bool,
) -> Option<time::OffsetDateTime> {
    if permanent || attempts >= max_attempts {
        return None;
    }
    let wait = i64::try_from(backoff_secs(base_secs, attempts)).unwrap_or(i64::MAX / 2);
    Some(time::OffsetDateTime::now_utc() + time::Duration::seconds(wait))
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
    use super::{backoff_secs, retry_at};

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

    #[test]
    fn the_last_attempt_and_permanent_failures_give_up() {
        assert!(retry_at(60, 1, 3, false).is_some());
        assert!(retry_at(60, 3, 3, false).is_none());
        assert!(retry_at(60, 1, 3, true).is_none());
    }
}
