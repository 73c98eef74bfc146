//! Who gets a ticket: manual assignment checks and automatic assignment.

use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Error;
use crate::settings::AutoAssign;
use crate::users::{repo as users, Role, UserId};

/// An assignee must be an active agent or admin.
pub fn check_assignee(conn: &Connection, id: UserId) -> Result<(), Error> {
    match users::get(conn, id)? {
        Some(u) if u.user.active && u.user.role >= Role::Agent => Ok(()),
        Some(u) if !u.user.active => {
            Err(Error::validation("assignee_id", "that user is deactivated"))
        }
        Some(_) => Err(Error::validation(
            "assignee_id",
            "only agents and admins can be assigned",
        )),
        None => Err(Error::validation("assignee_id", "no such user")),
    }
}

/// Picks the assignee of a new ticket. Call inside the creating transaction:
/// the round-robin position is read and moved in it, so concurrent creations
/// and restarts stay fair.
pub fn pick(conn: &Connection, mode: AutoAssign) -> Result<Option<UserId>, Error> {
    match mode {
        AutoAssign::Off => Ok(None),
        AutoAssign::Random => {
            let agents: Vec<UserId> = conn
                .prepare_cached(
                    "SELECT id FROM users WHERE role = 'agent' AND active = 1 ORDER BY id",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            if agents.is_empty() {
                return Ok(None);
            }
            let index = rand::thread_rng().gen_range(0..agents.len());
            Ok(Some(agents[index]))
        }
        AutoAssign::RoundRobin => {
            let last: Option<UserId> = conn
                .query_row(
                    "SELECT last_agent_id FROM assignment_state WHERE id = 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let next_after = |after: i64| -> rusqlite::Result<Option<UserId>> {
                conn.prepare_cached(
                    "SELECT id FROM users WHERE role = 'agent' AND active = 1 AND id > ?1 ORDER BY id LIMIT 1",
                )?
                .query_row([after], |r| r.get(0))
                .optional()
            };
            let chosen = match next_after(last.map_or(0, |u| u.0))? {
                Some(id) => Some(id),
                None => next_after(0)?,
            };
            if let Some(id) = chosen {
                conn.execute(
                    "INSERT INTO assignment_state (id, last_agent_id) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET last_agent_id = excluded.last_agent_id",
                    params![id],
                )?;
            }
            Ok(chosen)
        }
    }
}
