//! `GET /api/v1/portal/{token}/events`: the portal page's live updates, as
//! Server-Sent Events of the link's tickets (public events only).

use std::sync::Arc;
use std::time::Duration;

use rocket::response::stream::{Event as Sse, EventStream};
use rocket::{get, routes, Route, Shutdown, State};
use tokio::sync::broadcast::error::RecvError;
use utoipa::OpenApi;

use crate::api::events::ClosingStream;
use crate::api::guards::ClientIp;
use crate::error::Error;
use crate::events;
use crate::http::problem::Problem;
use crate::portal::live as access;
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![stream]
}

#[derive(OpenApi)]
#[openapi(paths(stream), components(schemas(Problem)))]
pub struct Doc;

/// What a portal page hears.
const LIVE_KINDS: [&str; 2] = [events::kind::MESSAGE_CREATED, events::kind::TICKET_UPDATED];

/// Live updates for a portal page: `ticket.updated` and `message.created`
/// (public messages only) of the link's tickets, as the requester sees them.
/// The stream ends within `realtime.heartbeat_secs` when the link expires or
/// is revoked; reload the page
/// (`GET /portal/{token}`) to catch up after a reconnect.
#[utoipa::path(tag = "portal", params(("token" = String, Path)), responses(
    (status = 200, description = "an event stream: `event:` names the kind, `data:` holds one JSON object", content_type = "text/event-stream"),
    (status = 404, body = Problem),
    (status = 429, description = "too many requests or open streams", body = Problem),
    (status = 503, description = "too many open streams in total", body = Problem),
))]
#[get("/<token>/events")]
async fn stream<'a>(
    state: &'a State<AppState>,
    token: &str,
    ip: ClientIp,
    shutdown: Shutdown,
) -> Result<ClosingStream<EventStream![Sse + 'a]>, Error> {
    let (scope, tickets) = access::live_scope(&state.portal(), token.to_string(), &ip.0).await?;
    // A requester's streams count against one allowance however many links
    // their mails carried.
    let permit = state
        .events
        .limits
        .acquire(format!("portal-requester:{}", scope.requester_id.0))?;
    let hub = Arc::clone(&state.events);
    let mut live = hub.subscribe();
    let heartbeat = Duration::from_secs(state.config.realtime.heartbeat_secs);
    let db = state.db.clone();
    let token = token.to_string();
    let stream = EventStream! {
        let _permit = permit;
        let mut shutdown = shutdown;
        // One clock for the whole stream, so events elsewhere never put the
        // check off (each heartbeat period, the link is checked again).
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        loop {
            let next = tokio::select! {
                event = live.recv() => Some(event),
                _ = recheck.tick() => None,
                () = &mut shutdown => break,
            };
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(RecvError::Lagged(_))) => {
                    yield Sse::data("{}").event("reset");
                    break;
                }
                Some(Err(RecvError::Closed)) => break,
                None => {
                    if !access::still_valid(&db, token.clone()).await {
                        break;
                    }
                    continue;
                }
            };
            if !LIVE_KINDS.contains(&event.kind.as_str()) {
                continue;
            }
            let Some(ticket) = event.ticket_id.filter(|t| tickets.contains(t)) else {
                continue;
            };
            let Some(data) = event.visible_to(false, Some(ticket)) else {
                continue;
            };
            // A revoked or expired link hears nothing more.
            if !access::still_valid(&db, token.clone()).await {
                break;
            }
            yield Sse::data(data.to_string()).event(event.kind.clone());
        }
    };
    Ok(ClosingStream::new(stream.heartbeat(heartbeat)))
}
