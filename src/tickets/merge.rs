//! Merging a duplicate into the ticket that continues: its messages (and
//! their files) move over, it closes naming the target, and later mail and
//! portal replies to it land on the target.
//!
//! The rule for different requesters: a requester never sees another's
//! conversation. When the two tickets have different requesters, the moved
//! public messages become internal notes on the target (agents see them,
//! the target's requester does not), and the source's portal links do not
//! reach the target.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use super::conversation::{reply_in, Writer};
use super::model::{Channel, TicketStatus, TicketWithMessages};
use super::repo;
use super::service::view_in;
use crate::actor::Actor;
use crate::attachments::Files;
use crate::audit::{self, ActorRef, Target};
use crate::db::{now, Db};
use crate::error::Error;
use crate::events;
use crate::ids::TicketId;

/// Merges are followed this many steps at most (a chain, never a loop).
const MAX_HOPS: usize = 16;

/// The ticket that continues `id` for its requester: itself, or where it
/// was merged to, as far as the requester stays the same (another
/// requester's ticket never takes mail or portal replies meant for this one).
pub fn current(conn: &Connection, id: TicketId) -> Result<TicketId, Error> {
    let mut at = id;
    for _ in 0..MAX_HOPS {
        let next: Option<TicketId> = conn
            .prepare_cached(
                "SELECT t.merged_into FROM tickets t JOIN tickets m ON m.id = t.merged_into
                 WHERE t.id = ?1 AND m.requester_id = t.requester_id",
            )?
            .query_row([at], |r| r.get(0))
            .optional()?
            .flatten();
        match next {
            Some(next) => at = next,
            None => return Ok(at),
        }
    }
    Ok(at)
}

pub async fn merge(
    db: &Db,
    actor: &Actor,
    source: TicketId,
    into: TicketId,
) -> Result<TicketWithMessages, Error> {
    if source == into {
        return Err(Error::Conflict(
            "a ticket cannot be merged into itself".into(),
        ));
    }
    let by = ActorRef::from(actor);
    let actor = actor.clone();
    db.write(move |tx| {
        let from = repo::state(tx, source)?.ok_or(Error::NotFound("ticket"))?;
        let to = repo::state(tx, into)?
            .ok_or_else(|| Error::validation("into", "no such ticket"))?;
        if merged_into(tx, source)?.is_some() {
            return Err(Error::Conflict("this ticket was already merged".into()));
        }
        if let Some(next) = merged_into(tx, into)? {
            return Err(Error::Conflict(format!(
                "ticket #{into} was merged into #{next}; merge into that one"
            )));
        }
        if to.status == TicketStatus::Closed {
            return Err(Error::Conflict(format!(
                "ticket #{into} is closed; reopen it first"
            )));
        }
        let same_requester = from.requester_id == to.requester_id;
        let now = now();
        tx.prepare_cached(
            "UPDATE messages SET ticket_id = ?2, internal = CASE WHEN ?3 THEN internal ELSE 1 END
             WHERE ticket_id = ?1",
        )?
        .execute(params![source, into, same_requester])?;
        for id in [source, into] {
            recount(tx, id)?;
        }
        if same_requester {
            // Threads of the source continue on the target.
            tx.prepare_cached("UPDATE mail_threads SET ticket_id = ?2 WHERE ticket_id = ?1")?
                .execute(params![source, into])?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO portal_token_tickets (token_id, ticket_id)
                 SELECT id, ?2 FROM portal_tokens WHERE ticket_id = ?1
                 UNION SELECT token_id, ?2 FROM portal_token_tickets WHERE ticket_id = ?1",
            )?
            .execute(params![source, into])?;
        }
        repo::set_status(tx, source, TicketStatus::Closed, &now)?;
        crate::sla::clock::refresh(tx, source)?;
        if !same_requester {
            crate::notify::merged_away(tx, &from)?;
        }
        tx.prepare_cached("UPDATE tickets SET merged_into = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![source, into, now])?;
        let system = Writer {
            author_id: None,
            is_staff: true,
            channel: Channel::Web,
            by: by.clone(),
        };
        let note = if same_requester {
            format!("Ticket #{source} ({}) was merged into this one.", from.subject)
        } else {
            format!(
                "Ticket #{source} ({}) of another requester was merged into this one; \
                 its messages are kept as internal notes.",
                from.subject
            )
        };
        reply_in(tx, &repo::state(tx, into)?.ok_or(Error::NotFound("ticket"))?, &system, &note, true, &Files::none())?;
        for (ticket, other) in [(source, into), (into, source)] {
            audit::record(
                tx,
                &by,
                "ticket.merged",
                Some(Target {
                    kind: "ticket",
                    id: ticket.0,
                }),
                Some(ticket.0),
                &json!({ "source": source, "into": into, "other": other, "same_requester": same_requester }),
            )?;
            events::record_ticket(tx, &[events::kind::TICKET_UPDATED], ticket)?;
        }
        view_in(tx, &actor, into)
    })
    .await
}

fn merged_into(conn: &Connection, id: TicketId) -> Result<Option<TicketId>, Error> {
    Ok(conn
        .prepare_cached("SELECT merged_into FROM tickets WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Counts and "last public change" from the messages a ticket holds now.
fn recount(conn: &Connection, id: TicketId) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE tickets SET
             public_count = (SELECT COUNT(*) FROM messages WHERE ticket_id = ?1 AND internal = 0),
             note_count = (SELECT COUNT(*) FROM messages WHERE ticket_id = ?1 AND internal = 1),
             public_updated_at = COALESCE(
                 (SELECT MAX(created_at) FROM messages WHERE ticket_id = ?1 AND internal = 0),
                 created_at)
         WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}
