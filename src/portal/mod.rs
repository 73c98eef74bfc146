//! People without an account: the support form and API (`intake`), and portal
//! links that let a requester follow and answer a ticket. A link's token is
//! shown once and stored only as a hash.

pub mod access;
pub mod files;
pub mod intake;
pub mod live;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::tokens::{random_secret, secret_hash};
use crate::db::{format_time, now};
use crate::error::Error;
use crate::ids::{PortalTokenId, TicketId, UserId};

/// A new portal link, the only time its token is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedPortalToken {
    pub id: PortalTokenId,
    /// Secret part of the link; shown once.
    pub token: String,
    /// The page to send to the requester.
    pub url: String,
    pub expires_at: String,
}

pub fn url(public_url: &str, token: &str) -> String {
    format!("{public_url}/portal/{token}")
}

/// Issues a link to `ticket` for its requester, valid `days` days.
pub fn issue(
    conn: &Connection,
    ticket: TicketId,
    requester: UserId,
    created_by: Option<UserId>,
    days: u32,
    public_url: &str,
) -> Result<IssuedPortalToken, Error> {
    let token = random_secret();
    let expires_at =
        format_time(time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days)));
    conn.prepare_cached(
        "INSERT INTO portal_tokens (token_hash, ticket_id, requester_id, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![secret_hash(&token), ticket, requester, created_by, now(), expires_at])?;
    Ok(IssuedPortalToken {
        id: PortalTokenId(conn.last_insert_rowid()),
        url: url(public_url, &token),
        token,
        expires_at,
    })
}

/// What a valid token gives access to.
#[derive(Debug, Clone)]
pub struct Scope {
    pub token_id: PortalTokenId,
    pub requester_id: UserId,
    /// The ticket the link was made for.
    pub ticket_id: TicketId,
}

/// Download links of a message shown through the link `token`.
pub fn portal_urls(message: &mut crate::tickets::Message, token: &str) {
    for file in &mut message.attachments {
        file.url = format!("/api/v1/portal/{token}/attachments/{}", file.id);
    }
}

impl Scope {
    /// Uploads through this link belong to it.
    pub fn uploader(&self) -> crate::attachments::Uploader {
        crate::attachments::Uploader::Portal {
            token: self.token_id,
            requester: self.requester_id,
        }
    }
}

/// Resolves a presented token: `None` when it is unknown, expired or
/// revoked, or its requester's account is deactivated. Reads only: an unknown
/// token costs no write ([`UseCounter`] counts the valid ones).
pub fn resolve(conn: &Connection, token: &str) -> Result<Option<Scope>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT p.id, p.requester_id, p.ticket_id FROM portal_tokens p
             JOIN users u ON u.id = p.requester_id AND u.active = 1
             WHERE p.token_hash = ?1 AND p.revoked_at IS NULL AND p.expires_at > ?2",
        )?
        .query_row(params![secret_hash(token), now()], |r| {
            Ok(Scope {
                token_id: r.get(0)?,
                requester_id: r.get(1)?,
                ticket_id: r.get(2)?,
            })
        })
        .optional()?)
}

/// Uses of portal links, counted in memory and written in one batch by the
/// maintenance task, so that reading a link never waits for the writer.
#[derive(Default)]
pub struct UseCounter {
    pending: std::sync::Mutex<std::collections::HashMap<PortalTokenId, (i64, String)>>,
}

impl UseCounter {
    pub fn record(&self, token: PortalTokenId) {
        if let Ok(mut pending) = self.pending.lock() {
            let entry = pending.entry(token).or_insert((0, String::new()));
            entry.0 += 1;
            entry.1 = now();
        }
    }

    /// Whether no use waits to be written (the writer is left alone then).
    pub fn is_empty(&self) -> bool {
        self.pending
            .lock()
            .map_or(true, |pending| pending.is_empty())
    }

    /// Writes the counted uses (the caller's transaction) and forgets them.
    pub fn flush(&self, conn: &Connection) -> Result<usize, Error> {
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(0),
        };
        let mut update = conn.prepare_cached(
            "UPDATE portal_tokens SET use_count = use_count + ?2, last_used_at = ?3 WHERE id = ?1",
        )?;
        for (token, (uses, at)) in &taken {
            update.execute(params![token, uses, at])?;
        }
        Ok(taken.len())
    }
}

/// Revokes every live link of `requester` (their account is deactivated).
pub fn revoke_all_of(conn: &Connection, requester: UserId) -> Result<usize, Error> {
    Ok(conn.execute(
        "UPDATE portal_tokens SET revoked_at = ?2 WHERE requester_id = ?1 AND revoked_at IS NULL",
        params![requester, now()],
    )?)
}

/// The tickets a token reaches: its own and those opened through it.
pub fn tickets_in_scope(conn: &Connection, scope: &Scope) -> Result<Vec<TicketId>, Error> {
    let mut ids: Vec<TicketId> = conn
        .prepare_cached(
            "SELECT ticket_id FROM portal_token_tickets WHERE token_id = ?1
             AND ticket_id IN (SELECT id FROM tickets WHERE requester_id = ?2) ORDER BY ticket_id",
        )?
        .query_map(params![scope.token_id, scope.requester_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.insert(0, scope.ticket_id);
    Ok(ids)
}

/// Adds a ticket opened through the token to its scope.
pub fn extend_scope(conn: &Connection, scope: &Scope, ticket: TicketId) -> Result<(), Error> {
    conn.execute(
        "INSERT OR IGNORE INTO portal_token_tickets (token_id, ticket_id) VALUES (?1, ?2)",
        params![scope.token_id, ticket],
    )?;
    Ok(())
}

/// Revokes a token; false when there is no such token.
pub fn revoke(conn: &Connection, id: PortalTokenId) -> Result<bool, Error> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM portal_tokens WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    if exists {
        conn.execute(
            "UPDATE portal_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now()],
        )?;
    }
    Ok(exists)
}

/// The ticket a token was issued for (for the audit log).
pub fn ticket_of(conn: &Connection, id: PortalTokenId) -> Result<Option<TicketId>, Error> {
    Ok(conn
        .query_row(
            "SELECT ticket_id FROM portal_tokens WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}
