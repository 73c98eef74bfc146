//! `/api/v1/events`: live updates as Server-Sent Events.

use std::sync::Arc;
use std::time::Duration;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::stream::{Event as Sse, EventStream};
use rocket::{get, routes, Route, Shutdown, State};
use tokio::sync::broadcast::error::RecvError;
use utoipa::OpenApi;

use crate::actor::Actor;
use crate::api::guards;
use crate::api::guards::LiveAuth;
use crate::error::Error;
use crate::events::{self, presence::Viewer, ConnectionPermit, Event, Viewing};
use crate::http::problem::Problem;
use crate::http::query::SingleValued;
use crate::ids::TicketId;
use crate::state::AppState;
use crate::tickets::service::visible_state;

pub fn routes() -> Vec<Route> {
    routes![stream]
}

#[derive(OpenApi)]
#[openapi(paths(stream), components(schemas(Problem)))]
pub struct Doc;

/// An event stream whose connection closes when the stream ends (at
/// shutdown, expiry or logout): clients reconnect anyway, and an idle
/// keep-alive connection would hold up a graceful shutdown.
#[derive(rocket::Responder)]
pub struct ClosingStream<R> {
    inner: R,
    connection: rocket::http::Header<'static>,
}

impl<R> ClosingStream<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            connection: rocket::http::Header::new("Connection", "close"),
        }
    }
}

/// Events read per query while replaying a backlog.
const REPLAY_PAGE: u32 = 500;

/// Events a resuming client already has (`Last-Event-ID`, or `last_event_id` in the query).
pub struct LastEventId(pub Option<i64>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LastEventId {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let header = req.headers().get_one("Last-Event-ID").map(str::to_string);
        let query = req
            .query_value::<&str>("last_event_id")
            .and_then(Result::ok)
            .map(str::to_string);
        let id = header
            .or(query)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|id| *id >= 0);
        Outcome::Success(LastEventId(id))
    }
}

/// Who may see what on one stream.
#[derive(Clone)]
struct Audience {
    staff: bool,
    /// Only this ticket (a requester always; an agent when asked).
    ticket: Option<TicketId>,
}

impl Audience {
    fn frame(&self, event: &Event) -> Option<Sse> {
        if self.ticket.is_some() && event.ticket_id != self.ticket {
            return None;
        }
        let data = event.visible_to(self.staff, self.ticket)?;
        let frame = Sse::data(data.to_string()).event(event.kind.clone());
        Some(match event.id {
            Some(id) => frame.id(id.to_string()),
            None => frame,
        })
    }
}

fn reset() -> Sse {
    Sse::data("{}").event("reset")
}

/// Checks who may follow what, takes a connection slot and, for an agent
/// following one ticket, shows them as viewing it.
async fn open(
    state: &AppState,
    actor: &Actor,
    ticket: Option<TicketId>,
) -> Result<(Audience, Option<Viewing>, ConnectionPermit), Error> {
    let staff = actor.role.is_staff();
    match ticket {
        Some(id) => {
            let who = actor.clone();
            state
                .db
                .read(move |conn| visible_state(conn, &who, id))
                .await?;
        }
        None if !staff => {
            return Err(Error::Forbidden(
                "customers follow one of their tickets: add ?ticket_id=".into(),
            ))
        }
        None => {}
    }
    let permit = state
        .events
        .limits
        .acquire(events::limits::holder_of(actor))?;
    let viewing = match (staff, ticket, actor.user()) {
        (true, Some(ticket), Some(user)) => Some(state.events.view(ticket, Viewer::of(user))),
        _ => None,
    };
    Ok((Audience { staff, ticket }, viewing, permit))
}

enum Next {
    Event(Result<Arc<Event>, RecvError>),
    Signal(Result<Arc<Event>, RecvError>),
    Session(Result<crate::events::Credential, RecvError>),
    Expired,
    Shutdown,
}

/// Server-Sent Events: `ticket.created`, `ticket.updated`, `ticket.assigned`,
/// `ticket.deleted`, `message.created` (internal notes included for agents),
/// `presence` and `typing` (agents). Agents and admins get every ticket, or
/// one with `ticket_id`; a customer must name one of their own tickets and
/// gets its public events only. Each recorded event has an `id`; reconnect
/// with `Last-Event-ID` to get what was missed, or a `reset` event when it is
/// no longer kept (reload then). Browsers, which cannot set headers on
/// `EventSource`, may pass the access token as `token`. Keep-alive comments
/// every `realtime.heartbeat_secs`. The stream ends when the token expires,
/// its session ends, its user's role changes or its API key is revoked; a
/// client too slow to keep up gets `reset` and is dropped.
#[utoipa::path(tag = "events", security(("bearer" = []), ("api_key" = [])),
    params(
        ("ticket_id" = Option<i64>, Query, description = "only this ticket (required for customers)"),
        ("token" = Option<String>, Query, description = "access token, for clients that cannot send headers"),
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this event id; a value that is not an event id is ignored"),
    ),
    responses(
        (status = 200, description = "an event stream: `event:` names the kind, `data:` holds one JSON object", content_type = "text/event-stream"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 429, description = "too many open streams for this user", body = Problem),
        (status = 503, description = "too many open streams in total", body = Problem),
    ))]
#[get("/events?<ticket_id>")]
async fn stream(
    state: &State<AppState>,
    _query: SingleValued,
    auth: LiveAuth,
    last: LastEventId,
    ticket_id: Option<String>,
    shutdown: Shutdown,
) -> Result<ClosingStream<EventStream![Sse + '_]>, Error> {
    let (actor, expires_at) = auth.0?;
    let mut sessions = guards::hold_session(state, &actor).await?;
    let ticket_id = super::audit::positive_id("ticket_id", ticket_id.as_deref())?;
    let (audience, viewing, permit) = open(state, &actor, ticket_id.map(TicketId)).await?;
    let hub = Arc::clone(&state.events);
    let mut live = hub.subscribe();
    let mut signals = hub.subscribe_signals();
    let heartbeat = Duration::from_secs(state.config.realtime.heartbeat_secs);
    let db = state.db.clone();
    let app: &AppState = state;
    let stream = EventStream! {
        let _permit = permit;
        let _viewing = viewing;
        let mut sent: i64 = 0;
        if let Some(after) = last.0 {
            let resumable = match db.read(events::bounds).await {
                // Resumable when nothing after `after` was pruned.
                Ok((0, newest)) => after == newest,
                Ok((oldest, newest)) => after <= newest && after >= oldest - 1,
                Err(_) => false,
            };
            if resumable {
                sent = after;
                loop {
                    let from = sent;
                    let Ok(batch) = db.read(move |conn| events::since(conn, from, REPLAY_PAGE)).await else {
                        break;
                    };
                    if batch.is_empty() {
                        break;
                    }
                    for event in batch {
                        sent = event.id.unwrap_or(sent);
                        if let Some(frame) = audience.frame(&event) {
                            yield frame;
                        }
                    }
                }
            } else {
                yield reset();
            }
        }
        let expiry = events::until_expiry(expires_at);
        tokio::pin!(expiry);
        let mut shutdown = shutdown;
        loop {
            let next = tokio::select! {
                event = live.recv() => Next::Event(event),
                signal = signals.recv() => Next::Signal(signal),
                user = sessions.recv() => Next::Session(user),
                () = &mut expiry => Next::Expired,
                () = &mut shutdown => Next::Shutdown,
            };
            match next {
                Next::Event(Ok(event)) => {
                    if let Some(id) = event.id {
                        if id <= sent {
                            continue;
                        }
                        sent = id;
                    }
                    if let Some(frame) = audience.frame(&event) {
                        yield frame;
                    }
                    // A stream of one ticket ends with it.
                    if event.kind == events::kind::TICKET_DELETED
                        && event.ticket_id.is_some()
                        && event.ticket_id == audience.ticket
                    {
                        break;
                    }
                }
                Next::Signal(Ok(signal)) => {
                    if let Some(frame) = audience.frame(&signal) {
                        yield frame;
                    }
                }
                // Missed presence or typing signals are no loss.
                Next::Signal(Err(RecvError::Lagged(_))) => {}
                Next::Event(Err(RecvError::Lagged(_))) => {
                    // Too slow to keep up: drop rather than buffer without end.
                    yield reset();
                    break;
                }
                Next::Session(Ok(changed)) if !changed.concerns(&actor) => {}
                Next::Session(_) => {
                    if !guards::still_valid(app, &actor).await.unwrap_or(false) {
                        break;
                    }
                }
                Next::Event(Err(RecvError::Closed))
                | Next::Signal(Err(RecvError::Closed))
                | Next::Expired
                | Next::Shutdown => break,
            }
        }
    };
    Ok(ClosingStream {
        inner: stream.heartbeat(heartbeat),
        connection: rocket::http::Header::new("Connection", "close"),
    })
}
