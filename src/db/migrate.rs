//! Embedded migrations, applied at start; a database from a newer binary is refused untouched.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::config::DatabaseConfig;
use crate::error::Error;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Highest schema version this binary knows.
pub fn latest_version() -> u32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(refinery::Migration::version)
        .max()
        .map_or(0, i32::unsigned_abs)
}

/// Schema version recorded in the database, 0 when it was never migrated.
pub fn current_version(conn: &Connection) -> Result<u32, Error> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history')",
        [],
        |row| row.get(0),
    )?;
    if !has_history {
        return Ok(0);
    }
    let version: Option<u32> = conn
        .query_row(
            "SELECT MAX(version) FROM refinery_schema_history",
            [],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    Ok(version.unwrap_or(0))
}

/// What [`migrate_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationReport {
    pub from_version: u32,
    pub to_version: u32,
}

/// Opens the database file (creating it), checks its version, switches it to
/// WAL and applies pending migrations.
pub fn migrate_file(path: &Path, config: &DatabaseConfig) -> Result<MigrationReport, Error> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Migration(format!("cannot open database {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_millis(config.busy_timeout_ms))?;

    // Read-only checks first: a database we must refuse is left exactly as it was.
    let from_version = current_version(&conn).map_err(|e| {
        Error::Migration(format!(
            "{} is not a Helpline database or is damaged: {e}",
            path.display()
        ))
    })?;
    let latest = latest_version();
    if from_version > latest {
        return Err(Error::Migration(format!(
            "the database {} has schema version {from_version}, but this Helpline {} only \
             knows versions up to {latest}; run the newer Helpline that wrote it, or restore \
             a backup made by this version. The database was not modified.",
            path.display(),
            env!("CARGO_PKG_VERSION"),
        )));
    }

    conn.pragma_update(None, "journal_mode", "WAL")?;
    run_with_foreign_keys_off(&mut conn, |conn| {
        embedded::migrations::runner()
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .run(conn)
            .map(|_| ())
            .map_err(|e| Error::Migration(format!("migrating {} failed: {e}", path.display())))
    })?;
    Ok(MigrationReport {
        from_version,
        to_version: current_version(&conn)?,
    })
}

/// Applies every migration to `conn` (an in-memory database in unit tests).
pub fn migrate_connection(conn: &mut Connection) -> Result<(), Error> {
    run_with_foreign_keys_off(conn, |conn| {
        embedded::migrations::runner()
            .run(conn)
            .map(|_| ())
            .map_err(|e| Error::Migration(e.to_string()))
    })
}

/// Runs migrations the way SQLite asks schema changes to be made: with
/// foreign keys off (rebuilding a table must not cascade into its children),
/// then every reference checked before they are on again. The check reads
/// every row (seconds at a million tickets), so it runs until it has passed
/// once for the schema version: `PRAGMA user_version` records the version
/// that passed, and a start with nothing new to check skips it.
fn run_with_foreign_keys_off(
    conn: &mut Connection,
    migrate: impl FnOnce(&mut Connection) -> Result<(), Error>,
) -> Result<(), Error> {
    conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let result = migrate(conn);
    let version = current_version(conn)?;
    let checked: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let broken: i64 = if checked == version {
        0
    } else {
        conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?
    };
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    result?;
    if broken > 0 {
        return Err(Error::Migration(format!(
            "{broken} rows reference rows that do not exist after migrating"
        )));
    }
    conn.pragma_update(None, "user_version", version)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilding_tickets_keeps_every_row_and_never_reuses_an_id() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(5))
            .run(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, email_key, name, role, created_at, updated_at)
               VALUES (1, 'a@example.com', 'a@example.com', 'A', 'customer', 't', 't');
             INSERT INTO tickets (id, subject, status, priority, channel, requester_id, created_at, updated_at)
               VALUES (1, 'printer jams', 1, 2, 'web', 1, 't', 't'),
                      (2, 'refund please', 1, 2, 'web', 1, 't', 't');
             INSERT INTO messages (id, ticket_id, body, channel, created_at)
               VALUES (1, 1, 'paper everywhere', 'web', 't'), (2, 2, 'twice charged', 'web', 't');
             INSERT INTO ticket_tags (tag, ticket_id) VALUES ('vip', 2);",
        )
        .unwrap();
        run_with_foreign_keys_off(&mut conn, |conn| {
            embedded::migrations::runner()
                .run(conn)
                .map(|_| ())
                .map_err(|e| Error::Migration(e.to_string()))
        })
        .unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM tickets"), 2);
        assert_eq!(count("SELECT COUNT(*) FROM messages"), 2, "no cascade");
        assert_eq!(count("SELECT COUNT(*) FROM ticket_tags"), 1, "no cascade");
        assert_eq!(count("SELECT n FROM ticket_counts WHERE status = 1"), 2);
        assert_eq!(
            count("SELECT rowid FROM ticket_text WHERE ticket_text MATCH 'subject : refund'"),
            2
        );
        // Deleting the newest does not hand its id to the next one.
        conn.execute("DELETE FROM tickets WHERE id = 2", [])
            .unwrap();
        assert_eq!(
            count("SELECT COUNT(*) FROM messages WHERE ticket_id = 2"),
            0,
            "cascade"
        );
        conn.execute(
            "INSERT INTO tickets (subject, status, priority, channel, requester_id, created_at, updated_at)
             VALUES ('new', 1, 2, 'web', 1, 't', 't')",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 3);
        conn.execute(
            "INSERT INTO messages (ticket_id, body, channel, created_at) VALUES (3, 'x', 'web', 't')",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 3);
        assert_eq!(count("SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
    }

    #[test]
    fn fresh_database_migrates_and_second_run_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let config = DatabaseConfig::default();
        let first = migrate_file(&path, &config).unwrap();
        assert_eq!(first.from_version, 0);
        assert_eq!(first.to_version, latest_version());
        let second = migrate_file(&path, &config).unwrap();
        assert_eq!(second.from_version, latest_version());
        assert_eq!(second.to_version, latest_version());

        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let applied: u32 = conn
            .query_row("SELECT COUNT(*) FROM refinery_schema_history", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            applied as usize,
            embedded::migrations::runner().get_migrations().len()
        );
    }

    #[test]
    fn attention_starts_from_what_agents_already_answered() {
        let mut conn = Connection::open_in_memory().unwrap();
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(13))
            .run(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, email_key, name, role, created_at, updated_at, password_hash)
               VALUES (1, 'c@example.com', 'c@example.com', 'C', 'customer', 't', 't', NULL),
                      (2, 'a@example.com', 'a@example.com', 'A', 'agent', 't', 't', NULL),
                      (3, 'b@example.com', 'b@example.com', 'B', 'agent', 't', 't', 'hash');
             INSERT INTO tickets (id, subject, status, priority, channel, requester_id, created_at, updated_at)
               VALUES (1, 'answered, then asked again', 1, 2, 'web', 1, 't', 't'),
                      (2, 'never answered', 1, 2, 'web', 1, 't', 't');
             INSERT INTO messages (id, ticket_id, author_id, body, internal, channel, created_at)
               VALUES (1, 1, 1, 'question', 0, 'web', 't1'), (2, 1, 2, 'answer', 0, 'web', 't2'),
                      (3, 1, 1, 'again', 0, 'web', 't3'), (4, 1, 1, 'a note?', 1, 'web', 't4'),
                      (5, 2, 1, 'hello', 0, 'web', 't5');",
        )
        .unwrap();
        migrate_connection(&mut conn).unwrap();
        let number = |sql: &str| -> Option<i64> {
            conn.query_row(sql, [], |r| r.get(0)).optional().unwrap()
        };
        assert_eq!(
            number("SELECT requester_message_id FROM tickets WHERE id = 1"),
            Some(3)
        );
        assert_eq!(
            number("SELECT requester_message_id FROM tickets WHERE id = 2"),
            Some(5)
        );
        // Agent 2 answered ticket 1 after message 1: seen up to it, so message 3 is news.
        assert_eq!(
            number("SELECT message_id FROM ticket_seen WHERE user_id = 2 AND ticket_id = 1"),
            Some(1)
        );
        assert_eq!(
            number("SELECT COUNT(*) FROM ticket_seen WHERE ticket_id = 2"),
            Some(0)
        );
        // Invited: a staff account without a password; not one that has one.
        assert_eq!(
            number("SELECT invited_at IS NOT NULL FROM users WHERE id = 2"),
            Some(1)
        );
        assert_eq!(
            number("SELECT invited_at IS NOT NULL FROM users WHERE id = 3"),
            Some(0)
        );
        assert_eq!(
            number("SELECT invited_at IS NOT NULL FROM users WHERE id = 1"),
            Some(0)
        );
    }

    #[test]
    fn fts5_is_available() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE f USING fts5(body); INSERT INTO f VALUES ('printer on fire');",
        )
        .unwrap();
        let hits: i64 = conn
            .query_row("SELECT COUNT(*) FROM f WHERE f MATCH 'print*'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(hits, 1);
    }
}
