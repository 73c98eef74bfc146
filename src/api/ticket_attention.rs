//! `PUT`/`DELETE /api/v1/tickets/{id}/follow` and `POST /api/v1/tickets/{id}/seen`:
//! what an agent follows and has read.

use rocket::http::Status;
use rocket::{delete, post, put, routes, Route, State};
use utoipa::OpenApi;

use crate::api::guards::Agent;
use crate::error::Error;
use crate::http::problem::Problem;
use crate::ids::TicketId;
use crate::state::AppState;
use crate::tickets::attention;

pub fn routes() -> Vec<Route> {
    routes![follow, unfollow, seen]
}

#[derive(OpenApi)]
#[openapi(paths(follow, unfollow, seen), components(schemas(Problem)))]
pub struct Doc;

/// Follows the ticket: its new public messages are mailed to the caller, and
/// it shows in the caller's `following=true` list. Idempotent.
#[utoipa::path(tag = "tickets", operation_id = "tickets_follow", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "following"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[put("/<id>/follow")]
async fn follow(state: &State<AppState>, agent: Agent, id: TicketId) -> Result<Status, Error> {
    attention::follow(&state.db, &agent.0, id, true).await?;
    Ok(Status::NoContent)
}

/// Stops following the ticket. Idempotent.
#[utoipa::path(tag = "tickets", operation_id = "tickets_unfollow", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "not following"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/<id>/follow")]
async fn unfollow(state: &State<AppState>, agent: Agent, id: TicketId) -> Result<Status, Error> {
    attention::follow(&state.db, &agent.0, id, false).await?;
    Ok(Status::NoContent)
}

/// Marks the ticket read for the caller: `unread` is false until the
/// requester writes again.
#[utoipa::path(tag = "tickets", operation_id = "tickets_seen", params(("id" = i64, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "marked read"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/<id>/seen")]
async fn seen(state: &State<AppState>, agent: Agent, id: TicketId) -> Result<Status, Error> {
    attention::seen(&state.db, &agent.0, id).await?;
    Ok(Status::NoContent)
}
