//! Housekeeping while the server runs, with no cron: forget idle rate-limit
//! keys, write portal link uses, keep the event table to its backlog, merge
//! the search index, tell service-level warnings and breaches, delete
//! long-expired sessions, remove uploads nobody attached within a day, and
//! old webhook deliveries.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::rate_limit::RateLimits;
use crate::db::Db;
use crate::portal::UseCounter;
use crate::users::sessions;

/// Steps of search index merging per minute, while there is work.
const INDEX_STEPS_PER_MINUTE: usize = 10;

/// Housekeeping while the server runs: forgets idle rate-limit keys, keeps
/// the event table to its backlog, and deletes long-expired sessions. Ends with the server.
pub async fn run(
    db: Db,
    rate_limits: Arc<RateLimits>,
    portal_uses: Arc<UseCounter>,
    (event_backlog, upload_dir, webhook_keep_days): (u32, PathBuf, u32),
    shutdown: impl Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_mins(1));
    tokio::pin!(shutdown);
    let mut minutes: u64 = 0;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        rate_limits.retain_recent();
        if !portal_uses.is_empty() {
            let uses = Arc::clone(&portal_uses);
            if let Err(e) = db.write(move |tx| uses.flush(tx)).await {
                tracing::warn!(error = %e, "could not record portal link uses");
            }
        }
        if let Err(e) = db
            .write(move |tx| crate::events::prune(tx, event_backlog))
            .await
        {
            tracing::warn!(error = %e, "could not prune old events");
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match db
            .write(move |tx| crate::sla::notices::sweep(tx, now))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(notices = n, "told service-level warnings and breaches"),
            Err(e) => tracing::warn!(error = %e, "could not tell service-level notices"),
        }
        // A few short steps a minute (each its own write, so others go between).
        for _ in 0..INDEX_STEPS_PER_MINUTE {
            match db.write(crate::tickets::index::tidy).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not merge the search index");
                    break;
                }
            }
        }
        if minutes.is_multiple_of(10) {
            match crate::attachments::prune(&db, &upload_dir).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(uploads = n, "removed uploads nobody attached within a day");
                }
                Err(e) => tracing::warn!(error = %e, "could not remove unattached uploads"),
            }
        }
        if minutes.is_multiple_of(60) {
            match db.write(sessions::prune_expired).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "deleted expired sessions"),
                Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
            }
            prune_deliveries(&db, webhook_keep_days).await;
        }
        minutes += 1;
    }
}

/// Deletes sent and dead webhook deliveries older than `keep_days`, a
/// thousand per write so others go between.
async fn prune_deliveries(db: &Db, keep_days: u32) {
    let before = crate::db::format_time(
        time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(keep_days)),
    );
    loop {
        let before = before.clone();
        match db
            .write(move |tx| crate::webhooks::repo::prune(tx, &before, 1000))
            .await
        {
            Ok(1000) => {}
            Ok(0) => break,
            Ok(n) => {
                tracing::info!(deliveries = n, "deleted old webhook deliveries");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not delete old webhook deliveries");
                break;
            }
        }
    }
}
