//! Who gets which email, written to the outbox inside the transaction of the
//! change that causes it; `delivery` sends the rows.

pub mod delivery;
pub mod outbox;

use rusqlite::Connection;

use crate::error::Error;
use crate::ids::{MessageId, TicketId};
use crate::settings;
use crate::tickets::repo::TicketState;
use crate::tickets::TicketStatus;
use crate::users::{repo as users, Role, UserId, UserRecord};

pub use outbox::{NewNotification, Notification, NotificationStatus};

/// The notification templates (each renders text and HTML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// To the requester: "we received your request", with the portal link.
    TicketReceived,
    /// To the requester: a public answer from the team.
    AgentReply,
    /// To the requester: the ticket was resolved or closed.
    TicketStatus,
    /// To an agent: a ticket was assigned to them.
    TicketAssigned,
    /// To the assignee: the requester answered.
    RequesterReply,
    /// To an agent following the ticket: a new public message.
    FollowedMessage,
    /// To `support_email`: a new ticket nobody is assigned to.
    NewTicket,
    PasswordReset,
    Invite,
    /// To a self-registered customer: the link that confirms the address.
    VerifyEmail,
    /// To the assignee (or `support_email`): a service-level target is near
    /// or missed.
    SlaAlert,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TicketReceived => "ticket_received",
            Self::AgentReply => "agent_reply",
            Self::TicketStatus => "ticket_status",
            Self::TicketAssigned => "ticket_assigned",
            Self::RequesterReply => "requester_reply",
            Self::FollowedMessage => "followed_message",
            Self::NewTicket => "new_ticket",
            Self::PasswordReset => "password_reset",
            Self::VerifyEmail => "verify_email",
            Self::Invite => "invite",
            Self::SlaAlert => "sla_alert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::TicketReceived,
            Self::AgentReply,
            Self::TicketStatus,
            Self::TicketAssigned,
            Self::RequesterReply,
            Self::FollowedMessage,
            Self::NewTicket,
            Self::PasswordReset,
            Self::Invite,
            Self::VerifyEmail,
            Self::SlaAlert,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A user who should get ticket mail: active, and not someone who turned it off.
fn wants_mail(conn: &Connection, id: UserId) -> Result<Option<UserRecord>, Error> {
    Ok(users::get(conn, id)?.filter(|u| u.user.active && u.user.email_notifications))
}

fn to_user(
    conn: &Connection,
    kind: Kind,
    user: &UserRecord,
    ticket: Option<TicketId>,
    message: Option<MessageId>,
) -> Result<(), Error> {
    outbox::enqueue(
        conn,
        &NewNotification {
            kind,
            recipient_id: Some(user.user.id),
            to_address: &user.user.email,
            ticket_id: ticket,
            message_id: message,
            params: serde_json::json!({}),
            delay_secs: 0,
        },
    )
}

/// How long chat messages wait before they are mailed, so that one mail
/// carries a burst of lines instead of one mail per line.
pub const CHAT_MAIL_DELAY_SECS: u64 = 120;

/// A chat line to mail: joins a mail not yet sent about the same ticket to
/// the same person, or starts one that goes out after a pause.
fn chat_to_user(
    conn: &Connection,
    kind: Kind,
    user: &UserRecord,
    ticket: TicketId,
    message: MessageId,
) -> Result<(), Error> {
    if outbox::has_unsent(conn, kind, ticket, user.user.id)? {
        return Ok(());
    }
    outbox::enqueue(
        conn,
        &NewNotification {
            kind,
            recipient_id: Some(user.user.id),
            to_address: &user.user.email,
            ticket_id: Some(ticket),
            message_id: Some(message),
            params: serde_json::json!({ "chat": true }),
            delay_secs: CHAT_MAIL_DELAY_SECS,
        },
    )
}

/// A new ticket: the requester's acknowledgement (also when they opened it
/// themselves: it is their receipt and carries the portal link), the assignee
/// if someone was assigned, else the `support_email` address.
pub fn ticket_created(
    conn: &Connection,
    ticket: TicketId,
    first_message: MessageId,
    actor: Option<UserId>,
) -> Result<(), Error> {
    let Some(state) = crate::tickets::repo::state(conn, ticket)? else {
        return Ok(());
    };
    let requester_is_staff_actor = actor == Some(state.requester_id)
        && users::get(conn, state.requester_id)?.is_some_and(|u| u.user.role != Role::Customer);
    if !requester_is_staff_actor {
        if let Some(requester) = wants_mail(conn, state.requester_id)? {
            to_user(
                conn,
                Kind::TicketReceived,
                &requester,
                Some(ticket),
                Some(first_message),
            )?;
        }
    }
    match state.assignee_id {
        Some(assignee) if Some(assignee) != actor => {
            if let Some(agent) = wants_mail(conn, assignee)? {
                to_user(
                    conn,
                    Kind::TicketAssigned,
                    &agent,
                    Some(ticket),
                    Some(first_message),
                )?;
            }
        }
        Some(_) => {}
        None => {
            let settings = settings::load(conn)?;
            if let Some(address) = settings.support_email.filter(|a| !a.trim().is_empty()) {
                outbox::enqueue(
                    conn,
                    &NewNotification {
                        kind: Kind::NewTicket,
                        recipient_id: None,
                        to_address: &address,
                        ticket_id: Some(ticket),
                        message_id: Some(first_message),
                        params: serde_json::json!({}),
                        delay_secs: 0,
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// A message on a ticket. Internal notes never mail anyone; a public answer
/// from the team goes to the requester; the requester's answer goes to the
/// assignee; every public message goes to the ticket's followers (but the
/// assignee, who has the requester's already). Nobody is mailed their own
/// message. Chat lines are gathered into one mail per pause.
pub fn message_added(
    conn: &Connection,
    ticket: &TicketState,
    message: MessageId,
    author: Option<UserId>,
    internal: bool,
    channel: crate::tickets::Channel,
) -> Result<(), Error> {
    if internal {
        return Ok(());
    }
    let send = |kind: Kind, user: &UserRecord| {
        if channel == crate::tickets::Channel::Chat {
            chat_to_user(conn, kind, user, ticket.id, message)
        } else {
            to_user(conn, kind, user, Some(ticket.id), Some(message))
        }
    };
    let from_requester = author == Some(ticket.requester_id);
    for follower in followers(conn, ticket.id)? {
        let has_it = from_requester && Some(follower) == ticket.assignee_id;
        if Some(follower) == author || follower == ticket.requester_id || has_it {
            continue;
        }
        if let Some(agent) = wants_mail(conn, follower)? {
            send(Kind::FollowedMessage, &agent)?;
        }
    }
    if from_requester {
        if let Some(assignee) = ticket.assignee_id.filter(|a| Some(*a) != author) {
            if let Some(agent) = wants_mail(conn, assignee)? {
                send(Kind::RequesterReply, &agent)?;
            }
        }
        return Ok(());
    }
    if let Some(requester) = wants_mail(conn, ticket.requester_id)? {
        send(Kind::AgentReply, &requester)?;
    }
    Ok(())
}

/// The agents following a ticket (only staff can follow).
fn followers(conn: &Connection, id: TicketId) -> Result<Vec<UserId>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.user_id FROM ticket_followers f JOIN users u ON u.id = f.user_id
         WHERE f.ticket_id = ?1 AND u.role <> 'customer' ORDER BY f.user_id",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The requester hears when their ticket is resolved or closed (unless they did it).
pub fn status_changed(
    conn: &Connection,
    ticket: &TicketState,
    to: TicketStatus,
    actor: Option<UserId>,
) -> Result<(), Error> {
    if !matches!(to, TicketStatus::Resolved | TicketStatus::Closed)
        || actor == Some(ticket.requester_id)
    {
        return Ok(());
    }
    status_mail(conn, ticket, serde_json::json!({ "status": to.as_str() }))
}

/// The requester's mail about their ticket's status (`params` say which).
fn status_mail(
    conn: &Connection,
    ticket: &TicketState,
    params: serde_json::Value,
) -> Result<(), Error> {
    if let Some(requester) = wants_mail(conn, ticket.requester_id)? {
        outbox::enqueue(
            conn,
            &NewNotification {
                kind: Kind::TicketStatus,
                recipient_id: Some(requester.user.id),
                to_address: &requester.user.email,
                ticket_id: Some(ticket.id),
                message_id: None,
                params,
                delay_secs: 0,
            },
        )?;
    }
    Ok(())
}

/// A ticket merged into another requester's: its requester hears that the
/// team goes on with it (they see nothing of the other conversation).
pub fn merged_away(conn: &Connection, ticket: &TicketState) -> Result<(), Error> {
    status_mail(
        conn,
        ticket,
        serde_json::json!({ "status": "closed", "merged": true }),
    )
}

/// An agent hears when a ticket is assigned to them by someone else.
pub fn assigned(
    conn: &Connection,
    ticket: TicketId,
    assignee: UserId,
    actor: Option<UserId>,
) -> Result<(), Error> {
    if actor == Some(assignee) {
        return Ok(());
    }
    if let Some(agent) = wants_mail(conn, assignee)? {
        to_user(conn, Kind::TicketAssigned, &agent, Some(ticket), None)?;
    }
    Ok(())
}

/// A service-level warning or breach: to the assignee, or to the
/// `support_email` address when nobody is assigned. `params` say which
/// target, which stage and when it is due.
pub fn sla_alert(
    conn: &Connection,
    ticket: TicketId,
    assignee: Option<UserId>,
    params: serde_json::Value,
) -> Result<(), Error> {
    let (recipient, address) = match assignee {
        Some(id) => match wants_mail(conn, id)? {
            Some(agent) => (Some(agent.user.id), agent.user.email),
            None => return Ok(()),
        },
        None => match settings::load(conn)?
            .support_email
            .filter(|a| !a.trim().is_empty())
        {
            Some(address) => (None, address),
            None => return Ok(()),
        },
    };
    outbox::enqueue(
        conn,
        &NewNotification {
            kind: Kind::SlaAlert,
            recipient_id: recipient,
            to_address: &address,
            ticket_id: Some(ticket),
            message_id: None,
            params: serde_json::json!({ "sla": params }),
            delay_secs: 0,
        },
    )
}

/// A password reset link, made when the mail is sent (never stored).
/// The link that confirms a self-registered customer's address.
pub fn verify_email(conn: &Connection, user: &UserRecord) -> Result<(), Error> {
    to_user(conn, Kind::VerifyEmail, user, None, None)
}

pub fn password_reset(conn: &Connection, user: &UserRecord) -> Result<(), Error> {
    to_user(conn, Kind::PasswordReset, user, None, None)
}

/// An invitation link, made when the mail is sent (never stored).
pub fn invite(conn: &Connection, user: &UserRecord) -> Result<(), Error> {
    to_user(conn, Kind::Invite, user, None, None)
}
