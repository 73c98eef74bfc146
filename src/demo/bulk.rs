//! The bulk path of the demo: inside the demo's one transaction the triggers
//! that derive rows from each new ticket or message, and the indexes of the
//! tables it fills, are set aside; the demo writes what those triggers would
//! have written itself (the requester's latest message, what each agent has
//! seen); at the end the derived tables are filled from the new rows in one
//! statement each, the indexes are built from sorted input and the triggers
//! come back exactly as the schema had them, all before the commit.

use rusqlite::{Connection, OptionalExtension};

use crate::error::Error;

/// Triggers replaced by one statement each at the end (the derived rows are
/// the same: counters, duration and report rollups, the search index) or by values the
/// demo writes itself (`requester_message_id`, `ticket_seen`).
const DEFERRED_TRIGGERS: &[&str] = &[
    "ticket_text_insert",
    "ticket_text_message_insert",
    "tickets_count_insert",
    "duration_days_insert",
    "report_days_insert",
    "messages_requester_latest",
    "messages_seen_by_writer",
];

/// The tables whose secondary indexes are built once at the end.
const INDEXED_TABLES: &[&str] = &["tickets", "messages", "ticket_tags"];

/// What was set aside, to be put back by [`finish`].
pub(super) struct SetAside {
    triggers: Vec<String>,
    indexes: Vec<String>,
    first_ticket: i64,
}

/// Sets the triggers and indexes aside (in the caller's transaction).
pub(super) fn set_aside(tx: &Connection) -> Result<SetAside, Error> {
    let first_ticket: i64 = tx.query_row(
        "SELECT MAX(COALESCE(MAX(id), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0)) + 1
         FROM tickets",
        [],
        |r| r.get(0),
    )?;
    let mut triggers = Vec::new();
    for name in DEFERRED_TRIGGERS {
        let sql: String = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::Internal(format!("the schema has no trigger {name}")))?;
        tx.execute_batch(&format!("DROP TRIGGER {name}"))?;
        triggers.push(sql);
    }
    let mut indexes = Vec::new();
    for table in INDEXED_TABLES {
        // Indexes of constraints (no SQL of their own) stay.
        let named: Vec<(String, String)> = tx
            .prepare(
                "SELECT name, sql FROM sqlite_master
                 WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
            )?
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (name, sql) in named {
            tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
            indexes.push(sql);
        }
    }
    Ok(SetAside {
        triggers,
        indexes,
        first_ticket,
    })
}

/// The id the next message gets (ids are never reused).
pub(super) fn next_message_id(tx: &Connection) -> Result<i64, Error> {
    Ok(tx.query_row(
        "SELECT MAX(COALESCE(MAX(id), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0)) + 1
         FROM messages",
        [],
        |r| r.get(0),
    )?)
}

/// Fills what the set-aside triggers derive for the new tickets, builds the
/// indexes and restores the triggers.
pub(super) fn finish(tx: &Connection, aside: SetAside) -> Result<(), Error> {
    let first = aside.first_ticket;
    // Built from sorted input; the search documents below read messages by ticket.
    for sql in &aside.indexes {
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "INSERT INTO ticket_counts (status, priority, assignee_id, n)
         SELECT status, priority, COALESCE(assignee_id, 0), COUNT(*) FROM tickets WHERE id >= ?1
         GROUP BY 1, 2, 3
         ON CONFLICT (status, priority, assignee_id) DO UPDATE SET n = n + excluded.n",
        [first],
    )?;
    for (kind, day, bucket, when) in [
        (
            1,
            "created_day",
            "first_response_bucket",
            "first_response_at",
        ),
        (2, "resolved_day", "resolution_bucket", "resolved_at"),
    ] {
        tx.execute(
            &format!(
                "INSERT INTO duration_days (kind, day, bucket, n)
                 SELECT {kind}, d.{day}, d.{bucket}, COUNT(*) FROM ticket_durations d
                 JOIN tickets t ON t.id = d.id
                 WHERE t.id >= ?1 AND t.{when} IS NOT NULL GROUP BY 2, 3
                 ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n"
            ),
            [first],
        )?;
    }
    tx.execute(
        "INSERT INTO report_days (day, agent_id, created, resolved, first_response_met,
                                  first_response_missed, resolution_met, resolution_missed)
         SELECT day, agent_id, SUM(created), SUM(resolved), SUM(fr_met), SUM(fr_missed), SUM(res_met), SUM(res_missed)
         FROM ticket_report_parts WHERE id >= ?1 GROUP BY day, agent_id
         ON CONFLICT (day, agent_id) DO UPDATE SET
             created = created + excluded.created, resolved = resolved + excluded.resolved,
             first_response_met = first_response_met + excluded.first_response_met,
             first_response_missed = first_response_missed + excluded.first_response_missed,
             resolution_met = resolution_met + excluded.resolution_met,
             resolution_missed = resolution_missed + excluded.resolution_missed",
        [first],
    )?;
    tx.execute(
        "INSERT INTO agent_response_days (agent_id, day, bucket, n)
         SELECT COALESCE(t.assignee_id, 0), d.created_day, d.first_response_bucket, COUNT(*)
         FROM ticket_durations d JOIN tickets t ON t.id = d.id
         WHERE t.id >= ?1 AND t.first_response_at IS NOT NULL GROUP BY 1, 2, 3
         ON CONFLICT (agent_id, day, bucket) DO UPDATE SET n = n + excluded.n",
        [first],
    )?;
    tx.execute(
        "INSERT INTO ticket_text (rowid, subject, public, internal)
         SELECT id, subject, public, internal FROM ticket_documents WHERE id >= ?1",
        [first],
    )?;
    // One segment for the whole index: searches walk no pieces.
    tx.execute_batch("INSERT INTO ticket_text (ticket_text) VALUES ('optimize')")?;
    for sql in &aside.triggers {
        tx.execute_batch(sql)?;
    }
    Ok(())
}
