//! Finding the ticket a message belongs to, and the account of its sender.

use super::parse::Parsed;
use super::MatchRule;
use rusqlite::{Connection, OptionalExtension};

use crate::auth::JwtKeys;
use crate::error::Error;
use crate::ids::TicketId;
use crate::mail::identity::{ticket_of_message_id, ticket_of_reply_address, ticket_of_subject};
use crate::tickets::repo as tickets;
use crate::users::{normalize_email, normalize_name, repo as users, Role, UserId, UserRecord};

/// The ticket found, the rule that found it, and for a reply token, the
/// person whose mail it was (who alone may answer through it as staff).
#[derive(Clone, Copy)]
pub(super) struct Found {
    pub(super) ticket: TicketId,
    pub(super) rule: MatchRule,
    pub(super) token_for: Option<UserId>,
}

/// How many of a message's references are looked up, newest first.
pub(super) const MAX_REFERENCES: usize = 20;

/// The first rule that names an existing ticket.
pub(super) fn find_ticket(
    conn: &Connection,
    keys: &JwtKeys,
    parsed: &Parsed,
) -> Result<Option<Found>, Error> {
    let exists = |id: TicketId| -> Result<bool, Error> { Ok(tickets::state(conn, id)?.is_some()) };
    // A merged ticket continues on its target.
    let found = |ticket, rule| -> Result<Found, Error> {
        Ok(Found {
            ticket: crate::tickets::merge::current(conn, ticket)?,
            rule,
            token_for: None,
        })
    };
    for address in &parsed.recipients {
        if let Some((id, user)) = ticket_of_reply_address(keys, address) {
            if exists(id)? {
                return Ok(Some(Found {
                    ticket: crate::tickets::merge::current(conn, id)?,
                    rule: MatchRule::ReplyToken,
                    token_for: user,
                }));
            }
        }
    }
    // Newest reference first: the mail answered is the most specific. Each
    // costs a lookup inside the write: a long forged list is cut short.
    for reference in parsed.references.iter().rev().take(MAX_REFERENCES) {
        let known: Option<TicketId> = conn
            .prepare_cached("SELECT ticket_id FROM mail_threads WHERE message_id = ?1")?
            .query_row([reference], |r| r.get(0))
            .optional()?;
        if let Some(id) = known.or_else(|| ticket_of_message_id(keys, reference)) {
            if exists(id)? {
                return Ok(Some(found(id, MatchRule::References)?));
            }
        }
    }
    if let Some(id) = ticket_of_subject(&parsed.subject) {
        if exists(id)? {
            return Ok(Some(found(id, MatchRule::SubjectTag)?));
        }
    }
    Ok(None)
}

/// The sender's account, created as a password-less customer when new.
/// `None` when the address is unusable or the account is deactivated.
pub(super) fn find_or_create_sender(
    conn: &Connection,
    from: &str,
    display_name: Option<&str>,
) -> Result<Option<UserRecord>, Error> {
    let Ok((email, key)) = normalize_email(from) else {
        return Ok(None);
    };
    if let Some(user) = users::get_by_email(conn, &key)? {
        return Ok(user.user.active.then_some(user));
    }
    let fallback = email.split('@').next().unwrap_or("Customer").to_string();
    let name = display_name
        .and_then(|n| normalize_name(n).ok())
        .or_else(|| normalize_name(&fallback).ok())
        .unwrap_or_else(|| "Customer".into());
    users::insert(
        conn,
        &users::NewUser {
            email: &email,
            email_key: &key,
            name: &name,
            role: Role::Customer,
            password_hash: None,
        },
    )
    .map(Some)
}
