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
    // Every field is named: a new filter must decide whether counters serve it.
    let TicketFilter {
        statuses: _,
        priorities: _,
        assignee_id: _,
        unassigned: _,
        requester_id,
        category,
        kind,
        tag,
        channel,
        search,
        created_after,
        updated_after,
        unread,
        following,
        agent: _,
        sla,
    } = filter;
    let only_counted = matches!(viewer, Viewer::Staff)
        && search.is_none()
        && requester_id.is_none()
        && category.is_none()
        && kind.is_none()
        && tag.is_none()
        && channel.is_none()
        && created_after.is_none()
        && updated_after.is_none()
        && !unread
        && !following
        && sla.is_none();
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
