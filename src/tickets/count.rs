//! Exact ticket totals without counting rows: the agents' views (statuses,
//! priorities, one assignee or nobody) add up the trigger-kept
//! `ticket_counts`; every other list counts up to a cap (see `list`).

use rusqlite::{types::ToSql, Connection};

use super::list::{push_in, TicketFilter, Viewer};
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
    push_in(&mut clauses, &mut params, "status", &filter.statuses);
    push_in(&mut clauses, &mut params, "priority", &filter.priorities);
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
