//! A page of a text search. Matches come from the search index, one row per
//! ticket (`ticket_text`: subject, public text, internal text), so one FTS5
//! MATCH answers the whole query. No page joins and sorts every match:
//!
//! - by relevance, without other filters: FTS5 ranks the newest
//!   `COUNT_CAP` matches (all of them when fewer match) in the one query
//!   that also counts them, and the page is the best of those; the total
//!   then says `total_capped`;
//! - in a list order: when many tickets match, the order's own index is
//!   walked and each ticket checked against the matches; when few match,
//!   they are looked up and sorted;
//! - by relevance with other filters: every match is ranked, then filtered;
//! - for customers, relevance is their most recently changed tickets first.

use rusqlite::{types::ToSql, Connection};

use super::list::{
    order_clause, push_filters, search_error, Source, TicketFilter, TicketSort, Viewer,
};
use super::model::Ticket;
use super::repo::{ticket_from_row, TICKET_SELECT};
use super::search::TextSearch;
use crate::error::Error;
use crate::paging::{Count, Pagination, SortOrder, COUNT_CAP};

/// Above this many matches (about one ticket in 500 at a million), a page in
/// a list order walks that order's index; at or below, it sorts the matches.
const DENSE: i64 = 2_000;

/// The search condition on `ticket_text` for `viewer`, with its values.
/// Customers search their own tickets' subject and public text only.
fn matching(search: &TextSearch, viewer: Viewer) -> (String, Vec<Box<dyn ToSql>>) {
    let mut params: Vec<Box<dyn ToSql>> = vec![Box::new(
        search.fts_expression(matches!(viewer, Viewer::Requester(_))),
    )];
    let own = match viewer {
        Viewer::Staff => "",
        Viewer::Requester(me) => {
            params.push(Box::new(me));
            " AND rowid IN (SELECT id FROM tickets WHERE requester_id = ?)"
        }
    };
    (format!("ticket_text MATCH ?{own}"), params)
}

fn refs(params: &[Box<dyn ToSql>]) -> Vec<&dyn ToSql> {
    params.iter().map(AsRef::as_ref).collect()
}

fn count(conn: &Connection, sql: &str, params: &[Box<dyn ToSql>]) -> Result<i64, Error> {
    conn.prepare_cached(sql)?
        .query_row(refs(params).as_slice(), |r| r.get(0))
        .map_err(search_error)
}

/// A query for a page, its values, and how the total is known.
pub(super) struct Plan {
    pub sql: String,
    pub params: Vec<Box<dyn ToSql>>,
    /// The capped count of the page's whole set, when it is not `matches`.
    pub count_sql: Option<String>,
}

/// How to read a page, given how many tickets match the text (capped).
pub(super) fn plan(
    search: &TextSearch,
    filter: &TicketFilter,
    viewer: Viewer,
    sort: (TicketSort, SortOrder),
    page: Pagination,
    matches: i64,
) -> Plan {
    let (condition, mut params) = matching(search, viewer);
    let mut clauses = Vec::new();
    push_filters(filter, viewer, Source::Tickets, &mut clauses, &mut params);
    let limit = format!("LIMIT {} OFFSET {}", page.per_page, page.offset());
    let order_by = order_clause(sort, viewer);
    let filtered = !clauses.is_empty();
    let and_clauses: String = clauses.iter().fold(String::new(), |mut all, c| {
        all.push_str(" AND ");
        all.push_str(c);
        all
    });

    // The capped count of the matches that pass the filters.
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM tickets t
         WHERE t.id IN (SELECT rowid FROM ticket_text WHERE {condition}){and_clauses}
         LIMIT {})",
        COUNT_CAP + 1
    );

    if sort.0 == TicketSort::Relevance {
        // Every match ranked, then filtered (without filters, `list` takes
        // the newest matches instead). bm25 is lower for better matches;
        // ties go to the newer ticket.
        let ranked = format!(
            "SELECT h.ticket_id AS id, h.score AS score
             FROM (SELECT rowid AS ticket_id, rank AS score FROM ticket_text WHERE {condition}) h
             JOIN tickets t ON t.id = h.ticket_id
             WHERE 1{and_clauses} ORDER BY h.score ASC, t.id DESC {limit}"
        );
        let sql = format!(
            "{} ORDER BY page.score ASC, t.id DESC",
            TICKET_SELECT.replacen(
                "FROM tickets t",
                &format!("FROM ({ranked}) page JOIN tickets t ON t.id = page.id"),
                1
            )
        );
        return Plan {
            sql,
            params,
            count_sql: Some(count_sql),
        };
    }
    // `+` keeps the matches from driving the query: the order's index does,
    // checking each ticket against the matches (built once, with a filter).
    let membership = if matches!(viewer, Viewer::Staff) && matches > DENSE {
        "+t.id"
    } else {
        "t.id"
    };
    let ids = format!(
        "SELECT t.id FROM tickets t
         WHERE {membership} IN (SELECT rowid FROM ticket_text WHERE {condition}){and_clauses}
         ORDER BY {order_by} {limit}"
    );
    let sql = format!(
        "{} ORDER BY {order_by}",
        TICKET_SELECT.replacen(
            "FROM tickets t",
            &format!("FROM ({ids}) page JOIN tickets t ON t.id = page.id"),
            1
        )
    );
    Plan {
        sql,
        params,
        count_sql: filtered.then_some(count_sql),
    }
}

/// How many tickets match the text for `viewer`, up to one past the cap.
pub(super) fn matches(
    conn: &Connection,
    search: &TextSearch,
    viewer: Viewer,
) -> Result<i64, Error> {
    let (condition, params) = matching(search, viewer);
    count(
        conn,
        &format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM ticket_text WHERE {condition} LIMIT {})",
            COUNT_CAP + 1
        ),
        &params,
    )
}

/// A relevance page without other filters: the newest matches up to one
/// past the cap, with their scores, in one query; counted, ranked and cut
/// to the page here, then the page's tickets read by id.
fn best_of_newest(
    conn: &Connection,
    search: &TextSearch,
    viewer: Viewer,
    page: Pagination,
    with_notes: bool,
) -> Result<(Vec<Ticket>, Count), Error> {
    let (condition, params) = matching(search, viewer);
    let mut hits = conn
        .prepare_cached(&format!(
            "SELECT rank, rowid FROM ticket_text WHERE {condition} ORDER BY rowid DESC LIMIT {}",
            COUNT_CAP + 1
        ))?
        .query_map(refs(&params).as_slice(), |r| {
            Ok((r.get::<_, f64>(0)?, r.get::<_, i64>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(search_error)?;
    let total = i64::try_from(hits.len()).unwrap_or(i64::MAX);
    hits.truncate(usize::try_from(COUNT_CAP).unwrap_or(usize::MAX));
    // bm25 is lower for better matches; ties go to the newer ticket.
    hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let ids: Vec<i64> = hits
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(usize::MAX))
        .map(|h| h.1)
        .collect();
    let mut items = Vec::with_capacity(ids.len());
    if !ids.is_empty() {
        let sql = format!(
            "{TICKET_SELECT} WHERE t.id IN ({})",
            vec!["?"; ids.len()].join(", ")
        );
        let id_params: Vec<&dyn ToSql> = ids.iter().map(|id| id as &dyn ToSql).collect();
        items = conn
            .prepare_cached(&sql)?
            .query_map(id_params.as_slice(), |r| ticket_from_row(r, with_notes))?
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|t: &Ticket| ids.iter().position(|id| *id == t.id.0));
    }
    Ok((items, Count::up_to_cap(total)))
}

/// One page of the tickets matching `search` (and `filter`) and their total.
pub fn list(
    conn: &Connection,
    search: &TextSearch,
    filter: &TicketFilter,
    viewer: Viewer,
    sort: (TicketSort, SortOrder),
    page: Pagination,
) -> Result<(Vec<Ticket>, Count), Error> {
    let sort = customer_order(viewer, sort);
    let with_notes = matches!(viewer, Viewer::Staff);
    let mut clauses = Vec::new();
    push_filters(
        filter,
        viewer,
        Source::Tickets,
        &mut clauses,
        &mut Vec::new(),
    );
    if sort.0 == TicketSort::Relevance && clauses.is_empty() {
        return best_of_newest(conn, search, viewer, page, with_notes);
    }
    let matches = matches(conn, search, viewer)?;
    let plan = plan(search, filter, viewer, sort, page, matches);
    let items = conn
        .prepare_cached(&plan.sql)?
        .query_map(refs(&plan.params).as_slice(), |r| {
            ticket_from_row(r, with_notes)
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(search_error)?;
    let total = match &plan.count_sql {
        None => matches,
        Some(sql) => count(conn, sql, &plan.params)?,
    };
    Ok((items, Count::up_to_cap(total)))
}

/// Customers get their matches most recently changed first, not by
/// relevance: bm25 weighs a match by the length of the whole ticket's text,
/// internal notes included, so the order would let the length of the team's
/// notes show through.
fn customer_order(viewer: Viewer, sort: (TicketSort, SortOrder)) -> (TicketSort, SortOrder) {
    match (viewer, sort.0) {
        (Viewer::Requester(_), TicketSort::Relevance) => (TicketSort::UpdatedAt, SortOrder::Desc),
        _ => sort,
    }
}

/// The query plan of a search page, one line per step (for tests and tuning).
pub fn explain(
    conn: &Connection,
    search: &TextSearch,
    filter: &TicketFilter,
    viewer: Viewer,
    sort: (TicketSort, SortOrder),
) -> Result<Vec<String>, Error> {
    let sort = customer_order(viewer, sort);
    let matches = matches(conn, search, viewer)?;
    let page = Pagination {
        page: 1,
        per_page: 25,
    };
    let plan = plan(search, filter, viewer, sort, page, matches);
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", plan.sql))?;
    let rows = stmt.query_map(refs(&plan.params).as_slice(), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
