//! Ticket rules: who may see a ticket, which status may follow which and for
//! whom, and what subjects, bodies, tags, categories and types look like.

use super::model::TicketStatus;
use crate::actor::Actor;
use crate::error::{Error, FieldError};
use crate::ids::UserId;
use crate::settings::Settings;

pub const SUBJECT_MAX_CHARS: usize = 200;
pub const BODY_MAX_BYTES: usize = 64 * 1024;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 50;

/// Staff see every ticket; a customer sees the tickets they requested.
pub fn can_view(actor: &Actor, requester: UserId) -> bool {
    actor.role.is_staff() || actor.user_id() == Some(requester)
}

/// Checks a status change. Staff may make any allowed transition; the
/// requester may only close their ticket or reopen it.
pub fn check_transition(from: TicketStatus, to: TicketStatus, by_staff: bool) -> Result<(), Error> {
    use TicketStatus::{Closed, InProgress, Open, Pending, Resolved};
    if from == to {
        return Ok(());
    }
    if !by_staff {
        return match (from, to) {
            (_, Closed) | (Resolved | Closed, Open) => Ok(()),
            _ => Err(Error::Forbidden(
                "a requester may only close their ticket or reopen it".into(),
            )),
        };
    }
    let allowed = match from {
        Open | InProgress | Pending => true,
        Resolved => matches!(to, Open | Closed),
        Closed => to == Open,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Conflict(format!(
            "a {} ticket cannot become {}; reopen it first",
            from.as_str(),
            to.as_str()
        )))
    }
}

/// The status after a public reply: the requester answering a resolved or
/// pending ticket brings it back to `open`.
pub fn status_after_reply(
    current: TicketStatus,
    by_requester: bool,
    internal: bool,
) -> TicketStatus {
    match current {
        TicketStatus::Resolved | TicketStatus::Pending if by_requester && !internal => {
            TicketStatus::Open
        }
        other => other,
    }
}

pub fn normalize_subject(raw: &str) -> Result<String, FieldError> {
    let subject = raw.trim();
    if subject.is_empty() {
        return Err(FieldError::new("subject", "must not be empty"));
    }
    if subject.chars().count() > SUBJECT_MAX_CHARS {
        return Err(FieldError::new(
            "subject",
            format!("must be at most {SUBJECT_MAX_CHARS} characters"),
        ));
    }
    if subject.chars().any(char::is_control) {
        return Err(FieldError::new(
            "subject",
            "must be one line without control characters",
        ));
    }
    Ok(subject.to_string())
}

/// Message bodies are stored as given; only emptiness and size are checked.
pub fn check_body(field: &str, body: &str) -> Result<(), FieldError> {
    if body.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if body.len() > BODY_MAX_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {BODY_MAX_BYTES} bytes"),
        ));
    }
    if body.contains('\0') {
        return Err(FieldError::new(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// Lower-cases, trims, joins inner spaces with `-`, drops duplicates, keeps order.
pub fn normalize_tags(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag
            .trim()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-");
        if tag.is_empty() {
            return Err(FieldError::new("tags", "tags must not be empty"));
        }
        if tag.chars().count() > TAG_MAX_CHARS {
            return Err(FieldError::new(
                "tags",
                format!("each tag must be at most {TAG_MAX_CHARS} characters"),
            ));
        }
        if !tag
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
        {
            return Err(FieldError::new(
                "tags",
                format!("`{tag}` may hold letters, digits and - _ . : / only"),
            ));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > TAGS_MAX {
        return Err(FieldError::new("tags", format!("at most {TAGS_MAX} tags")));
    }
    Ok(tags)
}

/// A category or type must be one of the admin-managed names (matched without case).
pub fn check_label(
    field: &str,
    value: Option<&str>,
    settings: &Settings,
) -> Result<Option<String>, FieldError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let allowed = if field == "category" {
        &settings.categories
    } else {
        &settings.types
    };
    allowed
        .iter()
        .find(|name| name.eq_ignore_ascii_case(value))
        .cloned()
        .map(Some)
        .ok_or_else(|| {
            let list = if allowed.is_empty() {
                "none are configured".to_string()
            } else {
                allowed.join(", ")
            };
            FieldError::new(field, format!("`{value}` is not a known {field} ({list})"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::{Closed, InProgress, Open, Pending, Resolved};

    #[test]
    fn staff_transitions() {
        for from in [Open, InProgress, Pending] {
            for to in TicketStatus::ALL {
                assert!(
                    check_transition(from, *to, true).is_ok(),
                    "{from:?} -> {to:?}"
                );
            }
        }
        assert!(check_transition(Resolved, Open, true).is_ok());
        assert!(check_transition(Resolved, Closed, true).is_ok());
        assert!(matches!(
            check_transition(Resolved, Pending, true),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            check_transition(Resolved, InProgress, true),
            Err(Error::Conflict(_))
        ));
        assert!(check_transition(Closed, Open, true).is_ok());
        for to in [InProgress, Pending, Resolved] {
            assert!(
                matches!(check_transition(Closed, to, true), Err(Error::Conflict(_))),
                "closed -> {to:?}"
            );
        }
    }

    #[test]
    fn requester_may_only_close_or_reopen() {
        for from in TicketStatus::ALL {
            assert!(
                check_transition(*from, Closed, false).is_ok(),
                "close from {from:?}"
            );
        }
        assert!(check_transition(Resolved, Open, false).is_ok());
        assert!(check_transition(Closed, Open, false).is_ok());
        for (from, to) in [
            (Open, Resolved),
            (Open, Pending),
            (Open, InProgress),
            (Pending, Open),
            (InProgress, Open),
            (Closed, Resolved),
        ] {
            assert!(
                matches!(check_transition(from, to, false), Err(Error::Forbidden(_))),
                "{from:?} -> {to:?}"
            );
        }
        assert!(
            check_transition(Open, Open, false).is_ok(),
            "no change is no transition"
        );
    }

    #[test]
    fn requester_replies_reopen_resolved_and_pending() {
        assert_eq!(status_after_reply(Resolved, true, false), Open);
        assert_eq!(status_after_reply(Pending, true, false), Open);
        assert_eq!(status_after_reply(InProgress, true, false), InProgress);
        assert_eq!(
            status_after_reply(Resolved, false, false),
            Resolved,
            "agent replies change nothing"
        );
        assert_eq!(status_after_reply(Pending, true, true), Pending);
    }

    #[test]
    fn tags_are_normalised() {
        let tags = normalize_tags(&[
            "  VIP ".into(),
            "vip".into(),
            "Big   Deal".into(),
            "a:b".into(),
        ])
        .unwrap();
        assert_eq!(tags, ["vip", "big-deal", "a:b"]);
        assert!(normalize_tags(&[" ".into()]).is_err());
        assert!(normalize_tags(&["<script>".into()]).is_err());
        assert!(normalize_tags(&["x".repeat(51)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(normalize_tags(&many).is_err());
    }

    #[test]
    fn subjects_and_bodies() {
        assert_eq!(
            normalize_subject("  Printer on fire ").unwrap(),
            "Printer on fire"
        );
        assert!(normalize_subject("").is_err());
        assert!(normalize_subject("two\nlines").is_err());
        assert!(normalize_subject(&"x".repeat(201)).is_err());
        assert!(check_body("body", "  ").is_err());
        assert!(check_body("body", "<b>stored as given</b>").is_ok());
        assert!(check_body("body", &"x".repeat(BODY_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn labels_come_from_settings() {
        let settings = Settings::default();
        assert_eq!(
            check_label("category", Some("Billing"), &settings)
                .unwrap()
                .as_deref(),
            Some("billing")
        );
        assert!(check_label("category", Some("astrology"), &settings).is_err());
        assert_eq!(check_label("type", None, &settings).unwrap(), None);
        assert!(check_label("type", Some("incident"), &settings).is_ok());
    }
}
