//! `/api/v1/auth`: sign-in, tokens, sign-out, password reset, invites, first-admin setup.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::app::AppState;
use crate::auth::account::{self, TokenPair};
use crate::auth::{ClientIp, CurrentUser};
use crate::error::{Error, Problem};
use crate::http::json::ApiJson;
use crate::http::request_id::RequestId;
use crate::users::User;

pub fn routes() -> Vec<Route> {
    routes![
        register,
        login,
        refresh,
        logout,
        logout_everywhere,
        me,
        password_reset,
        password_reset_confirm,
        accept_invite,
        setup
    ]
}

#[derive(OpenApi)]
#[openapi(
    paths(
        register,
        login,
        refresh,
        logout,
        logout_everywhere,
        me,
        password_reset,
        password_reset_confirm,
        accept_invite,
        setup
    ),
    components(schemas(
        TokenPair,
        User,
        RegisterRequest,
        LoginRequest,
        RefreshRequest,
        PasswordResetRequest,
        PasswordResetConfirm,
        AcceptInvite,
        SetupRequest,
        Problem
    ))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// 10 characters to 72 bytes.
    pub password: String,
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the reset link.
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    /// The token from the invite link.
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The token from the setup link printed in the log at start.
    pub token: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

/// Creates a customer account and signs it in (when self-registration is on).
#[utoipa::path(tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = TokenPair),
    (status = 403, description = "self-registration is off", body = Problem),
    (status = 409, description = "email taken", body = Problem),
    (status = 422, description = "invalid fields", body = Problem),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/register", data = "<body>")]
async fn register(
    state: &State<AppState>,
    ip: ClientIp,
    body: ApiJson<RegisterRequest>,
) -> Result<(Status, Json<TokenPair>), Error> {
    let b = body.into_inner();
    let pair = account::register(state, b.email, b.password, b.name, &ip.0).await?;
    Ok((Status::Created, Json(pair)))
}

/// Signs in. Unknown email and wrong password give the same answer.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "invalid email or password", body = Problem),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/login", data = "<body>")]
async fn login(
    state: &State<AppState>,
    ip: ClientIp,
    request_id: &RequestId,
    body: ApiJson<LoginRequest>,
) -> Result<Json<TokenPair>, Error> {
    let b = body.into_inner();
    Ok(Json(
        account::login(state, b.email, b.password, &ip.0, request_id.as_str()).await?,
    ))
}

/// Spends a refresh token for a new pair. A spent token presented again ends its session.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "invalid, spent, expired or revoked", body = Problem),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/refresh", data = "<body>")]
async fn refresh(
    state: &State<AppState>,
    ip: ClientIp,
    body: ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, Error> {
    Ok(Json(
        account::refresh(state, body.into_inner().refresh_token, &ip.0).await?,
    ))
}

/// Signs out: ends the session of the refresh token and of the access token, if sent.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "signed out")))]
#[post("/logout", data = "<body>")]
async fn logout(
    state: &State<AppState>,
    user: Option<CurrentUser>,
    body: ApiJson<RefreshRequest>,
) -> Result<Status, Error> {
    account::logout(state, body.into_inner().refresh_token, user.map(|u| u.0)).await?;
    Ok(Status::NoContent)
}

/// Ends every session of the signed-in user, on every device.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "all sessions ended"),
    (status = 401, body = Problem),
    (status = 403, description = "API keys have no sessions", body = Problem),
))]
#[post("/logout-all")]
async fn logout_everywhere(state: &State<AppState>, user: CurrentUser) -> Result<Status, Error> {
    account::logout_everywhere(state, &user.0).await?;
    Ok(Status::NoContent)
}

/// The signed-in user.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = User),
    (status = 401, body = Problem),
    (status = 403, description = "API keys have no user profile", body = Problem),
))]
#[get("/me")]
fn me(user: CurrentUser) -> Result<Json<User>, Error> {
    Ok(Json(user.0.require_user()?.clone()))
}

/// Asks for a password reset link. Always 204, whether or not the account exists.
#[utoipa::path(tag = "auth", request_body = PasswordResetRequest, responses(
    (status = 204, description = "if the account exists, a link is on its way"),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/password-reset", data = "<body>")]
async fn password_reset(
    state: &State<AppState>,
    ip: ClientIp,
    body: ApiJson<PasswordResetRequest>,
) -> Result<Status, Error> {
    account::request_password_reset(state, body.into_inner().email, &ip.0).await?;
    Ok(Status::NoContent)
}

/// Sets a new password with the token of a reset link; every session ends.
#[utoipa::path(tag = "auth", request_body = PasswordResetConfirm, responses(
    (status = 204, description = "password changed"),
    (status = 422, description = "bad token or password", body = Problem),
))]
#[post("/password-reset/confirm", data = "<body>")]
async fn password_reset_confirm(
    state: &State<AppState>,
    body: ApiJson<PasswordResetConfirm>,
) -> Result<Status, Error> {
    let b = body.into_inner();
    account::confirm_password_reset(state, b.token, b.password).await?;
    Ok(Status::NoContent)
}

/// Accepts an invite: sets the password and signs in.
#[utoipa::path(tag = "auth", request_body = AcceptInvite, responses(
    (status = 200, body = TokenPair),
    (status = 422, description = "bad token or password", body = Problem),
))]
#[post("/invite/accept", data = "<body>")]
async fn accept_invite(
    state: &State<AppState>,
    body: ApiJson<AcceptInvite>,
) -> Result<Json<TokenPair>, Error> {
    let b = body.into_inner();
    Ok(Json(
        account::accept_invite(state, b.token, b.password).await?,
    ))
}

/// Creates the first admin with the setup link's token (only while no admin exists).
#[utoipa::path(tag = "auth", request_body = SetupRequest, responses(
    (status = 201, body = TokenPair),
    (status = 409, description = "an admin exists already", body = Problem),
    (status = 422, description = "bad token or fields", body = Problem),
))]
#[post("/setup", data = "<body>")]
async fn setup(
    state: &State<AppState>,
    body: ApiJson<SetupRequest>,
) -> Result<(Status, Json<TokenPair>), Error> {
    let b = body.into_inner();
    let pair = account::setup_admin(state, b.token, b.email, b.name, b.password).await?;
    Ok((Status::Created, Json(pair)))
}
