//! A ticket's conversation: replies and notes, and the ticket's audit trail.

use rusqlite::Connection;
use serde_json::json;

use super::model::{Channel, Message};
use super::repo::{self, NewMessage, TicketState};
use super::rules;
use super::service::visible_state;
use crate::actor::Actor;
use crate::attachments::Files;
use crate::audit::{self, ActorRef, AuditEntry, AuditFilter, Target};
use crate::db::{now, Db};
use crate::error::Error;
use crate::ids::{MessageId, TicketId, UserId};
use crate::paging::{Page, Pagination, SortOrder};

/// Who writes a message and how it arrived.
#[derive(Debug, Clone)]
pub struct Writer {
    pub author_id: Option<UserId>,
    pub is_staff: bool,
    pub channel: Channel,
    pub by: ActorRef,
}

/// Adds a message inside the caller's transaction. A closed ticket takes none;
/// the requester answering a resolved or pending ticket reopens it; the first
/// public staff reply sets `first_response_at`.
pub fn reply_in(
    conn: &Connection,
    ticket: &TicketState,
    writer: &Writer,
    body: &str,
    internal: bool,
    files: &Files,
) -> Result<MessageId, Error> {
    rules::check_body("body", body).map_err(|e| Error::Validation(vec![e]))?;
    if ticket.status == super::model::TicketStatus::Closed {
        return Err(Error::Conflict(
            "the ticket is closed; reopen it to add messages".into(),
        ));
    }
    if internal && !writer.is_staff {
        return Err(Error::Forbidden(
            "only agents and admins write internal notes".into(),
        ));
    }
    let now = now();
    let id = repo::insert_message(
        conn,
        &NewMessage {
            ticket_id: ticket.id,
            author_id: writer.author_id,
            body,
            internal,
            channel: writer.channel,
            now: &now,
        },
    )?;
    crate::attachments::access::attach(conn, id, files)?;
    crate::notify::message_added(conn, ticket, id, writer.author_id, internal, writer.channel)?;
    let by_requester = !writer.is_staff && writer.author_id == Some(ticket.requester_id);
    let first_answer =
        writer.is_staff && !internal && writer.author_id != Some(ticket.requester_id);
    if first_answer {
        repo::set_first_response(conn, ticket.id, &now)?;
    }
    let next = rules::status_after_reply(ticket.status, by_requester, internal);
    let mut details =
        json!({ "message_id": id, "internal": internal, "channel": writer.channel.as_str() });
    crate::events::record_message(conn, id)?;
    if next != ticket.status {
        repo::set_status(conn, ticket.id, next, &now)?;
        details["status"] = json!({ "from": ticket.status.as_str(), "to": next.as_str() });
        crate::events::record_ticket(conn, &[crate::events::kind::TICKET_UPDATED], ticket.id)?;
    }
    // A first public answer meets the first-response target; a status change
    // stops or starts the resolution clock.
    if next != ticket.status || (first_answer && ticket.first_response_at.is_none()) {
        crate::sla::clock::refresh(conn, ticket.id)?;
    }
    audit::record(
        conn,
        &writer.by,
        "message.created",
        Some(Target {
            kind: "message",
            id: id.0,
        }),
        Some(ticket.id.0),
        &details,
    )?;
    Ok(id)
}

pub async fn reply(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    body: String,
    internal: bool,
    files: Files,
) -> Result<Message, Error> {
    let channel = if actor.api_key_id().is_some() {
        Channel::Api
    } else {
        Channel::Web
    };
    reply_on(db, actor, id, (body, internal, files), channel).await
}

/// A reply arriving on `channel` (the API, the web UI, the chat socket).
pub async fn reply_on(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    (body, internal, files): (String, bool, Files),
    channel: Channel,
) -> Result<Message, Error> {
    let actor = actor.clone();
    db.write(move |tx| {
        let ticket = visible_state(tx, &actor, id)?;
        let body = with_signature(tx, &actor, body, internal || channel == Channel::Chat)?;
        let writer = Writer {
            author_id: actor.user_id(),
            is_staff: actor.role.is_staff(),
            channel,
            by: ActorRef::from(&actor),
        };
        let message = reply_in(tx, &ticket, &writer, &body, internal, &files)?;
        repo::message(tx, message)?.ok_or(Error::NotFound("message"))
    })
    .await
}

/// A public reply of an agent ends with their signature (not a note, not a chat line).
fn with_signature(
    conn: &Connection,
    actor: &Actor,
    body: String,
    skip: bool,
) -> Result<String, Error> {
    let (Some(me), false, true) = (actor.user_id(), skip, actor.role.is_staff()) else {
        return Ok(body);
    };
    // The reply itself must hold something; the signature does not count.
    rules::check_body("body", &body).map_err(|e| Error::Validation(vec![e]))?;
    let Some(signature) = crate::users::repo::get(conn, me)?.and_then(|u| u.user.signature) else {
        return Ok(body);
    };
    let signed = format!("{}\n\n-- \n{signature}", body.trim_end());
    if signed.len() > rules::BODY_MAX_BYTES {
        return Err(Error::validation(
            "body",
            format!(
                "with your signature ({} bytes) the reply is over the limit of {} bytes",
                signature.len(),
                rules::BODY_MAX_BYTES
            ),
        ));
    }
    Ok(signed)
}

pub async fn messages(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    page: Pagination,
) -> Result<Page<Message>, Error> {
    let actor = actor.clone();
    let (items, total) = db
        .read(move |conn| {
            visible_state(conn, &actor, id)?;
            repo::messages(
                conn,
                id,
                actor.role.is_staff(),
                page.per_page,
                page.offset(),
            )
        })
        .await?;
    Ok(Page::new(items, page, total))
}

/// The ticket's audit trail, oldest first (for agents and admins; the caller checks).
pub async fn events(db: &Db, id: TicketId, page: Pagination) -> Result<Page<AuditEntry>, Error> {
    let (items, total) = db
        .read(move |conn| {
            // Deleted tickets keep their trail; only a ticket that never existed is 404.
            if repo::state(conn, id)?.is_none() && !has_history(conn, id)? {
                return Err(Error::NotFound("ticket"));
            }
            audit::list(
                conn,
                &AuditFilter {
                    ticket_id: Some(id.0),
                    ..AuditFilter::default()
                },
                page,
                SortOrder::Asc,
            )
        })
        .await?;
    Ok(Page::new(items, page, total))
}

fn has_history(conn: &Connection, id: TicketId) -> Result<bool, Error> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE ticket_id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}
