//! Upkeep of the search index. Every write adds a small FTS5 segment (and a
//! rewritten ticket leaves a tombstone in an older one); FTS5 merges some of
//! them as it goes, but under steady writes the index splits into segments
//! and tombstones that every search must walk (at a million tickets, after
//! a hundred thousand new ones, searches took four times as long). A little
//! merge work each minute folds them back into one segment.

use rusqlite::Connection;

use crate::error::Error;

/// Pages of merge work per call: a few tens of milliseconds of the writer.
const PAGES_PER_STEP: i64 = 200;

/// Does one step of merging the search index towards a single segment;
/// says whether there was anything to merge.
pub fn tidy(conn: &Connection) -> Result<bool, Error> {
    let before = structure(conn)?;
    conn.execute(
        "INSERT INTO ticket_text (ticket_text, rank) VALUES ('merge', ?1)",
        [-PAGES_PER_STEP],
    )?;
    Ok(structure(conn)? != before)
}

/// FTS5's record of the index's segments (row 10 of its data table): it
/// changes exactly when segments are written.
fn structure(conn: &Connection) -> Result<Vec<u8>, Error> {
    Ok(conn
        .prepare_cached("SELECT block FROM ticket_text_data WHERE id = 10")?
        .query_row([], |r| r.get(0))?)
}
