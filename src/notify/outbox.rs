//! SQL for the outbox: enqueue in the caller's transaction, claim due rows
//! under a lease, record outcomes, list and requeue for admins.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

use super::Kind;
use crate::db::{format_time, now, where_clause};
use crate::error::Error;
use crate::ids::{MessageId, TicketId, UserId};
use crate::paging::Pagination;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStatus {
    /// Waiting for its first attempt.
    Pending,
    Sent,
    /// An attempt failed; another is scheduled (`next_attempt_at`).
    Failed,
    /// Given up: a permanent refusal or the last attempt failed.
    Dead,
}

impl NotificationStatus {
    pub const ALL: &'static [Self] = &[Self::Pending, Self::Sent, Self::Failed, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// A notification as the email log shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    /// The template: `ticket_received`, `agent_reply`, `ticket_status`, ...
    pub kind: String,
    pub to: String,
    pub recipient_id: Option<UserId>,
    pub ticket_id: Option<TicketId>,
    /// Known once the first attempt rendered it.
    pub subject: Option<String>,
    pub status: NotificationStatus,
    pub attempts: u32,
    /// What went wrong last, in words for an operator.
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, kind, to_address, recipient_id, ticket_id, subject, status, attempts, \
     last_error, mail_message_id, created_at, next_attempt_at, sent_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Notification> {
    let status: String = r.get(6)?;
    let status = NotificationStatus::parse(&status).unwrap_or(NotificationStatus::Dead);
    Ok(Notification {
        id: r.get(0)?,
        kind: r.get(1)?,
        to: r.get(2)?,
        recipient_id: r.get(3)?,
        ticket_id: r.get(4)?,
        subject: r.get(5)?,
        status,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        message_id: r.get(9)?,
        created_at: r.get(10)?,
        next_attempt_at: if matches!(
            status,
            NotificationStatus::Pending | NotificationStatus::Failed
        ) {
            r.get(11)?
        } else {
            None
        },
        sent_at: r.get(12)?,
    })
}

pub struct NewNotification<'a> {
    pub kind: Kind,
    pub recipient_id: Option<UserId>,
    pub to_address: &'a str,
    pub ticket_id: Option<TicketId>,
    pub message_id: Option<MessageId>,
    pub params: serde_json::Value,
    /// Seconds before the first attempt (0: at once).
    pub delay_secs: u64,
}

/// Writes a notification inside the caller's transaction: it exists exactly
/// when the change that caused it was committed.
pub fn enqueue(conn: &Connection, n: &NewNotification<'_>) -> Result<(), Error> {
    let now_t = time::OffsetDateTime::now_utc();
    let due = now_t + time::Duration::seconds(i64::try_from(n.delay_secs).unwrap_or(0));
    conn.prepare_cached(
        "INSERT INTO outbox (kind, recipient_id, to_address, ticket_id, message_id, params, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        n.kind.as_str(),
        n.recipient_id,
        n.to_address,
        n.ticket_id,
        n.message_id,
        n.params.to_string(),
        format_time(due),
        format_time(now_t)
    ])?;
    Ok(())
}

/// Whether a mail of `kind` about `ticket` to `recipient` waits for its first attempt.
pub fn has_unsent(
    conn: &Connection,
    kind: Kind,
    ticket: TicketId,
    recipient: UserId,
) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE ticket_id = ?1 AND recipient_id = ?2
                 AND kind = ?3 AND status = 'pending' AND attempts = 0)",
        )?
        .query_row(params![ticket, recipient, kind.as_str()], |r| r.get(0))?)
}

/// A row taken by a worker, with what it needs to compose the mail.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub recipient_id: Option<UserId>,
    pub to_address: String,
    pub ticket_id: Option<TicketId>,
    pub message_id: Option<MessageId>,
    pub params: serde_json::Value,
    pub mail_message_id: Option<String>,
    /// Including the one now starting.
    pub attempts: u32,
}

/// The due rows come from the due index in order, never from sorting every
/// waiting row: with a backlog of 50,000 mails the status index and a sort
/// took 10 ms per claim, holding the writer.
const CLAIM: &str = "UPDATE outbox SET lease_until = ?2, attempts = attempts + 1
     WHERE id IN (
         SELECT id FROM outbox INDEXED BY outbox_due
         WHERE status IN ('pending', 'failed') AND next_attempt_at <= ?1
           AND (lease_until IS NULL OR lease_until <= ?1)
         ORDER BY next_attempt_at, id LIMIT ?3)
     RETURNING id, kind, recipient_id, to_address, ticket_id, message_id, params, mail_message_id, attempts";

/// The first due time: the due index's first entry.
const NEXT_DUE: &str = "SELECT MIN(next_attempt_at) FROM outbox INDEXED BY outbox_due
     WHERE status IN ('pending', 'failed')";

/// Takes up to `limit` due rows for `lease_secs`, counting the attempt.
pub fn claim_due(conn: &Connection, lease_secs: u64, limit: u32) -> Result<Vec<Claimed>, Error> {
    let now_t = time::OffsetDateTime::now_utc();
    let now = format_time(now_t);
    let lease_until = format_time(
        now_t + time::Duration::seconds(i64::try_from(lease_secs).unwrap_or(i64::MAX / 2)),
    );
    let mut stmt = conn.prepare_cached(CLAIM)?;
    let rows = stmt
        .query_map(params![now, lease_until, limit], |r| {
            let params: String = r.get(6)?;
            Ok(Claimed {
                id: r.get(0)?,
                kind: r.get(1)?,
                recipient_id: r.get(2)?,
                to_address: r.get(3)?,
                ticket_id: r.get(4)?,
                message_id: r.get(5)?,
                params: serde_json::from_str(&params).unwrap_or_default(),
                mail_message_id: r.get(7)?,
                attempts: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Fixes the Message-ID of a row at its first attempt.
pub fn set_message_id(conn: &Connection, id: i64, message_id: &str) -> Result<(), Error> {
    conn.execute(
        "UPDATE outbox SET mail_message_id = ?2 WHERE id = ?1",
        params![id, message_id],
    )?;
    Ok(())
}

pub fn mark_sent(conn: &Connection, id: i64, subject: &str) -> Result<(), Error> {
    conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?2, subject = ?3, lease_until = NULL, last_error = NULL
         WHERE id = ?1",
        params![id, now(), subject],
    )?;
    Ok(())
}

/// Records a failed attempt: `retry_at` schedules the next one, `None` gives up.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    subject: Option<&str>,
    retry_at: Option<time::OffsetDateTime>,
) -> Result<(), Error> {
    let (status, next) = match retry_at {
        Some(at) => ("failed", format_time(at)),
        None => ("dead", now()),
    };
    conn.execute(
        "UPDATE outbox SET status = ?2, next_attempt_at = ?3, last_error = ?4,
             subject = COALESCE(?5, subject), lease_until = NULL
         WHERE id = ?1",
        params![id, status, next, error, subject],
    )?;
    Ok(())
}

/// Frees rows held by workers of an earlier run of the server (which can no
/// longer be sending them), so they go out now instead of after the lease.
pub fn release_leases(conn: &Connection) -> Result<usize, Error> {
    Ok(conn.execute(
        "UPDATE outbox SET lease_until = NULL
         WHERE lease_until IS NOT NULL AND status IN ('pending', 'failed')",
        [],
    )?)
}

/// When the next row is due (for the worker's sleep).
pub fn next_due(conn: &Connection) -> Result<Option<String>, Error> {
    Ok(conn
        .prepare_cached(NEXT_DUE)?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten())
}

#[derive(Debug, Default, Clone)]
pub struct EmailLogFilter {
    pub status: Option<NotificationStatus>,
    pub ticket_id: Option<TicketId>,
}

/// Newest first.
pub fn list(
    conn: &Connection,
    filter: &EmailLogFilter,
    page: Pagination,
) -> Result<(Vec<Notification>, i64), Error> {
    let mut clauses = Vec::new();
    let mut values: Vec<Box<dyn rusqlite::types::ToSql>> = Vec::new();
    if let Some(status) = filter.status {
        values.push(Box::new(status.as_str()));
        clauses.push(format!("status = ?{}", values.len()));
    }
    if let Some(ticket) = filter.ticket_id {
        values.push(Box::new(ticket));
        clauses.push(format!("ticket_id = ?{}", values.len()));
    }
    let where_sql = where_clause(&clauses);
    let refs: Vec<&dyn rusqlite::types::ToSql> = values.iter().map(AsRef::as_ref).collect();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM outbox{where_sql}"))?
        .query_row(refs.as_slice(), |r| r.get(0))?;
    let items = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox{where_sql} ORDER BY id DESC LIMIT {} OFFSET {}",
            page.per_page,
            page.offset()
        ))?
        .query_map(refs.as_slice(), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Notification>, Error> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Puts a failed or dead notification back in the queue, due now, with a
/// fresh attempt budget. A sent or pending one is a 409.
pub fn retry(conn: &Connection, id: i64) -> Result<Notification, Error> {
    let current = get(conn, id)?.ok_or(Error::NotFound("notification"))?;
    if !matches!(
        current.status,
        NotificationStatus::Failed | NotificationStatus::Dead
    ) {
        return Err(Error::Conflict(format!(
            "the notification is {}; only failed or dead ones can be retried",
            current.status.as_str()
        )));
    }
    conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2, lease_until = NULL
         WHERE id = ?1",
        params![id, now()],
    )?;
    get(conn, id)?.ok_or(Error::NotFound("notification"))
}
/// Deletes the notifications of a deleted ticket, sent or not: none may be
/// retried with whatever a later ticket holds.
pub fn purge_ticket(conn: &Connection, ticket: TicketId) -> Result<(), Error> {
    conn.execute("DELETE FROM outbox WHERE ticket_id = ?1", [ticket])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{CLAIM, NEXT_DUE};
    use rusqlite::Connection;

    #[test]
    fn the_worker_reads_due_rows_from_the_due_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate::migrate_connection(&mut conn).unwrap();
        for (name, sql, params) in [
            ("claim", CLAIM, vec!["2026-01-01T00:00:00Z", "later", "8"]),
            ("next due", NEXT_DUE, vec![]),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains("outbox_due")),
                "{name}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{name}: sorts the waiting rows: {plan:?}"
            );
        }
    }
}
