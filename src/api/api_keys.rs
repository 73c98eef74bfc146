//! `/api/v1/api-keys`: keys for integrations, managed by admins.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::Admin;
use crate::audit::{self, ActorRef, Target};
use crate::auth::api_keys::{self, ApiKey};
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::ids::ApiKeyId;
use crate::state::AppState;
use crate::users::{normalize_name, Role};

pub fn routes() -> Vec<Route> {
    routes![list, create, revoke]
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, revoke),
    components(schemas(ApiKey, CreatedApiKey, CreateApiKey, Problem))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What the key is for, e.g. "website contact form".
    pub name: String,
    /// The role requests with this key act as.
    pub role: Role,
}

/// A new key: the only time `key` is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// Send as `X-API-Key`. Store it now: it cannot be shown again.
    pub key: String,
}

/// All API keys, newest first, revoked ones included.
#[utoipa::path(tag = "api-keys", security(("bearer" = []), ("api_key" = [])), responses(
    (status = 200, body = Vec<ApiKey>), (status = 401, body = Problem), (status = 403, body = Problem),
))]
#[get("/")]
async fn list(state: &State<AppState>, _admin: Admin) -> Result<Json<Vec<ApiKey>>, Error> {
    Ok(Json(state.db.read(api_keys::list).await?))
}

/// Creates a key; the answer is the only time the key is shown.
#[utoipa::path(tag = "api-keys", security(("bearer" = []), ("api_key" = [])), request_body = CreateApiKey, responses(
    (status = 201, body = CreatedApiKey), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
))]
#[post("/", data = "<body>")]
async fn create(
    state: &State<AppState>,
    admin: Admin,
    body: ApiJson<CreateApiKey>,
) -> Result<(Status, Json<CreatedApiKey>), Error> {
    let b = body.into_inner();
    let name = normalize_name(&b.name).map_err(|e| Error::Validation(vec![e]))?;
    let role = b.role;
    let by = ActorRef::from(&admin.0);
    let (api_key, key) = state
        .db
        .write(move |tx| {
            let (created, key) = api_keys::create(tx, &name, role, by.user_id)?;
            audit::record(
                tx,
                &by,
                "api_key.created",
                Some(Target { kind: "api_key", id: created.id.0 }),
                None,
                &serde_json::json!({ "name": created.name, "role": role.as_str(), "prefix": created.prefix }),
            )?;
            Ok((created, key))
        })
        .await?;
    Ok((Status::Created, Json(CreatedApiKey { api_key, key })))
}

/// Revokes a key at once. Revoking a revoked key is a no-op.
#[utoipa::path(tag = "api-keys", security(("bearer" = []), ("api_key" = [])), params(("id" = i64, Path)), responses(
    (status = 204, description = "revoked"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
))]
#[delete("/<id>")]
async fn revoke(state: &State<AppState>, admin: Admin, id: ApiKeyId) -> Result<Status, Error> {
    let by = ActorRef::from(&admin.0);
    state
        .db
        .write(move |tx| {
            if !api_keys::revoke(tx, id)? {
                return Err(Error::NotFound("API key"));
            }
            audit::record(
                tx,
                &by,
                "api_key.revoked",
                Some(Target {
                    kind: "api_key",
                    id: id.0,
                }),
                None,
                &serde_json::json!({}),
            )
        })
        .await?;
    // Live connections made with the key end now.
    state.events.api_key_revoked(id);
    Ok(Status::NoContent)
}
