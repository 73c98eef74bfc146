//! `/api/v1/auth`: sign-in, tokens, sign-out, password reset, invites, first-admin setup.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Either, Route, State};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api::guards::{ClientIp, CurrentUser};
use crate::error::Error;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::http::request_id::RequestId;
use crate::state::AppState;
use crate::users::account::{self, TokenPair};
use crate::users::registration::{self, Registration};
use crate::users::User;

pub fn routes() -> Vec<Route> {
    routes![
        register,
        verify,
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
        verify,
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
        VerifyRequest,
        VerificationSent,
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
    /// The refresh token. A browser session (`X-Helpline-Session: cookie`)
    /// sends `""` here and the token as the `helpline_refresh` cookie.
    pub refresh_token: String,
}

/// Name of the cookie holding a browser session's refresh token.
pub const REFRESH_COOKIE: &str = "helpline_refresh";
/// A cookie scripts may read, saying a browser session exists (no secret in
/// it), so the web app only asks to refresh when there is something to refresh.
pub const SIGNED_IN_COOKIE: &str = "helpline_signed_in";

/// A browser session: the client sent `X-Helpline-Session: cookie`, so the
/// refresh token travels in an `HttpOnly; SameSite=Strict` cookie and never
/// reaches JavaScript. Cross-site pages can neither send that header without
/// a CORS preflight nor the cookie, which is what makes this CSRF-safe.
pub struct BrowserSession<'r> {
    cookies: &'r CookieJar<'r>,
    on: bool,
    secure: bool,
    ttl_secs: u64,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BrowserSession<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let on = req
            .headers()
            .get_one("X-Helpline-Session")
            .is_some_and(|v| v.eq_ignore_ascii_case("cookie"));
        let (secure, ttl_secs) = req.rocket().state::<AppState>().map_or((false, 0), |s| {
            (
                s.config.public_url().starts_with("https://"),
                s.config.refresh_token_ttl_secs,
            )
        });
        Outcome::Success(BrowserSession {
            cookies: req.cookies(),
            on,
            secure,
            ttl_secs,
        })
    }
}

impl BrowserSession<'_> {
    /// In a browser session, moves the refresh token from the body to the cookie.
    fn hand_over(&self, mut pair: TokenPair) -> TokenPair {
        if self.on {
            let cookie = Cookie::build((REFRESH_COOKIE, std::mem::take(&mut pair.refresh_token)))
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(self.secure)
                .path("/api/v1/auth")
                .max_age(rocket::time::Duration::seconds(
                    i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2),
                ));
            self.cookies.add(cookie);
            self.cookies.add(
                Cookie::build((SIGNED_IN_COOKIE, "1"))
                    .http_only(false)
                    .same_site(SameSite::Strict)
                    .secure(self.secure)
                    .path("/")
                    .max_age(rocket::time::Duration::seconds(
                        i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2),
                    )),
            );
        }
        pair
    }

    /// The refresh token from the body, or in a browser session from the
    /// cookie. An empty one matches no session (401 on refresh).
    fn refresh_token(&self, body: String) -> String {
        if !body.is_empty() || !self.on {
            return body;
        }
        self.cookies
            .get(REFRESH_COOKIE)
            .map(|c| c.value().to_string())
            .unwrap_or_default()
    }

    fn end(&self) {
        if self.on {
            self.cookies
                .remove(Cookie::build(REFRESH_COOKIE).path("/api/v1/auth"));
            self.cookies
                .remove(Cookie::build(SIGNED_IN_COOKIE).path("/"));
        }
    }
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

/// Creates a customer account (when self-registration is on). With the
/// setting `require_email_verification` (the default) it answers 202 and
/// mails a link; `POST /api/v1/auth/verify` with its token signs in. Without
/// it, 201 with a token pair.
#[utoipa::path(tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, description = "signed in (address confirmation is off)", body = TokenPair),
    (status = 202, description = "the confirmation link was mailed", body = VerificationSent),
    (status = 403, description = "self-registration is off", body = Problem),
    (status = 409, description = "email taken", body = Problem),
    (status = 422, description = "invalid fields", body = Problem),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/register", data = "<body>")]
async fn register(
    state: &State<AppState>,
    ip: ClientIp,
    browser: BrowserSession<'_>,
    body: ApiJson<RegisterRequest>,
) -> Result<Either<(Status, Json<TokenPair>), (Status, Json<VerificationSent>)>, Error> {
    let b = body.into_inner();
    Ok(
        match registration::register(&state.accounts(), b.email, b.password, b.name, &ip.0).await? {
            Registration::SignedIn(pair) => {
                Either::Left((Status::Created, Json(browser.hand_over(*pair))))
            }
            Registration::VerificationSent => Either::Right((
                Status::Accepted,
                Json(VerificationSent {
                    status: "verification_sent".into(),
                }),
            )),
        },
    )
}

/// The answer to a registration whose address must be confirmed first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationSent {
    /// `verification_sent`.
    pub status: String,
}

/// The token of the mailed confirmation link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub token: String,
}

/// Confirms a self-registered address with the link's token and signs in.
#[utoipa::path(tag = "auth", request_body = VerifyRequest, responses(
    (status = 200, body = TokenPair),
    (status = 422, description = "the link is invalid, expired or already used", body = Problem),
))]
#[post("/verify", data = "<body>")]
async fn verify(
    state: &State<AppState>,
    browser: BrowserSession<'_>,
    body: ApiJson<VerifyRequest>,
) -> Result<Json<TokenPair>, Error> {
    let pair = registration::verify_email(&state.accounts(), body.into_inner().token).await?;
    Ok(Json(browser.hand_over(pair)))
}

/// Signs in. Unknown email and wrong password give the same answer.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "invalid email or password", body = Problem),
    (status = 403, description = "right password, but the address is not confirmed yet", body = Problem),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/login", data = "<body>")]
async fn login(
    state: &State<AppState>,
    ip: ClientIp,
    request_id: &RequestId,
    browser: BrowserSession<'_>,
    body: ApiJson<LoginRequest>,
) -> Result<Json<TokenPair>, Error> {
    let b = body.into_inner();
    let pair = account::login(
        &state.accounts(),
        b.email,
        b.password,
        &ip.0,
        request_id.as_str(),
    )
    .await?;
    Ok(Json(browser.hand_over(pair)))
}

/// Spends a refresh token for a new pair. A spent token presented again ends its session.
/// With `X-Helpline-Session: cookie` (the web app), every sign-in answer puts
/// the refresh token in the `helpline_refresh` cookie (`HttpOnly`,
/// `SameSite=Strict`, path `/api/v1/auth`) and leaves `refresh_token` empty,
/// and refresh and logout read it from there.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "invalid, spent, expired or revoked", body = Problem),
    (status = 429, description = "too many attempts", body = Problem),
))]
#[post("/refresh", data = "<body>")]
async fn refresh(
    state: &State<AppState>,
    ip: ClientIp,
    browser: BrowserSession<'_>,
    body: ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, Error> {
    let token = browser.refresh_token(body.into_inner().refresh_token);
    match account::refresh(&state.accounts(), token, &ip.0).await {
        Ok(pair) => Ok(Json(browser.hand_over(pair))),
        Err(e) => {
            // Only a refused token ends the browser session; a 429 or a
            // passing failure keeps the cookie for the next try.
            if matches!(e, Error::Unauthorized(_)) {
                browser.end();
            }
            Err(e)
        }
    }
}

/// Signs out: ends the session of the refresh token and of the access token, if sent.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "signed out")))]
#[post("/logout", data = "<body>")]
async fn logout(
    state: &State<AppState>,
    user: Option<CurrentUser>,
    browser: BrowserSession<'_>,
    body: ApiJson<RefreshRequest>,
) -> Result<Status, Error> {
    let token = browser.refresh_token(body.into_inner().refresh_token);
    browser.end();
    // Ends the refresh token's session and the access token's, whichever
    // are given; an unknown refresh token ends nothing.
    account::logout(&state.accounts(), token, user.map(|u| u.0)).await?;
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
    account::logout_everywhere(&state.accounts(), &user.0).await?;
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
    account::request_password_reset(&state.accounts(), body.into_inner().email, &ip.0).await?;
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
    account::confirm_password_reset(&state.accounts(), b.token, b.password).await?;
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
    browser: BrowserSession<'_>,
    body: ApiJson<AcceptInvite>,
) -> Result<Json<TokenPair>, Error> {
    let b = body.into_inner();
    let pair = account::accept_invite(&state.accounts(), b.token, b.password).await?;
    Ok(Json(browser.hand_over(pair)))
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
    browser: BrowserSession<'_>,
    body: ApiJson<SetupRequest>,
) -> Result<(Status, Json<TokenPair>), Error> {
    let b = body.into_inner();
    let pair =
        account::setup_admin(&state.accounts(), b.token, b.email, b.name, b.password).await?;
    Ok((Status::Created, Json(browser.hand_over(pair))))
}
