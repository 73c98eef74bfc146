//! Exact ticket totals without counting rows: the agents' views (statuses,
//! priorities, one assignee or nobody) add up the trigger-kept
//! `ticket_counts`; every other list counts up to a cap (see `list`).

use rusqlite::{types::ToSql, Connection};

use super::list::{bind_markers, TicketFilter, Viewer};
use crate::error::Error;

/// The exact total from the trigger-kept `ticket_counts` when the filter is
/// only statuses, priorities and the assignee (an agent's views); `None` otherwise.
pub fn from_counters(
    conn: &Connection,
    filter: &TicketFilter,
    viewer: Viewer,
) -> Result<Option<i64>, Error> {
    let only_counted = matches!(viewer, Viewer::Staff)
        && filter.search.is_none()
        && filter.requester_id.is_none()
        && filter.category.is_none()
        && filter.kind.is_none()
        && filter.tag.is_none()
        && filter.channel.is_none()
        && filter.created_after.is_none()
        && filter.updated_after.is_none()
        && !filter.unread
        && !filter.following;
    if !only_counted {
        return Ok(None);
    }
    let mut clauses = Vec::new();
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    if !filter.statuses.is_empty() {
        clauses.push(format!(
            "status IN ({})",
            bind_markers(filter.statuses.len())
        ));
        for s in &filter.statuses {
            params.push(Box::new(*s));
        }
    }
    if !filter.priorities.is_empty() {
        clauses.push(format!(
            "priority IN ({})",
            bind_markers(filter.priorities.len())
        ));
        for p in &filter.priorities {
            params.push(Box::new(*p));
        }
    }
    if let Some(id) = filter.assignee_id {
        clauses.push("assignee_id = ?".into());
        params.push(Box::new(id));
    }
    if filter.unassigned {
        clauses.push("assignee_id = 0".into());
    }
    let sql = format!(
        "SELECT COALESCE(SUM(n), 0) FROM ticket_counts{}",
        crate::db::where_clause(&clauses)
    );
    let params: Vec<&dyn ToSql> = params.iter().map(AsRef::as_ref).collect();
    Ok(Some(
        conn.prepare_cached(&sql)?
            .query_row(params.as_slice(), |r| r.get(0))?,
    ))
}
