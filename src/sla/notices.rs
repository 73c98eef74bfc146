//! Warnings and breaches, told once each: when a ticket's next notice time
//! has come (`sla_next_at`, indexed), the sweep records an event for agents
//! and mails the assignee (or the support address when nobody is assigned)
//! through the outbox, and marks the notice told in the same transaction,
//! so a restart neither loses nor repeats one.

use rusqlite::{params, Connection};

use super::clock::{
    self, from_secs, FIRST_RESPONSE_BREACH, FIRST_RESPONSE_WARNING, RESOLUTION_BREACH,
    RESOLUTION_WARNING,
};
use super::policy;
use crate::error::Error;
use crate::events::{self, kind};
use crate::ids::{TicketId, UserId};

/// Tickets handled per sweep (the rest wait for the next one).
const BATCH: u32 = 200;

/// Tells every notice due at `now` (unix seconds); returns how many were told.
pub fn sweep(conn: &Connection, now: i64) -> Result<usize, Error> {
    let policy = policy::load(conn)?;
    if !policy.enabled {
        return Ok(0);
    }
    let calendar = policy.calendar()?;
    let due_ids: Vec<TicketId> = conn
        .prepare_cached(
            "SELECT id FROM tickets WHERE sla_next_at <= ?1 ORDER BY sla_next_at LIMIT ?2",
        )?
        .query_map(params![from_secs(now), BATCH], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut told = 0;
    for id in due_ids {
        let Some(mut ticket_clock) = clock::load(conn, id)? else {
            continue;
        };
        let mut due = ticket_clock.due(&policy, &calendar, now);
        let come: Vec<(u8, i64)> = due
            .notices
            .iter()
            .copied()
            .filter(|(_, at)| *at <= now)
            .collect();
        let assignee: Option<UserId> = conn
            .prepare_cached("SELECT assignee_id FROM tickets WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        for &(bit, at) in &come {
            ticket_clock.notified |= bit;
            // A warning whose breach has come too is not worth telling.
            let breach_too = match bit {
                FIRST_RESPONSE_WARNING => come.iter().any(|(b, _)| *b == FIRST_RESPONSE_BREACH),
                RESOLUTION_WARNING => come.iter().any(|(b, _)| *b == RESOLUTION_BREACH),
                _ => false,
            };
            if !breach_too {
                tell(conn, id, assignee, bit, at, &due)?;
                told += 1;
            }
        }
        due.notices.retain(|(_, at)| *at > now);
        clock::store(conn, id, &due)?;
        conn.prepare_cached("UPDATE tickets SET sla_notified = ?2 WHERE id = ?1")?
            .execute(params![id, ticket_clock.notified])?;
    }
    Ok(told)
}

/// One notice: an event for agents and a mail.
fn tell(
    conn: &Connection,
    id: TicketId,
    assignee: Option<UserId>,
    bit: u8,
    at: i64,
    due: &clock::Due,
) -> Result<(), Error> {
    let (target, label, due_at) = match bit {
        FIRST_RESPONSE_WARNING | FIRST_RESPONSE_BREACH => {
            ("first_response", "first response", due.first_response)
        }
        _ => ("resolution", "resolution", due.resolution),
    };
    let breach = matches!(bit, FIRST_RESPONSE_BREACH | RESOLUTION_BREACH);
    let stage = if breach { "breach" } else { "warning" };
    let due_at = from_secs(due_at.unwrap_or(at));
    let data = serde_json::json!({
        "ticket_id": id,
        "target": target,
        "stage": stage,
        "due_at": due_at,
    });
    events::record_for_agents(
        conn,
        if breach {
            kind::TICKET_SLA_BREACHED
        } else {
            kind::TICKET_SLA_WARNING
        },
        id,
        &data,
    )?;
    crate::notify::sla_alert(
        conn,
        id,
        assignee,
        serde_json::json!({
            "target": target,
            "target_label": label,
            "stage": stage,
            "due_at": due_at,
        }),
    )
}
