//! Online backup: a consistent, compacted copy of the live database.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::Error;

/// Copies the database at `source` to `dest` while other processes may be
/// writing to it. Refuses to overwrite an existing file.
pub fn backup_database(source: &Path, dest: &Path) -> Result<(), Error> {
    if !source.is_file() {
        return Err(Error::Config(format!(
            "no database at {}; check --data-dir",
            source.display()
        )));
    }
    let conn = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    vacuum_into(&conn, dest)
}

/// `VACUUM INTO` reads one snapshot, so the copy is consistent even while
/// writers commit; the copy is a standalone file (no WAL needed beside it).
fn vacuum_into(conn: &Connection, dest: &Path) -> Result<(), Error> {
    if dest.exists() {
        return Err(Error::Conflict(format!(
            "{} already exists; choose a new file name",
            dest.display()
        )));
    }
    let dest_str = dest
        .to_str()
        .ok_or_else(|| Error::Config(format!("{} is not a UTF-8 path", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [dest_str])?;
    // A backup holds everything the database does.
    super::make_private(dest)
}
