//! What needs an agent's attention: tickets with a requester message they
//! have not seen, and tickets they follow.
//!
//! `unread` compares the requester's latest public message (kept on the
//! ticket by triggers, merges included) with the one the agent had seen when
//! they last marked the ticket seen. Notes and team replies never make a
//! ticket unread; a ticket never opened is unread once its requester wrote.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::model::Ticket;
use super::{repo, rules};
use crate::actor::Actor;
use crate::db::{now, Db};
use crate::error::Error;
use crate::ids::{TicketId, UserId};

/// The list filter `unread=true` (bound: the agent).
pub(super) const UNREAD_FILTER: &str = "t.requester_message_id > COALESCE(
    (SELECT s.message_id FROM ticket_seen s WHERE s.user_id = ? AND s.ticket_id = t.id), 0)";

/// The list filter `following=true` (bound: the agent): an agent follows few
/// tickets, so the page starts from their follows, never from all tickets.
pub(super) const FOLLOWING_FILTER: &str =
    "t.id IN (SELECT f.ticket_id FROM ticket_followers f WHERE f.user_id = ?)";

/// The agent behind `actor` (not an API key, not a customer).
pub fn agent_of(actor: &Actor) -> Option<UserId> {
    actor.user_id().filter(|_| actor.role.is_staff())
}

fn agent_only(actor: &Actor, what: &str) -> Result<UserId, Error> {
    agent_of(actor).ok_or_else(|| {
        Error::Forbidden(format!(
            "{what} is for a signed-in agent; an API key has no view of its own"
        ))
    })
}

/// Fills `unread` and `following` for a staff caller (`None`: an API key,
/// which sees both as false); customers' tickets are left without them.
pub fn annotate(conn: &Connection, actor: &Actor, tickets: &mut [Ticket]) -> Result<(), Error> {
    if !actor.role.is_staff() || tickets.is_empty() {
        return Ok(());
    }
    let Some(me) = actor.user_id() else {
        for t in tickets.iter_mut() {
            t.unread = Some(false);
            t.following = Some(false);
        }
        return Ok(());
    };
    let ids: Vec<i64> = tickets.iter().map(|t| t.id.0).collect();
    let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let mut seen: HashMap<i64, (i64, bool)> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT j.value, COALESCE(s.message_id, 0),
                EXISTS (SELECT 1 FROM ticket_followers f WHERE f.user_id = ?1 AND f.ticket_id = j.value)
         FROM json_each(?2) j
         LEFT JOIN ticket_seen s ON s.user_id = ?1 AND s.ticket_id = j.value",
    )?;
    let rows = stmt.query_map(params![me, list], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    for row in rows {
        let (id, message, follows) = row?;
        seen.insert(id, (message, follows));
    }
    for t in tickets.iter_mut() {
        let (message, follows) = seen.get(&t.id.0).copied().unwrap_or((0, false));
        t.unread = Some(t.requester_message_id > message);
        t.following = Some(follows);
    }
    Ok(())
}

fn visible(conn: &Connection, actor: &Actor, id: TicketId) -> Result<(), Error> {
    match repo::state(conn, id)? {
        Some(state) if rules::can_view(actor, state.requester_id) => Ok(()),
        _ => Err(Error::NotFound("ticket")),
    }
}

/// Marks the ticket read for the agent up to the requester's latest message.
pub async fn seen(db: &Db, actor: &Actor, id: TicketId) -> Result<(), Error> {
    let me = agent_only(actor, "marking a ticket seen")?;
    let actor = actor.clone();
    db.write(move |tx| {
        visible(tx, &actor, id)?;
        tx.prepare_cached(
            "INSERT INTO ticket_seen (user_id, ticket_id, message_id, seen_at)
             SELECT ?1, id, requester_message_id, ?3 FROM tickets WHERE id = ?2
             ON CONFLICT (user_id, ticket_id) DO UPDATE
             SET message_id = excluded.message_id, seen_at = excluded.seen_at",
        )?
        .execute(params![me, id, now()])?;
        Ok(())
    })
    .await
}

/// Starts (`on`) or stops following the ticket; both are idempotent.
pub async fn follow(db: &Db, actor: &Actor, id: TicketId, on: bool) -> Result<(), Error> {
    let me = agent_only(actor, "following a ticket")?;
    let actor = actor.clone();
    db.write(move |tx| {
        visible(tx, &actor, id)?;
        if on {
            tx.prepare_cached(
                "INSERT INTO ticket_followers (user_id, ticket_id, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![me, id, now()])?;
        } else {
            tx.prepare_cached(
                "DELETE FROM ticket_followers WHERE user_id = ?1 AND ticket_id = ?2",
            )?
            .execute(params![me, id])?;
        }
        Ok(())
    })
    .await
}
