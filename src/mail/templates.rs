//! Mail templates: text and HTML twins, compiled in, each replaceable by a
//! file of the same name in `mail.templates_dir`. The first line of a text
//! template is the subject; the text body follows the blank line after it.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::error::Error;

/// Every template there is, by name (each has `.txt` and `.html`, but `layout`
/// which is HTML only).
pub const NAMES: &[&str] = &[
    "ticket_received",
    "agent_reply",
    "ticket_status",
    "ticket_assigned",
    "requester_reply",
    "followed_message",
    "new_ticket",
    "password_reset",
    "invite",
    "verify_email",
    "sla_alert",
    "test",
];

const BUILT_IN: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    (
        "ticket_received.txt",
        include_str!("templates/ticket_received.txt"),
    ),
    (
        "ticket_received.html",
        include_str!("templates/ticket_received.html"),
    ),
    ("agent_reply.txt", include_str!("templates/agent_reply.txt")),
    (
        "agent_reply.html",
        include_str!("templates/agent_reply.html"),
    ),
    (
        "ticket_status.txt",
        include_str!("templates/ticket_status.txt"),
    ),
    (
        "ticket_status.html",
        include_str!("templates/ticket_status.html"),
    ),
    (
        "ticket_assigned.txt",
        include_str!("templates/ticket_assigned.txt"),
    ),
    (
        "ticket_assigned.html",
        include_str!("templates/ticket_assigned.html"),
    ),
    (
        "requester_reply.txt",
        include_str!("templates/requester_reply.txt"),
    ),
    (
        "requester_reply.html",
        include_str!("templates/requester_reply.html"),
    ),
    (
        "followed_message.txt",
        include_str!("templates/followed_message.txt"),
    ),
    (
        "followed_message.html",
        include_str!("templates/followed_message.html"),
    ),
    ("new_ticket.txt", include_str!("templates/new_ticket.txt")),
    ("new_ticket.html", include_str!("templates/new_ticket.html")),
    (
        "password_reset.txt",
        include_str!("templates/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("templates/password_reset.html"),
    ),
    (
        "verify_email.txt",
        include_str!("templates/verify_email.txt"),
    ),
    (
        "verify_email.html",
        include_str!("templates/verify_email.html"),
    ),
    ("invite.txt", include_str!("templates/invite.txt")),
    ("invite.html", include_str!("templates/invite.html")),
    ("sla_alert.txt", include_str!("templates/sla_alert.txt")),
    ("sla_alert.html", include_str!("templates/sla_alert.html")),
    ("test.txt", include_str!("templates/test.txt")),
    ("test.html", include_str!("templates/test.html")),
];

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, with the files found in `dir` replacing theirs.
    /// Every template is compiled here, so a broken override stops the start.
    pub fn load(dir: Option<&Path>) -> Result<Self, Error> {
        let mut env = Environment::new();
        for (name, source) in BUILT_IN {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| {
                    Error::io(
                        format!("cannot read the mail template {}", path.display()),
                        e,
                    )
                })?,
                None => (*source).to_string(),
            };
            env.add_template_owned(*name, source).map_err(|e| {
                Error::Config(format!(
                    "`mail.templates_dir`: template {name} does not compile: {e}"
                ))
            })?;
        }
        Ok(Self { env })
    }

    /// Renders `name` (one of [`NAMES`]) with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<Rendered, Error> {
        let fail =
            |e: minijinja::Error| Error::Internal(format!("rendering mail template {name}: {e}"));
        let context = minijinja::Value::from(minijinja::value::Serde(context));
        let text = self
            .env
            .get_template(&format!("{name}.txt"))
            .map_err(fail)?
            .render(context.clone())
            .map_err(fail)?;
        let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = subject.trim().to_string();
        let html_context = minijinja::context! { subject => subject.clone(), ..context };
        let html = self
            .env
            .get_template(&format!("{name}.html"))
            .map_err(fail)?
            .render(html_context)
            .map_err(fail)?;
        Ok(Rendered {
            subject,
            text: body.trim_start_matches('\n').trim_end().to_string() + "\n",
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> serde_json::Value {
        json!({
            "helpdesk_name": "Acme Help",
            "base_url": "https://help.example.com",
            "transport": "smtp://mail:587",
            "recipient": { "name": "Ana", "email": "ana@example.com" },
            "requester": { "name": "Ana", "email": "ana@example.com" },
            "ticket": { "id": 42, "subject": "Printer <on fire>", "priority": "high", "channel": "email", "status": "resolved" },
            "message": { "body": "It smokes & beeps", "body_html": crate::markdown::to_html("It smokes & beeps"), "author_name": "Bob" },
            "status": "resolved",
            "status_label": "resolved",
            "portal_url": "https://help.example.com/portal/abc",
            "ticket_url": "https://help.example.com/tickets/42",
            "link": "https://help.example.com/reset-password#token=x",
            "sla": { "stage": "breach", "target": "first_response", "target_label": "first response", "due_at": "2026-03-09T12:00:00.000Z" },
        })
    }

    #[test]
    fn every_template_renders_with_a_subject_and_both_bodies() {
        let templates = Templates::load(None).unwrap();
        for name in NAMES {
            let r = templates.render(name, &context()).unwrap();
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{name}");
            assert!(r.text.len() > 20, "{name}: {}", r.text);
            assert!(r.html.contains("<html"), "{name}");
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let templates = Templates::load(None).unwrap();
        let r = templates.render("agent_reply", &context()).unwrap();
        assert_eq!(r.subject, "Printer <on fire>");
        assert!(r.text.contains("It smokes & beeps"));
        assert!(r.html.contains("It smokes &amp; beeps"));
        assert!(r.html.contains("&lt;on fire&gt;"));
    }

    #[test]
    fn a_folder_overrides_one_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("invite.txt"),
            "Welcome {{ recipient.name }}\n\nGo: {{ link }}\n",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let r = templates.render("invite", &context()).unwrap();
        assert_eq!(r.subject, "Welcome Ana");
        assert_eq!(
            r.text,
            "Go: https://help.example.com/reset-password#token=x\n"
        );
        std::fs::write(dir.path().join("test.txt"), "{% if %}").unwrap();
        assert!(Templates::load(Some(dir.path())).is_err());
    }
}
