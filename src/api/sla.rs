//! `/api/v1/sla`: the service-level policy (agents read it, admins set it).

use rocket::serde::json::Json;
use rocket::{get, put, routes, Route, State};
use utoipa::OpenApi;

use crate::api::guards::{Admin, Agent};
use crate::audit::{self, ActorRef};
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::sla::clock;
use crate::sla::policy::{self, BusinessHours, SlaPolicy, Target, Targets};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![get_policy, replace]
}

#[derive(OpenApi)]
#[openapi(
    paths(get_policy, replace),
    components(schemas(SlaPolicy, BusinessHours, Targets, Target, Problem))
)]
pub struct Doc;

/// The SLA policy: time zone, business hours, holidays and the targets per
/// priority in minutes of business time (off until an admin turns it on).
#[utoipa::path(tag = "sla", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = SlaPolicy), (status = 401, body = Problem), (status = 403, body = Problem),
))]
#[get("/")]
async fn get_policy(state: &State<AppState>, _agent: Agent) -> Result<Json<SlaPolicy>, Error> {
    Ok(Json(state.db.read(policy::load).await?))
}

/// Replaces the SLA policy (admins). Every field is checked; a field left
/// out takes its default; unknown fields are refused. Every unfinished
/// ticket's due times follow at once (notices already due under the new
/// policy count as told, so a change does not mail about the past).
#[utoipa::path(tag = "sla", security(("bearer" = []), ("api_key" = [])), request_body = SlaPolicy, responses(
    (status = 200, body = SlaPolicy), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[put("/", data = "<body>")]
async fn replace(
    state: &State<AppState>,
    admin: Admin,
    body: ApiJson<SlaPolicy>,
) -> Result<Json<SlaPolicy>, Error> {
    let new = body.into_inner();
    new.validate()?;
    let by = ActorRef::from(&admin.0);
    let saved = state
        .db
        .write(move |tx| {
            policy::save(tx, &new)?;
            audit::record(
                tx,
                &by,
                "sla.updated",
                None,
                None,
                &serde_json::json!({ "enabled": new.enabled, "timezone": new.timezone }),
            )?;
            policy::load(tx)
        })
        .await?;
    // Every unfinished ticket's clock follows the new policy, a thousand
    // tickets a write so other writes go between.
    let mut after = 0;
    while let Some(last) = state
        .db
        .write(move |tx| clock::refresh_unfinished(tx, after, 1_000))
        .await?
    {
        after = last;
    }
    Ok(Json(saved))
}
