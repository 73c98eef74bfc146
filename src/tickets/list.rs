//! Listing tickets: filters, sorts, full-text search and pagination, all as
//! parameterised SQL built from an allow-list.

use rusqlite::{types::ToSql, Connection};

use super::model::{Channel, Priority, Ticket, TicketStatus};
use super::repo::{ticket_from_row, TICKET_SELECT};
use super::search::SearchQuery;
use crate::error::Error;
use crate::ids::UserId;
use crate::paging::{Count, Pagination, SortOrder, COUNT_CAP};

#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub assignee_id: Option<UserId>,
    pub requester_id: Option<UserId>,
    pub unassigned: bool,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub tag: Option<String>,
    pub channel: Option<Channel>,
    pub search: Option<SearchQuery>,
    pub created_after: Option<String>,
    pub updated_after: Option<String>,
    /// Only tickets with a requester message the agent has not seen.
    pub unread: bool,
    /// Only tickets the agent follows.
    pub following: bool,
    /// The agent `unread` and `following` are about (set from the caller).
    pub agent: Option<UserId>,
}

/// Who is looking: customers only ever touch their own tickets and no notes.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    Staff,
    Requester(UserId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSort {
    CreatedAt,
    UpdatedAt,
    Priority,
    Status,
    /// Best search match first; only with a text search.
    Relevance,
}

impl TicketSort {
    pub const ALLOWED: &'static [(&'static str, Self)] = &[
        ("created_at", Self::CreatedAt),
        ("updated_at", Self::UpdatedAt),
        ("priority", Self::Priority),
        ("status", Self::Status),
        ("relevance", Self::Relevance),
    ];
}

/// The tag filter for a page: a probe per ticket lets the page stop early in
/// the sort order's index.
const TAG_PROBE: &str =
    "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.tag = ? AND g.ticket_id = t.id)";
/// The same filter for counting: starts from the tag's own index.
const TAG_SET: &str = "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?)";

/// A query and its parameters, in binding order.
struct Built {
    sql: String,
    count_sql: String,
    params: Vec<Box<dyn ToSql>>,
    /// The count's own parameters, when they are not those of `sql`.
    count_params: Option<Vec<Box<dyn ToSql>>>,
}

fn build(
    filter: &TicketFilter,
    viewer: Viewer,
    sort: (TicketSort, SortOrder),
    page: Option<Pagination>,
) -> Built {
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    let mut clauses: Vec<String> = Vec::new();
    push_filters(filter, viewer, &mut clauses, &mut params);

    let where_sql = crate::db::where_clause(&clauses);
    let order_by = order_clause(sort, viewer);
    let limit = page.map_or(String::new(), |p| {
        format!(" LIMIT {} OFFSET {}", p.per_page, p.offset())
    });
    // Counting stops one past the cap: a count never walks a whole table.
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM tickets t{} LIMIT {})",
        where_sql.replacen(TAG_PROBE, TAG_SET, 1),
        COUNT_CAP + 1
    );
    if let (Some(page), true) = (page, filter.statuses.len() > 1) {
        let mut page_params = Vec::new();
        return Built {
            sql: per_status_page(filter, viewer, &order_by, page, &mut page_params),
            count_sql,
            params: page_params,
            count_params: Some(params),
        };
    }
    Built {
        sql: format!("{TICKET_SELECT}{where_sql} ORDER BY {order_by}{limit}"),
        count_sql,
        params,
        count_params: None,
    }
}

/// A page over several statuses: each status reads its own index range in
/// the sort order, as far as the page reaches, and those runs merge. No list
/// sorts every ticket of its statuses (the inbox's "All open" at a million).
fn per_status_page(
    filter: &TicketFilter,
    viewer: Viewer,
    order_by: &str,
    page: Pagination,
    params: &mut Vec<Box<dyn ToSql>>,
) -> String {
    let reach = page.offset() + u64::from(page.per_page);
    let runs: Vec<String> = filter
        .statuses
        .iter()
        .map(|status| {
            let one = TicketFilter {
                statuses: vec![*status],
                ..filter.clone()
            };
            let mut clauses = Vec::new();
            push_filters(&one, viewer, &mut clauses, params);
            format!(
                "SELECT * FROM (SELECT t.id FROM tickets t{} ORDER BY {order_by} LIMIT {reach})",
                crate::db::where_clause(&clauses)
            )
        })
        .collect();
    let from = format!(
        "FROM ({}) page JOIN tickets t ON t.id = page.id",
        runs.join(" UNION ALL ")
    );
    format!(
        "{} ORDER BY {order_by} LIMIT {} OFFSET {}",
        TICKET_SELECT.replacen("FROM tickets t", &from, 1),
        page.per_page,
        page.offset()
    )
}

/// The WHERE conditions of `filter` (and of the viewer's own scope), with their values.
pub(super) fn push_filters(
    filter: &TicketFilter,
    viewer: Viewer,
    clauses: &mut Vec<String>,
    params: &mut Vec<Box<dyn ToSql>>,
) {
    if let Viewer::Requester(me) = viewer {
        clauses.push("t.requester_id = ?".into());
        params.push(Box::new(me));
    }
    if let Some(SearchQuery::Ticket(id)) = filter.search {
        clauses.push("t.id = ?".into());
        params.push(Box::new(id));
    }
    push_in(clauses, params, "t.status", &filter.statuses);
    push_in(clauses, params, "t.priority", &filter.priorities);
    if let Some(id) = filter.assignee_id {
        clauses.push("t.assignee_id = ?".into());
        params.push(Box::new(id));
    }
    if filter.unassigned {
        clauses.push("t.assignee_id IS NULL".into());
    }
    if let Some(id) = filter.requester_id {
        clauses.push("t.requester_id = ?".into());
        params.push(Box::new(id));
    }
    if let Some(category) = &filter.category {
        clauses.push("t.category = ?".into());
        params.push(Box::new(category.clone()));
    }
    if let Some(kind) = &filter.kind {
        clauses.push("t.type = ?".into());
        params.push(Box::new(kind.clone()));
    }
    if let Some(tag) = &filter.tag {
        clauses.push(TAG_PROBE.into());
        params.push(Box::new(tag.clone()));
    }
    if let Some(channel) = filter.channel {
        clauses.push("t.channel = ?".into());
        params.push(Box::new(channel));
    }
    if let Some(after) = &filter.created_after {
        clauses.push("t.created_at > ?".into());
        params.push(Box::new(after.clone()));
    }
    if let Some(after) = &filter.updated_after {
        clauses.push(format!("{} > ?", updated_column(viewer)));
        params.push(Box::new(after.clone()));
    }
    // Without an agent (never reached: the service refuses it) nothing matches.
    let agent = filter.agent.unwrap_or(UserId(0));
    if filter.unread {
        clauses.push(super::attention::UNREAD_FILTER.into());
        params.push(Box::new(agent));
    }
    if filter.following {
        clauses.push(super::attention::FOLLOWING_FILTER.into());
        params.push(Box::new(agent));
    }
}

/// The time a viewer sorts and filters by: customers by the last change they
/// can see (internal notes do not move it).
fn updated_column(viewer: Viewer) -> &'static str {
    match viewer {
        Viewer::Staff => "t.updated_at",
        Viewer::Requester(_) => "t.public_updated_at",
    }
}

/// The ORDER BY of a list. Relevance orders only a text search (ranked in
/// `found`); here it is the default, most recently updated first.
pub(super) fn order_clause(sort: (TicketSort, SortOrder), viewer: Viewer) -> String {
    let order = sort.1.sql();
    let updated = updated_column(viewer);
    match sort.0 {
        TicketSort::CreatedAt => format!("t.created_at {order}, t.id {order}"),
        TicketSort::UpdatedAt => format!("{updated} {order}, t.id {order}"),
        TicketSort::Priority => format!("t.priority {order}, {updated} DESC, t.id DESC"),
        TicketSort::Status => format!("t.status {order}, {updated} DESC, t.id DESC"),
        TicketSort::Relevance => format!("{updated} DESC, t.id DESC"),
    }
}

/// `column IN (?, ?)` for `values`, when there are any.
pub(super) fn push_in<T: ToSql + Copy + 'static>(
    clauses: &mut Vec<String>,
    params: &mut Vec<Box<dyn ToSql>>,
    column: &str,
    values: &[T],
) {
    if values.is_empty() {
        return;
    }
    clauses.push(format!("{column} IN ({})", bind_markers(values.len())));
    for v in values {
        params.push(Box::new(*v));
    }
}

/// `?, ?, ?` for an `IN (...)` list of `n` bound values.
fn bind_markers(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// One page of tickets and the total matching.
/// `known_total` is the exact count when the caller has it from counters.
pub fn list(
    conn: &Connection,
    filter: &TicketFilter,
    viewer: Viewer,
    sort: (TicketSort, SortOrder),
    page: Pagination,
    known_total: Option<i64>,
) -> Result<(Vec<Ticket>, Count), Error> {
    if let Some(SearchQuery::Text(search)) = &filter.search {
        return Err(Error::Internal(format!(
            "a text search ({search:?}) lists through tickets::found"
        )));
    }
    let built = build(filter, viewer, sort, Some(page));
    let params: Vec<&dyn ToSql> = built.params.iter().map(AsRef::as_ref).collect();
    let with_notes = matches!(viewer, Viewer::Staff);
    let count_params: Vec<&dyn ToSql> = built
        .count_params
        .as_ref()
        .map_or_else(|| params.clone(), |p| p.iter().map(AsRef::as_ref).collect());
    let total = match known_total {
        Some(total) => Count::exact(total),
        None => Count::up_to_cap(
            conn.prepare_cached(&built.count_sql)?
                .query_row(count_params.as_slice(), |r| r.get(0))
                .map_err(search_error)?,
        ),
    };
    let items = conn
        .prepare_cached(&built.sql)?
        .query_map(params.as_slice(), |r| ticket_from_row(r, with_notes))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(search_error)?;
    Ok((items, total))
}

/// FTS5 rejects a query at run time; that is the searcher's input, so 422.
pub(super) fn search_error(e: rusqlite::Error) -> Error {
    let text = e.to_string();
    if text.contains("fts5") || text.contains("syntax error") {
        Error::validation(
            "q",
            "the search could not be understood; use words, \"phrases\", OR and -exclusions",
        )
    } else {
        e.into()
    }
}

/// The query plan of the list query, one line per step (for tests and tuning).
pub fn explain(
    conn: &Connection,
    filter: &TicketFilter,
    viewer: Viewer,
    sort: (TicketSort, SortOrder),
) -> Result<Vec<String>, Error> {
    let built = build(
        filter,
        viewer,
        sort,
        Some(Pagination {
            page: 1,
            per_page: 25,
        }),
    );
    let params: Vec<&dyn ToSql> = built.params.iter().map(AsRef::as_ref).collect();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", built.sql))?;
    let rows = stmt.query_map(params.as_slice(), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
