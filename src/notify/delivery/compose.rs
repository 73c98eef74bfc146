//! Composing one notification: its recipient, its text from the templates,
//! a fresh portal link where it needs one, and the thread headers.

use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::outbox::{self, Claimed};
use super::Kind;
use crate::attachments::{repo as files, store};
use crate::auth::tokens::{self, audience};
use crate::error::Error;
use crate::ids::{PortalTokenId, TicketId};
use crate::mail::identity::remember_message_id;
use crate::mail::identity::tagged_subject;
use crate::mail::templates::Rendered;
use crate::mail::{Email, MailIdentity};
use crate::tickets::repo as tickets;
use crate::users::repo as users;
use crate::{portal, settings};

use super::Delivery;

/// A mail ready to go, and the portal link made for it (revoked if it does not go).
pub(super) struct Composed {
    pub(super) email: Email,
    pub(super) subject: String,
    pub(super) portal_token: Option<PortalTokenId>,
}

pub(super) enum ComposeError {
    /// Nothing to send any more (ticket deleted, recipient gone): dead at once.
    Gone(String),
    Failed(Error),
}

impl From<Error> for ComposeError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl Delivery {
    pub(super) fn compose(
        &self,
        conn: &Connection,
        row: &Claimed,
    ) -> Result<Composed, ComposeError> {
        let kind = Kind::parse(&row.kind)
            .ok_or_else(|| ComposeError::Gone(format!("unknown kind {}", row.kind)))?;
        let settings = settings::load(conn)?;
        let recipient =
            match row.recipient_id {
                Some(id) => Some(users::get(conn, id)?.filter(|u| u.user.active).ok_or_else(
                    || ComposeError::Gone("the recipient's account is gone or deactivated".into()),
                )?),
                None => None,
            };
        let recipient_name = recipient
            .as_ref()
            .map_or_else(|| row.to_address.clone(), |u| u.user.name.clone());
        let mut context = json!({
            "helpdesk_name": settings.helpdesk_name,
            "base_url": self.public_url,
            "recipient": { "name": recipient_name, "email": row.to_address },
        });
        let (ticket_id, (portal_token, carried)) = match row.ticket_id {
            Some(id) => (
                Some(id),
                self.ticket_context(conn, row, kind, id, &settings, &mut context)?,
            ),
            None => (None, (None, Vec::new())),
        };
        self.params_context(
            kind,
            row,
            ticket_id,
            recipient.is_some(),
            &settings,
            &mut context,
        )?;
        if matches!(kind, Kind::PasswordReset | Kind::Invite | Kind::VerifyEmail) {
            let user = recipient
                .as_ref()
                .ok_or_else(|| ComposeError::Gone("the link has no recipient".into()))?;
            if kind == Kind::Invite && user.password_hash.is_some() {
                return Err(ComposeError::Gone(
                    "the invitation was already accepted".into(),
                ));
            }
            let (aud, page, ttl) = match kind {
                Kind::Invite => (audience::INVITE, "accept-invite", tokens::INVITE_TTL_SECS),
                Kind::VerifyEmail => (audience::VERIFY, "verify", tokens::VERIFY_TTL_SECS),
                _ => (
                    audience::PASSWORD_RESET,
                    "reset-password",
                    tokens::PASSWORD_RESET_TTL_SECS,
                ),
            };
            let token = tokens::issue_purpose(
                &self.keys,
                aud,
                &user.user.id.to_string(),
                user.token_version,
                ttl,
            )?;
            context["link"] = json!(format!("{}/{page}#token={token}", self.public_url));
        }
        let rendered = self.templates.render(kind.as_str(), &context)?;
        let message_id = if let Some(id) = &row.mail_message_id {
            id.clone()
        } else {
            let mid = self.identity.new_message_id(&self.keys, ticket_id);
            outbox::set_message_id(conn, row.id, &mid)?;
            if let Some(ticket) = ticket_id {
                remember_message_id(conn, &mid, ticket, "out")?;
            }
            mid
        };
        let threading = ticket_id.map(|t| self.threading(conn, t)).transpose()?;
        let sender = self
            .identity
            .adopting(&settings.helpdesk_name, settings.support_email.as_deref());
        let email = self
            .build(
                &Addressee {
                    address: &row.to_address,
                    name: &recipient_name,
                    user: row.recipient_id,
                },
                &message_id,
                ticket_id,
                threading,
                (&rendered, carried),
                (&sender, &settings.helpdesk_name),
            )
            .map_err(ComposeError::Gone)?;
        let subject = match ticket_id {
            Some(t) => tagged_subject(t, &rendered.subject),
            None => rendered.subject,
        };
        Ok(Composed {
            email,
            subject,
            portal_token,
        })
    }

    /// What the row's parameters add: a status, a service-level notice, and
    /// for a requester told their ticket is resolved, the rating links.
    fn params_context(
        &self,
        kind: Kind,
        row: &Claimed,
        ticket_id: Option<TicketId>,
        to_a_user: bool,
        settings: &settings::Settings,
        context: &mut Value,
    ) -> Result<(), Error> {
        if let Some(sla) = row.params.get("sla") {
            context["sla"] = sla.clone();
        }
        if let Some(status) = row.params.get("status").and_then(Value::as_str) {
            // The requester rates the help from the mail that says it is done.
            if kind == Kind::TicketStatus
                && status == "resolved"
                && settings.csat_enabled
                && row.params.get("merged").and_then(Value::as_bool) != Some(true)
            {
                if let (Some(id), true) = (ticket_id, to_a_user) {
                    context["rating_links"] =
                        crate::ratings::links(&self.keys, id, &self.public_url)?;
                }
            }
            context["status"] = json!(status);
            context["status_label"] = json!(status.replace('_', " "));
        }
        Ok(())
    }

    /// Adds the ticket, its requester and message (with its files) to
    /// `context`; for the requester's mails also a fresh portal link
    /// (returned, to revoke on failure). Returns the files the mail carries.
    fn ticket_context(
        &self,
        conn: &Connection,
        row: &Claimed,
        kind: Kind,
        id: TicketId,
        settings: &settings::Settings,
        context: &mut Value,
    ) -> Result<(Option<PortalTokenId>, Vec<MailFile>), ComposeError> {
        let ticket = tickets::get(conn, id, true)?
            .ok_or_else(|| ComposeError::Gone("the ticket was deleted".into()))?;
        context["ticket"] = json!({
            "id": id.0, "subject": ticket.subject, "status": ticket.status.as_str(),
            "priority": ticket.priority.as_str(), "channel": ticket.channel.as_str(),
        });
        context["requester"] =
            json!({ "name": ticket.requester.name, "email": ticket.requester.email });
        context["ticket_url"] = json!(format!("{}/tickets/{}", self.public_url, id.0));
        let to_requester = row.recipient_id == Some(ticket.requester.id);
        let mut message_files = Vec::new();
        if let Some(message_id) = row.message_id {
            let message = tickets::message(conn, message_id)?
                .ok_or_else(|| ComposeError::Gone("the message was deleted".into()))?;
            if message.internal && to_requester {
                return Err(ComposeError::Gone(
                    "internal notes are not mailed to requesters".into(),
                ));
            }
            let author = message
                .author
                .as_ref()
                .map_or_else(|| settings.helpdesk_name.clone(), |a| a.name.clone());
            let body = if row.params.get("chat").and_then(Value::as_bool) == Some(true) {
                chat_since(conn, id, message_id, row.recipient_id)?
            } else {
                message.body
            };
            // The text part keeps the Markdown source; the HTML part shows it rendered.
            let body_html = crate::markdown::to_html(&body);
            context["message"] =
                json!({ "body": body, "body_html": body_html, "author_name": author });
            message_files = files::of_message(conn, message_id)?;
        }
        // A ticket merged into another requester's keeps no conversation to link to.
        let merged = row.params.get("merged").and_then(Value::as_bool) == Some(true);
        if merged {
            context["merged"] = json!(true);
        }
        if to_requester
            && !merged
            && matches!(
                kind,
                Kind::TicketReceived | Kind::AgentReply | Kind::TicketStatus
            )
        {
            let link = portal::issue(
                conn,
                id,
                ticket.requester.id,
                None,
                settings.portal_token_days,
                &self.public_url,
            )?;
            context["portal_url"] = json!(link.url);
            let carried = self.files(conn, kind, &message_files, Some(&link.token), context)?;
            return Ok((Some(link.id), carried));
        }
        let carried = self.files(conn, kind, &message_files, None, context)?;
        Ok((None, carried))
    }

    /// Lists a message's files in `context["files"]`. A public answer to the
    /// requester carries them when they fit `attachments.max_mail_bytes`
    /// together; otherwise (and in every other mail) each is named, with a
    /// download link through the portal link when the mail has one.
    fn files(
        &self,
        conn: &Connection,
        kind: Kind,
        message_files: &[(crate::attachments::Upload, i64)],
        portal_token: Option<&str>,
        context: &mut Value,
    ) -> Result<Vec<MailFile>, Error> {
        if message_files.is_empty() {
            return Ok(Vec::new());
        }
        let total: i64 = message_files.iter().map(|(f, _)| f.size).sum();
        let carry = kind == Kind::AgentReply
            && u64::try_from(total).is_ok_and(|t| t <= self.max_mail_bytes);
        let listed: Vec<Value> = message_files
            .iter()
            .map(|(f, _)| {
                let url = (!carry).then_some(portal_token).flatten().map(|token| {
                    format!(
                        "{}/api/v1/portal/{token}/attachments/{}",
                        self.public_url, f.id
                    )
                });
                json!({ "filename": f.filename, "size": human_size(f.size), "url": url })
            })
            .collect();
        context["files"] = json!(listed);
        context["files_attached"] = json!(carry);
        if !carry {
            return Ok(Vec::new());
        }
        message_files
            .iter()
            .map(|(f, blob)| {
                Ok(MailFile {
                    filename: f.filename.clone(),
                    content_type: f.content_type.clone(),
                    bytes: store::read_all(conn, *blob)?,
                })
            })
            .collect()
    }

    /// `(In-Reply-To, References)`: the thread root, and the requester's last
    /// mail so their client threads our answer under it.
    fn threading(&self, conn: &Connection, ticket: TicketId) -> Result<(String, String), Error> {
        let root = format!("<{}>", self.identity.thread_root(&self.keys, ticket));
        let last_in: Option<String> = conn
            .prepare_cached(
                "SELECT message_id FROM mail_threads WHERE ticket_id = ?1 AND direction = 'in'
                 ORDER BY created_at DESC LIMIT 1",
            )?
            .query_row([ticket], |r| r.get(0))
            .optional()?;
        Ok(match last_in {
            Some(id) => (format!("<{id}>"), format!("{root} <{id}>")),
            None => (root.clone(), root),
        })
    }

    pub(super) fn build(
        &self,
        to: &Addressee<'_>,
        message_id: &str,
        ticket: Option<TicketId>,
        threading: Option<(String, String)>,
        (rendered, carried): (&Rendered, Vec<MailFile>),
        (identity, helpdesk_name): (&MailIdentity, &str),
    ) -> Result<Email, String> {
        let address = to
            .address
            .parse()
            .map_err(|e| format!("`{}` is not a deliverable address ({e})", to.address))?;
        let name = (to.name != to.address).then(|| to.name.to_string());
        let recipient = to.user;
        let mut builder = Email::builder()
            .from(identity.from.clone())
            .to(Mailbox::new(name, address))
            .message_id(Some(format!("<{message_id}>")))
            .date_now()
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                "All".into(),
            ));
        let subject = match ticket {
            Some(t) => {
                let reply = identity
                    .reply_address(&self.keys, t, recipient)
                    .parse()
                    .map_err(|e| format!("the reply address is not valid ({e})"))?;
                builder = builder.reply_to(Mailbox::new(Some(helpdesk_name.to_string()), reply));
                if let Some((in_reply_to, references)) = threading {
                    builder = builder.in_reply_to(in_reply_to).references(references);
                }
                tagged_subject(t, &rendered.subject)
            }
            None => rendered.subject.clone(),
        };
        let text = MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone());
        let body = if carried.is_empty() {
            text
        } else {
            carried
                .into_iter()
                .fold(MultiPart::mixed().multipart(text), |mixed, file| {
                    let kind = ContentType::parse(&file.content_type).unwrap_or_else(|_| {
                        ContentType::parse("application/octet-stream").expect("a valid type")
                    });
                    mixed.singlepart(Attachment::new(file.filename).body(file.bytes, kind))
                })
        };
        builder
            .subject(subject)
            .multipart(body)
            .map_err(|e| format!("cannot build the message: {e}"))
    }
}

/// A file a mail carries.
pub(super) struct MailFile {
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// `2.4 MB`, `512 KB`, `38 bytes`: sizes as mail readers expect them.
fn human_size(bytes: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if b >= 1_000_000.0 {
        format!("{:.1} MB", b / 1_000_000.0)
    } else if b >= 1_000.0 {
        format!("{:.0} KB", b / 1_000.0)
    } else {
        format!("{bytes} bytes")
    }
}

/// Whom a message goes to.
pub(super) struct Addressee<'a> {
    pub(super) address: &'a str,
    pub(super) name: &'a str,
    /// The account, when the recipient has one (binds the reply address).
    pub(super) user: Option<crate::users::UserId>,
}

/// The public chat lines of `ticket` from `first` on, by others than the
/// recipient, as one text ("Name: line" each).
pub(super) fn chat_since(
    conn: &Connection,
    ticket: TicketId,
    first: crate::ids::MessageId,
    recipient: Option<crate::users::UserId>,
) -> Result<String, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(u.name, ''), m.body FROM messages m LEFT JOIN users u ON u.id = m.author_id
         WHERE m.ticket_id = ?1 AND m.id >= ?2 AND m.internal = 0
           AND (m.author_id IS NULL OR m.author_id IS NOT ?3)
         ORDER BY m.id LIMIT 200",
    )?;
    let lines = stmt
        .query_map(params![ticket, first, recipient], |r| {
            Ok(format!(
                "{}: {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lines.join("\n"))
}
