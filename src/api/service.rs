//! Service endpoints: liveness, readiness, metrics and the OpenAPI document.

use rocket::http::ContentType;
use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::actor::Role;
use crate::api::guards::{ClientIp, CurrentUser};
use crate::db::migrate;
use crate::error::Error;
use crate::settings;
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    routes![health, ready, metrics]
}

pub fn openapi_routes() -> Vec<Route> {
    routes![openapi_json]
}

#[derive(OpenApi)]
#[openapi(paths(health, ready, metrics), components(schemas(Health, Readiness)))]
pub struct Doc;

#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
pub struct OpenApiJsonDoc;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    status: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when the database answers and is fully migrated.
    status: &'static str,
    schema_version: u32,
}

/// Liveness: the process is up and answering.
#[utoipa::path(tag = "service", responses((status = 200, body = Health)))]
#[get("/health")]
fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the database is reachable and migrated to this version's schema.
#[utoipa::path(
    tag = "service",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "database unreachable or not migrated", body = crate::http::problem::Problem, content_type = "application/problem+json")
    )
)]
#[get("/ready")]
async fn ready(state: &State<AppState>) -> Result<Json<Readiness>, Error> {
    let version = state
        .db
        .read(migrate::current_version)
        .await
        .map_err(|e| Error::Unavailable(format!("the database is not reachable: {e}")))?;
    if version != migrate::latest_version() {
        return Err(Error::Unavailable(format!(
            "the database has schema version {version}, expected {}",
            migrate::latest_version()
        )));
    }
    Ok(Json(Readiness {
        status: "ready",
        schema_version: version,
    }))
}

/// Prometheus metrics: requests and latency by route and status, database
/// pools, build. For admins and for clients on this machine (loopback),
/// unless the setting `metrics_public` opens it to anyone.
#[utoipa::path(
    tag = "service",
    security((), ("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "not public, not from loopback, and no credentials were sent", body = crate::http::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "not public, not from loopback, and the caller is not an admin", body = crate::http::problem::Problem, content_type = "application/problem+json")
    )
)]
#[get("/metrics")]
async fn metrics(
    state: &State<AppState>,
    user: Option<CurrentUser>,
    ip: ClientIp,
) -> Result<(ContentType, String), Error> {
    let local =
        ip.0.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !local && !state.db.read(settings::load).await?.metrics_public {
        match user {
            None => {
                return Err(Error::Unauthorized(
                    "metrics are for admins: sign in".into(),
                ))
            }
            Some(u) if u.0.role < Role::Admin => {
                return Err(Error::Forbidden("metrics are for admins".into()))
            }
            Some(_) => {}
        }
    }
    let mut text = state.metrics.render(&state.db.pool_stats());
    text.push_str(&crate::metrics::render_mailboxes(&state.mailboxes.views()));
    Ok((
        ContentType::new("text", "plain").with_params([("version", "0.0.4")]),
        text,
    ))
}

/// This document: the OpenAPI 3.1 description of the whole API.
#[utoipa::path(tag = "service", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/openapi.json")]
fn openapi_json(state: &State<AppState>) -> (ContentType, String) {
    (ContentType::JSON, state.openapi_json.clone())
}
