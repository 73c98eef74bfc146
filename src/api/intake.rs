//! `/api/v1/support/request`: the public support form.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::{ClientIp, CurrentUser};
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::http::request_id::RequestId;
use crate::portal::intake::{self, IntakeReceipt, SupportRequest};
use crate::state::AppState;
use crate::tickets::Channel;

pub fn routes() -> Vec<Route> {
    routes![request]
}

#[derive(OpenApi)]
#[openapi(
    paths(request),
    components(schemas(SupportRequestBody, IntakeReceipt, Problem))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportRequestBody {
    /// How the request came in: email, chat, phone or web.
    pub channel: Channel,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub subject: String,
    pub message: String,
}

/// Opens a ticket for anyone by name and email (the customer is found or
/// created without a password) and answers a portal link to follow it.
/// Rate limited per IP; needs an `X-API-Key` when the setting `intake_requires_api_key` is on.
#[utoipa::path(tag = "support", request_body = SupportRequestBody, security((), ("api_key" = [])), responses(
    (status = 201, body = IntakeReceipt), (status = 401, description = "an API key is required", body = Problem),
    (status = 422, body = Problem), (status = 429, body = Problem),
))]
#[post("/request", data = "<body>")]
async fn request(
    state: &State<AppState>,
    ip: ClientIp,
    request_id: &RequestId,
    caller: Option<CurrentUser>,
    body: ApiJson<SupportRequestBody>,
) -> Result<(Status, Json<IntakeReceipt>), Error> {
    let b = body.into_inner();
    let key = caller
        .map(|c| c.0)
        .filter(|actor| actor.api_key_id().is_some());
    let request = SupportRequest {
        channel: b.channel,
        name: b.name,
        email: b.email,
        phone: b.phone,
        subject: b.subject,
        message: b.message,
    };
    let receipt = intake::submit(&state.intake(), request, &ip.0, key, request_id.as_str()).await?;
    Ok((Status::Created, Json(receipt)))
}
