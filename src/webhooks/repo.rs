//! SQL for webhooks and their deliveries: the webhooks themselves, deliveries
//! written in the transaction of an event, claims in order per ticket, and
//! the delivery log.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::model::{Delivery, DeliveryStatus, Format, Webhook};
use crate::db::{format_time, now};
use crate::error::Error;
use crate::ids::TicketId;
use crate::paging::Pagination;

const COLUMNS: &str =
    "id, url, events, format, include_internal, active, description, created_at, updated_at";

fn webhook_from_row(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = r.get(2)?;
    let format: String = r.get(3)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        format: Format::parse(&format).unwrap_or(Format::Json),
        include_internal: r.get(4)?,
        active: r.get(5)?,
        description: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Webhook>, Error> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY id"))?
        .query_map([], webhook_from_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Webhook>, Error> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))?
        .query_row([id], webhook_from_row)
        .optional()?)
}

/// What sending to a webhook needs, read when each delivery goes out.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub secret: String,
    pub format: Format,
    pub active: bool,
    pub include_internal: bool,
}

pub fn target(conn: &Connection, id: i64) -> Result<Option<Target>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT url, secret, format, active, include_internal FROM webhooks WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let format: String = r.get(2)?;
            Ok(Target {
                url: r.get(0)?,
                secret: r.get(1)?,
                format: Format::parse(&format).unwrap_or(Format::Json),
                active: r.get(3)?,
                include_internal: r.get(4)?,
            })
        })
        .optional()?)
}

pub fn insert(conn: &Connection, w: &Webhook, secret: &str) -> Result<i64, Error> {
    conn.execute(
        "INSERT INTO webhooks (url, events, format, include_internal, active, description, secret, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            w.url,
            serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()),
            w.format.as_str(),
            w.include_internal,
            w.active,
            w.description,
            secret,
            w.created_at,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, w: &Webhook) -> Result<(), Error> {
    conn.execute(
        "UPDATE webhooks SET url = ?2, events = ?3, format = ?4, include_internal = ?5, active = ?6,
             description = ?7, updated_at = ?8
         WHERE id = ?1",
        params![
            w.id,
            w.url,
            serde_json::to_string(&w.events).unwrap_or_else(|_| "[]".into()),
            w.format.as_str(),
            w.include_internal,
            w.active,
            w.description,
            w.updated_at,
        ],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<bool, Error> {
    Ok(conn.execute("DELETE FROM webhooks WHERE id = ?1", [id])? > 0)
}

/// Writes one delivery per active webhook that takes `event`, inside the
/// caller's transaction. `internal`: the event is an internal note, sent only
/// to webhooks with `include_internal`. A delivery behind a waiting one of
/// the same ticket is due no sooner than that one.
pub fn enqueue_event(
    conn: &Connection,
    event: &str,
    ticket: Option<TicketId>,
    data: &str,
    internal: bool,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries (webhook_id, event, ticket_id, data, internal, next_attempt_at, created_at)
         SELECT w.id, ?1, ?2, ?3, ?5,
             max(?4, COALESCE((SELECT MAX(e.next_attempt_at)
                 FROM webhook_deliveries e INDEXED BY webhook_deliveries_waiting
                 WHERE e.webhook_id = w.id AND e.ticket_id = ?2 AND e.status IN ('pending', 'failed')), ?4)),
             ?4
         FROM webhooks w
         WHERE w.active = 1 AND (?5 = 0 OR w.include_internal = 1)
           AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value IN (?1, '*'))",
    )?
    .execute(params![event, ticket, data, now(), internal])?;
    Ok(())
}

/// Writes one delivery to `webhook` whatever it subscribes to (a ping).
pub fn enqueue_one(conn: &Connection, webhook: i64, event: &str, data: &str) -> Result<i64, Error> {
    conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event, data, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![webhook, event, data, now()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A delivery taken by the worker, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub ticket_id: Option<TicketId>,
    pub data: String,
    pub internal: bool,
    pub created_at: String,
    /// Including the one now starting.
    pub attempts: u32,
}

/// The first due delivery that no earlier waiting delivery of the same
/// ticket to the same webhook holds back, from the due index in order,
/// skipping the webhooks in `?3` (a JSON array: as many sends in flight as
/// one webhook may have).
const CLAIM: &str = "UPDATE webhook_deliveries SET lease_until = ?2, attempts = attempts + 1
     WHERE id = (
         SELECT d.id FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
         WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= ?1
           AND (d.lease_until IS NULL OR d.lease_until <= ?1)
           AND d.webhook_id NOT IN (SELECT value FROM json_each(?3))
           AND (d.ticket_id IS NULL OR NOT EXISTS (
               SELECT 1 FROM webhook_deliveries e INDEXED BY webhook_deliveries_waiting
               WHERE e.webhook_id = d.webhook_id AND e.ticket_id = d.ticket_id AND e.id < d.id
                 AND e.status IN ('pending', 'failed')))
         ORDER BY d.next_attempt_at, d.id LIMIT 1)
     RETURNING id, webhook_id, event, ticket_id, data, internal, created_at, attempts";

pub fn claim_due(
    conn: &Connection,
    lease_secs: u64,
    busy: &[i64],
) -> Result<Option<Claimed>, Error> {
    let now_t = time::OffsetDateTime::now_utc();
    let lease_until = format_time(
        now_t + time::Duration::seconds(i64::try_from(lease_secs).unwrap_or(i64::MAX / 2)),
    );
    Ok(conn
        .prepare_cached(CLAIM)?
        .query_row(
            params![
                format_time(now_t),
                lease_until,
                serde_json::to_string(busy).unwrap_or_else(|_| "[]".into())
            ],
            |r| {
                Ok(Claimed {
                    id: r.get(0)?,
                    webhook_id: r.get(1)?,
                    event: r.get(2)?,
                    ticket_id: r.get(3)?,
                    data: r.get(4)?,
                    internal: r.get(5)?,
                    created_at: r.get(6)?,
                    attempts: r.get(7)?,
                })
            },
        )
        .optional()?)
}

pub fn release_leases(conn: &Connection) -> Result<usize, Error> {
    Ok(conn.execute(
        "UPDATE webhook_deliveries SET lease_until = NULL
         WHERE lease_until IS NOT NULL AND status IN ('pending', 'failed')",
        [],
    )?)
}

pub fn mark_sent(conn: &Connection, id: i64, response_status: u16) -> Result<(), Error> {
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'sent', sent_at = ?2, response_status = ?3,
             lease_until = NULL, last_error = NULL
         WHERE id = ?1",
        params![id, now(), response_status],
    )?;
    Ok(())
}

/// Records a failed attempt: `retry_at` schedules the next one, `None`
/// gives up. Later deliveries of the same ticket wait at least as long (they
/// would only be held back), so the claim never walks past them meanwhile.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    response_status: Option<u16>,
    error: &str,
    retry_at: Option<time::OffsetDateTime>,
) -> Result<(), Error> {
    let (status, next) = match retry_at {
        Some(at) => ("failed", format_time(at)),
        None => ("dead", now()),
    };
    conn.execute(
        "UPDATE webhook_deliveries SET status = ?2, next_attempt_at = ?3, last_error = ?4,
             response_status = ?5, lease_until = NULL
         WHERE id = ?1",
        params![id, status, next, error, response_status],
    )?;
    if retry_at.is_some() {
        conn.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = max(next_attempt_at, ?2)
             WHERE id IN (
                 SELECT e.id FROM webhook_deliveries d, webhook_deliveries e INDEXED BY webhook_deliveries_waiting
                 WHERE d.id = ?1 AND d.ticket_id IS NOT NULL AND e.webhook_id = d.webhook_id
                   AND e.ticket_id = d.ticket_id AND e.id > d.id AND e.status IN ('pending', 'failed'))",
            params![id, next],
        )?;
    }
    Ok(())
}

const DELIVERY_COLUMNS: &str =
    "id, webhook_id, event, ticket_id, status, attempts, response_status, \
     last_error, created_at, next_attempt_at, sent_at";

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    let status: String = r.get(4)?;
    let status = DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Dead);
    Ok(Delivery {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        event: r.get(2)?,
        ticket_id: r.get(3)?,
        status,
        attempts: r.get(5)?,
        response_status: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
        next_attempt_at: status.waiting().then(|| r.get(9)).transpose()?,
        sent_at: r.get(10)?,
    })
}

/// One webhook's deliveries, newest first.
pub fn deliveries(
    conn: &Connection,
    webhook: i64,
    status: Option<DeliveryStatus>,
    page: Pagination,
) -> Result<(Vec<Delivery>, i64), Error> {
    let status = status.map(DeliveryStatus::as_str);
    let total: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?1 AND (?2 IS NULL OR status = ?2)",
        )?
        .query_row(params![webhook, status], |r| r.get(0))?;
    let items = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE webhook_id = ?1 AND (?2 IS NULL OR status = ?2)
             ORDER BY id DESC LIMIT {} OFFSET {}",
            page.per_page,
            page.offset()
        ))?
        .query_map(params![webhook, status], delivery_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

pub fn delivery(conn: &Connection, webhook: i64, id: i64) -> Result<Option<Delivery>, Error> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1 AND webhook_id = ?2"
        ))?
        .query_row([id, webhook], delivery_from_row)
        .optional()?)
}

/// Whether a worker is sending the delivery right now.
pub fn in_flight(conn: &Connection, id: i64) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?1 AND lease_until > ?2)",
        )?
        .query_row(params![id, now()], |r| r.get(0))?)
}

/// Whether the delivery is an internal note.
pub fn is_internal(conn: &Connection, id: i64) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT internal FROM webhook_deliveries WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Puts a delivery back in the queue, due now, with a fresh attempt budget;
/// the ticket's later deliveries it held back are due now too.
pub fn requeue(conn: &Connection, id: i64) -> Result<(), Error> {
    let now = now();
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2,
             lease_until = NULL, sent_at = NULL
         WHERE id = ?1",
        params![id, now],
    )?;
    conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = ?2
         WHERE id IN (
             SELECT e.id FROM webhook_deliveries d, webhook_deliveries e INDEXED BY webhook_deliveries_waiting
             WHERE d.id = ?1 AND d.ticket_id IS NOT NULL AND e.webhook_id = d.webhook_id
               AND e.ticket_id = d.ticket_id AND e.id > d.id AND e.status IN ('pending', 'failed'))
           AND next_attempt_at > ?2",
        params![id, now],
    )?;
    Ok(())
}

/// How many deliveries wait (pending or failed) and how many are dead, and
/// when the oldest waiting one was written.
pub fn backlog(conn: &Connection) -> Result<(i64, i64, Option<String>), Error> {
    Ok(conn.query_row(
        "SELECT
             (SELECT COUNT(*) FROM webhook_deliveries INDEXED BY webhook_deliveries_due
              WHERE status IN ('pending', 'failed')),
             (SELECT COUNT(*) FROM webhook_deliveries INDEXED BY webhook_deliveries_dead
              WHERE status = 'dead'),
             (SELECT MIN(created_at) FROM webhook_deliveries INDEXED BY webhook_deliveries_due
              WHERE status IN ('pending', 'failed'))",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Deletes sent and dead deliveries written before `before`; returns how many.
pub fn prune(conn: &Connection, before: &str, limit: u32) -> Result<usize, Error> {
    Ok(conn.execute(
        "DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries INDEXED BY webhook_deliveries_kept
             WHERE status IN ('sent', 'dead') AND created_at < ?1 LIMIT ?2)",
        params![before, limit],
    )?)
}
