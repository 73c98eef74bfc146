//! What the domain checks in request bodies, said in the OpenAPI document:
//! lengths, ranges and patterns, taken from the same constants the checks use.
//!
//! A pattern here never admits less than the server accepts (so a request that
//! breaks it is always refused); for ASCII text it admits exactly what the
//! server accepts. Rules the schema cannot state (an unknown id, a category
//! that is not configured, a search without words) still answer 422.

use serde_json::{json, Value};

use crate::paging::MAX_PER_PAGE;
use crate::tickets::rules::{BODY_MAX_BYTES, SUBJECT_MAX_CHARS, TAGS_MAX, TAG_MAX_CHARS};
use crate::users::{EMAIL_MAX_BYTES, NAME_MAX_CHARS, PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS};

/// Control characters: C0, DEL and C1 (`char::is_control`).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// White space as Rust's `trim` and `split_whitespace` see it (Unicode
/// `White_Space`); a pattern's `\s` would also take `\x1c`-`\x1f`.
const SPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A line of text, trimmed: 1 to `max` characters between its first and
/// last non-space, no control characters.
fn line(max: usize) -> Value {
    let inner = max.saturating_sub(2);
    json!({
        "pattern": format!(
            "^[{SPACE}]*[^{SPACE}{CONTROL}]([^{CONTROL}]{{0,{inner}}}[^{SPACE}{CONTROL}])?[{SPACE}]*$"
        ),
    })
}

/// A message body: something besides white space, no NUL.
fn body() -> Value {
    json!({
        "pattern": format!(r"^[^\x00]*[^{SPACE}\x00][^\x00]*$"),
        "maxLength": BODY_MAX_BYTES,
        "description": format!("Plain text (Markdown allowed), at most {BODY_MAX_BYTES} bytes in UTF-8."),
    })
}

/// An email address as `users::normalize_email` takes it; `padded`: with
/// surrounding spaces, which are trimmed. (No look-arounds: generators read
/// these patterns too. The local part's 64-byte limit is a second pattern.)
fn email(padded: bool) -> Value {
    const LOCAL: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
    let space = if padded {
        format!("[{SPACE}]*")
    } else {
        String::new()
    };
    json!({
        "pattern": format!(
            r"^{space}{LOCAL}+(\.{LOCAL}+)*@[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)*\.[A-Za-z0-9-]*[A-Za-z0-9]{space}$"
        ),
        "allOf": [{ "pattern": format!(r"^{space}[^@]{{1,64}}@") }],
        "maxLength": EMAIL_MAX_BYTES,
    })
}

/// A new password.
fn new_password() -> Value {
    json!({
        "minLength": PASSWORD_MIN_CHARS,
        "maxLength": PASSWORD_MAX_BYTES,
        "pattern": r"^[^\x00]*$",
        "description": format!(
            "{PASSWORD_MIN_CHARS} characters or more, at most {PASSWORD_MAX_BYTES} bytes in UTF-8 (bcrypt's limit)."
        ),
    })
}

fn id() -> Value {
    json!({ "minimum": 1 })
}

/// Tags: words of letters, digits and `- _ . : /`, trimmed and at most
/// `TAG_MAX_CHARS` long (inner spaces become one `-` each).
fn tags() -> Value {
    const WORD: &str = "-A-Za-z0-9_.:/";
    let inner = TAG_MAX_CHARS - 2;
    json!({
        "maxItems": TAGS_MAX,
        "items": {
            "type": "string",
            "pattern": format!(r"^[{SPACE}]*[{WORD}]([{WORD}{SPACE}]{{0,{inner}}}[{WORD}])?[{SPACE}]*$"),
        },
    })
}

/// A phone number as the support form takes it: 5 to 20 digits among
/// `+ - ( ) .` and spaces; blank means none.
fn contact_phone() -> Value {
    json!({
        "pattern": format!(r"^[{SPACE}]*$|^[{SPACE}]*[0-9 +().-]{{1,32}}[{SPACE}]*$"),
        "allOf": [{ "pattern": format!(r"^[{SPACE}]*$|^([^0-9]*[0-9]){{5,20}}[^0-9]*$") }],
    })
}

/// A phone number in international form, as the settings take it: `+`, then
/// 7 to 15 digits among spaces, `-` and parentheses.
fn settings_phone() -> Value {
    json!({
        "pattern": r"^\+[0-9 ()-]*$",
        "allOf": [{ "pattern": r"^([^0-9]*[0-9]){7,15}[^0-9]*$" }],
    })
}

/// Labels (categories, types): distinct, 1 to 50 characters, no surrounding
/// spaces or control characters.
fn labels() -> Value {
    json!({
        "maxItems": 50,
        "uniqueItems": true,
        "items": {
            "type": "string",
            "pattern": format!("^[^{SPACE}{CONTROL}]([^{CONTROL}]*[^{SPACE}{CONTROL}])?$"),
            "maxLength": 50,
        },
    })
}

/// `(schema, property, constraints)` for every checked request property.
pub fn rules() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("RegisterRequest", "email", email(true)),
        ("RegisterRequest", "name", line(NAME_MAX_CHARS)),
        ("RegisterRequest", "password", new_password()),
        ("SetupRequest", "email", email(true)),
        ("SetupRequest", "name", line(NAME_MAX_CHARS)),
        ("SetupRequest", "password", new_password()),
        ("AcceptInvite", "password", new_password()),
        ("PasswordResetConfirm", "password", new_password()),
        ("CreateUser", "email", email(true)),
        ("CreateUser", "name", line(NAME_MAX_CHARS)),
        ("CreateUser", "password", new_password()),
        ("UpdateUser", "name", line(NAME_MAX_CHARS)),
        ("UpdateMe", "name", line(NAME_MAX_CHARS)),
        ("UpdateMe", "password", new_password()),
        ("CreateApiKey", "name", line(NAME_MAX_CHARS)),
        ("CreateTicket", "subject", line(SUBJECT_MAX_CHARS)),
        ("CreateTicket", "body", body()),
        ("CreateTicket", "tags", tags()),
        ("CreateTicket", "requester_id", id()),
        ("CreateTicket", "requester_email", email(true)),
        ("CreateTicket", "requester_name", line(NAME_MAX_CHARS)),
        ("UpdateTicket", "subject", line(SUBJECT_MAX_CHARS)),
        ("UpdateTicket", "tags", tags()),
        ("UpdateTicket", "assignee_id", id()),
        ("AssignTicket", "assignee_id", id()),
        ("NewMessage", "body", body()),
        ("PortalMessage", "body", body()),
        ("PortalMessage", "ticket_id", id()),
        ("PortalTicket", "subject", line(SUBJECT_MAX_CHARS)),
        ("PortalTicket", "body", body()),
        ("IssuePortalToken", "ticket_id", id()),
        (
            "NewSavedReply",
            "title",
            line(crate::replies::TITLE_MAX_CHARS),
        ),
        ("NewSavedReply", "body", body()),
        (
            "UpdateSavedReply",
            "title",
            line(crate::replies::TITLE_MAX_CHARS),
        ),
        ("UpdateSavedReply", "body", body()),
        ("RenderFor", "ticket_id", id()),
        ("MergeInto", "into", id()),
        (
            "BulkRequest",
            "ids",
            json!({ "minItems": 1, "maxItems": crate::tickets::bulk::MAX_TICKETS }),
        ),
        (
            "UpdateMe",
            "signature",
            json!({ "maxLength": crate::users::manage::SIGNATURE_MAX_CHARS, "pattern": r"^[^\x00]*$" }),
        ),
        (
            "IssuePortalToken",
            "expires_in_days",
            json!({ "minimum": 1, "maximum": 30 }),
        ),
        (
            "SupportRequestBody",
            "channel",
            json!({ "enum": ["email", "chat", "phone", "web"] }),
        ),
        ("SupportRequestBody", "name", line(NAME_MAX_CHARS)),
        ("SupportRequestBody", "email", email(true)),
        ("SupportRequestBody", "phone", contact_phone()),
        ("SupportRequestBody", "subject", line(SUBJECT_MAX_CHARS)),
        ("SupportRequestBody", "message", body()),
        (
            "Settings",
            "helpdesk_name",
            json!({ "pattern": format!(r"^[{SPACE}]*[^{SPACE}]([\s\S]{{0,98}}[^{SPACE}])?[{SPACE}]*$") }),
        ),
        ("Settings", "support_email", email(false)),
        ("Settings", "phone_number", settings_phone()),
        ("Settings", "whatsapp_number", settings_phone()),
        ("Settings", "categories", labels()),
        ("Settings", "types", labels()),
        (
            "Settings",
            "portal_token_days",
            json!({ "minimum": 1, "maximum": 30 }),
        ),
    ]
}

/// A positive id as a query parameter.
fn query_id() -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX })
}

/// `true`/`false`, also `1`/`0` (`http::query::parse_bool`).
fn query_bool() -> Value {
    json!({ "type": "string", "enum": ["true", "false", "1", "0"] })
}

/// An RFC 3339 time (`http::query::parse_time`).
fn query_time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

/// One of `names` or several, comma-separated; blank means no filter.
fn query_list(names: &[&str]) -> Value {
    let one = names.join("|");
    json!({
        "type": "string",
        "pattern": format!(r"^[{SPACE}]*$|^[{SPACE}]*({one})[{SPACE}]*(,[{SPACE}]*({one})[{SPACE}]*)*$"),
    })
}

/// A sort field of `allowed`, `-` first for descending; blank is the default.
fn query_sort<T>(allowed: &[(&str, T)]) -> Value {
    let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
    json!({
        "type": "string",
        "pattern": format!(r"^[{SPACE}]*$|^[{SPACE}]*-?({})[{SPACE}]*$", names.join("|")),
    })
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The schema of query parameter `name` of the operation at `path`, where the
/// handler reads it as text and checks it itself.
pub fn query(path: &str, name: &str) -> Option<Value> {
    use crate::notify::outbox::NotificationStatus;
    use crate::tickets::{list::TicketSort, Channel, Priority, TicketStatus};
    use crate::users::repo::UserSort;
    Some(match (path, name) {
        (_, "page") => json!({ "type": "integer", "minimum": 1, "maximum": 1_000_000 }),
        (_, "per_page") => json!({ "type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE }),
        ("/api/v1/tickets", "status") => {
            query_list(&names(TicketStatus::ALL, TicketStatus::as_str))
        }
        ("/api/v1/tickets", "priority") => query_list(&names(Priority::ALL, Priority::as_str)),
        ("/api/v1/tickets", "channel") => {
            json!({ "type": "string", "enum": names(Channel::ALL, Channel::as_str) })
        }
        ("/api/v1/tickets", "assignee_id" | "requester_id")
        | ("/api/v1/admin/audit", "ticket_id" | "actor_id")
        | ("/api/v1/admin/email-log" | "/api/v1/events", "ticket_id") => query_id(),
        ("/api/v1/tickets", "unassigned") | ("/api/v1/users", "active") => query_bool(),
        ("/api/v1/tickets", "created_after" | "updated_after")
        | ("/api/v1/tickets/stats", "since") => query_time(),
        ("/api/v1/tickets", "q") => {
            json!({ "type": "string", "maxLength": crate::tickets::search::QUERY_MAX_CHARS })
        }
        ("/api/v1/tickets", "sort") => query_sort(TicketSort::ALLOWED),
        // Any name: the stored one is made safe.
        ("/api/v1/uploads" | "/api/v1/portal/{token}/uploads", "filename") => {
            json!({ "type": "string" })
        }
        ("/api/v1/users", "sort") => query_sort(UserSort::ALLOWED),
        ("/api/v1/users", "role") => {
            json!({ "type": "string", "enum": ["customer", "agent", "admin"] })
        }
        ("/api/v1/admin/email-log", "status") => {
            let one = names(NotificationStatus::ALL, NotificationStatus::as_str).join("|");
            json!({ "type": "string", "pattern": format!(r"^[{SPACE}]*({one})[{SPACE}]*$") })
        }
        ("/api/v1/webhooks/{id}/deliveries", "status") => {
            let one = names(
                crate::webhooks::DeliveryStatus::ALL,
                crate::webhooks::DeliveryStatus::as_str,
            )
            .join("|");
            json!({ "type": "string", "pattern": format!(r"^[{SPACE}]*({one})[{SPACE}]*$") })
        }
        _ => return None,
    })
}

/// Adds `constraints` to a property schema. A property that may be null
/// (`oneOf: [{$ref}, {type: null}]` or `type: [t, "null"]`) keeps its null.
pub fn apply(property: &mut Value, constraints: &Value) {
    let Some(constraints) = constraints.as_object() else {
        return;
    };
    // `type: [t, "null"]` becomes `oneOf: [{type: t, ...}, {type: null}]`, so
    // the constraints speak of the value and not of its absence.
    let nullable = property
        .get("type")
        .and_then(Value::as_array)
        .filter(|types| types.len() == 2 && types.contains(&json!("null")))
        .and_then(|types| types.iter().find(|t| *t != &json!("null")).cloned());
    if let (Some(kind), Some(object)) = (nullable, property.as_object_mut()) {
        object.remove("type");
        let mut value = serde_json::Map::new();
        value.insert("type".into(), kind);
        for key in ["format", "items", "minimum", "maximum"] {
            if let Some(v) = object.remove(key) {
                value.insert(key.into(), v);
            }
        }
        object.insert(
            "oneOf".into(),
            json!([Value::Object(value), { "type": "null" }]),
        );
    }
    let target = match property.get_mut("oneOf").and_then(Value::as_array_mut) {
        // `{$ref: UserId}`: the constraint goes beside the reference.
        Some(variants) => match variants
            .iter_mut()
            .find(|v| v.get("type") != Some(&json!("null")))
        {
            Some(variant) => variant,
            None => return,
        },
        None => property,
    };
    let Some(object) = target.as_object_mut() else {
        return;
    };
    for (key, value) in constraints {
        match (key.as_str(), value) {
            // Item rules go into the item schema the attributes gave.
            ("items", Value::Object(extra)) => {
                if let Some(items) = object.get_mut("items").and_then(Value::as_object_mut) {
                    items.extend(extra.clone());
                }
            }
            // A description the attributes gave stays.
            ("description", _) if object.contains_key("description") => {}
            _ => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
}
