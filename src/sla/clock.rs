//! A ticket's service-level clock: due times from the policy's targets in
//! business time, counted from the ticket's opening. The first-response
//! target runs until the team's first public reply (or the ticket is
//! resolved); the resolution target runs while the ticket is open or in
//! progress and stands while it is pending, resolved or closed: the time it
//! stood moves the due time later. `refresh` brings the stored clock in line
//! after any change to the ticket's priority, status or first response.

use rusqlite::{params, Connection, OptionalExtension};

use super::calendar::Calendar;
use super::policy::{self, SlaPolicy};
use crate::db::format_time;
use crate::error::Error;
use crate::ids::TicketId;
use crate::tickets::{Priority, TicketStatus};

/// What `sla_due_at` holds when no target is open: after every time.
pub const NO_DUE: &str = "~";

/// Notices, as bits of `sla_notified`.
pub const FIRST_RESPONSE_WARNING: u8 = 1;
pub const FIRST_RESPONSE_BREACH: u8 = 2;
pub const RESOLUTION_WARNING: u8 = 4;
pub const RESOLUTION_BREACH: u8 = 8;

/// The stored clock and what it is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub created: i64,
    pub priority: Priority,
    pub status: TicketStatus,
    pub first_response: Option<i64>,
    pub paused_at: Option<i64>,
    pub paused_secs: i64,
    pub notified: u8,
    /// The due times stored: a target already met or missed keeps its own.
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
}

/// The clock's due times and notices (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub first_response: Option<i64>,
    pub resolution: Option<i64>,
    pub paused_at: Option<i64>,
    pub paused_secs: i64,
    /// The earliest open target.
    pub next_due: Option<i64>,
    /// Each notice not yet told for a target still open, with its time.
    pub notices: Vec<(u8, i64)>,
}

fn running(status: TicketStatus) -> bool {
    matches!(status, TicketStatus::Open | TicketStatus::InProgress)
}

fn finished(status: TicketStatus) -> bool {
    matches!(status, TicketStatus::Resolved | TicketStatus::Closed)
}

impl Clock {
    /// The due times at `now` under `policy` (whose calendar is `calendar`).
    pub fn due(&self, policy: &SlaPolicy, calendar: &Calendar, now: i64) -> Due {
        let target = policy.targets.of(self.priority);
        let secs = |minutes: u32| i64::from(minutes) * 60;
        let warn = |minutes: u32| i64::from(minutes) * 60 * i64::from(policy.warning_percent) / 100;
        // The resolution clock stands since `paused_at` when not running;
        // starting again adds the business time it stood.
        let (paused_at, paused_secs) = match (running(self.status), self.paused_at) {
            (true, Some(since)) => (None, self.paused_secs + calendar.between(since, now)),
            (false, None) => (Some(now), self.paused_secs),
            (_, paused_at) => (paused_at, self.paused_secs),
        };
        // A decided target keeps the due time it was decided against (a later
        // priority or policy change does not rewrite the past).
        let first_response = match (self.first_response, self.first_response_due) {
            (Some(_), Some(due)) => Some(due),
            _ => calendar.add(self.created, secs(target.first_response_minutes)),
        };
        let resolution = match (finished(self.status), self.resolution_due) {
            (true, Some(due)) => Some(due),
            _ => calendar.add(self.created, secs(target.resolution_minutes) + paused_secs),
        };
        let first_open = self.first_response.is_none() && !finished(self.status);
        let resolution_open = paused_at.is_none();
        let mut notices = Vec::new();
        let mut open = Vec::new();
        if first_open {
            open.extend(first_response);
            notices.extend(
                calendar
                    .add(self.created, warn(target.first_response_minutes))
                    .map(|at| (FIRST_RESPONSE_WARNING, at)),
            );
            notices.extend(first_response.map(|at| (FIRST_RESPONSE_BREACH, at)));
        }
        if resolution_open {
            open.extend(resolution);
            notices.extend(
                calendar
                    .add(self.created, warn(target.resolution_minutes) + paused_secs)
                    .map(|at| (RESOLUTION_WARNING, at)),
            );
            notices.extend(resolution.map(|at| (RESOLUTION_BREACH, at)));
        }
        notices.retain(|(bit, _)| self.notified & bit == 0);
        Due {
            first_response,
            resolution,
            paused_at,
            paused_secs,
            next_due: open.into_iter().min(),
            notices,
        }
    }
}

pub fn to_secs(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

pub fn from_secs(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| NO_DUE.to_string(), format_time)
}

/// Reads the stored clock of `id`.
pub fn load(conn: &Connection, id: TicketId) -> Result<Option<Clock>, Error> {
    let row = conn
        .prepare_cached(
            "SELECT created_at, priority, status, first_response_at, sla_paused_at,
                    sla_paused_secs, sla_notified, first_response_due_at, resolution_due_at
             FROM tickets WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Clock {
                created: to_secs(&r.get::<_, String>(0)?).unwrap_or(0),
                priority: r.get(1)?,
                status: r.get(2)?,
                first_response: r.get::<_, Option<String>>(3)?.as_deref().and_then(to_secs),
                paused_at: r.get::<_, Option<String>>(4)?.as_deref().and_then(to_secs),
                paused_secs: r.get(5)?,
                notified: r.get(6)?,
                first_response_due: r.get::<_, Option<String>>(7)?.as_deref().and_then(to_secs),
                resolution_due: r.get::<_, Option<String>>(8)?.as_deref().and_then(to_secs),
            })
        })
        .optional()?;
    Ok(row)
}

/// Brings the stored clock of `id` in line with the ticket and the policy
/// (in the caller's transaction). With the policy off, an unfinished ticket
/// has none (a finished one keeps the due times it was decided against).
pub fn refresh(conn: &Connection, id: TicketId) -> Result<(), Error> {
    let policy = policy::load(conn)?;
    let calendar = policy.enabled.then(|| policy.calendar()).transpose()?;
    refresh_with(conn, id, &policy, calendar.as_ref(), false)
}

/// After a policy change: every unfinished ticket with an id above `after`,
/// up to `limit` of them, gets its clock again; notices whose time has
/// already come are counted as told (a new or changed policy does not mail
/// about the past). Returns the last id done, `None` when there are no more.
pub fn refresh_unfinished(conn: &Connection, after: i64, limit: u32) -> Result<Option<i64>, Error> {
    let policy = policy::load(conn)?;
    let calendar = policy.enabled.then(|| policy.calendar()).transpose()?;
    let ids: Vec<TicketId> = conn
        .prepare_cached(
            "SELECT id FROM tickets WHERE id > ?1 AND status IN (1, 2, 3) ORDER BY id LIMIT ?2",
        )?
        .query_map(params![after, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        refresh_with(conn, *id, &policy, calendar.as_ref(), true)?;
    }
    Ok(ids.last().map(|id| id.0))
}

fn refresh_with(
    conn: &Connection,
    id: TicketId,
    policy: &SlaPolicy,
    calendar: Option<&Calendar>,
    past_told: bool,
) -> Result<(), Error> {
    let Some(calendar) = calendar else {
        conn.prepare_cached(
            "UPDATE tickets SET first_response_due_at = NULL, resolution_due_at = NULL,
                 sla_paused_at = NULL, sla_paused_secs = 0, sla_due_at = ?2, sla_next_at = NULL
             WHERE id = ?1 AND status IN (1, 2, 3)
               AND (first_response_due_at IS NOT NULL OR sla_due_at != ?2 OR sla_next_at IS NOT NULL)",
        )?
        .execute(params![id, NO_DUE])?;
        return Ok(());
    };
    let Some(mut clock) = load(conn, id)? else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // A notice told for a target that has since moved later (priority,
    // pause) is told again when its new time comes; after a policy change,
    // notices whose time has passed count as told.
    let every = Clock {
        notified: 0,
        ..clock.clone()
    }
    .due(policy, calendar, now);
    for (bit, at) in &every.notices {
        if *at > now {
            clock.notified &= !bit;
        } else if past_told {
            clock.notified |= bit;
        }
    }
    let due = clock.due(policy, calendar, now);
    store(conn, id, &due)?;
    conn.prepare_cached(
        "UPDATE tickets SET sla_notified = ?2 WHERE id = ?1 AND sla_notified != ?2",
    )?
    .execute(params![id, clock.notified])?;
    Ok(())
}

/// Writes the computed clock.
pub fn store(conn: &Connection, id: TicketId, due: &Due) -> Result<(), Error> {
    let next_notice = due.notices.iter().map(|(_, at)| *at).min();
    conn.prepare_cached(
        "UPDATE tickets SET first_response_due_at = ?2, resolution_due_at = ?3, sla_paused_at = ?4,
             sla_paused_secs = ?5, sla_due_at = ?6, sla_next_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        due.first_response.map(from_secs),
        due.resolution.map(from_secs),
        due.paused_at.map(from_secs),
        due.paused_secs,
        due.next_due.map_or_else(|| NO_DUE.to_string(), from_secs),
        next_notice.map(from_secs),
    ])?;
    Ok(())
}
