//! Filing a message: on the ticket found, as a note, or as a new ticket;
//! bodies and subjects cut to the limits of a conversation.

use super::matching::Found;
use super::parse::Parsed;
use super::{InboundReceipt, InboundStatus, MatchRule};
use rusqlite::Connection;

use crate::attachments::Files;
use crate::audit::ActorRef;
use crate::error::Error;
use crate::ids::{MessageId, TicketId};
use crate::settings;
use crate::tickets::conversation::{reply_in, Writer};
use crate::tickets::opening::{create_in, Creation};
use crate::tickets::rules::{BODY_MAX_BYTES, SUBJECT_MAX_CHARS};
use crate::tickets::{repo as tickets, Channel, TicketStatus};
use crate::users::{Role, UserRecord};

/// Files a message whose ticket was found: as the requester's or an agent's
/// reply, as an internal note (an agent's address without their link), or as
/// a new linked ticket (a stranger, or a closed ticket).
pub(super) fn file_on_ticket(
    conn: &Connection,
    parsed: &Parsed,
    sender: &UserRecord,
    by: &ActorRef,
    found: &Found,
    files: &Files,
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
    if is_staff && token_for != Some(sender.user.id) && state.status == TicketStatus::Closed {
        return Ok(InboundReceipt {
            ticket_id: None,
            message_id: None,
            created_ticket: false,
            status: InboundStatus::Ignored,
            rule: Some(rule),
            reason: Some(format!(
                "{from} is an agent's address but the mail did not come through their reply link, \
                 and ticket #{} is closed; not filed",
                ticket.0
            )),
        });
    }
    // Nor does a customer's address alone: a `[#id]` in a subject anyone can
    // type, without a reply link or a reference to our mail, opens a new
    // ticket instead of speaking on an existing one.
    if !is_staff && rule == MatchRule::SubjectTag {
        let why = format!(
            "the subject names #{} but the mail has no reply link or reference to it; \
             filed as a new ticket",
            ticket.0
        );
        return follow_up(conn, (parsed, files), sender, by, (ticket, rule), why);
    }
    Ok(if is_staff && token_for != Some(sender.user.id) {
        let message = unverified_staff_mail(conn, &state, (parsed, files), from, by)?;
        filed((ticket, rule), message, Some(format!(
            "{from} is an agent's address but the mail did not come through their reply link; kept as an internal note"
        )))
    } else {
        let allowed = is_staff || sender.user.id == state.requester_id;
        if allowed && state.status != TicketStatus::Closed {
            let writer = Writer {
                author_id: Some(sender.user.id),
                is_staff,
                channel: Channel::Email,
                by: by.clone(),
            };
            let message = reply_in(
                conn,
                &state,
                &writer,
                &body_for_ticket(&parsed.body),
                false,
                files,
            )?;
            filed((ticket, rule), message, None)
        } else {
            let why = if allowed {
                format!("ticket #{} is closed; this opens a follow-up", ticket.0)
            } else {
                format!(
                    "{from} is not the requester of ticket #{}; filed as a new ticket",
                    ticket.0
                )
            };
            follow_up(conn, (parsed, files), sender, by, (ticket, rule), why)?
        }
    })
}

/// The receipt of a message filed on the ticket `found`.
fn filed(
    (found, rule): (TicketId, MatchRule),
    message: MessageId,
    reason: Option<String>,
) -> InboundReceipt {
    InboundReceipt {
        ticket_id: Some(found),
        message_id: Some(message),
        created_ticket: false,
        status: InboundStatus::Filed,
        rule: Some(rule),
        reason,
    }
}

/// A new ticket linked to `found` (the ticket the mail named), saying why the
/// mail did not go on it.
fn follow_up(
    conn: &Connection,
    (parsed, files): (&Parsed, &Files),
    sender: &UserRecord,
    by: &ActorRef,
    (found, rule): (TicketId, MatchRule),
    why: String,
) -> Result<InboundReceipt, Error> {
    let mut receipt = new_ticket(conn, parsed, sender, by, Some(found), &why, files)?;
    receipt.rule = Some(rule);
    receipt.reason = Some(why);
    Ok(receipt)
}

/// Mail from a staff address that did not come through that person's reply
/// link: the team sees it as an internal note; no customer does.
pub(super) fn unverified_staff_mail(
    conn: &Connection,
    ticket: &crate::tickets::repo::TicketState,
    (parsed, files): (&Parsed, &Files),
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
    reply_in(conn, ticket, &system, &body, true, files)
}

/// The text to store for an email body: trimmed, cut to the message limit
/// (the raw mail keeps the rest), or a note when the mail had no text.
pub(super) fn body_for_ticket(body: &str) -> String {
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
pub(super) fn subject_for_ticket(subject: &str) -> String {
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

pub(super) fn new_ticket(
    conn: &Connection,
    parsed: &Parsed,
    sender: &UserRecord,
    by: &ActorRef,
    related: Option<TicketId>,
    why: &str,
    files: &Files,
) -> Result<InboundReceipt, Error> {
    let settings = settings::load(conn)?;
    let creation = Creation {
        files: files.clone(),
        ..Creation::plain(
            (
                subject_for_ticket(&parsed.subject),
                body_for_ticket(&parsed.body),
            ),
            sender.user.id,
            Some(sender.user.id),
            Channel::Email,
        )
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
            &Files::none(),
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
