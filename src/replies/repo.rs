//! SQL of saved replies.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::SavedReply;
use crate::error::Error;
use crate::ids::{SavedReplyId, UserId};
use crate::paging::{like_pattern, Pagination};

const SELECT: &str = "SELECT id, title, body, owner_id, created_at, updated_at FROM saved_replies";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SavedReply> {
    let owner_id: Option<UserId> = r.get(3)?;
    Ok(SavedReply {
        id: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        shared: owner_id.is_none(),
        owner_id,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

pub fn get(conn: &Connection, id: SavedReplyId) -> Result<Option<SavedReply>, Error> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Shared ones and `me`'s own, by title.
pub fn list(
    conn: &Connection,
    me: UserId,
    q: Option<&str>,
    page: Pagination,
) -> Result<(Vec<SavedReply>, i64), Error> {
    let pattern = q.map(like_pattern);
    let filter = "(owner_id IS NULL OR owner_id = ?1)
         AND (?2 IS NULL OR title LIKE ?2 ESCAPE '\\' OR body LIKE ?2 ESCAPE '\\')";
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM saved_replies WHERE {filter}"
        ))?
        .query_row(params![me, pattern], |r| r.get(0))?;
    let items = conn
        .prepare_cached(&format!(
            "{SELECT} WHERE {filter} ORDER BY title COLLATE NOCASE, id LIMIT ?3 OFFSET ?4"
        ))?
        .query_map(
            params![
                me,
                pattern,
                page.per_page,
                i64::try_from(page.offset()).unwrap_or(i64::MAX)
            ],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

pub fn insert(
    conn: &Connection,
    title: &str,
    body: &str,
    owner: Option<UserId>,
    now: &str,
) -> Result<SavedReplyId, Error> {
    conn.prepare_cached(
        "INSERT INTO saved_replies (title, body, owner_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![title, body, owner, now])?;
    Ok(SavedReplyId(conn.last_insert_rowid()))
}

pub fn update(
    conn: &Connection,
    id: SavedReplyId,
    title: Option<&str>,
    body: Option<&str>,
    now: &str,
) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE saved_replies SET title = COALESCE(?2, title), body = COALESCE(?3, body), updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, title, body, now])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: SavedReplyId) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM saved_replies WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}
