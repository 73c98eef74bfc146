//! `/api/v1/tickets/{id}/chat`: live chat on one ticket over a WebSocket.

use std::sync::Arc;

use rocket::futures::{SinkExt as _, StreamExt as _};
use rocket::{get, routes, Route, Shutdown, State};
use rocket_ws::frame::{CloseCode, CloseFrame};
use rocket_ws::result::Error as WsError;
use rocket_ws::stream::DuplexStream;
use rocket_ws::{Channel, Message, WebSocket};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa::OpenApi;

use crate::actor::Actor;
use crate::api::guards;
use crate::api::guards::LiveAuth;
use crate::error::Error;
use crate::events::{kind, presence::Viewer, Event};
use crate::http::problem::Problem;
use crate::ids::TicketId;
use crate::state::AppState;
use crate::tickets::conversation::reply_on;
use crate::tickets::service::visible_state;
use crate::tickets::Channel as TicketChannel;

pub fn routes() -> Vec<Route> {
    routes![chat]
}

#[derive(OpenApi)]
#[openapi(paths(chat), components(schemas(Problem)))]
pub struct Doc;

/// Close code for a missing, expired or revoked token.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// What a participant sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum ClientFrame {
    /// A public message.
    Message { body: String },
    /// An internal note (agents and admins).
    Note { body: String },
    /// "I am typing": relayed to the others, not stored. Typing a note
    /// (`"note": true`) is shown to agents only.
    Typing {
        #[serde(default)]
        note: bool,
    },
}

fn close(code: CloseCode, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

fn error_frame(status: u16, detail: &str, errors: Option<&[crate::error::FieldError]>) -> Message {
    let mut frame = json!({ "type": "error", "status": status, "detail": detail });
    if let Some(errors) = errors {
        frame["errors"] = json!(errors);
    }
    Message::Text(frame.to_string())
}

fn error_from(e: &Error) -> Message {
    match e {
        Error::Validation(errors) => {
            error_frame(422, "the message has invalid fields", Some(errors))
        }
        other => error_frame(other.status().code, &other.to_string(), None),
    }
}

/// Live chat on one ticket, for its requester and for agents and admins.
/// Send `{"type":"message","body":"..."}` for a public message,
/// `{"type":"note","body":"..."}` (agents) for an internal note, and
/// `{"type":"typing"}` while typing (`{"type":"typing","note":true}` while
/// typing a note: agents only). Every participant receives
/// `{"type":"message","message":{...}}` for each new message of the ticket
/// (also those written through the API or by email; notes only to agents),
/// `{"type":"ticket","event":...,"ticket":{...}}` for changes,
/// `{"type":"typing","user":{...}}`, and, for agents,
/// `{"type":"presence","presence":{"ticket_id":...,"viewers":[...]}}`. A bad
/// frame gets `{"type":"error",...}` and the socket stays open. Close codes:
/// 4401 token missing, expired or revoked; 1009 frame larger than
/// `realtime.max_frame_bytes`; 1001 server stopping; 1008 client too slow.
/// A customer who is not the requester gets 404 before the upgrade.
#[utoipa::path(tag = "tickets", security(("bearer" = []), ("api_key" = [])),
    params(
        ("id" = i64, Path),
        ("token" = Option<String>, Query, description = "access token (browsers cannot set headers on WebSockets)"),
    ),
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, description = "not a WebSocket request", body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem),
    ))]
#[get("/<id>/chat")]
async fn chat<'r>(
    state: &'r State<AppState>,
    ws: WebSocket,
    id: TicketId,
    auth: LiveAuth,
    shutdown: Shutdown,
) -> Result<Channel<'r>, Error> {
    let max = state.config.realtime.max_frame_bytes;
    let ws = ws.config(rocket_ws::Config {
        max_message_size: Some(max),
        max_frame_size: Some(max),
        ..rocket_ws::Config::default()
    });
    let held = match auth.0 {
        Ok((actor, expires_at)) => match guards::hold_session(state, &actor).await {
            Ok(sessions) => Some((actor, expires_at, sessions)),
            Err(Error::Unauthorized(_)) => None,
            Err(e) => return Err(e),
        },
        Err(_) => None,
    };
    let Some((actor, expires_at, sessions)) = held else {
        return Ok(ws.channel(move |mut stream| {
            Box::pin(async move {
                let _ = stream
                    .send(close(
                        CloseCode::Library(CLOSE_UNAUTHORIZED),
                        "the access token is missing, invalid, expired or revoked",
                    ))
                    .await;
                Ok(())
            })
        }));
    };
    let who = actor.clone();
    state
        .db
        .read(move |conn| visible_state(conn, &who, id))
        .await?;
    let permit = state
        .events
        .limits
        .acquire(crate::events::limits::holder_of(&actor))?;
    let app: &'r AppState = state;
    Ok(ws.channel(move |stream| {
        Box::pin(async move {
            let _permit = permit;
            let session = Session {
                app,
                actor,
                ticket: id,
                expires_at,
                last_typing: std::sync::Mutex::new(None),
            };
            session.run(stream, sessions, shutdown).await
        })
    }))
}

struct Session<'r> {
    app: &'r AppState,
    actor: Actor,
    ticket: TicketId,
    expires_at: Option<u64>,
    /// When this connection's last typing signal was relayed.
    last_typing: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Typing is relayed at most this often per connection; more is dropped.
const TYPING_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

enum Next {
    Frame(Option<Result<Message, WsError>>),
    Event(Result<Arc<Event>, RecvError>),
    Signal(Result<Arc<Event>, RecvError>),
    Session(Result<crate::events::Credential, RecvError>),
    Expired,
    Shutdown,
}

impl Session<'_> {
    fn staff(&self) -> bool {
        self.actor.role.is_staff()
    }

    async fn run(
        self,
        mut stream: DuplexStream,
        mut sessions: broadcast::Receiver<crate::events::Credential>,
        shutdown: Shutdown,
    ) -> rocket_ws::result::Result<()> {
        let hub = Arc::clone(&self.app.events);
        let mut live = hub.subscribe();
        let mut signals = hub.subscribe_signals();
        let viewing = self
            .actor
            .user()
            .map(|user| hub.view(self.ticket, Viewer::of(user)));
        let key = viewing.as_ref().map(|v| v.key);
        let expiry = crate::events::until_expiry(self.expires_at);
        tokio::pin!(expiry);
        tokio::pin!(shutdown);
        loop {
            let next = tokio::select! {
                frame = stream.next() => Next::Frame(frame),
                event = live.recv() => Next::Event(event),
                signal = signals.recv() => Next::Signal(signal),
                user = sessions.recv() => Next::Session(user),
                () = &mut expiry => Next::Expired,
                () = &mut shutdown => Next::Shutdown,
            };
            match next {
                Next::Frame(frame) => {
                    if !self.on_frame(&mut stream, frame, key).await? {
                        break;
                    }
                }
                Next::Event(Ok(event)) => {
                    if let Some(frame) = self.frame_for(&event, key) {
                        stream.send(frame).await?;
                    }
                    if event.kind == kind::TICKET_DELETED && event.ticket_id == Some(self.ticket) {
                        let _ = stream
                            .send(close(CloseCode::Normal, "the ticket was deleted"))
                            .await;
                        break;
                    }
                }
                Next::Signal(Ok(signal)) => {
                    if let Some(frame) = self.frame_for(&signal, key) {
                        stream.send(frame).await?;
                    }
                }
                // Missed presence or typing signals are no loss.
                Next::Signal(Err(RecvError::Lagged(_))) => {}
                Next::Event(Err(RecvError::Lagged(_))) => {
                    let _ = stream
                        .send(close(CloseCode::Policy, "too slow to keep up"))
                        .await;
                    break;
                }
                Next::Event(Err(RecvError::Closed))
                | Next::Signal(Err(RecvError::Closed))
                | Next::Shutdown => {
                    let _ = stream
                        .send(close(CloseCode::Away, "the server is stopping"))
                        .await;
                    break;
                }
                Next::Session(Ok(changed)) if !changed.concerns(&self.actor) => {}
                Next::Session(_) => {
                    if !guards::still_valid(self.app, &self.actor)
                        .await
                        .unwrap_or(false)
                    {
                        let _ = stream
                            .send(close(
                                CloseCode::Library(CLOSE_UNAUTHORIZED),
                                "the session ended",
                            ))
                            .await;
                        break;
                    }
                }
                Next::Expired => {
                    let _ = stream
                        .send(close(
                            CloseCode::Library(CLOSE_UNAUTHORIZED),
                            "the access token expired",
                        ))
                        .await;
                    break;
                }
            }
        }
        drop(viewing);
        Ok(())
    }

    /// Handles what the client sent; false when the connection should end.
    async fn on_frame(
        &self,
        stream: &mut DuplexStream,
        frame: Option<Result<Message, WsError>>,
        key: Option<u64>,
    ) -> rocket_ws::result::Result<bool> {
        match frame {
            Some(Ok(Message::Text(text))) => {
                if let Some(reply) = self.handle(&text, key).await {
                    stream.send(reply).await?;
                }
            }
            Some(Ok(Message::Binary(_))) => {
                stream
                    .send(error_frame(400, "send JSON text frames", None))
                    .await?;
            }
            Some(Ok(Message::Close(_))) | None => return Ok(false),
            Some(Ok(_)) => {}
            Some(Err(WsError::Capacity(_))) => {
                let _ = stream.send(close(CloseCode::Size, "frame too large")).await;
                return Ok(false);
            }
            Some(Err(_)) => return Ok(false),
        }
        Ok(true)
    }

    /// Acts on one client frame; returns an error frame for the client, if any.
    async fn handle(&self, text: &str, key: Option<u64>) -> Option<Message> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                return Some(error_frame(
                    400,
                    &format!(
                        "not a chat frame ({e}); send {{\"type\":\"message\",\"body\":\"...\"}}"
                    ),
                    None,
                ))
            }
        };
        let (body, internal) = match frame {
            ClientFrame::Typing { note } => {
                if let Ok(mut last) = self.last_typing.lock() {
                    let now = std::time::Instant::now();
                    if last.is_some_and(|at| now.duration_since(at) < TYPING_EVERY) {
                        return None;
                    }
                    *last = Some(now);
                }
                let user = self
                    .actor
                    .user()
                    .map(|u| json!({ "id": u.id, "name": u.name, "role": u.role }));
                let data = json!({ "ticket_id": self.ticket, "user": user });
                self.app
                    .events
                    .signal(kind::TYPING, self.ticket, data.to_string(), !note, key);
                return None;
            }
            ClientFrame::Message { body } => (body, false),
            ClientFrame::Note { .. } if !self.staff() => {
                return Some(error_frame(
                    403,
                    "only agents and admins write internal notes",
                    None,
                ));
            }
            ClientFrame::Note { body } => (body, true),
        };
        match reply_on(
            &self.app.db,
            &self.actor,
            self.ticket,
            (body, internal, crate::attachments::Files::none()),
            TicketChannel::Chat,
        )
        .await
        {
            Ok(_) => {
                self.app.delivery.wake();
                None
            }
            Err(e) => Some(error_from(&e)),
        }
    }

    /// The frame this participant gets for `event`, if any.
    fn frame_for(&self, event: &Event, key: Option<u64>) -> Option<Message> {
        if event.ticket_id != Some(self.ticket) || (event.origin.is_some() && event.origin == key) {
            return None;
        }
        let requester_of = (!self.staff()).then_some(self.ticket);
        let data = event.visible_to(self.staff(), requester_of)?;
        let text = match event.kind.as_str() {
            kind::MESSAGE_CREATED => format!(r#"{{"type":"message","message":{data}}}"#),
            kind::TYPING => format!(r#"{{"type":"typing","typing":{data}}}"#),
            kind::PRESENCE => format!(r#"{{"type":"presence","presence":{data}}}"#),
            kind::TICKET_DELETED => r#"{"type":"deleted"}"#.to_string(),
            other => format!(r#"{{"type":"ticket","event":"{other}","ticket":{data}}}"#),
        };
        Some(Message::Text(text))
    }
}
