//! Inbound mail: one RFC 5322 path for the webhook and the MTA pipe. Finds
//! the ticket (reply token, then In-Reply-To/References, then `[#id]`),
//! checks the sender, strips quoted history, and files the message.

use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders as _};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::identity::{ticket_of_message_id, ticket_of_reply_address, ticket_of_subject};
use super::quote::strip_reply;
use super::MailIdentity;
use crate::app::AppState;
use crate::audit::{self, ActorRef, Target};
use crate::auth::tokens::secret_hash;
use crate::auth::JwtKeys;
use crate::db::now;
use crate::error::Error;
use crate::ids::{MessageId, TicketId};
use crate::notify::delivery::remember_message_id;
use crate::settings;
use crate::tickets::conversation::{reply_in, Writer};
use crate::tickets::rules::{BODY_MAX_BYTES, SUBJECT_MAX_CHARS};
use crate::tickets::service::{create_in, Creation};
use crate::tickets::{repo as tickets, Channel, TicketStatus};
use crate::users::{normalize_email, normalize_name, repo as users, Role, UserId, UserRecord};

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

/// Dedupe key of a message without a Message-ID: this prefix and its digest.
const SYNTHETIC_ID_PREFIX: &str = "sha256:";

/// What the parser found; everything needed to file the message.
struct Parsed {
    message_id: String,
    from_address: Option<String>,
    from_name: Option<String>,
    subject: String,
    body: String,
    recipients: Vec<String>,
    references: Vec<String>,
    ignore: Option<String>,
}

fn parse(raw: &[u8], keys: &JwtKeys, identity: &MailIdentity) -> Result<Parsed, Error> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| m.from().is_some())
        .ok_or_else(|| {
            Error::validation(
                "message",
                "is not an RFC 5322 message (it has no From header)",
            )
        })?;
    let from = message.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_string())
        .filter(|a| a.contains('@'));
    let from_name = from.and_then(|a| a.name()).map(str::to_string);
    let message_id = message
        .message_id()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{SYNTHETIC_ID_PREFIX}{}",
                secret_hash(&String::from_utf8_lossy(raw))
            )
        });
    let subject = message.subject().unwrap_or("").trim().to_string();
    let mut recipients = Vec::new();
    for name in ["To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"] {
        if let Some(value) = message.header(name) {
            collect_addresses(value, &mut recipients);
        }
    }
    let mut references = Vec::new();
    for value in [message.in_reply_to(), message.references()] {
        collect_ids(value, &mut references);
    }
    let ignore = reason_to_ignore(
        &message,
        from_address.as_deref(),
        &message_id,
        keys,
        identity,
    );
    let text = message
        .body_text(0)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    let body = strip_reply(&text);
    Ok(Parsed {
        message_id,
        from_address,
        from_name,
        subject,
        body,
        recipients,
        references,
        ignore,
    })
}

fn collect_addresses(value: &HeaderValue<'_>, out: &mut Vec<String>) {
    match value {
        HeaderValue::Address(address) => {
            out.extend(
                address
                    .iter()
                    .filter_map(|a| a.address())
                    .map(str::to_string),
            );
        }
        HeaderValue::Text(text) => out.push(text.trim().trim_matches(['<', '>']).to_string()),
        HeaderValue::TextList(list) => {
            out.extend(
                list.iter()
                    .map(|t| t.trim().trim_matches(['<', '>']).to_string()),
            );
        }
        _ => {}
    }
}

fn collect_ids(value: &HeaderValue<'_>, out: &mut Vec<String>) {
    match value {
        HeaderValue::Text(id) => out.push(id.trim().to_string()),
        HeaderValue::TextList(ids) => out.extend(ids.iter().map(|i| i.trim().to_string())),
        _ => {}
    }
}

/// Auto-replies, bounces and our own mail are not conversation.
fn reason_to_ignore(
    message: &Message<'_>,
    from: Option<&str>,
    message_id: &str,
    keys: &JwtKeys,
    identity: &MailIdentity,
) -> Option<String> {
    let raw = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(auto) = raw("Auto-Submitted").filter(|v| v != "no") {
        return Some(format!("auto-submitted mail ({auto})"));
    }
    if let Some(p) =
        raw("Precedence").filter(|p| matches!(p.as_str(), "bulk" | "auto_reply" | "junk" | "list"))
    {
        return Some(format!("precedence {p}"));
    }
    if raw("X-Autoreply").is_some() || raw("X-Autorespond").is_some() {
        return Some("auto-reply".into());
    }
    let Some(from) = from else {
        return Some("no sender address".into());
    };
    let local = from
        .rsplit_once('@')
        .map_or(from, |(l, _)| l)
        .to_ascii_lowercase();
    let is_report = message.content_type().is_some_and(|ct| {
        ct.c_subtype
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if local == "mailer-daemon" || local == "postmaster" || is_report {
        return Some("delivery status notification (bounce)".into());
    }
    if identity.is_own_address(from) || ticket_of_message_id(keys, message_id).is_some() {
        return Some("our own mail came back (loop)".into());
    }
    None
}

/// Files a raw message in one transaction (the webhook and `helpline mail ingest`).
pub async fn receive(
    state: &AppState,
    raw: Vec<u8>,
    request_id: Option<String>,
) -> Result<InboundReceipt, Error> {
    let keys = std::sync::Arc::clone(&state.keys);
    let delivery = std::sync::Arc::clone(&state.delivery);
    let receipt = state
        .db
        .write(move |tx| ingest(tx, &keys, delivery.identity(), &raw, request_id.as_deref()))
        .await?;
    state.delivery.wake();
    Ok(receipt)
}

/// Files one raw message inside the caller's transaction. Duplicates (same
/// Message-ID) return the earlier result and change nothing.
pub fn ingest(
    conn: &Connection,
    keys: &JwtKeys,
    identity: &MailIdentity,
    raw: &[u8],
    request_id: Option<&str>,
) -> Result<InboundReceipt, Error> {
    let parsed = parse(raw, keys, identity)?;
    if let Some(earlier) = earlier_result(conn, &parsed.message_id)? {
        return Ok(earlier);
    }
    if let Some(reason) = &parsed.ignore {
        tracing::info!(message_id = %parsed.message_id, from = ?parsed.from_address, %reason, "inbound mail ignored");
        record(conn, &parsed, raw, &ignored(reason.clone()))?;
        return Ok(ignored(reason.clone()));
    }
    let from = parsed.from_address.clone().unwrap_or_default();
    let sender = find_or_create_sender(conn, &from, parsed.from_name.as_deref())?;
    let Some(sender) = sender else {
        let reason = format!(
            "the sender {from} is not an address we can answer, or their account is deactivated"
        );
        record(conn, &parsed, raw, &ignored(reason.clone()))?;
        return Ok(ignored(reason));
    };
    let by = ActorRef {
        user_id: Some(sender.user.id),
        api_key_id: None,
        request_id: request_id.map(String::from),
    };
    let receipt = match find_ticket(conn, keys, &parsed)? {
        Some(found) => file_on_ticket(conn, &parsed, &sender, &by, &found)?,
        None => new_ticket(conn, &parsed, &sender, &by, None, "")?,
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
    record(conn, &parsed, raw, &receipt)?;
    Ok(receipt)
}

/// Files a message whose ticket was found: as the requester's or an agent's
/// reply, as an internal note (an agent's address without their link), or as
/// a new linked ticket (a stranger, or a closed ticket).
fn file_on_ticket(
    conn: &Connection,
    parsed: &Parsed,
    sender: &UserRecord,
    by: &ActorRef,
    found: &Found,
) -> Result<InboundReceipt, Error> {
    let Found {
        ticket,
        rule,
        token_for,
    } = *found;
    let from = &sender.user.email;
    let state = tickets::state(conn, ticket)?.ok_or(Error::NotFound("ticket"))?;
    let is_staff = sender.user.role != Role::Customer;
    // A From header is easy to forge: mail from an agent's address
    // speaks for the team only through that agent's own reply link.
    Ok(
        if is_staff && token_for != Some(sender.user.id) && state.status != TicketStatus::Closed {
            let message = unverified_staff_mail(conn, &state, parsed, from, by)?;
            InboundReceipt {
            ticket_id: Some(ticket),
            message_id: Some(message),
            created_ticket: false,
            status: InboundStatus::Filed,
            rule: Some(rule),
            reason: Some(format!(
                "{from} is an agent's address but the mail did not come through their reply link; kept as an internal note"
            )),
        }
        } else {
            let allowed = is_staff || sender.user.id == state.requester_id;
            if allowed && state.status != TicketStatus::Closed {
                let writer = Writer {
                    author_id: Some(sender.user.id),
                    is_staff,
                    channel: Channel::Email,
                    by: by.clone(),
                };
                let message =
                    reply_in(conn, &state, &writer, &body_for_ticket(&parsed.body), false)?;
                InboundReceipt {
                    ticket_id: Some(ticket),
                    message_id: Some(message),
                    created_ticket: false,
                    status: InboundStatus::Filed,
                    rule: Some(rule),
                    reason: None,
                }
            } else {
                let why = if allowed {
                    format!("ticket #{} is closed; this opens a follow-up", ticket.0)
                } else {
                    format!(
                        "{from} is not the requester of ticket #{}; filed as a new ticket",
                        ticket.0
                    )
                };
                let mut receipt = new_ticket(conn, parsed, sender, by, Some(ticket), &why)?;
                receipt.rule = Some(rule);
                receipt.reason = Some(why);
                receipt
            }
        },
    )
}

/// Mail from a staff address that did not come through that person's reply
/// link: the team sees it as an internal note; no customer does.
fn unverified_staff_mail(
    conn: &Connection,
    ticket: &crate::tickets::repo::TicketState,
    parsed: &Parsed,
    from: &str,
    by: &ActorRef,
) -> Result<MessageId, Error> {
    let system = Writer {
        author_id: None,
        is_staff: true,
        channel: Channel::Email,
        by: by.clone(),
    };
    let body = body_for_ticket(&format!(
        "Email from {from}, an agent's address, that did not come through their own reply link \
         (the sender may be forged), kept as an internal note:\n\n{}",
        parsed.body
    ));
    reply_in(conn, ticket, &system, &body, true)
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

/// The text to store for an email body: trimmed, cut to the message limit
/// (the raw mail keeps the rest), or a note when the mail had no text.
fn body_for_ticket(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return "(the email had no text)".into();
    }
    if body.len() <= BODY_MAX_BYTES {
        return body.to_string();
    }
    let note = "\n\n[cut: the email was longer than a message may be; the original is kept]";
    let mut end = BODY_MAX_BYTES - note.len();
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &body[..end])
}

/// A ticket subject from an email's: control characters out, cut to the
/// limit, "(no subject)" when there is none.
fn subject_for_ticket(subject: &str) -> String {
    let subject: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SUBJECT_MAX_CHARS)
        .collect();
    let subject = subject.trim();
    if subject.is_empty() {
        "(no subject)".into()
    } else {
        subject.to_string()
    }
}

/// The ticket found, the rule that found it, and for a reply token, the
/// person whose mail it was (who alone may answer through it as staff).
#[derive(Clone, Copy)]
struct Found {
    ticket: TicketId,
    rule: MatchRule,
    token_for: Option<UserId>,
}

/// The first rule that names an existing ticket.
fn find_ticket(conn: &Connection, keys: &JwtKeys, parsed: &Parsed) -> Result<Option<Found>, Error> {
    let exists = |id: TicketId| -> Result<bool, Error> { Ok(tickets::state(conn, id)?.is_some()) };
    let found = |ticket, rule| Found {
        ticket,
        rule,
        token_for: None,
    };
    for address in &parsed.recipients {
        if let Some((id, user)) = ticket_of_reply_address(keys, address) {
            if exists(id)? {
                return Ok(Some(Found {
                    ticket: id,
                    rule: MatchRule::ReplyToken,
                    token_for: user,
                }));
            }
        }
    }
    // Newest reference first: the mail answered is the most specific.
    for reference in parsed.references.iter().rev() {
        let known: Option<TicketId> = conn
            .prepare_cached("SELECT ticket_id FROM mail_threads WHERE message_id = ?1")?
            .query_row([reference], |r| r.get(0))
            .optional()?;
        if let Some(id) = known.or_else(|| ticket_of_message_id(keys, reference)) {
            if exists(id)? {
                return Ok(Some(found(id, MatchRule::References)));
            }
        }
    }
    if let Some(id) = ticket_of_subject(&parsed.subject) {
        if exists(id)? {
            return Ok(Some(found(id, MatchRule::SubjectTag)));
        }
    }
    Ok(None)
}

/// The sender's account, created as a password-less customer when new.
/// `None` when the address is unusable or the account is deactivated.
fn find_or_create_sender(
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

fn new_ticket(
    conn: &Connection,
    parsed: &Parsed,
    sender: &UserRecord,
    by: &ActorRef,
    related: Option<TicketId>,
    why: &str,
) -> Result<InboundReceipt, Error> {
    let settings = settings::load(conn)?;
    let creation = Creation {
        subject: subject_for_ticket(&parsed.subject),
        body: body_for_ticket(&parsed.body),
        priority: None,
        category: None,
        kind: None,
        tags: Vec::new(),
        requester_id: sender.user.id,
        author_id: Some(sender.user.id),
        channel: Channel::Email,
    };
    let id = create_in(conn, &settings, by, &creation)?;
    let first: MessageId = conn.query_row(
        "SELECT MIN(id) FROM messages WHERE ticket_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if let Some(old) = related {
        // The link for the team: an internal note naming the earlier ticket.
        let state = tickets::state(conn, id)?.ok_or(Error::NotFound("ticket"))?;
        let system = Writer {
            author_id: None,
            is_staff: true,
            channel: Channel::Email,
            by: by.clone(),
        };
        reply_in(
            conn,
            &state,
            &system,
            &format!("Related to ticket #{}: {why}.", old.0),
            true,
        )?;
    }
    Ok(InboundReceipt {
        ticket_id: Some(id),
        message_id: Some(first),
        created_ticket: true,
        status: InboundStatus::Filed,
        rule: Some(MatchRule::NewTicket),
        reason: None,
    })
}

fn earlier_result(conn: &Connection, message_id: &str) -> Result<Option<InboundReceipt>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT ticket_id, conversation_id, created_ticket, rule, reason FROM inbound_mail WHERE message_id = ?1",
        )?
        .query_row([message_id], |r| {
            let rule: Option<String> = r.get(3)?;
            Ok(InboundReceipt {
                ticket_id: r.get(0)?,
                message_id: r.get(1)?,
                created_ticket: r.get(2)?,
                status: InboundStatus::Duplicate,
                rule: rule.as_deref().and_then(MatchRule::parse),
                reason: r.get(4)?,
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
