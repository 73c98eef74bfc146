//! `POST /api/v1/tickets/bulk` (one change to many tickets) and
//! `POST /api/v1/tickets/{id}/merge` (a duplicate into the ticket that continues).

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
use crate::tickets::{Priority, TicketStatus, TicketWithMessages};

pub fn routes() -> Vec<Route> {
    routes![apply, merge]
}

#[derive(OpenApi)]
#[openapi(
    paths(apply, merge),
    components(schemas(
        BulkRequest,
        BulkChangeSet,
        BulkOutcome,
        BulkFailure,
        MergeInto,
        TicketWithMessages,
        Problem
    ))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInto {
    /// The ticket that continues.
    pub into: TicketId,
}

/// Merges this ticket into `into`: every message (and its files) moves to
/// the target in time order, this one closes with `merged_into`, and later
/// mail and portal replies to it land on the target. When the requesters
/// differ, the moved public messages become internal notes on the target:
/// a requester never sees another's conversation. 409 for the same ticket,
/// one already merged, or a closed target.
#[utoipa::path(tag = "tickets", params(("id" = i64, Path)), request_body = MergeInto, security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = TicketWithMessages), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
))]
#[post("/<id>/merge", data = "<body>")]
async fn merge(
    state: &State<AppState>,
    agent: Agent,
    id: TicketId,
    body: ApiJson<MergeInto>,
) -> Result<Json<TicketWithMessages>, Error> {
    let into = body.into_inner().into;
    let merged = crate::tickets::merge::merge(&state.db, &agent.0, id, into).await?;
    // Another requester's ticket tells its requester by mail.
    state.delivery.wake();
    Ok(Json(merged))
}
