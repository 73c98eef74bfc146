//! `/api/v1/tickets/{id}/messages` and `/events`: a ticket's conversation and trail.

use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::attachments::files_of;
use crate::api::guards::{Agent, CurrentUser};
use crate::audit::AuditEntry;
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::http::query::{Page, Pagination, SingleValued};
use crate::ids::{AttachmentId, TicketId};
use crate::state::AppState;
use crate::tickets::conversation;
use crate::tickets::Message;

pub fn routes() -> Vec<Route> {
    routes![add, list, events]
}

#[derive(OpenApi)]
#[openapi(paths(add, list, events), components(schemas(Message, NewMessage, Page<Message>, Page<AuditEntry>, Problem)))]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Plain text (Markdown allowed), up to 64 KiB.
    pub body: String,
    /// An internal note, seen by agents and admins only.
    #[serde(default)]
    pub internal: bool,
    /// Ids of the caller's uploads that this message takes.
    #[serde(default)]
    pub attachments: Option<Vec<AttachmentId>>,
}

/// Adds a public reply or (agents and admins) an internal note. A closed ticket
/// takes no messages (409); the requester answering a resolved or pending ticket reopens it.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), request_body = NewMessage, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 201, body = Message), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, description = "the ticket is closed", body = Problem), (status = 422, body = Problem),
))]
#[post("/<id>/messages", data = "<body>")]
async fn add(
    state: &State<AppState>,
    user: CurrentUser,
    id: TicketId,
    body: ApiJson<NewMessage>,
) -> Result<Created<Json<Message>>, Error> {
    let b = body.into_inner();
    let files = files_of(state, &user.0, b.attachments)?;
    let message = conversation::reply(&state.db, &user.0, id, b.body, b.internal, files).await?;
    Ok(Created::new(format!("/api/v1/tickets/{id}/messages")).body(Json(message)))
}

/// The conversation, oldest first; customers never see internal notes.
#[utoipa::path(tag = "tickets", operation_id = "messages_list", params(("id" = i64, Path), ("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<Message>), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[get("/<id>/messages?<page>&<per_page>")]
async fn list(
    state: &State<AppState>,
    _query: SingleValued,
    user: CurrentUser,
    id: TicketId,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Json<Page<Message>>, Error> {
    let page = Pagination::parse(page, per_page)?;
    Ok(Json(
        conversation::messages(&state.db, &user.0, id, page).await?,
    ))
}

/// The ticket's audit trail, oldest first (agents and admins).
#[utoipa::path(tag = "tickets", params(("id" = i64, Path), ("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<AuditEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/<id>/events?<page>&<per_page>")]
async fn events(
    state: &State<AppState>,
    _query: SingleValued,
    _agent: Agent,
    id: TicketId,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Json<Page<AuditEntry>>, Error> {
    let page = Pagination::parse(page, per_page)?;
    Ok(Json(conversation::events(&state.db, id, page).await?))
}
