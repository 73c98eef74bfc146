//! What a portal link lets its holder do: read the conversation, answer, open a ticket.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{IssuedPortalToken, Scope};
use crate::actor::Actor;
use crate::audit::{self, ActorRef, Target};
use crate::db::Db;
use crate::error::Error;
use crate::ids::{PortalTokenId, TicketId};
use crate::settings;
use crate::tickets::conversation::{reply_in, Writer};
use crate::tickets::service::{create_in, with_messages, Creation};
use crate::tickets::{repo, Channel, Message, TicketWithMessages};

/// What a portal link shows: its tickets, public messages only.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalView {
    pub tickets: Vec<TicketWithMessages>,
}

fn unknown() -> Error {
    Error::NotFound("portal link")
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

pub async fn view(db: &Db, token: String) -> Result<PortalView, Error> {
    db.write(move |tx| {
        let scope = super::open(tx, &token)?.ok_or_else(unknown)?;
        let tickets = super::tickets_in_scope(tx, &scope)?
            .into_iter()
            .map(|id| with_messages(tx, id, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PortalView { tickets })
    })
    .await
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
    db: &Db,
    token: String,
    ticket: Option<TicketId>,
    body: String,
    request_id: &str,
) -> Result<Message, Error> {
    let request_id = request_id.to_string();
    db.write(move |tx| {
        let scope = super::open(tx, &token)?.ok_or_else(unknown)?;
        let target = ticket.unwrap_or(scope.ticket_id);
        if !super::tickets_in_scope(tx, &scope)?.contains(&target) {
            return Err(Error::NotFound("ticket"));
        }
        let state = repo::state(tx, target)?.ok_or(Error::NotFound("ticket"))?;
        let id = reply_in(tx, &state, &writer(&scope, &request_id), &body, false)?;
        repo::message(tx, id)?.ok_or(Error::NotFound("message"))
    })
    .await
}

/// Opens a new ticket for the link's requester; it joins the link's scope.
pub async fn open_ticket(
    db: &Db,
    token: String,
    subject: String,
    body: String,
    request_id: &str,
) -> Result<TicketWithMessages, Error> {
    let request_id = request_id.to_string();
    db.write(move |tx| {
        let scope = super::open(tx, &token)?.ok_or_else(unknown)?;
        let settings = settings::load(tx)?;
        let creation = Creation {
            subject,
            body,
            priority: None,
            category: None,
            kind: None,
            tags: Vec::new(),
            requester_id: scope.requester_id,
            author_id: Some(scope.requester_id),
            channel: Channel::Portal,
        };
        let id = create_in(tx, &settings, &writer(&scope, &request_id).by, &creation)?;
        super::extend_scope(tx, &scope, id)?;
        with_messages(tx, id, false)
    })
    .await
}
