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
    /// Only tickets whose earliest open service-level target is past due or
    /// due soon (agents).
    pub sla: Option<SlaFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// An open target past its due time.
    Breached,
    /// An open target due within the next hour.
    DueSoon,
}

impl SlaFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "breached" => Some(Self::Breached),
            "due_soon" => Some(Self::DueSoon),
            _ => None,
        }
    }
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
    /// The earliest open service-level target first (tickets without one last).
    DueAt,
}

impl TicketSort {
    pub const ALLOWED: &'static [(&'static str, Self)] = &[
        ("created_at", Self::CreatedAt),
        ("updated_at", Self::UpdatedAt),
        ("priority", Self::Priority),
        ("status", Self::Status),
        ("relevance", Self::Relevance),
        ("due_at", Self::DueAt),
    ];
}

/// The tag filter where a page walks the tickets' own indexes (a customer's
/// few tickets, a text search): a probe per ticket.
const TAG_PROBE: &str =
    "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.tag = ? AND g.ticket_id = t.id)";

/// Where a list reads its rows in order: the tickets' indexes, or (staff
/// filtering by a tag) the tag's rows, which carry the tickets' sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Tickets,
    Tagged,
}

impl Source {
    /// A tag's rows carry no service-level keys: those lists probe the tag.
    fn of(filter: &TicketFilter, viewer: Viewer, sort: TicketSort) -> Self {
        match (&filter.tag, viewer) {
            (Some(_), Viewer::Staff) if filter.sla.is_none() && sort != TicketSort::DueAt => {
                Self::Tagged
            }
            _ => Self::Tickets,
        }
    }

    /// The rows to read, and the column naming a row's ticket. A service-level
    /// filter reads its range of the due index: the breached or due-soon
    /// tickets are few next to all, and walking another order's index to
    /// find them would read every ticket.
    fn from(self, ticket_columns: bool, sla: bool) -> (&'static str, &'static str) {
        match (self, ticket_columns) {
            (Self::Tickets, _) if sla => ("tickets t INDEXED BY tickets_sla_due", "t.id"),
            (Self::Tickets, _) => ("tickets t", "t.id"),
            (Self::Tagged, true) => (
                "ticket_tags g JOIN tickets t ON t.id = g.ticket_id",
                "g.ticket_id",
            ),
            (Self::Tagged, false) => ("ticket_tags g", "g.ticket_id"),
        }
    }
}

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
    page: Pagination,
) -> Built {
    let source = Source::of(filter, viewer, sort.0);
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    let mut clauses: Vec<String> = Vec::new();
    push_filters(filter, viewer, source, &mut clauses, &mut params);
    // With a tag, conditions on the tag's own keys start with `g.`; any other
    // needs the ticket's row.
    let ticket_columns = clauses.iter().any(|c| !c.starts_with("g."));
    let (from, id) = source.from(ticket_columns, filter.sla.is_some());

    let where_sql = crate::db::where_clause(&clauses);
    // Counting stops one past the cap: a count never walks a whole table.
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {from}{where_sql} LIMIT {})",
        COUNT_CAP + 1
    );
    if filter.statuses.len() > 1 {
        let mut page_params = Vec::new();
        return Built {
            sql: per_status_page(filter, viewer, sort, page, &mut page_params),
            count_sql,
            params: page_params,
            count_params: Some(params),
        };
    }
    // The page's ids come from the order's index alone; only the page's own
    // rows are read in full (page 200 skips 3,980 index entries, not rows).
    let ids = format!(
        "SELECT {id} AS id FROM {from}{where_sql} ORDER BY {} LIMIT {} OFFSET {}",
        order_clause_of(sort, viewer, source),
        page.per_page,
        page.offset()
    );
    Built {
        sql: format!(
            "{} ORDER BY {}",
            TICKET_SELECT.replacen(
                "FROM tickets t",
                &format!("FROM ({ids}) page JOIN tickets t ON t.id = page.id"),
                1
            ),
            order_clause(sort, viewer)
        ),
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
    sort: (TicketSort, SortOrder),
    page: Pagination,
    params: &mut Vec<Box<dyn ToSql>>,
) -> String {
    let reach = page.offset() + u64::from(page.per_page);
    let source = Source::of(filter, viewer, sort.0);
    let runs: Vec<String> = filter
        .statuses
        .iter()
        .map(|status| {
            let one = TicketFilter {
                statuses: vec![*status],
                ..filter.clone()
            };
            let mut clauses = Vec::new();
            push_filters(&one, viewer, source, &mut clauses, params);
            let (from, id) = source.from(
                clauses.iter().any(|c| !c.starts_with("g.")),
                filter.sla.is_some(),
            );
            format!(
                "SELECT * FROM (SELECT {id} AS id FROM {from}{} ORDER BY {} LIMIT {reach})",
                crate::db::where_clause(&clauses),
                order_clause_of(sort, viewer, source)
            )
        })
        .collect();
    let from = format!(
        "FROM ({}) page JOIN tickets t ON t.id = page.id",
        runs.join(" UNION ALL ")
    );
    format!(
        "{} ORDER BY {} LIMIT {} OFFSET {}",
        TICKET_SELECT.replacen("FROM tickets t", &from, 1),
        order_clause(sort, viewer),
        page.per_page,
        page.offset()
    )
}

/// The WHERE conditions of `filter` (and of the viewer's own scope), with their values.
pub(super) fn push_filters(
    filter: &TicketFilter,
    viewer: Viewer,
    source: Source,
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
    let (status, priority) = match source {
        Source::Tickets => ("t.status", "t.priority"),
        Source::Tagged => ("g.status", "g.priority"),
    };
    push_in(clauses, params, status, &filter.statuses);
    push_in(clauses, params, priority, &filter.priorities);
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
        clauses.push(
            match source {
                Source::Tickets => TAG_PROBE,
                Source::Tagged => "g.tag = ?",
            }
            .into(),
        );
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
    if let Some(sla) = filter.sla {
        let now = time::OffsetDateTime::now_utc();
        params.push(Box::new(crate::db::format_time(now)));
        match sla {
            SlaFilter::Breached => clauses.push("t.sla_due_at <= ?".into()),
            SlaFilter::DueSoon => {
                clauses.push("t.sla_due_at > ? AND t.sla_due_at <= ?".into());
                params.push(Box::new(crate::db::format_time(
                    now + time::Duration::hours(1),
                )));
            }
        }
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
    order_clause_of(sort, viewer, Source::Tickets)
}

/// The ORDER BY in the sort keys of `source` (a tag's rows carry the staff
/// keys of their tickets).
fn order_clause_of(sort: (TicketSort, SortOrder), viewer: Viewer, source: Source) -> String {
    let order = sort.1.sql();
    let [created, updated, priority, status, id] = match source {
        Source::Tickets => [
            "t.created_at",
            updated_column(viewer),
            "t.priority",
            "t.status",
            "t.id",
        ],
        Source::Tagged => [
            "g.created_at",
            "g.updated_at",
            "g.priority",
            "g.status",
            "g.ticket_id",
        ],
    };
    match sort.0 {
        TicketSort::CreatedAt => format!("{created} {order}, {id} {order}"),
        TicketSort::UpdatedAt => format!("{updated} {order}, {id} {order}"),
        TicketSort::Priority => format!("{priority} {order}, {updated} DESC, {id} DESC"),
        TicketSort::Status => format!("{status} {order}, {updated} DESC, {id} DESC"),
        TicketSort::Relevance => format!("{updated} DESC, {id} DESC"),
        // Only the tickets' own rows carry it (see `Source::of`).
        TicketSort::DueAt => format!("t.sla_due_at {order}, t.id {order}"),
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
    let built = build(filter, viewer, sort, page);
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
        Pagination {
            page: 1,
            per_page: 25,
        },
    );
    let params: Vec<&dyn ToSql> = built.params.iter().map(AsRef::as_ref).collect();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", built.sql))?;
    let rows = stmt.query_map(params.as_slice(), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
