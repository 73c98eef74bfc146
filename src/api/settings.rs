//! `/api/v1/settings`: runtime settings, all for admins, a public subset for anyone.

use rocket::serde::json::Json;
use rocket::{get, put, routes, Route, State};
use utoipa::OpenApi;

use crate::api::guards::Admin;
use crate::audit::{self, ActorRef};
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::settings::{self, PublicSettings, Settings};
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![public, get_all, replace]
}

#[derive(OpenApi)]
#[openapi(
    paths(public, get_all, replace),
    components(schemas(PublicSettings, Settings, Problem))
)]
pub struct Doc;

/// Settings anyone may read: help desk name, registration, support channels.
#[utoipa::path(tag = "settings", responses((status = 200, body = PublicSettings)))]
#[get("/public")]
async fn public(state: &State<AppState>) -> Result<Json<PublicSettings>, Error> {
    let settings = state.db.read(settings::load).await?;
    Ok(Json(PublicSettings::from(&settings)))
}

/// Every runtime setting (admins).
#[utoipa::path(tag = "settings", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Settings), (status = 401, body = Problem), (status = 403, body = Problem),
))]
#[get("/")]
async fn get_all(state: &State<AppState>, _admin: Admin) -> Result<Json<Settings>, Error> {
    Ok(Json(state.db.read(settings::load).await?))
}

/// Replaces the runtime settings (admins). Every key is validated; a key left
/// out takes its default; unknown keys are refused.
#[utoipa::path(tag = "settings", security(("bearer" = []), ("api_key" = [])), request_body = Settings, responses(
    (status = 200, body = Settings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[put("/", data = "<body>")]
async fn replace(
    state: &State<AppState>,
    admin: Admin,
    body: ApiJson<Settings>,
) -> Result<Json<Settings>, Error> {
    let new = body.into_inner();
    let by = ActorRef::from(&admin.0);
    let saved = state
        .db
        .write(move |tx| {
            let old = settings::load(tx)?;
            settings::save(tx, &new)?;
            let changed = settings::changed_keys(&old, &new);
            if !changed.is_empty() {
                audit::record(
                    tx,
                    &by,
                    "settings.updated",
                    None,
                    None,
                    &serde_json::json!({ "keys": changed }),
                )?;
            }
            settings::load(tx)
        })
        .await?;
    Ok(Json(saved))
}
