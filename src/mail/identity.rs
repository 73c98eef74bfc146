//! How our mail is recognised: Message-IDs that carry the ticket id and a MAC,
//! reply addresses with a ticket reply token, and the `[#id]` subject tag.

use lettre::message::Mailbox;
use rusqlite::{params, Connection};

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::db::now;
use crate::error::Error;
use crate::ids::{TicketId, UserId};

/// Our sender address and the shape of our reply addresses.
#[derive(Debug, Clone)]
pub struct MailIdentity {
    pub from: Mailbox,
    /// Domain of our Message-IDs.
    pub domain: String,
    /// Reply address with `{token}` in it.
    reply_pattern: String,
    /// Neither `smtp.from` nor a mailbox names the sender: the support
    /// address of the settings does, when an admin has entered one.
    adopts_support_email: bool,
}

impl MailIdentity {
    /// The sender: `smtp.from` when it is set, else the first mailbox's
    /// `from` or address, else the default (which the settings' support
    /// address replaces at send time, see [`MailIdentity::adopting`]).
    pub fn new(config: &Config) -> Result<Self, Error> {
        let explicit = config.smtp.from != crate::config::SmtpConfig::default().from;
        let mailbox = config.mailboxes.first().filter(|_| !explicit);
        let text = match mailbox {
            Some(m) => m.from.clone().unwrap_or_else(|| m.address.clone()),
            None => config.smtp.from.clone(),
        };
        let from: Mailbox = text.parse().map_err(|e| {
            Error::Config(format!(
                "`smtp.from`: `{text}` is not an address like `Support <support@example.com>` ({e})"
            ))
        })?;
        let domain = from.email.domain().to_string();
        // Replies must reach a mailbox Helpline reads: the first configured
        // one, whatever the sender says; else the sender's own address.
        let watched = config
            .mailboxes
            .first()
            .and_then(|m| m.address.parse::<lettre::Address>().ok());
        let reply_pattern = config.mail.reply_address.clone().unwrap_or_else(|| {
            let base = watched.as_ref().unwrap_or(&from.email);
            format!("{}+{{token}}@{}", base.user(), base.domain())
        });
        Ok(Self {
            from,
            domain,
            reply_pattern,
            adopts_support_email: !explicit
                && mailbox.is_none()
                && config.mail.reply_address.is_none(),
        })
    }

    /// The identity to send with: this one, or, when nothing in the
    /// configuration names the sender, the support address an admin entered
    /// in the settings (its replies come back to it, `+token` and all).
    pub fn adopting(
        &self,
        helpdesk_name: &str,
        support_email: Option<&str>,
    ) -> std::borrow::Cow<'_, Self> {
        let adopted = support_email
            .filter(|_| self.adopts_support_email)
            .and_then(|address| address.parse::<lettre::Address>().ok());
        match adopted {
            Some(address) => std::borrow::Cow::Owned(Self {
                reply_pattern: format!("{}+{{token}}@{}", address.user(), address.domain()),
                from: Mailbox::new(Some(helpdesk_name.to_string()), address),
                domain: self.domain.clone(),
                adopts_support_email: false,
            }),
            None => std::borrow::Cow::Borrowed(self),
        }
    }

    /// The virtual first message of a ticket's thread; every mail about the
    /// ticket references it, so mail clients keep them together.
    pub fn thread_root(&self, keys: &JwtKeys, ticket: TicketId) -> String {
        self.message_id_with(keys, "root", ticket)
    }

    /// A new unique Message-ID (without angle brackets) about `ticket`.
    pub fn new_message_id(&self, keys: &JwtKeys, ticket: Option<TicketId>) -> String {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        match ticket {
            Some(ticket) => self.message_id_with(keys, &nonce, ticket),
            None => format!("hl.{nonce}@{}", self.domain),
        }
    }

    fn message_id_with(&self, keys: &JwtKeys, nonce: &str, ticket: TicketId) -> String {
        let mac = keys.mail_mac(&format!("msgid:{nonce}:{}", ticket.0));
        format!("hl.{nonce}.t{}.{mac}@{}", ticket.0, self.domain)
    }

    /// The reply address for `ticket` in mail to `recipient`, e.g.
    /// `support+t42u7-0123456789abcdef@example.com`. Binding the recipient
    /// lets an answer from an agent's address be trusted only when it comes
    /// through that agent's own link.
    pub fn reply_address(
        &self,
        keys: &JwtKeys,
        ticket: TicketId,
        recipient: Option<UserId>,
    ) -> String {
        self.reply_pattern
            .replace("{token}", &reply_token(keys, ticket, recipient))
    }

    /// Whether `address` is one of ours (the sender or a reply address): mail
    /// from it is a loop.
    pub fn is_own_address(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        if address == self.from.email.to_string().to_ascii_lowercase() {
            return true;
        }
        let pattern = self.reply_pattern.to_ascii_lowercase();
        let (prefix, suffix) = pattern.split_once("{token}").unwrap_or((&pattern, ""));
        address.len() > prefix.len() + suffix.len()
            && address.starts_with(prefix)
            && address.ends_with(suffix)
    }
}

/// `t<ticket>[u<user>]-<mac>`: names the ticket (and the person the mail
/// went to); the MAC stops anyone from making one up.
pub fn reply_token(keys: &JwtKeys, ticket: TicketId, recipient: Option<UserId>) -> String {
    match recipient {
        Some(user) => format!(
            "t{}u{}-{}",
            ticket.0,
            user.0,
            keys.mail_mac(&format!("reply:{}:{}", ticket.0, user.0))
        ),
        None => format!(
            "t{}-{}",
            ticket.0,
            keys.mail_mac(&format!("reply:{}", ticket.0))
        ),
    }
}

/// A valid reply token anywhere in an address's local part: the ticket and,
/// when the token names one, the person it was sent to.
pub fn ticket_of_reply_address(
    keys: &JwtKeys,
    address: &str,
) -> Option<(TicketId, Option<UserId>)> {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    let local = local.to_ascii_lowercase();
    local
        .match_indices('t')
        .find_map(|(i, _)| parse_reply_token(keys, &local[i..]))
}

fn parse_reply_token(keys: &JwtKeys, s: &str) -> Option<(TicketId, Option<UserId>)> {
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let rest = s.strip_prefix('t')?;
    let ticket = digits(rest);
    let mut rest = &rest[ticket.len()..];
    let mut user = None;
    if let Some(after) = rest.strip_prefix('u') {
        let id = digits(after);
        user = Some(id.parse::<i64>().ok()?);
        rest = &after[id.len()..];
    }
    let mac = rest.strip_prefix('-')?.get(..16)?;
    let ticket: i64 = ticket.parse().ok()?;
    let data = match user {
        Some(u) => format!("reply:{ticket}:{u}"),
        None => format!("reply:{ticket}"),
    };
    keys.verify_mail_mac(&data, mac)
        .then_some((TicketId(ticket), user.map(UserId)))
}

/// The ticket named by one of our Message-IDs (with or without brackets), if the MAC holds.
pub fn ticket_of_message_id(keys: &JwtKeys, message_id: &str) -> Option<TicketId> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let (local, _) = id.rsplit_once('@')?;
    let mut parts = local.split('.');
    let (Some("hl"), Some(nonce), Some(ticket), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let ticket: i64 = ticket.strip_prefix('t')?.parse().ok()?;
    keys.verify_mail_mac(&format!("msgid:{nonce}:{ticket}"), mac)
        .then_some(TicketId(ticket))
}

/// `[#42] subject`: the tag mail clients keep when people answer.
pub fn tagged_subject(ticket: TicketId, subject: &str) -> String {
    format!("[#{}] {subject}", ticket.0)
}

/// The ticket id in a `[#42]` tag anywhere in a subject.
pub fn ticket_of_subject(subject: &str) -> Option<TicketId> {
    subject.match_indices("[#").find_map(|(i, _)| {
        let rest = &subject[i + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || !rest[digits.len()..].starts_with(']') {
            return None;
        }
        digits.parse().ok().map(TicketId)
    })
}

/// Records a Message-ID sent or received about `ticket` (for reply matching).
pub fn remember_message_id(
    conn: &Connection,
    message_id: &str,
    ticket: TicketId,
    direction: &str,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO mail_threads (message_id, ticket_id, direction, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![message_id, ticket, direction, now()])?;
    Ok(())
}

/// Forgets the Message-IDs of a deleted ticket's mail.
pub fn forget_ticket(conn: &Connection, ticket: TicketId) -> Result<(), Error> {
    conn.execute("DELETE FROM mail_threads WHERE ticket_id = ?1", [ticket])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        let dir = tempfile::tempdir().unwrap();
        JwtKeys::load(
            Some(&crate::config::Secret::new(
                "a-test-secret-that-is-long-enough-1234",
            )),
            dir.path(),
        )
        .unwrap()
    }

    fn identity(reply: Option<&str>) -> MailIdentity {
        let mut config = Config::default();
        config.smtp.from = "Support <support@example.com>".into();
        config.mail.reply_address = reply.map(String::from);
        MailIdentity::new(&config).unwrap()
    }

    #[test]
    fn message_ids_name_their_ticket_and_cannot_be_forged() {
        let keys = keys();
        let id = identity(None);
        let mid = id.new_message_id(&keys, Some(TicketId(42)));
        assert!(mid.ends_with("@example.com"));
        assert_eq!(ticket_of_message_id(&keys, &mid), Some(TicketId(42)));
        assert_eq!(
            ticket_of_message_id(&keys, &format!("<{mid}>")),
            Some(TicketId(42))
        );
        let root = id.thread_root(&keys, TicketId(7));
        assert_eq!(ticket_of_message_id(&keys, &root), Some(TicketId(7)));
        assert_ne!(mid, id.new_message_id(&keys, Some(TicketId(42))));
        let forged = mid.replace(".t42.", ".t43.");
        assert_eq!(ticket_of_message_id(&keys, &forged), None);
        assert_eq!(ticket_of_message_id(&keys, "CAF=abc@mail.gmail.com"), None);
    }

    #[test]
    fn reply_addresses_carry_a_verifiable_token() {
        let keys = keys();
        let id = identity(None);
        let address = id.reply_address(&keys, TicketId(42), None);
        assert!(address.starts_with("support+t42-"), "{address}");
        assert!(address.ends_with("@example.com"));
        let ticket_only = Some((TicketId(42), None));
        assert_eq!(ticket_of_reply_address(&keys, &address), ticket_only);
        assert_eq!(
            ticket_of_reply_address(&keys, &address.to_uppercase()),
            ticket_only
        );
        assert_eq!(
            ticket_of_reply_address(&keys, &address.replace("t42-", "t41-")),
            None
        );
        let personal = id.reply_address(&keys, TicketId(42), Some(UserId(7)));
        assert!(personal.starts_with("support+t42u7-"), "{personal}");
        assert_eq!(
            ticket_of_reply_address(&keys, &personal),
            Some((TicketId(42), Some(UserId(7))))
        );
        assert_eq!(
            ticket_of_reply_address(&keys, &personal.replace("u7-", "u8-")),
            None
        );
        assert_eq!(ticket_of_reply_address(&keys, "support@example.com"), None);
        assert!(id.is_own_address(&address));
        assert!(id.is_own_address("SUPPORT@example.com"));
        assert!(!id.is_own_address("someone@example.com"));

        let custom = identity(Some("reply-{token}@in.example.com"));
        let address = custom.reply_address(&keys, TicketId(9), None);
        assert!(address.starts_with("reply-t9-"), "{address}");
        assert_eq!(
            ticket_of_reply_address(&keys, &address),
            Some((TicketId(9), None))
        );
    }

    #[test]
    fn subject_tags() {
        assert_eq!(tagged_subject(TicketId(5), "Printer"), "[#5] Printer");
        assert_eq!(ticket_of_subject("Re: [#5] Printer"), Some(TicketId(5)));
        assert_eq!(
            ticket_of_subject("AW: Re: [#123] x [#9]"),
            Some(TicketId(123))
        );
        assert_eq!(ticket_of_subject("[#] nothing [#x1]"), None);
        assert_eq!(ticket_of_subject("no tag"), None);
    }
}
