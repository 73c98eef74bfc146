//! SQL for tickets and messages. Synchronous, over any connection or transaction.

use rusqlite::{params, types::ToSql, Connection, OptionalExtension, Row};

use super::model::{
    Assignee, AttachmentRef, Author, Channel, Message, Priority, Rating, Requester, Score, Ticket,
    TicketSla, TicketStatus,
};
use crate::error::Error;
use crate::ids::{AttachmentId, MessageId, TicketId, UserId};

pub(super) const TICKET_SELECT: &str =
    "SELECT t.id, t.subject, t.status, t.priority, t.category, t.type, t.channel, t.tags,
        r.id, r.name, r.email, a.id, a.name,
        t.created_at, t.updated_at, t.first_response_at, t.resolved_at, t.closed_at,
        t.public_count, t.note_count, t.public_updated_at, t.merged_into,
        (SELECT mt.id FROM tickets mt WHERE mt.id = t.merged_into AND mt.requester_id = t.requester_id),
        t.requester_message_id, t.first_response_due_at, t.resolution_due_at, t.sla_paused_at,
        rt.score, rt.comment, rt.created_at
    FROM tickets t
    JOIN users r ON r.id = t.requester_id
    LEFT JOIN users a ON a.id = t.assignee_id
    LEFT JOIN ratings rt ON rt.ticket_id = t.id";

/// Reads a ticket row; `with_notes` decides whether notes count as messages.
pub(super) fn ticket_from_row(row: &Row<'_>, with_notes: bool) -> rusqlite::Result<Ticket> {
    ticket_from_row_at(row, 0, with_notes)
}

/// Reads a ticket whose columns follow `skip` extra columns after the id.
pub(super) fn ticket_from_row_at(
    row: &Row<'_>,
    skip: usize,
    with_notes: bool,
) -> rusqlite::Result<Ticket> {
    let at = |i: usize| if i == 0 { 0 } else { i + skip };
    let tags: String = row.get(at(7))?;
    let assignee = match row.get::<_, Option<UserId>>(at(11))? {
        Some(id) => Some(Assignee {
            id,
            name: row.get(at(12))?,
        }),
        None => None,
    };
    let public: i64 = row.get(at(18))?;
    let notes: i64 = row.get(at(19))?;
    let status = row.get(at(2))?;
    let first_response_at: Option<String> = row.get(at(15))?;
    let resolved_at: Option<String> = row.get(at(16))?;
    // Service levels are the team's business: agents only.
    let sla = if with_notes {
        TicketSla::of(
            status,
            first_response_at.as_deref(),
            resolved_at.as_deref(),
            row.get(at(24))?,
            row.get(at(25))?,
            row.get(at(26))?,
        )
    } else {
        None
    };
    Ok(Ticket {
        id: row.get(at(0))?,
        subject: row.get(at(1))?,
        status,
        priority: row.get(at(3))?,
        category: row.get(at(4))?,
        kind: row.get(at(5))?,
        channel: row.get(at(6))?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        requester: Requester {
            id: row.get(at(8))?,
            name: row.get(at(9))?,
            email: row.get(at(10))?,
        },
        assignee,
        created_at: row.get(at(13))?,
        // Customers see the time of the last change they can see.
        updated_at: row.get(at(if with_notes { 14 } else { 20 }))?,
        first_response_at,
        resolved_at,
        closed_at: row.get(at(17))?,
        message_count: if with_notes { public + notes } else { public },
        // Customers see where a ticket went only when it stayed theirs.
        merged_into: row.get(at(if with_notes { 21 } else { 22 }))?,
        unread: None,
        following: None,
        requester_message_id: row.get(at(23))?,
        sla,
        // How the requester rated the help: agents only.
        rating: if with_notes {
            Some(rating_at(row, at(27))?)
        } else {
            None
        },
    })
}

/// The rating in the three columns from `first` on, if there is one.
fn rating_at(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<Rating>> {
    let score: Option<String> = row.get(first)?;
    Ok(match score.as_deref().and_then(Score::parse) {
        Some(score) => Some(Rating {
            score,
            comment: row.get(first + 1)?,
            created_at: row.get(first + 2)?,
        }),
        None => None,
    })
}

/// The fields rules are decided on.
#[derive(Debug, Clone)]
pub struct TicketState {
    pub id: TicketId,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub tags: Vec<String>,
    pub requester_id: UserId,
    pub assignee_id: Option<UserId>,
    pub first_response_at: Option<String>,
}

pub fn state(conn: &Connection, id: TicketId) -> Result<Option<TicketState>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT id, subject, status, priority, category, type, tags, requester_id, assignee_id, first_response_at
             FROM tickets WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let tags: String = r.get(6)?;
            Ok(TicketState {
                id: r.get(0)?,
                subject: r.get(1)?,
                status: r.get(2)?,
                priority: r.get(3)?,
                category: r.get(4)?,
                kind: r.get(5)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                requester_id: r.get(7)?,
                assignee_id: r.get(8)?,
                first_response_at: r.get(9)?,
            })
        })
        .optional()?)
}

pub fn get(conn: &Connection, id: TicketId, with_notes: bool) -> Result<Option<Ticket>, Error> {
    Ok(conn
        .prepare_cached(&format!("{TICKET_SELECT} WHERE t.id = ?1"))?
        .query_row([id], |r| ticket_from_row(r, with_notes))
        .optional()?)
}

/// The ticket as agents see it and as its requester sees it, from one read.
pub fn get_both_views(conn: &Connection, id: TicketId) -> Result<Option<(Ticket, Ticket)>, Error> {
    Ok(conn
        .prepare_cached(&format!("{TICKET_SELECT} WHERE t.id = ?1"))?
        .query_row([id], |r| {
            Ok((ticket_from_row(r, true)?, ticket_from_row(r, false)?))
        })
        .optional()?)
}

pub struct NewTicket<'a> {
    pub subject: &'a str,
    pub priority: Priority,
    pub category: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub channel: Channel,
    pub tags: &'a [String],
    pub requester_id: UserId,
    pub assignee_id: Option<UserId>,
    pub now: &'a str,
}

pub fn insert(conn: &Connection, t: &NewTicket<'_>) -> Result<TicketId, Error> {
    conn.prepare_cached(
        "INSERT INTO tickets (subject, status, priority, category, type, channel, tags, requester_id, assignee_id, created_at, updated_at, public_updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10)",
    )?
    .execute(params![
        t.subject,
        TicketStatus::Open,
        t.priority,
        t.category,
        t.kind,
        t.channel,
        serde_json::to_string(t.tags).unwrap_or_else(|_| "[]".into()),
        t.requester_id,
        t.assignee_id,
        t.now,
    ])?;
    let id = TicketId(conn.last_insert_rowid());
    write_tag_rows(conn, id, t.tags)?;
    Ok(id)
}

/// A tag row of ticket `?2` with the ticket's sort keys (kept equal to the
/// ticket's afterwards by a trigger).
pub const TAG_ROW_INSERT: &str =
    "INSERT INTO ticket_tags (tag, ticket_id, status, priority, created_at, updated_at)
     SELECT ?1, id, status, priority, created_at, updated_at FROM tickets WHERE id = ?2";

fn write_tag_rows(conn: &Connection, id: TicketId, tags: &[String]) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM ticket_tags WHERE ticket_id = ?1")?
        .execute([id])?;
    let mut stmt = conn.prepare_cached(TAG_ROW_INSERT)?;
    for tag in tags {
        stmt.execute(params![tag, id])?;
    }
    Ok(())
}

pub fn set_tags(conn: &Connection, id: TicketId, tags: &[String]) -> Result<(), Error> {
    conn.execute(
        "UPDATE tickets SET tags = ?2 WHERE id = ?1",
        params![
            id,
            serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
        ],
    )?;
    write_tag_rows(conn, id, tags)
}

/// One changeable column. Names come from this enum only, never from input.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    Subject,
    Priority,
    Category,
    Type,
    Assignee,
}

impl Column {
    fn sql(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Priority => "priority",
            Self::Category => "category",
            Self::Type => "type",
            Self::Assignee => "assignee_id",
        }
    }
}

pub fn set(
    conn: &Connection,
    id: TicketId,
    column: Column,
    value: &dyn ToSql,
) -> Result<(), Error> {
    conn.execute(
        &format!("UPDATE tickets SET {} = ?2 WHERE id = ?1", column.sql()),
        params![id, value],
    )?;
    Ok(())
}

/// Changes the status and the timestamps that go with it.
pub fn set_status(
    conn: &Connection,
    id: TicketId,
    to: TicketStatus,
    now: &str,
) -> Result<(), Error> {
    let sql = match to {
        TicketStatus::Resolved => "UPDATE tickets SET status = ?2, resolved_at = ?3, closed_at = NULL WHERE id = ?1",
        TicketStatus::Closed => {
            "UPDATE tickets SET status = ?2, closed_at = ?3, resolved_at = COALESCE(resolved_at, ?3) WHERE id = ?1"
        }
        _ => {
            conn.execute("UPDATE tickets SET status = ?2, resolved_at = NULL, closed_at = NULL WHERE id = ?1", params![id, to])?;
            return Ok(());
        }
    };
    conn.execute(sql, params![id, to, now])?;
    Ok(())
}

pub fn touch(conn: &Connection, id: TicketId, now: &str) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE tickets SET updated_at = ?2, public_updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

pub fn set_first_response(conn: &Connection, id: TicketId, now: &str) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE tickets SET first_response_at = ?2 WHERE id = ?1 AND first_response_at IS NULL",
    )?
    .execute(params![id, now])?;
    Ok(())
}

pub struct NewMessage<'a> {
    pub ticket_id: TicketId,
    pub author_id: Option<UserId>,
    pub body: &'a str,
    pub internal: bool,
    pub channel: Channel,
    pub now: &'a str,
}

/// Adds a message and keeps the ticket's counts and `updated_at` in step.
pub fn insert_message(conn: &Connection, m: &NewMessage<'_>) -> Result<MessageId, Error> {
    conn.prepare_cached(
        "INSERT INTO messages (ticket_id, author_id, body, internal, channel, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![m.ticket_id, m.author_id, m.body, m.internal, m.channel, m.now])?;
    let id = MessageId(conn.last_insert_rowid());
    // A note moves the agents' `updated_at` only; customers never see it move.
    let sql = if m.internal {
        "UPDATE tickets SET note_count = note_count + 1, updated_at = ?2 WHERE id = ?1"
    } else {
        "UPDATE tickets SET public_count = public_count + 1, updated_at = ?2, public_updated_at = ?2 WHERE id = ?1"
    };
    conn.prepare_cached(sql)?
        .execute(params![m.ticket_id, m.now])?;
    Ok(id)
}

const MESSAGE_SELECT: &str =
    "SELECT m.id, m.ticket_id, u.id, u.name, u.role, m.body, m.internal, m.channel, m.created_at
    FROM messages m LEFT JOIN users u ON u.id = m.author_id";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let author = match row.get::<_, Option<UserId>>(2)? {
        Some(id) => Some(Author {
            id,
            name: row.get(3)?,
            role: row.get(4)?,
        }),
        None => None,
    };
    let body: String = row.get(5)?;
    Ok(Message {
        id: row.get(0)?,
        ticket_id: row.get(1)?,
        author,
        body_html: crate::markdown::to_html(&body),
        body,
        internal: row.get(6)?,
        channel: row.get(7)?,
        created_at: row.get(8)?,
        attachments: Vec::new(),
    })
}

/// Fills in the files of `messages` (one indexed lookup per message).
fn with_attachments(conn: &Connection, messages: &mut [Message]) -> Result<(), Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, filename, content_type, size FROM attachments WHERE message_id = ?1 ORDER BY id",
    )?;
    for m in messages {
        m.attachments = stmt
            .query_map([m.id], |r| {
                let id: AttachmentId = r.get(0)?;
                Ok(AttachmentRef {
                    id,
                    filename: r.get(1)?,
                    content_type: r.get(2)?,
                    size: r.get(3)?,
                    url: format!("/api/v1/attachments/{id}"),
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}

pub fn message(conn: &Connection, id: MessageId) -> Result<Option<Message>, Error> {
    let mut message = conn
        .prepare_cached(&format!("{MESSAGE_SELECT} WHERE m.id = ?1"))?
        .query_row([id], message_from_row)
        .optional()?;
    if let Some(m) = &mut message {
        with_attachments(conn, std::slice::from_mut(m))?;
    }
    Ok(message)
}

/// A ticket's messages in order; notes only when `with_notes`.
pub fn messages(
    conn: &Connection,
    ticket: TicketId,
    with_notes: bool,
    limit: u32,
    offset: u64,
) -> Result<(Vec<Message>, i64), Error> {
    let total: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM messages WHERE ticket_id = ?1 AND (internal = 0 OR ?2)",
        )?
        .query_row(params![ticket, with_notes], |r| r.get(0))?;
    let mut items = conn
        .prepare_cached(&format!(
            "{MESSAGE_SELECT} WHERE m.ticket_id = ?1 AND (m.internal = 0 OR ?2) ORDER BY m.id LIMIT ?3 OFFSET ?4"
        ))?
        .query_map(params![ticket, with_notes, limit, i64::try_from(offset).unwrap_or(i64::MAX)], message_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    with_attachments(conn, &mut items)?;
    Ok((items, total))
}

pub fn delete(conn: &Connection, id: TicketId) -> Result<bool, Error> {
    Ok(conn.execute("DELETE FROM tickets WHERE id = ?1", [id])? > 0)
}
