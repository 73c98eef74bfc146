//! `POST /api/v1/tickets/bulk`: one change to many tickets.

use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::Agent;
use crate::error::Error;
use crate::http::json::{double_option, ApiJson};
use crate::http::problem::Problem;
use crate::ids::{TicketId, UserId};
use crate::state::AppState;
use crate::tickets::bulk::{self, BulkChanges, BulkFailure, BulkOutcome};
use crate::tickets::{Priority, TicketStatus};

pub fn routes() -> Vec<Route> {
    routes![apply]
}

#[derive(OpenApi)]
#[openapi(
    paths(apply),
    components(schemas(BulkRequest, BulkChangeSet, BulkOutcome, BulkFailure, Problem))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// 1 to 500 tickets.
    pub ids: Vec<TicketId>,
    pub changes: BulkChangeSet,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkChangeSet {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
    pub add_tags: Option<Vec<String>>,
    pub remove_tags: Option<Vec<String>>,
}

/// Applies one change to each ticket on its own (each audited and evented);
/// one refusal does not stop the others: `failed` says which and why.
#[utoipa::path(tag = "tickets", operation_id = "tickets_bulk", request_body = BulkRequest, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = BulkOutcome), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[post("/bulk", data = "<body>")]
async fn apply(
    state: &State<AppState>,
    agent: Agent,
    body: ApiJson<BulkRequest>,
) -> Result<Json<BulkOutcome>, Error> {
    let b = body.into_inner();
    let changes = BulkChanges {
        status: b.changes.status,
        priority: b.changes.priority,
        assignee_id: b.changes.assignee_id,
        add_tags: b.changes.add_tags.unwrap_or_default(),
        remove_tags: b.changes.remove_tags.unwrap_or_default(),
    };
    let outcome = bulk::apply(&state.db, &agent.0, b.ids, changes).await?;
    state.delivery.wake();
    Ok(Json(outcome))
}
