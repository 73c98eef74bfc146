//! `/api/v1/tickets/{id}/similar` and `/api/v1/tickets/{id}/ai-reply`:
//! suggested replies for agents (similar resolved tickets with their
//! answers; a drafted reply streamed as Server-Sent Events).

use rocket::http::Status;
use rocket::response::stream::{Event as Sse, EventStream};
use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use serde::Serialize;
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use super::events::ClosingStream;
use crate::api::guards::Agent;
use crate::error::Error;
use crate::http::problem::Problem;
use crate::ids::TicketId;
use crate::state::AppState;
use crate::suggest::{self, Piece, SimilarTicket};

pub fn routes() -> Vec<Route> {
    routes![similar, ai_reply]
}

#[derive(OpenApi)]
#[openapi(
    paths(similar, ai_reply),
    components(schemas(SimilarTicket, SimilarTickets, Problem))
)]
pub struct Doc;

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarTickets {
    pub items: Vec<SimilarTicket>,
}

/// Resolved and closed tickets like this one (its subject and the
/// customer's messages, by full-text search), most alike first, each with
/// the team's last public answer. Needs no model.
#[utoipa::path(tag = "tickets", operation_id = "similar", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = SimilarTickets), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/<id>/similar")]
async fn similar(
    state: &State<AppState>,
    _agent: Agent,
    id: TicketId,
) -> Result<Json<SimilarTickets>, Error> {
    Ok(Json(SimilarTickets {
        items: suggest::similar(&state.db, id).await?,
    }))
}

/// A drafted reply from the configured model, streamed: `event: delta` with
/// `{"text": "..."}` pieces in order, then `event: done` with the whole
/// reply, or `event: error` with a problem document (the provider refused
/// the key, rate limited, timed out or broke off). Nothing is sent to the
/// customer. 503 `urn:helpline:problem:ai-not-configured` without a model;
/// 429 past the agent's hourly allowance.
#[utoipa::path(tag = "tickets", operation_id = "ai_reply", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, description = "an event stream of `delta`, then `done` or `error`", content_type = "text/event-stream"),
    (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 429, body = Problem), (status = 503, description = "no model is configured", body = Problem),
))]
#[get("/<id>/ai-reply")]
async fn ai_reply(
    state: &State<AppState>,
    agent: Agent,
    id: TicketId,
) -> Result<ClosingStream<EventStream![Sse + 'static]>, Error> {
    let mut pieces = state.suggester.draft(&state.db, &agent.0, id).await?;
    let request_id = agent.0.request_id.clone();
    let stream = EventStream! {
        while let Some(piece) = pieces.recv().await {
            match piece {
                Piece::Delta(text) => yield Sse::json(&json!({ "text": text })).event("delta"),
                Piece::Done(text) => {
                    yield Sse::json(&json!({ "text": text })).event("done");
                    break;
                }
                Piece::Failed(f) => {
                    let status = Status::from_code(f.status).unwrap_or(Status::BadGateway);
                    yield Sse::json(&json!({
                        "type": format!("urn:helpline:problem:{}", f.slug),
                        "title": status.reason_lossy(),
                        "status": f.status,
                        "detail": f.detail,
                        "request_id": request_id,
                    }))
                    .event("error");
                    break;
                }
            }
        }
    };
    Ok(ClosingStream::new(stream))
}
