//! Delivery bodies: the signed JSON envelope, and the incoming-webhook
//! message shapes of Slack, Microsoft Teams and Discord (one readable line
//! with the ticket's link, subject, requester and status).

use hmac::{Hmac, Mac as _};
use serde_json::{json, Value};
use sha2::Sha256;

use super::model::Format;

/// What a readable line says about the ticket of an event.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub ticket_id: Option<i64>,
    pub subject: Option<String>,
    pub requester: Option<String>,
    pub status: Option<String>,
    /// Who wrote, for `message.created`.
    pub author: Option<String>,
    pub internal: bool,
}

impl Summary {
    /// Reads what the event's data says (a ticket, or a message with its
    /// ticket id); `ticket`, the ticket as it is now, fills the rest.
    pub fn from_event(data: &Value, ticket: Option<&Value>) -> Self {
        let is_ticket = data.get("subject").is_some();
        let t = if is_ticket { Some(data) } else { ticket };
        let requester = t.and_then(|t| {
            let r = &t["requester"];
            let email = r["email"].as_str()?;
            Some(match r["name"].as_str().filter(|n| !n.is_empty()) {
                Some(name) => format!("{name} <{email}>"),
                None => email.to_string(),
            })
        });
        Self {
            ticket_id: data["ticket_id"]
                .as_i64()
                .or_else(|| is_ticket.then(|| data["id"].as_i64()).flatten())
                .or_else(|| t.and_then(|t| t["id"].as_i64())),
            subject: t.and_then(|t| t["subject"].as_str()).map(String::from),
            requester,
            status: t.and_then(|t| t["status"].as_str()).map(String::from),
            author: (!is_ticket)
                .then(|| data["author"]["name"].as_str().map(String::from))
                .flatten(),
            internal: data["internal"].as_bool().unwrap_or(false),
        }
    }
}

/// What happened, in words.
fn what(event: &str, s: &Summary) -> String {
    match event {
        "ticket.created" => "New ticket".into(),
        "ticket.updated" => "Ticket updated".into(),
        "ticket.assigned" => "Ticket assigned".into(),
        "ticket.deleted" => "Ticket deleted".into(),
        "message.created" => {
            let by = s.author.as_deref().unwrap_or("someone");
            if s.internal {
                format!("Internal note by {by}")
            } else {
                format!("New message from {by}")
            }
        }
        "ticket.sla_warning" => "Service-level target near".into(),
        "ticket.sla_breached" => "Service-level target missed".into(),
        "ping" => "Test delivery from Helpline".into(),
        other => other.to_string(),
    }
}

/// The parts of the readable line, each already escaped by `esc`.
struct Line {
    what: String,
    title: Option<String>,
    rest: String,
}

fn line(event: &str, s: &Summary, esc: impl Fn(&str) -> String) -> Line {
    let title = s.ticket_id.map(|id| {
        let subject = s.subject.as_deref().unwrap_or("");
        esc(&format!("#{id} {subject}")
            .chars()
            .take(200)
            .collect::<String>())
    });
    let mut rest = Vec::new();
    if let Some(r) = &s.requester {
        rest.push(format!("from {}", esc(r)));
    }
    if let Some(status) = &s.status {
        rest.push(format!("status {}", esc(status)));
    }
    Line {
        what: esc(&what(event, s)),
        title,
        rest: rest.join(" · "),
    }
}

/// Slack escapes `&`, `<` and `>` in message text.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Discord and Teams read Markdown: its marks are escaped.
fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\*_~`|>[]()#<@".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The body of a delivery in `format`. `envelope` is the JSON form
/// (`{id, event, created_at, data}`); `link` the ticket's page, if any.
pub fn body(
    format: Format,
    event: &str,
    envelope: &Value,
    s: &Summary,
    link: Option<&str>,
) -> Value {
    match format {
        Format::Json => envelope.clone(),
        Format::Slack => {
            let l = line(event, s, slack_escape);
            let title = match (&l.title, link) {
                (Some(t), Some(url)) => format!(" <{url}|{t}>"),
                (Some(t), None) => format!(" {t}"),
                _ => String::new(),
            };
            let rest = if l.rest.is_empty() {
                String::new()
            } else {
                format!(" ({})", l.rest)
            };
            json!({ "text": format!("*{}*:{title}{rest}", l.what) })
        }
        Format::Discord => {
            let l = line(event, s, markdown_escape);
            let title = match (&l.title, link) {
                (Some(t), Some(url)) => format!(" [{t}](<{url}>)"),
                (Some(t), None) => format!(" {t}"),
                _ => String::new(),
            };
            let rest = if l.rest.is_empty() {
                String::new()
            } else {
                format!(" ({})", l.rest)
            };
            let content: String = format!("**{}**:{title}{rest}", l.what)
                .chars()
                .take(2000)
                .collect();
            json!({ "content": content, "allowed_mentions": { "parse": [] } })
        }
        Format::Teams => {
            let l = line(event, s, markdown_escape);
            let mut text = format!("**{}**", l.what);
            if let Some(t) = &l.title {
                text.push_str(": ");
                text.push_str(t);
            }
            if !l.rest.is_empty() {
                text.push_str(" (");
                text.push_str(&l.rest);
                text.push(')');
            }
            let actions = link.map_or_else(Vec::new, |url| {
                vec![json!({ "type": "Action.OpenUrl", "title": "Open ticket", "url": url })]
            });
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [{ "type": "TextBlock", "text": text, "wrap": true }],
                        "actions": actions,
                    }
                }]
            })
        }
    }
}

/// `Helpline-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, unix_secs: u64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_secs},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket_summary() -> Summary {
        Summary::from_event(
            &json!({"id": 12, "subject": "Printer <on> *fire*", "status": "open",
                    "requester": {"name": "Ann", "email": "ann@example.com"}}),
            None,
        )
    }

    #[test]
    fn slack_line_links_the_ticket_and_escapes_the_subject() {
        let body = body(
            Format::Slack,
            "ticket.created",
            &json!({}),
            &ticket_summary(),
            Some("https://h/tickets/12"),
        );
        assert_eq!(
            body["text"],
            "*New ticket*: <https://h/tickets/12|#12 Printer &lt;on&gt; *fire*> (from Ann &lt;ann@example.com&gt; · status open)"
        );
    }

    #[test]
    fn discord_mentions_nobody_and_escapes_markdown() {
        let body = body(
            Format::Discord,
            "ticket.created",
            &json!({}),
            &ticket_summary(),
            Some("https://h/tickets/12"),
        );
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        let content = body["content"].as_str().unwrap();
        assert!(
            content.contains(r"[\#12 Printer \<on\> \*fire\*](<https://h/tickets/12>)"),
            "{content}"
        );
    }

    #[test]
    fn teams_card_has_the_line_and_a_button() {
        let body = body(
            Format::Teams,
            "ticket.created",
            &json!({}),
            &ticket_summary(),
            Some("https://h/tickets/12"),
        );
        let card = &body["attachments"][0]["content"];
        assert!(card["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("from Ann"));
        assert_eq!(card["actions"][0]["url"], "https://h/tickets/12");
    }

    #[test]
    fn a_message_event_names_its_author_and_ticket() {
        let s = Summary::from_event(
            &json!({"ticket_id": 7, "internal": true, "author": {"name": "Bo"}}),
            Some(
                &json!({"id": 7, "subject": "Hi", "status": "pending", "requester": {"email": "c@x"}}),
            ),
        );
        let body = body(Format::Slack, "message.created", &json!({}), &s, None);
        assert_eq!(
            body["text"],
            "*Internal note by Bo*: #7 Hi (from c@x · status pending)"
        );
    }

    #[test]
    fn signature_is_hmac_of_time_dot_body() {
        // Known answer: HMAC-SHA256("key", "1.x").
        let sig = signature("key", 1, b"x");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1.x");
        assert_eq!(
            sig,
            format!("t=1,v1={}", hex::encode(mac.finalize().into_bytes()))
        );
    }
}
