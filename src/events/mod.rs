//! The event hub: domain events recorded in the transaction of the change,
//! published in id order after it commits, and fanned out to SSE streams and
//! chat sockets; plus presence (who views or types on a ticket) and
//! connection limits.

pub mod limits;
pub mod presence;

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::db::{now, Db};
use crate::error::Error;
use crate::ids::{ApiKeyId, MessageId, TicketId, UserId};
use crate::tickets::repo as tickets;
use crate::webhooks::repo as webhooks;

pub use limits::{ConnectionLimits, ConnectionPermit};
pub use presence::Presence;

/// Event names, as SSE `event:` fields.
pub mod kind {
    pub const TICKET_CREATED: &str = "ticket.created";
    pub const TICKET_UPDATED: &str = "ticket.updated";
    pub const TICKET_ASSIGNED: &str = "ticket.assigned";
    pub const TICKET_DELETED: &str = "ticket.deleted";
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const PRESENCE: &str = "presence";
    pub const TYPING: &str = "typing";
    /// A user's sessions or role changed (internal: live connections check
    /// again; never sent to a client).
    pub const SESSION_CHANGED: &str = "session.changed";
    /// A service-level target of the ticket is near (agents only).
    pub const TICKET_SLA_WARNING: &str = "ticket.sla_warning";
    /// A service-level target of the ticket was missed (agents only).
    pub const TICKET_SLA_BREACHED: &str = "ticket.sla_breached";

    /// The events webhooks may take (every recorded one a client sees).
    pub const WEBHOOK_EVENTS: &[&str] = &[
        TICKET_CREATED,
        TICKET_UPDATED,
        TICKET_ASSIGNED,
        TICKET_DELETED,
        MESSAGE_CREATED,
        TICKET_SLA_WARNING,
        TICKET_SLA_BREACHED,
    ];
}

/// One event as clients get it.
#[derive(Debug, Clone)]
pub struct Event {
    /// Increasing id of a recorded event; `None` for passing signals
    /// (presence, typing) that are not replayed.
    pub id: Option<i64>,
    pub kind: String,
    pub ticket_id: Option<TicketId>,
    /// JSON for agents and admins.
    pub data: Arc<str>,
    /// JSON for the ticket's requester; `None`: agents only.
    pub public_data: Option<Arc<str>>,
    /// The live connection a signal came from (it is not echoed back).
    pub origin: Option<u64>,
}

impl Event {
    /// The JSON `viewer` may see, if any: staff see everything; a requester
    /// sees public events of the one ticket they follow.
    pub fn visible_to(&self, staff: bool, requester_of: Option<TicketId>) -> Option<&Arc<str>> {
        if self.kind == kind::SESSION_CHANGED {
            return None;
        }
        if staff {
            return Some(&self.data);
        }
        match (requester_of, self.ticket_id) {
            (Some(mine), Some(ticket)) if mine == ticket => self.public_data.as_ref(),
            _ => None,
        }
    }
}

/// Records an event, and in the same transaction its webhook deliveries
/// (`internal`: an internal note, only for webhooks that take those).
fn insert(
    conn: &Connection,
    kind: &str,
    ticket: Option<TicketId>,
    (data, public_data): (&str, Option<&str>),
    internal: bool,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO events (kind, ticket_id, data, public_data, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![kind, ticket, data, public_data, now()])?;
    if kind::WEBHOOK_EVENTS.contains(&kind) {
        webhooks::enqueue_event(conn, kind, ticket, data, internal)?;
    }
    Ok(())
}

fn session_change_user(data: &str) -> Option<UserId> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    value["user_id"].as_i64().map(UserId)
}

fn to_json(value: &impl Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("serializing an event: {e}")))
}

/// Records ticket events (`ticket.created`, `ticket.updated`,
/// `ticket.assigned`; several for one change share one read) with the ticket
/// as agents and as its requester see it.
pub fn record_ticket(conn: &Connection, kinds: &[&str], id: TicketId) -> Result<(), Error> {
    let Some((staff_view, public_view)) = tickets::get_both_views(conn, id)? else {
        return Ok(());
    };
    let data = to_json(&staff_view)?;
    let public = to_json(&public_view)?;
    for kind in kinds {
        insert(conn, kind, Some(id), (&data, Some(&public)), false)?;
    }
    Ok(())
}

/// Records an event about `ticket` for agents only, with `data` as given.
pub fn record_for_agents(
    conn: &Connection,
    kind: &str,
    ticket: TicketId,
    data: &serde_json::Value,
) -> Result<(), Error> {
    insert(conn, kind, Some(ticket), (&data.to_string(), None), false)
}

/// Records `message.created`; an internal note is for agents only.
pub fn record_message(conn: &Connection, id: MessageId) -> Result<(), Error> {
    let Some(message) = tickets::message(conn, id)? else {
        return Ok(());
    };
    let data = to_json(&message)?;
    let public = (!message.internal).then(|| data.clone());
    insert(
        conn,
        kind::MESSAGE_CREATED,
        Some(message.ticket_id),
        (&data, public.as_deref()),
        message.internal,
    )
}

/// Deletes the recorded events of a deleted ticket (nobody replays them).
pub fn purge_ticket(conn: &Connection, id: TicketId) -> Result<(), Error> {
    conn.execute("DELETE FROM events WHERE ticket_id = ?1", [id])?;
    Ok(())
}

/// Records `ticket.deleted` (agents only).
pub fn record_deleted(conn: &Connection, id: TicketId) -> Result<(), Error> {
    insert(
        conn,
        kind::TICKET_DELETED,
        Some(id),
        (&format!("{{\"id\":{}}}", id.0), None),
        false,
    )
}

/// Records that `user`'s sessions or role changed, in the transaction that
/// changed them: the publisher tells live connections to check again, in
/// this process at once and from another (the CLI) within a second.
pub fn record_session_change(conn: &Connection, user: UserId) -> Result<(), Error> {
    insert(
        conn,
        kind::SESSION_CHANGED,
        None,
        (&format!("{{\"user_id\":{}}}", user.0), None),
        false,
    )
}

/// Recorded events after `after`, oldest first, at most `limit`.
pub fn since(conn: &Connection, after: i64, limit: u32) -> Result<Vec<Event>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, ticket_id, data, public_data FROM events
         WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![after, limit], |r| {
            let data: String = r.get(3)?;
            let public: Option<String> = r.get(4)?;
            Ok(Event {
                id: Some(r.get(0)?),
                kind: r.get(1)?,
                ticket_id: r.get(2)?,
                data: data.into(),
                public_data: public.map(Into::into),
                origin: None,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The oldest and newest recorded ids still kept (0, 0 when none).
pub fn bounds(conn: &Connection) -> Result<(i64, i64), Error> {
    Ok(conn.query_row(
        "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), (SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Deletes all but the newest `keep` events; returns how many went.
pub fn prune(conn: &Connection, keep: u32) -> Result<usize, Error> {
    Ok(conn.execute(
        "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?1",
        [keep],
    )?)
}

/// Completes when an access token expiring at `expires_at` (unix seconds)
/// runs out; never for credentials without expiry (API keys).
pub async fn until_expiry(expires_at: Option<u64>) {
    match expires_at {
        Some(at) => {
            let left = at.saturating_sub(crate::auth::tokens::unix_now());
            tokio::time::sleep(Duration::from_secs(left)).await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Whose credentials changed: a user's sessions, or an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    User(UserId),
    ApiKey(ApiKeyId),
}

impl Credential {
    /// Whether the change may affect `actor`'s connection.
    pub fn concerns(self, actor: &crate::actor::Actor) -> bool {
        match self {
            Self::User(user) => actor.user_id() == Some(user),
            Self::ApiKey(key) => actor.api_key_id() == Some(key),
        }
    }
}

/// A viewer registered in the presence list until dropped.
pub struct Viewing {
    hub: Arc<EventHub>,
    ticket: TicketId,
    /// Identifies the connection (signals it sends are not echoed to it).
    pub key: u64,
}

impl Drop for Viewing {
    fn drop(&mut self) {
        self.hub.presence.leave(self.ticket, self.key);
        self.hub.announce_presence(self.ticket);
    }
}

/// Fans events out to every subscriber. Slow subscribers fall behind the
/// bounded channel and are dropped by their stream, never buffered without end.
pub struct EventHub {
    live: broadcast::Sender<Arc<Event>>,
    /// Passing signals (presence, typing) travel apart from recorded events,
    /// so a flood of them never makes a stream fall behind on what matters.
    signals: broadcast::Sender<Arc<Event>>,
    sessions: broadcast::Sender<Credential>,
    pub presence: Presence,
    pub limits: ConnectionLimits,
    gap_hook: std::sync::Mutex<Option<GapHook>>,
}

/// Work run in the gap between a live connection's sign-in check and its
/// subscription to session changes (see [`EventHub::set_gap_hook`]).
pub type GapHook =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

impl EventHub {
    pub fn new(config: &crate::config::RealtimeConfig) -> Self {
        let capacity = usize::try_from(config.backlog)
            .unwrap_or(1024)
            .clamp(256, 65_536);
        Self {
            live: broadcast::channel(capacity).0,
            signals: broadcast::channel(256).0,
            sessions: broadcast::channel(256).0,
            presence: Presence::default(),
            limits: ConnectionLimits::new(config.max_connections, config.max_connections_per_user),
            gap_hook: std::sync::Mutex::new(None),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.live.subscribe()
    }

    /// Presence and typing; a receiver that falls behind just misses some.
    pub fn subscribe_signals(&self) -> broadcast::Receiver<Arc<Event>> {
        self.signals.subscribe()
    }

    /// Sends a passing signal (presence, typing) that is not recorded.
    pub fn signal(
        &self,
        kind: &str,
        ticket: TicketId,
        data: String,
        public: bool,
        origin: Option<u64>,
    ) {
        let data: Arc<str> = data.into();
        let _ = self.signals.send(Arc::new(Event {
            id: None,
            kind: kind.into(),
            ticket_id: Some(ticket),
            public_data: public.then(|| Arc::clone(&data)),
            data,
            origin,
        }));
    }

    /// Registers a viewer of `ticket` and tells agents; leaving happens when
    /// the returned guard is dropped (also when a client just disconnects).
    pub fn view(self: &Arc<Self>, ticket: TicketId, viewer: presence::Viewer) -> Viewing {
        let key = self.presence.join(ticket, viewer);
        self.announce_presence(ticket);
        Viewing {
            hub: Arc::clone(self),
            ticket,
            key,
        }
    }

    fn announce_presence(&self, ticket: TicketId) {
        let data = serde_json::json!({
            "ticket_id": ticket,
            "viewers": self.presence.viewers(ticket),
        });
        self.signal(kind::PRESENCE, ticket, data.to_string(), false, None);
    }

    /// Tells open connections of `user` to check that their session still holds
    /// (after a logout, password change, deactivation or role change).
    pub fn session_changed(&self, user: UserId) {
        let _ = self.sessions.send(Credential::User(user));
    }

    /// Tells open connections made with the API key `key` that it was revoked.
    pub fn api_key_revoked(&self, key: ApiKeyId) {
        let _ = self.sessions.send(Credential::ApiKey(key));
    }

    pub fn session_changes(&self) -> broadcast::Receiver<Credential> {
        self.sessions.subscribe()
    }

    /// Lets a test put work (a sign-out) between a live connection's sign-in
    /// check and its subscription to session changes, the gap a change must
    /// not slip through. Unset in a running server.
    pub fn set_gap_hook(&self, hook: GapHook) {
        if let Ok(mut slot) = self.gap_hook.lock() {
            *slot = Some(hook);
        }
    }

    /// Subscribes a live connection to session changes, after the gap hook.
    /// The caller checks the session again afterwards: a change made before
    /// the subscription is seen by that check, one made after by the receiver.
    pub async fn subscribe_sessions(&self) -> broadcast::Receiver<Credential> {
        let hook = self.gap_hook.lock().ok().and_then(|slot| slot.clone());
        if let Some(hook) = hook {
            hook().await;
        }
        self.sessions.subscribe()
    }

    /// Publishes recorded events in id order as they are committed, until
    /// `shutdown`. Wakes on every commit of this process and every second
    /// (for writes by other processes, e.g. `helpline mail ingest`).
    pub async fn publish(self: Arc<Self>, db: Db, shutdown: impl std::future::Future<Output = ()>) {
        let mut commits = db.commits();
        let mut last = match db.read(bounds).await {
            Ok((_, newest)) => newest,
            Err(e) => {
                tracing::error!(error = %e, "live updates are off: cannot read the event table");
                return;
            }
        };
        tokio::pin!(shutdown);
        loop {
            loop {
                let after = last;
                match db.read(move |conn| since(conn, after, 500)).await {
                    Ok(events) if events.is_empty() => break,
                    Ok(events) => {
                        for event in events {
                            last = event.id.unwrap_or(last);
                            if event.kind == kind::SESSION_CHANGED {
                                if let Some(user) = session_change_user(&event.data) {
                                    self.session_changed(user);
                                }
                                continue;
                            }
                            let _ = self.live.send(Arc::new(event));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading events failed; retrying");
                        break;
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                _ = commits.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
