//! SQL of attachments.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{AttachmentId, Upload};
use crate::error::Error;
use crate::ids::{MessageId, PortalTokenId, TicketId, UserId};

pub struct NewAttachment<'a> {
    pub blob_id: i64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    pub origin: &'a str,
    pub uploader_id: Option<UserId>,
    pub portal_token_id: Option<PortalTokenId>,
    pub message_id: Option<MessageId>,
    pub content_id: Option<&'a str>,
    pub now: &'a str,
}

pub fn insert(conn: &Connection, a: &NewAttachment<'_>) -> Result<AttachmentId, Error> {
    conn.prepare_cached(
        "INSERT INTO attachments (blob_id, filename, content_type, size, origin, uploader_id,
             portal_token_id, message_id, content_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        a.blob_id,
        a.filename,
        a.content_type,
        i64::try_from(a.size).unwrap_or(i64::MAX),
        a.origin,
        a.uploader_id,
        a.portal_token_id,
        a.message_id,
        a.content_id,
        a.now
    ])?;
    Ok(AttachmentId(conn.last_insert_rowid()))
}

/// An upload from the first six columns: id, filename, content type, size,
/// SHA-256, creation time.
fn upload_from_row(r: &Row<'_>) -> rusqlite::Result<Upload> {
    Ok(Upload {
        id: r.get(0)?,
        filename: r.get(1)?,
        content_type: r.get(2)?,
        size: r.get(3)?,
        sha256: r.get(4)?,
        created_at: r.get(5)?,
    })
}

pub fn upload(conn: &Connection, id: AttachmentId) -> Result<Option<Upload>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.filename, a.content_type, a.size, b.sha256, a.created_at
             FROM attachments a JOIN blobs b ON b.id = a.blob_id WHERE a.id = ?1",
        )?
        .query_row([id], upload_from_row)
        .optional()?)
}

/// What decides whether a file may be taken into a message.
pub struct Claim {
    pub origin: String,
    pub uploader_id: Option<UserId>,
    pub portal_token_id: Option<PortalTokenId>,
    pub message_id: Option<MessageId>,
    pub size: i64,
}

pub fn claim(conn: &Connection, id: AttachmentId) -> Result<Option<Claim>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT origin, uploader_id, portal_token_id, message_id, size FROM attachments WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Claim {
                origin: r.get(0)?,
                uploader_id: r.get(1)?,
                portal_token_id: r.get(2)?,
                message_id: r.get(3)?,
                size: r.get(4)?,
            })
        })
        .optional()?)
}

pub fn set_message(conn: &Connection, id: AttachmentId, message: MessageId) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE attachments SET message_id = ?2 WHERE id = ?1 AND message_id IS NULL",
    )?
    .execute(params![id, message])?;
    Ok(())
}

/// A file with what decides who may read it.
pub struct Stored {
    pub upload: Upload,
    pub blob_id: i64,
    pub origin: String,
    pub uploader_id: Option<UserId>,
    pub portal_token_id: Option<PortalTokenId>,
    /// The message holding it: its ticket, requester and internal flag.
    pub on: Option<(TicketId, UserId, bool)>,
}

pub fn stored(conn: &Connection, id: AttachmentId) -> Result<Option<Stored>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.filename, a.content_type, a.size, b.sha256, a.created_at, a.blob_id,
                    a.origin, a.uploader_id, a.portal_token_id, m.ticket_id, t.requester_id, m.internal
             FROM attachments a JOIN blobs b ON b.id = a.blob_id
             LEFT JOIN messages m ON m.id = a.message_id
             LEFT JOIN tickets t ON t.id = m.ticket_id
             WHERE a.id = ?1",
        )?
        .query_row([id], |r| {
            let ticket: Option<TicketId> = r.get(10)?;
            let on = match ticket {
                Some(t) => Some((t, r.get(11)?, r.get(12)?)),
                None => None,
            };
            Ok(Stored {
                upload: upload_from_row(r)?,
                blob_id: r.get(6)?,
                origin: r.get(7)?,
                uploader_id: r.get(8)?,
                portal_token_id: r.get(9)?,
                on,
            })
        })
        .optional()?)
}

/// A message's files with their blobs, in the order they were given.
pub fn of_message(conn: &Connection, message: MessageId) -> Result<Vec<(Upload, i64)>, Error> {
    conn.prepare_cached(
        "SELECT a.id, a.filename, a.content_type, a.size, b.sha256, a.created_at, a.blob_id
         FROM attachments a JOIN blobs b ON b.id = a.blob_id
         WHERE a.message_id = ?1 ORDER BY a.id",
    )?
    .query_map([message], |r| Ok((upload_from_row(r)?, r.get(6)?)))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(Error::from)
}

/// How many uploads of `uploader` wait to be attached, and their bytes.
pub fn waiting(conn: &Connection, uploader: UserId) -> Result<(i64, u64), Error> {
    let (n, bytes): (i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM attachments
             WHERE uploader_id = ?1 AND message_id IS NULL",
        )?
        .query_row([uploader], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((n, u64::try_from(bytes).unwrap_or(0)))
}

/// Removes up to `batch` uploads nobody attached, created before `cutoff`;
/// their bytes go with them when nothing else holds the same content.
pub fn prune_unattached(conn: &Connection, cutoff: &str, batch: u32) -> Result<usize, Error> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments
             WHERE message_id IS NULL AND created_at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, batch])?)
}
