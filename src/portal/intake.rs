//! The public support form: anyone (or an integration with a key) opens a
//! ticket by name and email; the customer is found or created without a password.

use serde::Serialize;
use utoipa::ToSchema;

use crate::actor::Actor;
use crate::attachments::Files;
use crate::audit::ActorRef;
use crate::auth::rate_limit::RateLimits;
use crate::db::Db;
use crate::error::{Error, FieldError};
use crate::ids::TicketId;
use crate::portal;
use crate::settings;
use crate::tickets::conversation::{reply_in, Writer};
use crate::tickets::opening::{create_in, Creation};
use crate::tickets::{repo, Channel};
use crate::users::{normalize_email, normalize_name, repo as users, Role};

pub struct SupportRequest {
    pub channel: Channel,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeReceipt {
    pub ticket_id: TicketId,
    /// Where the requester follows and answers the ticket, no account needed:
    /// answered to callers with an API key. Anyone else may have typed
    /// another person's address, so the link goes to that address by mail
    /// (`null` here).
    pub portal_url: Option<String>,
}

fn check_phone(raw: &str) -> Result<String, FieldError> {
    let phone = raw.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !(5..=20).contains(&digits) || !allowed || phone.len() > 32 {
        return Err(FieldError::new(
            "phone",
            "must be a phone number like +44 20 7946 0958",
        ));
    }
    Ok(phone.to_string())
}

/// Who is asking, checked.
struct Contact {
    email: String,
    key_email: String,
    name: String,
    phone: Option<String>,
}

fn check_contact(request: &SupportRequest) -> Result<Contact, Error> {
    if matches!(request.channel, Channel::Api | Channel::Portal) {
        return Err(Error::validation(
            "channel",
            "must be email, chat, phone or web",
        ));
    }
    let mut errors = Vec::new();
    let email = normalize_email(&request.email)
        .map_err(|e| errors.push(e))
        .ok();
    let name = normalize_name(&request.name)
        .map_err(|e| errors.push(e))
        .ok();
    let phone = request
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(check_phone)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let (Some((email, key_email)), Some(name), true) = (email, name, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    Ok(Contact {
        email,
        key_email,
        name,
        phone,
    })
}

/// What taking a support request needs from the running server.
pub struct Intake<'a> {
    pub db: &'a Db,
    pub rate_limits: &'a RateLimits,
    /// The base of portal links.
    pub public_url: String,
}

pub async fn submit(
    ctx: &Intake<'_>,
    request: SupportRequest,
    ip: &str,
    key: Option<Actor>,
    request_id: &str,
) -> Result<IntakeReceipt, Error> {
    ctx.rate_limits.intake_per_ip.check_ip(ip)?;
    let settings = ctx.db.read(settings::load).await?;
    if settings.intake_requires_api_key && key.is_none() {
        return Err(Error::Unauthorized(
            "this help desk takes support requests with an X-API-Key only".into(),
        ));
    }
    let contact = check_contact(&request)?;
    let Contact {
        email,
        key_email,
        name,
        phone,
    } = contact;
    let public_url = ctx.public_url.clone();
    let api_key_id = key.as_ref().and_then(Actor::api_key_id);
    let request_id = request_id.to_string();
    ctx.db
        .write(move |tx| {
            let existing = users::get_by_email(tx, &key_email)?;
            // An anonymous form proves nothing about the address: a message
            // for an existing account is filed without an author and flagged.
            let unverified = api_key_id.is_none() && existing.is_some();
            let requester = match existing {
                Some(existing) => existing.user.id,
                None => {
                    users::insert(
                        tx,
                        &users::NewUser {
                            email: &email,
                            email_key: &key_email,
                            name: &name,
                            role: Role::Customer,
                            password_hash: None,
                        },
                    )?
                    .user
                    .id
                }
            };
            let by = ActorRef {
                user_id: (!unverified).then_some(requester),
                api_key_id,
                request_id: Some(request_id),
            };
            let creation = Creation::plain(
                (request.subject, request.message),
                requester,
                (!unverified).then_some(requester),
                request.channel,
            );
            let ticket_id =
                create_in(tx, &settings, &by, &creation).map_err(rename_message_field)?;
            let mut notes = Vec::new();
            if unverified {
                notes.push(format!(
                    "Sent through the public form as {email}, the address of an existing \
                     account; the sender did not prove it is theirs."
                ));
            }
            if let Some(phone) = phone {
                // Contact details are for the team, not part of the conversation.
                notes.push(format!("Phone number given with the request: {phone}"));
            }
            if !notes.is_empty() {
                let ticket = repo::state(tx, ticket_id)?.ok_or(Error::NotFound("ticket"))?;
                let system = Writer {
                    author_id: None,
                    is_staff: true,
                    channel: request.channel,
                    by: by.clone(),
                };
                for note in notes {
                    reply_in(tx, &ticket, &system, &note, true, &Files::none())?;
                }
            }
            // The requester's acknowledgement mail carries a link of its own.
            let portal_url = match api_key_id {
                Some(_) => Some(
                    portal::issue(
                        tx,
                        ticket_id,
                        requester,
                        None,
                        settings.portal_token_days,
                        &public_url,
                    )?
                    .url,
                ),
                None => None,
            };
            Ok(IntakeReceipt {
                ticket_id,
                portal_url,
            })
        })
        .await
}

/// The form calls the first message `message`, not `body`.
fn rename_message_field(error: Error) -> Error {
    match error {
        Error::Validation(errors) => Error::Validation(
            errors
                .into_iter()
                .map(|e| {
                    if e.field == "body" {
                        FieldError::new("message", e.message)
                    } else {
                        e
                    }
                })
                .collect(),
        ),
        other => other,
    }
}
