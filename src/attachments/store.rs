//! Bytes in and out of the blob table. A file is copied into its row through
//! SQLite's incremental BLOB I/O, a buffer at a time, and read back the same
//! way, so a large file is never held in memory whole.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, MAIN_DB};
use sha2::{Digest, Sha256};

use super::{names, repo, text, Upload, Uploader, MAX_WAITING_UPLOADS};
use crate::db::{now, Db};
use crate::error::Error;

/// What was learnt about a file on disk before it enters the database.
pub struct Scanned {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub text: Option<String>,
}

/// Reads the file once for its hash, size and type, then for its text if it has any.
pub fn scan(path: &Path, declared_type: Option<&str>, filename: &str) -> Result<Scanned, Error> {
    let io = |e| Error::io("reading an upload", e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        if head.len() < 512 {
            head.extend_from_slice(&buf[..n.min(512 - head.len())]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let content_type = names::content_type(declared_type, filename, &head);
    let text = text::of_file(path, &content_type, filename);
    Ok(Scanned {
        sha256: hex::encode(hasher.finalize()),
        size,
        content_type,
        text,
    })
}

/// Stores the file at `path` (a temporary file the caller removes) as an
/// upload of `by`, named `filename` (made safe here). Each person may have
/// [`MAX_WAITING_UPLOADS`] uploads, of at most `max_waiting_bytes` together,
/// waiting to be attached; more answers 429.
pub async fn upload_file(
    db: &Db,
    path: PathBuf,
    (filename, declared_type): (&str, Option<String>),
    (by, max_waiting_bytes): (Uploader, u64),
) -> Result<Upload, Error> {
    let filename = names::clean_filename(filename);
    let scanned = {
        let (path, filename) = (path.clone(), filename.clone());
        tokio::task::spawn_blocking(move || scan(&path, declared_type.as_deref(), &filename))
            .await
            .map_err(|e| Error::Internal(format!("scanning an upload: {e}")))??
    };
    db.write(move |tx| {
        let (uploader_id, token_id, origin) = match by {
            Uploader::User(u) => (u, None, "upload"),
            Uploader::Portal { token, requester } => (requester, Some(token), "portal"),
        };
        let (waiting, waiting_bytes) = repo::waiting(tx, uploader_id)?;
        if waiting >= MAX_WAITING_UPLOADS
            || waiting_bytes.saturating_add(scanned.size) > max_waiting_bytes
        {
            return Err(Error::RateLimited {
                retry_after_secs: 3600,
            });
        }
        let blob = blob_from_file(tx, &scanned, &path)?;
        let id = repo::insert(
            tx,
            &repo::NewAttachment {
                blob_id: blob,
                filename: &filename,
                content_type: &scanned.content_type,
                size: scanned.size,
                origin,
                uploader_id: Some(uploader_id),
                portal_token_id: token_id,
                message_id: None,
                content_id: None,
                now: &now(),
            },
        )?;
        repo::upload(tx, id)?.ok_or(Error::NotFound("upload"))
    })
    .await
}

/// The blob row holding these bytes: the existing one for the same content,
/// or a new one filled from `path` a buffer at a time.
fn blob_from_file(conn: &Connection, scanned: &Scanned, path: &Path) -> Result<i64, Error> {
    if let Some(id) = existing(conn, &scanned.sha256)? {
        add_text(conn, id, scanned.text.as_deref())?;
        return Ok(id);
    }
    let size = i64::try_from(scanned.size)
        .map_err(|_| Error::PayloadTooLarge("the largest file SQLite holds".into()))?;
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO blobs (sha256, size, data, text) VALUES (?1, ?2, zeroblob(?2), ?3) RETURNING id",
        )?
        .query_row(params![scanned.sha256, size, scanned.text], |r| r.get(0))?;
    let io = |e| Error::io("copying an upload into the database", e);
    let mut blob = conn.blob_open(MAIN_DB, c"blobs", c"data", id, false)?;
    let mut file = std::fs::File::open(path).map_err(io)?;
    let copied = std::io::copy(&mut (&mut file).take(scanned.size), &mut blob).map_err(io)?;
    blob.flush().map_err(io)?;
    if copied != scanned.size {
        return Err(Error::Internal(
            "an upload changed while it was stored".into(),
        ));
    }
    Ok(id)
}

/// Stores bytes held in memory (a file of an inbound mail, its text read
/// beforehand) inside the caller's transaction; the row is `origin = 'mail'`
/// and unattached until the message takes it.
pub fn mail_file(
    conn: &Connection,
    bytes: &[u8],
    (filename, declared_type, content_id): (&str, Option<&str>, Option<&str>),
    text: Option<&str>,
) -> Result<super::AttachmentId, Error> {
    let filename = names::clean_filename(filename);
    let content_type =
        names::content_type(declared_type, &filename, &bytes[..bytes.len().min(512)]);
    let sha256 = hex::encode(Sha256::digest(bytes));
    let blob = match existing(conn, &sha256)? {
        Some(id) => {
            add_text(conn, id, text)?;
            id
        }
        None => conn
            .prepare_cached(
                "INSERT INTO blobs (sha256, size, data, text) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            )?
            .query_row(
                params![
                    sha256,
                    i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                    bytes,
                    text
                ],
                |r| r.get(0),
            )?,
    };
    repo::insert(
        conn,
        &repo::NewAttachment {
            blob_id: blob,
            filename: &filename,
            content_type: &content_type,
            size: bytes.len() as u64,
            origin: "mail",
            uploader_id: None,
            portal_token_id: None,
            message_id: None,
            content_id,
            now: &now(),
        },
    )
}

/// Content first stored under a type without text (an `.dat` that is really
/// CSV) becomes searchable once it arrives as a text-like file.
fn add_text(conn: &Connection, blob: i64, text: Option<&str>) -> Result<(), Error> {
    if let Some(text) = text {
        conn.prepare_cached("UPDATE blobs SET text = ?2 WHERE id = ?1 AND text IS NULL")?
            .execute(params![blob, text])?;
    }
    Ok(())
}

fn existing(conn: &Connection, sha256: &str) -> Result<Option<i64>, Error> {
    Ok(conn
        .prepare_cached("SELECT id FROM blobs WHERE sha256 = ?1")?
        .query_row([sha256], |r| r.get(0))
        .optional()?)
}

/// Up to `len` bytes of a blob from `offset`.
pub fn read_chunk(
    conn: &Connection,
    blob_id: i64,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, Error> {
    let io = |e| Error::io("reading a file from the database", e);
    let mut blob = conn.blob_open(MAIN_DB, c"blobs", c"data", blob_id, true)?;
    let size = blob.len() as u64;
    if offset >= size {
        return Ok(Vec::new());
    }
    let len = len.min(usize::try_from(size - offset).unwrap_or(usize::MAX));
    blob.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = vec![0u8; len];
    blob.read_exact(&mut buf).map_err(io)?;
    Ok(buf)
}

/// A whole blob (to put a file into a mail).
pub fn read_all(conn: &Connection, blob_id: i64) -> Result<Vec<u8>, Error> {
    read_chunk(conn, blob_id, 0, usize::MAX)
}
