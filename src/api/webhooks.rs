//! `/api/v1/webhooks`: where events are sent, their delivery log, redelivery
//! and a test ping (admins).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::Admin;
use crate::error::Error;
use crate::http::json::{double_option, ApiJson};
use crate::http::problem::Problem;
use crate::http::query::{Page, Pagination, SingleValued};
use crate::state::AppState;
use crate::webhooks::{self, Changes, CreatedWebhook, Delivery, DeliveryStatus, Format, Webhook};

pub fn routes() -> Vec<Route> {
    routes![list, create, get_one, update, delete_one, deliveries, redeliver, ping]
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, get_one, update, delete_one, deliveries, redeliver, ping),
    components(schemas(Webhook, CreatedWebhook, Format, Delivery, DeliveryStatus, Page<Delivery>,
        NewWebhook, UpdateWebhook, Problem))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST; loopback and private targets are refused (422) unless
    /// `webhooks.allow_private` is set.
    pub url: String,
    /// `ticket.created`, `ticket.updated`, `ticket.assigned`, `ticket.deleted`,
    /// `message.created`, `ticket.sla_warning`, `ticket.sla_breached`, or `*`.
    pub events: Vec<String>,
    /// Default `json` (signed); `slack`, `teams`, `discord` post a readable line.
    pub format: Option<Format>,
    /// Send internal notes too (default false).
    pub include_internal: Option<bool>,
    /// Default true.
    pub active: Option<bool>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub format: Option<Format>,
    pub include_internal: Option<bool>,
    pub active: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// Every webhook, oldest first (secrets are never shown again).
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Vec<Webhook>), (status = 401, body = Problem), (status = 403, body = Problem),
))]
#[get("/")]
async fn list(state: &State<AppState>, _admin: Admin) -> Result<Json<Vec<Webhook>>, Error> {
    Ok(Json(webhooks::list(&state.db).await?))
}

/// Creates a webhook; the answer holds its signing `secret`, this once.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), request_body = NewWebhook, responses(
    (status = 201, body = CreatedWebhook), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[post("/", data = "<body>")]
async fn create(
    state: &State<AppState>,
    admin: Admin,
    body: ApiJson<NewWebhook>,
) -> Result<(Status, Json<CreatedWebhook>), Error> {
    let b = body.into_inner();
    let changes = Changes {
        url: Some(b.url),
        events: Some(b.events),
        format: b.format,
        include_internal: b.include_internal,
        active: b.active,
        description: Some(b.description),
    };
    let created = webhooks::create(&state.db, &state.config.webhooks, &admin.0, changes).await?;
    Ok((Status::Created, Json(created)))
}

#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Webhook), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[get("/<id>")]
async fn get_one(state: &State<AppState>, _admin: Admin, id: i64) -> Result<Json<Webhook>, Error> {
    Ok(Json(webhooks::get(&state.db, id).await?))
}

/// Changes the fields given.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), request_body = UpdateWebhook, responses(
    (status = 200, body = Webhook), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[patch("/<id>", data = "<body>")]
async fn update(
    state: &State<AppState>,
    admin: Admin,
    id: i64,
    body: ApiJson<UpdateWebhook>,
) -> Result<Json<Webhook>, Error> {
    let b = body.into_inner();
    let changes = Changes {
        url: b.url,
        events: b.events,
        format: b.format,
        include_internal: b.include_internal,
        active: b.active,
        description: b.description,
    };
    Ok(Json(
        webhooks::update(&state.db, &state.config.webhooks, &admin.0, id, changes).await?,
    ))
}

/// Deletes a webhook with its delivery log; waiting deliveries are dropped.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 204, description = "deleted"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/<id>")]
async fn delete_one(state: &State<AppState>, admin: Admin, id: i64) -> Result<Status, Error> {
    webhooks::delete(&state.db, &admin.0, id).await?;
    Ok(Status::NoContent)
}

/// The webhook's deliveries, newest first; filter with `status`.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 200, body = Page<Delivery>), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 422, body = Problem),
))]
#[get("/<id>/deliveries?<status>&<page>&<per_page>")]
async fn deliveries(
    state: &State<AppState>,
    _query: SingleValued,
    _admin: Admin,
    id: i64,
    status: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Json<Page<Delivery>>, Error> {
    let pagination = Pagination::parse(page, per_page)?;
    let status = status
        .map(|s| {
            DeliveryStatus::parse(s.trim())
                .ok_or_else(|| Error::validation("status", "must be pending, sent, failed or dead"))
        })
        .transpose()?;
    Ok(Json(
        webhooks::deliveries(&state.db, id, status, pagination).await?,
    ))
}

/// Sends a delivery again under the same delivery id, due now with a fresh
/// attempt budget (409 while it is still pending).
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path), ("delivery_id" = i64, Path)), responses(
    (status = 200, body = Delivery), (status = 401, body = Problem), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem),
))]
#[post("/<id>/deliveries/<delivery_id>/redeliver")]
async fn redeliver(
    state: &State<AppState>,
    admin: Admin,
    id: i64,
    delivery_id: i64,
) -> Result<Json<Delivery>, Error> {
    let delivery = webhooks::redeliver(&state.db, &admin.0, id, delivery_id).await?;
    state.webhooks.wake();
    Ok(Json(delivery))
}

/// Queues a test delivery (`ping` event) to the webhook now.
#[utoipa::path(tag = "webhooks", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 202, body = Delivery), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[post("/<id>/ping")]
async fn ping(
    state: &State<AppState>,
    admin: Admin,
    id: i64,
) -> Result<(Status, Json<Delivery>), Error> {
    let delivery = webhooks::ping(&state.db, &admin.0, id).await?;
    state.webhooks.wake();
    Ok((Status::Accepted, Json(delivery)))
}
