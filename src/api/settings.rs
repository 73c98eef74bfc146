//! Runtime settings over HTTP.

use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use utoipa::OpenApi;

use crate::app::AppState;
use crate::error::Error;
use crate::settings::{self, PublicSettings};

pub fn routes() -> Vec<Route> {
    routes![public]
}

#[derive(OpenApi)]
#[openapi(paths(public), components(schemas(PublicSettings)))]
pub struct Doc;

/// Settings anyone may read: help desk name, registration, support channels.
#[utoipa::path(tag = "settings", responses((status = 200, body = PublicSettings)))]
#[get("/public")]
async fn public(state: &State<AppState>) -> Result<Json<PublicSettings>, Error> {
    let settings = state.db.read(settings::load).await?;
    Ok(Json(PublicSettings::from(&settings)))
}
