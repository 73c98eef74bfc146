//! Who may read a file, and a new message taking its files.

use std::collections::HashSet;

use rusqlite::Connection;

use super::repo::{self, Stored};
use super::{AttachmentId, Files, Uploader, MAX_FILES_PER_MESSAGE};
use crate::error::Error;
use crate::ids::{MessageId, PortalTokenId, TicketId, UserId};

/// Who asks for a file.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// Agents and admins: every file on a message, and their own uploads.
    Staff(UserId),
    /// A customer: files on public messages of their tickets, and their own uploads.
    Requester(UserId),
    /// A portal link: files on public messages of the tickets in its scope,
    /// and uploads made through it.
    Portal {
        token: PortalTokenId,
        tickets: Vec<TicketId>,
    },
}

/// The file `id` if `viewer` may read it; `NotFound` otherwise, the same
/// answer as for a file that does not exist.
pub fn readable(conn: &Connection, viewer: &Viewer, id: AttachmentId) -> Result<Stored, Error> {
    let stored = repo::stored(conn, id)?.ok_or(Error::NotFound("attachment"))?;
    let allowed = match (&stored.on, viewer) {
        (Some(_), Viewer::Staff(_)) => true,
        (Some((_, requester, internal)), Viewer::Requester(me)) => !internal && requester == me,
        (Some((ticket, _, internal)), Viewer::Portal { tickets, .. }) => {
            !internal && tickets.contains(ticket)
        }
        // Not on a message yet: only its uploader sees it.
        (None, Viewer::Staff(me) | Viewer::Requester(me)) => {
            stored.origin == "upload" && stored.uploader_id == Some(*me)
        }
        (None, Viewer::Portal { token, .. }) => {
            stored.origin == "portal" && stored.portal_token_id == Some(*token)
        }
    };
    if allowed {
        Ok(stored)
    } else {
        Err(Error::NotFound("attachment"))
    }
}

/// Gives `files` to the new message `message`, inside the caller's
/// transaction: each must be an unattached upload of `files.by` (or a file
/// the system stored from mail), together at most `files.max_total` bytes.
pub fn attach(conn: &Connection, message: MessageId, files: &Files) -> Result<(), Error> {
    if files.ids.is_empty() {
        return Ok(());
    }
    let refuse = |detail: String| Error::validation("attachments", detail);
    // Mail brings what it brings (the inbound path caps it); uploads are counted.
    if files.by.is_some() && files.ids.len() > MAX_FILES_PER_MESSAGE {
        return Err(refuse(format!(
            "at most {MAX_FILES_PER_MESSAGE} files per message"
        )));
    }
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    for &id in &files.ids {
        if !seen.insert(id) {
            return Err(refuse(format!("upload {id} is listed twice")));
        }
        let claim = repo::claim(conn, id)?;
        let own = claim.as_ref().is_some_and(|c| {
            c.message_id.is_none()
                && match files.by {
                    Some(Uploader::User(me)) => c.origin == "upload" && c.uploader_id == Some(me),
                    Some(Uploader::Portal { token, .. }) => {
                        c.origin == "portal" && c.portal_token_id == Some(token)
                    }
                    None => c.origin == "mail",
                }
        });
        let Some(claim) = claim.filter(|_| own) else {
            return Err(refuse(format!(
                "upload {id} does not exist, is not yours, or is already on a message"
            )));
        };
        total = total.saturating_add(u64::try_from(claim.size).unwrap_or(0));
        if total > files.max_total {
            return Err(refuse(format!(
                "the files of one message may hold at most {} bytes together",
                files.max_total
            )));
        }
        repo::set_message(conn, id, message)?;
    }
    Ok(())
}
