//! Ticket statistics: counts from the trigger-kept `ticket_counts`, medians by
//! SQL over the chosen window.

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
    /// tickets created in the window; `null` without data.
    pub median_first_response_secs: Option<f64>,
    /// Median seconds from creation to resolution, over tickets resolved in the window.
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
            "SELECT COUNT(*) FROM tickets WHERE assignee_id IS NULL AND status IN {UNFINISHED}"
        ),
        [],
        |r| r.get(0),
    )?;

    let median_first_response_secs = median(
        conn,
        "SELECT (julianday(first_response_at) - julianday(created_at)) * 86400.0 AS d FROM tickets
         WHERE created_at >= ?1 AND first_response_at IS NOT NULL",
        since,
    )?;
    let median_resolution_secs = median(
        conn,
        "SELECT (julianday(resolved_at) - julianday(created_at)) * 86400.0 AS d FROM tickets
         WHERE resolved_at >= ?1",
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

/// The median of a one-column query, by SQL: the middle row (or the mean of
/// the two middle rows) in order.
fn median(conn: &Connection, values_sql: &str, since: &str) -> Result<Option<f64>, Error> {
    let sql = format!(
        "WITH v AS ({values_sql}), n AS (SELECT COUNT(*) AS c FROM v)
         SELECT AVG(d) FROM (SELECT d FROM v ORDER BY d LIMIT 2 - (SELECT c FROM n) % 2 OFFSET ((SELECT c FROM n) - 1) / 2)"
    );
    let value: Option<f64> = conn
        .prepare_cached(&sql)?
        .query_row(params![since], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(value.map(|v| (v * 1000.0).round() / 1000.0))
}
