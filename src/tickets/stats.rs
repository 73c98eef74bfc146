//! Ticket statistics: counts from the trigger-kept `ticket_counts`, medians
//! from the trigger-kept daily duration buckets (`duration_days`): whole
//! days of the window from the buckets, its first partial day from the
//! tickets themselves, so no request sorts the window's tickets. A median is
//! the middle of its bucket: within 2.5 % of the exact value.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Priority, TicketStatus};
use crate::error::Error;
use crate::ids::UserId;

#[derive(Debug, Serialize, ToSchema)]
pub struct AssigneeCount {
    pub assignee_id: UserId,
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketStats {
    /// Tickets in each status (every status listed, zero included).
    pub by_status: BTreeMap<String, i64>,
    /// Unfinished tickets (open, in progress, pending) by priority.
    pub by_priority: BTreeMap<String, i64>,
    /// Unfinished tickets by assignee.
    pub by_assignee: Vec<AssigneeCount>,
    /// Unfinished tickets nobody is assigned to.
    pub unassigned_open: i64,
    /// Start of the window for the medians (RFC 3339).
    pub since: String,
    /// Median seconds from creation to the first public agent reply, over
    /// tickets created in the window (within 2.5 %); `null` without data.
    pub median_first_response_secs: Option<f64>,
    /// Median seconds from creation to resolution, over tickets resolved in
    /// the window (within 2.5 %).
    pub median_resolution_secs: Option<f64>,
}

/// Statuses that still need work.
const UNFINISHED: &str = "(1, 2, 3)";

pub fn compute(conn: &Connection, since: &str) -> Result<TicketStats, Error> {
    let mut by_status: BTreeMap<String, i64> = TicketStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    let mut stmt =
        conn.prepare_cached("SELECT status, SUM(n) FROM ticket_counts GROUP BY status")?;
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, TicketStatus>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (status, count) = row?;
        by_status.insert(status.as_str().to_string(), count);
    }

    let mut by_priority: BTreeMap<String, i64> = Priority::ALL
        .iter()
        .map(|p| (p.as_str().to_string(), 0))
        .collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT priority, SUM(n) FROM ticket_counts WHERE status IN {UNFINISHED} GROUP BY priority"
    ))?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, Priority>(0)?, r.get::<_, i64>(1)?)))? {
        let (priority, count) = row?;
        by_priority.insert(priority.as_str().to_string(), count);
    }

    let by_assignee = conn
        .prepare_cached(&format!(
            "SELECT c.assignee_id, u.name, SUM(c.n) AS count FROM ticket_counts c JOIN users u ON u.id = c.assignee_id
             WHERE c.status IN {UNFINISHED} AND c.assignee_id != 0
             GROUP BY c.assignee_id HAVING count > 0 ORDER BY count DESC, c.assignee_id"
        ))?
        .query_map([], |r| Ok(AssigneeCount { assignee_id: r.get(0)?, name: r.get(1)?, count: r.get(2)? }))?
        .collect::<Result<Vec<_>, _>>()?;

    let unassigned_open: i64 = conn.query_row(
        &format!(
            "SELECT COALESCE(SUM(n), 0) FROM ticket_counts WHERE assignee_id = 0 AND status IN {UNFINISHED}"
        ),
        [],
        |r| r.get(0),
    )?;

    let median_first_response_secs = median(
        conn,
        FIRST_RESPONSE,
        "SELECT first_response_bucket FROM ticket_durations d JOIN tickets t ON t.id = d.id
         WHERE t.created_at >= ?1 AND t.created_at < date(substr(?1, 1, 10), '+1 day')
           AND t.first_response_at IS NOT NULL",
        since,
    )?;
    let median_resolution_secs = median(
        conn,
        RESOLUTION,
        "SELECT resolution_bucket FROM ticket_durations d JOIN tickets t ON t.id = d.id
         WHERE t.resolved_at >= ?1 AND t.resolved_at < date(substr(?1, 1, 10), '+1 day')",
        since,
    )?;

    Ok(TicketStats {
        by_status,
        by_priority,
        by_assignee,
        unassigned_open,
        since: since.to_string(),
        median_first_response_secs,
        median_resolution_secs,
    })
}

/// `duration_days.kind` of creation to first public team reply (by creation day).
const FIRST_RESPONSE: i64 = 1;
/// `duration_days.kind` of creation to resolution (by resolution day).
const RESOLUTION: i64 = 2;

/// The median duration of `kind` since `since`, in seconds: counts per
/// bucket from the whole days after `since` and from `partial_sql` (the
/// buckets of the tickets of `since`'s own day from `since` on), then the
/// middle of the bucket holding the middle (the mean of the two middles).
fn median(
    conn: &Connection,
    kind: i64,
    partial_sql: &str,
    since: &str,
) -> Result<Option<f64>, Error> {
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT bucket, SUM(n) FROM duration_days WHERE kind = ?1 AND day > substr(?2, 1, 10)
         GROUP BY bucket",
    )?;
    for row in stmt.query_map(params![kind, since], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (bucket, n) = row?;
        *counts.entry(bucket).or_default() += n;
    }
    let mut stmt = conn.prepare_cached(partial_sql)?;
    for bucket in stmt.query_map(params![since], |r| r.get::<_, i64>(0))? {
        *counts.entry(bucket?).or_default() += 1;
    }
    let total: i64 = counts.values().sum();
    if total == 0 {
        return Ok(None);
    }
    // 0-based ranks of the middle value(s).
    let (low, high) = ((total - 1) / 2, total / 2);
    let (mut low_bucket, mut high_bucket, mut seen) = (None, None, 0);
    for (bucket, n) in &counts {
        if low_bucket.is_none() && low < seen + n {
            low_bucket = Some(*bucket);
        }
        if high < seen + n {
            high_bucket = Some(*bucket);
            break;
        }
        seen += n;
    }
    let (Some(low_bucket), Some(high_bucket)) = (low_bucket, high_bucket) else {
        return Ok(None);
    };
    let ms = f64::midpoint(
        bucket_middle_ms(conn, low_bucket)?,
        bucket_middle_ms(conn, high_bucket)?,
    );
    // Seconds, to the millisecond.
    Ok(Some(ms.round() / 1000.0))
}

/// The middle of duration bucket `bucket`, in milliseconds: within 2.5 % of
/// any duration in it.
pub fn bucket_middle_ms(conn: &Connection, bucket: i64) -> Result<f64, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT (lo_ms + COALESCE((SELECT MIN(lo_ms) FROM duration_buckets n WHERE n.bucket > b.bucket), lo_ms + 1)) / 2.0
             FROM duration_buckets b WHERE bucket = ?1",
        )?
        .query_row([bucket], |r| r.get::<_, f64>(0))
        .optional()?
        .unwrap_or(0.0))
}
