//! Files on messages: stored once per content inside the database (so one
//! online backup holds them), uploaded ahead of the message that takes them,
//! served only to whoever may read that message.
//!
//! - `names`: safe filenames and the types a file is served with;
//! - `store`: writing bytes into the blob table (streamed from a file, or
//!   from memory for mail), reading them back in pieces;
//! - `text`: the searchable text of text-like files (plain text, CSV,
//!   Markdown, PDF);
//! - `repo`: the rows; `access`: who may read a file, and taking uploads
//!   into a message.

pub mod access;
pub mod names;
pub mod repo;
pub mod store;
pub mod text;

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::Error;
use crate::ids::{PortalTokenId, UserId};

pub use crate::ids::AttachmentId;

/// An upload or a message's file, as the uploader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Upload {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub created_at: String,
}

/// Who uploaded a file: a signed-in user, or the holder of a portal link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    User(UserId),
    Portal {
        token: PortalTokenId,
        requester: UserId,
    },
}

/// The files a new message takes: uploads of `by`, or (with `by` `None`)
/// files the system stored itself from an inbound mail in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub by: Option<Uploader>,
    pub ids: Vec<AttachmentId>,
    /// Largest total size of one message's files.
    pub max_total: u64,
}

impl Files {
    pub fn none() -> Self {
        Self::default()
    }

    /// Uploads of `by`, at most `max_total` bytes together.
    pub fn uploads(by: Uploader, ids: Vec<AttachmentId>, max_total: u64) -> Self {
        Self {
            by: Some(by),
            ids,
            max_total,
        }
    }

    /// Files stored from a mail inside the current transaction.
    pub fn from_mail(ids: Vec<AttachmentId>) -> Self {
        Self {
            by: None,
            ids,
            max_total: u64::MAX,
        }
    }
}

/// Uploads nobody attached are removed after this long.
pub const UNATTACHED_TTL_SECS: i64 = 24 * 3600;

/// Removes uploads nobody attached within [`UNATTACHED_TTL_SECS`] (their
/// bytes too, unless the same content is on a message) and temporary files
/// of uploads that never finished (a crash, a client gone); returns how
/// many uploads went.
pub async fn prune(db: &Db, upload_dir: &Path) -> Result<usize, Error> {
    let cutoff = crate::db::format_time(
        time::OffsetDateTime::now_utc() - time::Duration::seconds(UNATTACHED_TTL_SECS),
    );
    // In batches: a day of abandoned uploads never holds the writer long.
    let mut removed = 0;
    loop {
        let cutoff = cutoff.clone();
        let n = db
            .write(move |tx| repo::prune_unattached(tx, &cutoff, 200))
            .await?;
        removed += n;
        if n < 200 {
            break;
        }
    }
    let dir = upload_dir.to_path_buf();
    tokio::task::spawn_blocking(move || sweep_temp_files(&dir))
        .await
        .map_err(|e| Error::Internal(format!("sweeping upload files: {e}")))?;
    Ok(removed)
}

/// Temporary upload files older than an hour belong to no request any more.
fn sweep_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour = std::time::Duration::from_hours(1);
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Most uploads one person may have waiting to be attached.
pub const MAX_WAITING_UPLOADS: i64 = 100;

/// Most files one message takes.
pub const MAX_FILES_PER_MESSAGE: usize = 20;
