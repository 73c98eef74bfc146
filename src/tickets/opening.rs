//! Opening a ticket, from any channel: its first message (with files),
//! assignment, audit, mail and live event in the caller's transaction.

use rusqlite::Connection;
use serde_json::json;

use super::model::{Channel, Priority, TicketWithMessages};
use super::repo::{self, NewMessage, NewTicket};
use super::service::view_in;
use super::{assign, rules};
use crate::actor::Actor;
use crate::attachments::{self, Files};
use crate::audit::{self, ActorRef, Target};
use crate::db::{now, Db};
use crate::error::{Error, FieldError};
use crate::events;
use crate::ids::TicketId;
use crate::notify;
use crate::settings::{self, Settings};
use crate::users::{repo as users, UserId};

/// Everything needed to open a ticket, from any channel.
#[derive(Debug, Clone)]
pub struct Creation {
    pub subject: String,
    pub body: String,
    pub priority: Option<Priority>,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub tags: Vec<String>,
    pub requester_id: UserId,
    /// Author of the first message (`None`: written by the system).
    pub author_id: Option<UserId>,
    pub channel: Channel,
    /// Files the first message takes.
    pub files: Files,
}

impl Creation {
    /// A ticket with no priority, labels, tags or files of its own choosing.
    pub fn plain(
        (subject, body): (String, String),
        requester_id: UserId,
        author_id: Option<UserId>,
        channel: Channel,
    ) -> Self {
        Self {
            subject,
            body,
            priority: None,
            category: None,
            kind: None,
            tags: Vec::new(),
            requester_id,
            author_id,
            channel,
            files: Files::none(),
        }
    }
}

/// Opens a ticket with its first message inside the caller's transaction:
/// validates, auto-assigns per setting, audits. Returns the new id.
pub fn create_in(
    conn: &Connection,
    settings: &Settings,
    by: &ActorRef,
    c: &Creation,
) -> Result<TicketId, Error> {
    let mut errors: Vec<FieldError> = Vec::new();
    let subject = rules::normalize_subject(&c.subject)
        .map_err(|e| errors.push(e))
        .ok();
    if let Err(e) = rules::check_body("body", &c.body) {
        errors.push(e);
    }
    let category = rules::check_label("category", c.category.as_deref(), settings)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let kind = rules::check_label("type", c.kind.as_deref(), settings)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let tags = rules::normalize_tags(&c.tags)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(subject), Some(tags), true) = (subject, tags, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    let now = now();
    let assignee_id = assign::pick(conn, settings.auto_assign)?;
    let id = repo::insert(
        conn,
        &NewTicket {
            subject: &subject,
            priority: c.priority.unwrap_or(Priority::Medium),
            category: category.as_deref(),
            kind: kind.as_deref(),
            channel: c.channel,
            tags: &tags,
            requester_id: c.requester_id,
            assignee_id,
            now: &now,
        },
    )?;
    crate::sla::clock::refresh(conn, id)?;
    let first_message = repo::insert_message(
        conn,
        &NewMessage {
            ticket_id: id,
            author_id: c.author_id,
            body: &c.body,
            internal: false,
            channel: c.channel,
            now: &now,
        },
    )?;
    attachments::access::attach(conn, first_message, &c.files)?;
    audit::record(
        conn,
        by,
        "ticket.created",
        Some(Target {
            kind: "ticket",
            id: id.0,
        }),
        Some(id.0),
        &json!({ "channel": c.channel.as_str(), "requester_id": c.requester_id, "assignee_id": assignee_id }),
    )?;
    notify::ticket_created(conn, id, first_message, by.user_id)?;
    events::record_ticket(conn, &[events::kind::TICKET_CREATED], id)?;
    events::record_message(conn, first_message)?;
    Ok(id)
}

/// What the API caller asked to create.
pub struct CreateRequest {
    pub subject: String,
    pub body: String,
    pub priority: Option<Priority>,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub tags: Option<Vec<String>>,
    pub requester_id: Option<UserId>,
    /// An agent opening a ticket for a caller: their address (a customer
    /// account without a password is made when it is new) and name.
    pub requester_email: Option<String>,
    pub requester_name: Option<String>,
    /// How the request came in, when an agent records it (`phone` or `web`).
    pub channel: Option<Channel>,
    pub files: Files,
}

/// Whom a new ticket is for.
enum Requester {
    Id(UserId),
    /// (address as written, its key, the name for a new account)
    Email(String, String, String),
}

fn requester_of(actor: &Actor, input: &CreateRequest) -> Result<Requester, Error> {
    let for_someone = input.requester_id.is_some() || input.requester_email.is_some();
    if for_someone && !actor.role.is_staff() {
        return Err(Error::Forbidden(
            "only agents and admins open tickets for someone else".into(),
        ));
    }
    match (input.requester_id, &input.requester_email, actor.user_id()) {
        (Some(_), Some(_), _) => Err(Error::validation(
            "requester_email",
            "give requester_id or requester_email, not both",
        )),
        (Some(id), None, _) => Ok(Requester::Id(id)),
        (None, Some(email), _) => {
            let (email, key) = crate::users::normalize_email(email)
                .map_err(|e| Error::validation("requester_email", e.message))?;
            let name = match &input.requester_name {
                Some(name) => crate::users::normalize_name(name)
                    .map_err(|e| Error::validation("requester_name", e.message))?,
                None => email.split('@').next().unwrap_or(&email).to_string(),
            };
            Ok(Requester::Email(email, key, name))
        }
        (None, None, Some(me)) => {
            if input.requester_name.is_some() {
                return Err(Error::validation(
                    "requester_name",
                    "goes with requester_email",
                ));
            }
            Ok(Requester::Id(me))
        }
        (None, None, None) => Err(Error::validation(
            "requester_id",
            "is required when using an API key",
        )),
    }
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    input: CreateRequest,
) -> Result<TicketWithMessages, Error> {
    let requester = requester_of(actor, &input)?;
    let channel = match input.channel {
        None if actor.api_key_id().is_some() => Channel::Api,
        None => Channel::Web,
        Some(_) if !actor.role.is_staff() => {
            return Err(Error::Forbidden(
                "only agents and admins record the channel of a ticket".into(),
            ))
        }
        Some(c @ (Channel::Phone | Channel::Web)) => c,
        Some(_) => {
            return Err(Error::validation(
                "channel",
                "is phone or web; the other channels are set by how a ticket arrives",
            ))
        }
    };
    let by = ActorRef::from(actor);
    let me = actor.user_id();
    let viewer = actor.clone();
    db.write(move |tx| {
        let requester_id = match requester {
            Requester::Id(id) => match users::get(tx, id)? {
                None => return Err(Error::validation("requester_id", "no such user")),
                Some(u) if !u.user.active => {
                    return Err(Error::validation(
                        "requester_id",
                        "the account is deactivated",
                    ))
                }
                Some(_) => id,
            },
            Requester::Email(email, key, name) => match users::get_by_email(tx, &key)? {
                Some(u) if !u.user.active => {
                    return Err(Error::validation(
                        "requester_email",
                        "the account with this address is deactivated",
                    ))
                }
                Some(existing) => existing.user.id,
                None => {
                    let id = users::insert(
                        tx,
                        &users::NewUser {
                            email: &email,
                            email_key: &key,
                            name: &name,
                            role: crate::actor::Role::Customer,
                            password_hash: None,
                        },
                    )?
                    .user
                    .id;
                    audit::record(
                        tx,
                        &by,
                        "user.created",
                        Some(Target {
                            kind: "user",
                            id: id.0,
                        }),
                        None,
                        &json!({ "role": "customer", "via": "ticket" }),
                    )?;
                    id
                }
            },
        };
        let creation = Creation {
            subject: input.subject,
            body: input.body,
            priority: input.priority,
            category: input.category,
            kind: input.kind,
            tags: input.tags.unwrap_or_default(),
            requester_id,
            author_id: me.or(Some(requester_id)),
            channel,
            files: input.files,
        };
        let settings = settings::load(tx)?;
        let id = create_in(tx, &settings, &by, &creation)?;
        view_in(tx, &viewer, id)
    })
    .await
}
