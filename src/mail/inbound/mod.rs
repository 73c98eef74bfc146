//! Inbound mail: one RFC 5322 path for the webhook and the MTA pipe. `parse`
//! reads a message, `matching` finds its ticket (reply token, then
//! In-Reply-To/References, then `[#id]`) and its sender, `filing` files it;
//! this module runs them in one transaction and records the outcome.

mod filing;
mod matching;
mod parse;

use filing::{file_on_ticket, new_ticket};
use matching::{find_or_create_sender, find_ticket};
use parse::{parse, Parsed, SYNTHETIC_ID_PREFIX};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use std::fmt::Write as _;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::attachments::Files;
use crate::audit::{self, ActorRef, Target};
use crate::auth::JwtKeys;
use crate::db::{now, Db};
use crate::error::Error;
use crate::ids::{MessageId, TicketId};
use crate::mail::identity::remember_message_id;
use crate::notify::delivery::Delivery;

/// How the ticket of an inbound message was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The reply token in the address it was sent to.
    ReplyToken,
    /// `In-Reply-To` or `References` named a message of the ticket.
    References,
    /// The `[#id]` tag in the subject.
    SubjectTag,
    /// Nothing matched: a new ticket.
    NewTicket,
}

impl MatchRule {
    fn as_str(self) -> &'static str {
        match self {
            Self::ReplyToken => "reply_token",
            Self::References => "references",
            Self::SubjectTag => "subject_tag",
            Self::NewTicket => "new_ticket",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::ReplyToken,
            Self::References,
            Self::SubjectTag,
            Self::NewTicket,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// What happened to an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboundStatus {
    /// Added to a ticket (or opened one).
    Filed,
    /// Not filed on purpose (auto-reply, bounce, our own mail); see `reason`.
    Ignored,
    /// The same Message-ID arrived before; this is the earlier result.
    Duplicate,
}

/// The answer to an inbound message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundReceipt {
    pub ticket_id: Option<TicketId>,
    /// The conversation message created from the mail.
    pub message_id: Option<MessageId>,
    pub created_ticket: bool,
    pub status: InboundStatus,
    /// Which rule found the ticket (a new ticket for a stranger's reply still
    /// names the rule that matched the old one).
    pub rule: Option<MatchRule>,
    pub reason: Option<String>,
}

/// Files a raw message in one transaction (the webhook and `helpline mail ingest`).
pub async fn receive(
    db: &Db,
    keys: &Arc<JwtKeys>,
    delivery: &Arc<Delivery>,
    raw: Vec<u8>,
    (request_id, max_file_bytes): (Option<String>, u64),
) -> Result<InboundReceipt, Error> {
    let keys = Arc::clone(keys);
    let outbox = Arc::clone(delivery);
    // Parsing (and reading the text of PDFs) happens before the write
    // transaction, so a slow file never holds the database's one writer.
    let (mut parsed, raw) = {
        let keys = Arc::clone(&keys);
        tokio::task::spawn_blocking(move || {
            let mut parsed = parse(&raw, &keys, outbox.identity())?;
            // Files over the limit are left out; their text is never read.
            for file in parsed
                .files
                .iter_mut()
                .filter(|f| f.bytes.len() as u64 <= max_file_bytes)
            {
                file.read_text();
            }
            Ok::<_, Error>((parsed, raw))
        })
        .await
        .map_err(|e| Error::Internal(format!("parsing a mail: {e}")))??
    };
    let receipt = db
        .write(move |tx| {
            ingest(
                tx,
                &keys,
                &mut parsed,
                &raw,
                (request_id.as_deref(), max_file_bytes),
            )
        })
        .await?;
    delivery.wake();
    Ok(receipt)
}

/// Files one raw message inside the caller's transaction. Duplicates (same
/// Message-ID) return the earlier result and change nothing.
fn ingest(
    conn: &Connection,
    keys: &JwtKeys,
    parsed: &mut Parsed,
    raw: &[u8],
    (request_id, max_file_bytes): (Option<&str>, u64),
) -> Result<InboundReceipt, Error> {
    if let Some(earlier) = earlier_result(conn, &parsed.message_id)? {
        return Ok(earlier);
    }
    if let Some(reason) = &parsed.ignore {
        tracing::info!(message_id = %parsed.message_id, from = ?parsed.from_address, %reason, "inbound mail ignored");
        record(conn, parsed, raw, &ignored(reason.clone()))?;
        return Ok(ignored(reason.clone()));
    }
    let from = parsed.from_address.clone().unwrap_or_default();
    let sender = find_or_create_sender(conn, &from, parsed.from_name.as_deref())?;
    let Some(sender) = sender else {
        let reason = format!(
            "the sender {from} is not an address we can answer, or their account is deactivated"
        );
        record(conn, parsed, raw, &ignored(reason.clone()))?;
        return Ok(ignored(reason));
    };
    let by = ActorRef {
        user_id: Some(sender.user.id),
        api_key_id: None,
        request_id: request_id.map(String::from),
    };
    let files = store_files(conn, parsed, max_file_bytes)?;
    let parsed = &*parsed;
    let receipt = match find_ticket(conn, keys, parsed)? {
        Some(found) => file_on_ticket(conn, parsed, &sender, &by, &found, &files)?,
        None => new_ticket(conn, parsed, &sender, &by, None, "", &files)?,
    };
    if let Some(ticket) = receipt.ticket_id {
        // A digest stands in for a missing Message-ID; it is no id to answer to.
        if !parsed.message_id.starts_with(SYNTHETIC_ID_PREFIX) {
            remember_message_id(conn, &parsed.message_id, ticket, "in")?;
        }
        audit::record(
            conn,
            &by,
            "email.received",
            Some(Target {
                kind: "ticket",
                id: ticket.0,
            }),
            Some(ticket.0),
            &json!({
                "message_id": parsed.message_id,
                "rule": receipt.rule.map(MatchRule::as_str),
                "created_ticket": receipt.created_ticket,
                "reason": receipt.reason,
            }),
        )?;
    }
    record(conn, parsed, raw, &receipt)?;
    Ok(receipt)
}

/// Most files kept from one mail (inline images of a newsletter, forwarded
/// mails inside forwarded mails).
const MAX_MAIL_FILES: usize = 100;

/// Stores the mail's files (unattached until the filed message takes them);
/// a file over the limit is left out and the message says so.
fn store_files(
    conn: &Connection,
    parsed: &mut Parsed,
    max_file_bytes: u64,
) -> Result<Files, Error> {
    let mut ids = Vec::new();
    let mut files = std::mem::take(&mut parsed.files);
    if files.len() > MAX_MAIL_FILES {
        let _ = write!(
            parsed.body,
            "\n\n[The mail had {} files; the first {MAX_MAIL_FILES} were kept.]",
            files.len()
        );
        files.truncate(MAX_MAIL_FILES);
    }
    for file in files {
        if file.bytes.len() as u64 > max_file_bytes {
            tracing::info!(message_id = %parsed.message_id, file = %file.name, size = file.bytes.len(), "a file of an inbound mail is over the limit");
            let _ = write!(
                parsed.body,
                "\n\n[The attached file \"{}\" ({} bytes) was not kept: files may hold at most {} bytes.]",
                crate::attachments::names::clean_filename(&file.name),
                file.bytes.len(),
                max_file_bytes
            );
            continue;
        }
        ids.push(crate::attachments::store::mail_file(
            conn,
            &file.bytes,
            (
                &file.name,
                file.content_type.as_deref(),
                file.content_id.as_deref(),
            ),
            file.text.as_deref(),
        )?);
    }
    Ok(Files::from_mail(ids))
}

fn ignored(reason: String) -> InboundReceipt {
    InboundReceipt {
        ticket_id: None,
        message_id: None,
        created_ticket: false,
        status: InboundStatus::Ignored,
        rule: None,
        reason: Some(reason),
    }
}

fn earlier_result(conn: &Connection, message_id: &str) -> Result<Option<InboundReceipt>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT ticket_id, conversation_id, rule, reason FROM inbound_mail WHERE message_id = ?1",
        )?
        .query_row([message_id], |r| {
            let rule: Option<String> = r.get(2)?;
            Ok(InboundReceipt {
                ticket_id: r.get(0)?,
                message_id: r.get(1)?,
                // A duplicate creates nothing, whatever the first one did.
                created_ticket: false,
                status: InboundStatus::Duplicate,
                rule: rule.as_deref().and_then(MatchRule::parse),
                reason: r.get(3)?,
            })
        })
        .optional()?)
}

fn record(
    conn: &Connection,
    parsed: &Parsed,
    raw: &[u8],
    receipt: &InboundReceipt,
) -> Result<(), Error> {
    let outcome = match receipt.status {
        InboundStatus::Ignored => "ignored",
        _ => "filed",
    };
    conn.prepare_cached(
        "INSERT INTO inbound_mail (message_id, from_address, subject, outcome, rule, reason, ticket_id,
             conversation_id, created_ticket, raw, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        parsed.message_id,
        parsed.from_address,
        parsed.subject,
        outcome,
        receipt.rule.map(MatchRule::as_str),
        receipt.reason,
        receipt.ticket_id,
        receipt.message_id,
        receipt.created_ticket,
        raw,
        now()
    ])?;
    Ok(())
}
