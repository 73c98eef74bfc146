//! `/api/v1/saved-replies`: the team's shared replies and each agent's own.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::Agent;
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::http::query::{Page, Pagination, SingleValued};
use crate::ids::{SavedReplyId, TicketId};
use crate::replies::{self, Changes, SavedReply};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![list, create, get_one, update, delete_one, render]
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, get_one, update, delete_one, render),
    components(schemas(SavedReply, Page<SavedReply>, NewSavedReply, UpdateSavedReply, RenderFor, Rendered, Problem))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedReply {
    pub title: String,
    /// Markdown; placeholders: `{{customer.name}}`, `{{customer.first_name}}`,
    /// `{{customer.email}}`, `{{ticket.id}}`, `{{ticket.subject}}`,
    /// `{{agent.name}}`, `{{agent.first_name}}`.
    pub body: String,
    /// For the whole team (admins only); default: the caller's own.
    #[serde(default)]
    pub shared: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSavedReply {
    pub title: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderFor {
    pub ticket_id: TicketId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rendered {
    /// The saved reply with its placeholders filled in for the ticket.
    pub body: String,
}

/// The shared saved replies and the caller's own, by title; `q` searches
/// titles and bodies.
#[utoipa::path(tag = "saved-replies", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Page<SavedReply>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[get("/?<q>&<page>&<per_page>")]
async fn list(
    state: &State<AppState>,
    _query: SingleValued,
    agent: Agent,
    q: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Json<Page<SavedReply>>, Error> {
    let pagination = Pagination::parse(page, per_page)?;
    let q = q.map(str::trim).filter(|q| !q.is_empty()).map(String::from);
    Ok(Json(
        replies::list(&state.db, &agent.0, q, pagination).await?,
    ))
}

/// Creates a saved reply: the caller's own, or (admins) a shared one.
#[utoipa::path(tag = "saved-replies", request_body = NewSavedReply, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 201, body = SavedReply), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[post("/", data = "<body>")]
async fn create(
    state: &State<AppState>,
    agent: Agent,
    body: ApiJson<NewSavedReply>,
) -> Result<(Status, Json<SavedReply>), Error> {
    let b = body.into_inner();
    let reply = replies::create(&state.db, &agent.0, (b.title, b.body, b.shared)).await?;
    Ok((Status::Created, Json(reply)))
}

/// One saved reply: shared, or the caller's own (404 otherwise).
#[utoipa::path(tag = "saved-replies", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = SavedReply), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/<id>")]
async fn get_one(
    state: &State<AppState>,
    agent: Agent,
    id: SavedReplyId,
) -> Result<Json<SavedReply>, Error> {
    Ok(Json(replies::get(&state.db, &agent.0, id).await?))
}

/// Changes a saved reply: the owner their own, admins the shared ones.
#[utoipa::path(tag = "saved-replies", params(("id" = i64, Path)), request_body = UpdateSavedReply, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = SavedReply), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[patch("/<id>", data = "<body>")]
async fn update(
    state: &State<AppState>,
    agent: Agent,
    id: SavedReplyId,
    body: ApiJson<UpdateSavedReply>,
) -> Result<Json<SavedReply>, Error> {
    let b = body.into_inner();
    let changes = Changes {
        title: b.title,
        body: b.body,
    };
    Ok(Json(
        replies::update(&state.db, &agent.0, id, changes).await?,
    ))
}

/// Deletes a saved reply: the owner their own, admins the shared ones.
#[utoipa::path(tag = "saved-replies", params(("id" = i64, Path)), security(("bearer" = []), ("api_key" = [])), responses(
    (status = 204, description = "deleted"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/<id>")]
async fn delete_one(
    state: &State<AppState>,
    agent: Agent,
    id: SavedReplyId,
) -> Result<Status, Error> {
    replies::delete(&state.db, &agent.0, id).await?;
    Ok(Status::NoContent)
}

/// The saved reply with its placeholders filled in for `ticket_id`.
#[utoipa::path(tag = "saved-replies", params(("id" = i64, Path)), request_body = RenderFor, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Rendered), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[post("/<id>/render", data = "<body>")]
async fn render(
    state: &State<AppState>,
    agent: Agent,
    id: SavedReplyId,
    body: ApiJson<RenderFor>,
) -> Result<Json<Rendered>, Error> {
    let body = replies::render(&state.db, &agent.0, id, body.into_inner().ticket_id).await?;
    Ok(Json(Rendered { body }))
}
