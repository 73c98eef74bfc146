//! Reading a raw message: addresses, ids, subject, text, and whether it is
//! mail to ignore (auto-replies, bounces, our own mail coming back).

use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders as _};

use crate::auth::tokens::secret_hash;
use crate::auth::JwtKeys;
use crate::error::Error;
use crate::mail::identity::ticket_of_message_id;
use crate::mail::quote::strip_reply;
use crate::mail::MailIdentity;

/// Dedupe key of a message without a Message-ID: this prefix and its digest.
pub(super) const SYNTHETIC_ID_PREFIX: &str = "sha256:";

/// What the parser found; everything needed to file the message.
pub(super) struct Parsed {
    pub(super) message_id: String,
    pub(super) from_address: Option<String>,
    pub(super) from_name: Option<String>,
    pub(super) subject: String,
    pub(super) body: String,
    pub(super) recipients: Vec<String>,
    pub(super) references: Vec<String>,
    pub(super) ignore: Option<String>,
    /// Attachments and inline images, forwarded mails' files included.
    pub(super) files: Vec<MailFile>,
}

/// A file found in a mail.
pub(super) struct MailFile {
    pub(super) name: String,
    pub(super) content_type: Option<String>,
    pub(super) content_id: Option<String>,
    pub(super) bytes: Vec<u8>,
    /// Its searchable text, read before the filing transaction.
    pub(super) text: Option<String>,
}

impl MailFile {
    pub(super) fn read_text(&mut self) {
        let name = crate::attachments::names::clean_filename(&self.name);
        let kind = crate::attachments::names::content_type(
            self.content_type.as_deref(),
            &name,
            &self.bytes[..self.bytes.len().min(512)],
        );
        self.text = crate::attachments::text::of_bytes(&self.bytes, &kind, &name);
    }
}

pub(super) fn parse(raw: &[u8], keys: &JwtKeys, identity: &MailIdentity) -> Result<Parsed, Error> {
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
    let mut files = Vec::new();
    collect_files(&message, 0, &mut files);
    Ok(Parsed {
        message_id,
        from_address,
        from_name,
        subject,
        body,
        recipients,
        references,
        ignore,
        files,
    })
}

/// Forwarded mails inside forwarded mails are followed this deep.
const MAX_NESTING: usize = 3;

/// The files of `message`: each attachment or inline part; a forwarded mail
/// is kept whole (as `.eml`) and its own files are taken out beside it.
fn collect_files(message: &Message<'_>, depth: usize, out: &mut Vec<MailFile>) {
    for (n, part) in message.attachments().enumerate() {
        let content_type = part.content_type().map(|ct| match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub),
            None => ct.c_type.to_string(),
        });
        let nested = part.message();
        let name = part.attachment_name().map_or_else(
            || {
                let subject = nested
                    .and_then(Message::subject)
                    .map(str::trim)
                    .filter(|s| !s.is_empty());
                match (subject, &content_type) {
                    (Some(subject), _) => format!("{subject}.eml"),
                    (None, Some(t)) if t.starts_with("image/") => {
                        format!("image-{}.{}", n + 1, t.trim_start_matches("image/"))
                    }
                    _ => format!("attachment-{}", n + 1),
                }
            },
            str::to_string,
        );
        out.push(MailFile {
            name,
            content_type: if nested.is_some() {
                Some("message/rfc822".into())
            } else {
                content_type
            },
            content_id: part
                .content_id()
                .map(|id| id.trim().trim_matches(['<', '>']).to_string())
                .filter(|id| !id.is_empty()),
            bytes: part.contents().to_vec(),
            text: None,
        });
        if let Some(inner) = nested.filter(|_| depth < MAX_NESTING) {
            collect_files(inner, depth + 1, out);
        }
    }
}

pub(super) fn collect_addresses(value: &HeaderValue<'_>, out: &mut Vec<String>) {
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

pub(super) fn collect_ids(value: &HeaderValue<'_>, out: &mut Vec<String>) {
    match value {
        HeaderValue::Text(id) => out.push(id.trim().to_string()),
        HeaderValue::TextList(ids) => out.extend(ids.iter().map(|i| i.trim().to_string())),
        _ => {}
    }
}

/// Auto-replies, bounces and our own mail are not conversation.
pub(super) fn reason_to_ignore(
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
