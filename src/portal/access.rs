//! What a portal link lets its holder do: read the conversation, answer, open a ticket.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{IssuedPortalToken, Scope, UseCounter};
use crate::actor::Actor;
use crate::attachments::{AttachmentId, Files};
use crate::audit::{self, ActorRef, Target};
use crate::auth::rate_limit::RateLimits;
use crate::auth::tokens::secret_hash;
use crate::db::Db;
use crate::error::Error;
use crate::ids::{PortalTokenId, TicketId};
use crate::settings;
use crate::tickets::conversation::{reply_in, Writer};
use crate::tickets::opening::{create_in, Creation};
use crate::tickets::service::with_messages;
use crate::tickets::{repo, Channel, Message, TicketWithMessages};

/// What a portal link shows: its tickets, public messages only.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalView {
    pub tickets: Vec<TicketWithMessages>,
}

fn unknown() -> Error {
    Error::NotFound("portal link")
}

/// What a link's holder reaches the help desk through; the app hands it out.
pub struct Portal<'a> {
    pub db: &'a Db,
    pub rate_limits: &'a RateLimits,
    pub uses: &'a UseCounter,
    /// Largest total of one message's files.
    pub max_message_bytes: u64,
}

impl Portal<'_> {
    /// Per client network and per link (unknown links count too).
    pub(super) fn admit(&self, token: &str, ip: &str) -> Result<(), Error> {
        self.rate_limits.portal_per_ip.check_ip(ip)?;
        self.rate_limits.portal_per_token.check(&secret_hash(token))
    }
}

/// Issues a link for a ticket's requester (agents and admins).
pub async fn issue(
    db: &Db,
    public_url: &str,
    actor: &Actor,
    ticket: TicketId,
    days: Option<u32>,
) -> Result<IssuedPortalToken, Error> {
    if let Some(days) = days {
        if !(1..=30).contains(&days) {
            return Err(Error::validation(
                "expires_in_days",
                "must be between 1 and 30",
            ));
        }
    }
    let by = ActorRef::from(actor);
    let public_url = public_url.to_string();
    db.write(move |tx| {
        let current = repo::state(tx, ticket)?
            .ok_or_else(|| Error::validation("ticket_id", "no such ticket"))?;
        let days = match days {
            Some(d) => d,
            None => settings::load(tx)?.portal_token_days,
        };
        let issued = super::issue(
            tx,
            ticket,
            current.requester_id,
            by.user_id,
            days,
            &public_url,
        )?;
        audit::record(
            tx,
            &by,
            "portal_token.created",
            Some(Target {
                kind: "portal_token",
                id: issued.id.0,
            }),
            Some(ticket.0),
            &json!({ "expires_at": issued.expires_at }),
        )?;
        Ok(issued)
    })
    .await
}

pub async fn revoke(db: &Db, actor: &Actor, id: PortalTokenId) -> Result<(), Error> {
    let by = ActorRef::from(actor);
    db.write(move |tx| {
        let ticket = super::ticket_of(tx, id)?;
        if !super::revoke(tx, id)? {
            return Err(Error::NotFound("portal link"));
        }
        audit::record(
            tx,
            &by,
            "portal_token.revoked",
            Some(Target {
                kind: "portal_token",
                id: id.0,
            }),
            ticket.map(|t| t.0),
            &json!({}),
        )
    })
    .await
}

pub async fn view(ctx: &Portal<'_>, token: String, ip: &str) -> Result<PortalView, Error> {
    ctx.admit(&token, ip)?;
    let (scope, view) = ctx
        .db
        .read(move |conn| {
            let scope = super::resolve(conn, &token)?.ok_or_else(unknown)?;
            let mut tickets = super::tickets_in_scope(conn, &scope)?
                .into_iter()
                .map(|id| with_messages(conn, id, false))
                .collect::<Result<Vec<_>, _>>()?;
            for m in tickets.iter_mut().flat_map(|t| t.messages.iter_mut()) {
                super::portal_urls(m, &token);
            }
            Ok((scope, PortalView { tickets }))
        })
        .await?;
    ctx.uses.record(scope.token_id);
    Ok(view)
}

fn writer(scope: &Scope, request_id: &str) -> Writer {
    Writer {
        author_id: Some(scope.requester_id),
        is_staff: false,
        channel: Channel::Portal,
        by: ActorRef::user(scope.requester_id).in_request(request_id),
    }
}

/// Adds a public message as the requester, to the link's ticket or another in its scope.
pub async fn answer(
    ctx: &Portal<'_>,
    token: String,
    ticket: Option<TicketId>,
    (body, files): (String, Vec<AttachmentId>),
    (ip, request_id): (&str, &str),
) -> Result<Message, Error> {
    ctx.admit(&token, ip)?;
    let max_total = ctx.max_message_bytes;
    let request_id = request_id.to_string();
    let (scope, message) = ctx
        .db
        .write(move |tx| {
            let scope = super::resolve(tx, &token)?.ok_or_else(unknown)?;
            let target = ticket.unwrap_or(scope.ticket_id);
            if !super::tickets_in_scope(tx, &scope)?.contains(&target) {
                return Err(Error::NotFound("ticket"));
            }
            // A merged ticket continues on its target (same requester: then
            // the target is in the link's scope too).
            let continued = crate::tickets::merge::current(tx, target)?;
            let target = if super::tickets_in_scope(tx, &scope)?.contains(&continued) {
                continued
            } else {
                target
            };
            let state = repo::state(tx, target)?.ok_or(Error::NotFound("ticket"))?;
            let files = Files::uploads(scope.uploader(), files, max_total);
            let id = reply_in(
                tx,
                &state,
                &writer(&scope, &request_id),
                &body,
                false,
                &files,
            )?;
            let mut message = repo::message(tx, id)?.ok_or(Error::NotFound("message"))?;
            super::portal_urls(&mut message, &token);
            Ok((scope, message))
        })
        .await?;
    ctx.uses.record(scope.token_id);
    Ok(message)
}

/// Opens a new ticket for the link's requester; it joins the link's scope.
pub async fn open_ticket(
    ctx: &Portal<'_>,
    token: String,
    subject: String,
    (body, files): (String, Vec<AttachmentId>),
    (ip, request_id): (&str, &str),
) -> Result<TicketWithMessages, Error> {
    ctx.admit(&token, ip)?;
    let max_total = ctx.max_message_bytes;
    // Each new ticket mails the requester: few an hour per link.
    ctx.rate_limits
        .portal_tickets_per_token
        .check(&secret_hash(&token))?;
    let request_id = request_id.to_string();
    let (scope, ticket) = ctx
        .db
        .write(move |tx| {
            let scope = super::resolve(tx, &token)?.ok_or_else(unknown)?;
            let settings = settings::load(tx)?;
            let creation = Creation {
                files: Files::uploads(scope.uploader(), files, max_total),
                ..Creation::plain(
                    (subject, body),
                    scope.requester_id,
                    Some(scope.requester_id),
                    Channel::Portal,
                )
            };
            let id = create_in(tx, &settings, &writer(&scope, &request_id).by, &creation)?;
            super::extend_scope(tx, &scope, id)?;
            let mut ticket = with_messages(tx, id, false)?;
            for m in &mut ticket.messages {
                super::portal_urls(m, &token);
            }
            Ok((scope, ticket))
        })
        .await?;
    ctx.uses.record(scope.token_id);
    Ok(ticket)
}
