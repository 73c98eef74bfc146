//! Request guards: `CurrentUser` (anyone signed in) -> `Agent` -> `Admin`.
//! Failures answer problem JSON 401/403 like every other error.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;

use crate::actor::{Actor, Principal};
use crate::auth::{api_keys, tokens};
use tokio::sync::broadcast;

use crate::error::Error;
use crate::events::Credential;
use crate::http::problem::Problem;
use crate::http::request_id::RequestId;
use crate::state::AppState;
use crate::users::{sessions, Role};

/// Any authenticated principal.
pub struct CurrentUser(pub Actor);
/// An agent or admin.
pub struct Agent(pub Actor);
/// An admin.
pub struct Admin(pub Actor);

/// The client's address as Rocket sees it (after `ip_header`, when configured).
pub struct ClientIp(pub String);

#[derive(Debug, Clone)]
enum AuthFailure {
    Missing,
    BadToken,
    BadKey,
    Error {
        status: Status,
        detail: String,
        retry_after: Option<u64>,
    },
}

impl AuthFailure {
    fn into_error(self) -> Error {
        match self {
            Self::Missing => Error::Unauthorized(
                "authentication required: send Authorization: Bearer <token> or X-API-Key".into(),
            ),
            Self::BadToken => {
                Error::Unauthorized("the access token is invalid, expired or revoked".into())
            }
            Self::BadKey => Error::Unauthorized("the API key is invalid or revoked".into()),
            Self::Error {
                status,
                detail,
                retry_after,
            } => match (status.code, retry_after) {
                (429, Some(secs)) => Error::RateLimited {
                    retry_after_secs: secs,
                },
                (503, _) => Error::Unavailable(detail),
                _ => Error::Internal(detail),
            },
        }
    }

    fn from_error(error: &Error) -> Self {
        let retry_after = match error {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        Self::Error {
            status: error.status(),
            detail: error.to_string(),
            retry_after,
        }
    }
}

async fn authenticate(req: &Request<'_>) -> Result<Actor, AuthFailure> {
    let Some(state) = req.rocket().state::<AppState>() else {
        return Err(AuthFailure::from_error(&Error::Internal(
            "no app state".into(),
        )));
    };
    if let Some(header) = req.headers().get_one("Authorization") {
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(AuthFailure::BadToken)?;
        return session_from_token(state, token, RequestId::of(req).as_str())
            .await
            .map_err(|e| AuthFailure::from_error(&e))?
            .map(|(actor, _)| actor)
            .ok_or(AuthFailure::BadToken);
    }
    if let Some(presented) = req.headers().get_one("X-API-Key") {
        let presented = presented.trim().to_string();
        let found = state
            .db
            .read_here(move |conn| api_keys::find_live(conn, &presented))
            .await
            .map_err(|e| AuthFailure::from_error(&e))?;
        // Only failed lookups count against the client: integrations are not
        // throttled, floods of made-up keys are.
        let Some(key) = found else {
            state
                .rate_limits
                .api_key_failures_per_ip
                .check_ip(&client_ip(req))
                .map_err(|e| AuthFailure::from_error(&e))?;
            return Err(AuthFailure::BadKey);
        };
        if api_keys::needs_touch(&key) {
            let id = key.id;
            if let Err(e) = state.db.write(move |tx| api_keys::touch(tx, id)).await {
                tracing::warn!(error = %e, "could not record API key use");
            }
        }
        return Ok(Actor {
            principal: Principal::ApiKey {
                id: key.id,
                name: key.name,
            },
            role: key.role,
            request_id: RequestId::of(req).to_string(),
        });
    }
    Err(AuthFailure::Missing)
}

/// The signed-in actor of an access token and when the token expires (unix
/// seconds); `None` when the token is invalid, expired or its session ended.
pub async fn session_from_token(
    state: &AppState,
    token: &str,
    request_id: &str,
) -> Result<Option<(Actor, u64)>, Error> {
    let Some((user_id, claims)) = tokens::verify_access(&state.keys, token) else {
        return Ok(None);
    };
    let session_id = claims.sid.clone();
    let sid = session_id.clone();
    let user = state
        .db
        .read_here(move |conn| sessions::active_user(conn, user_id, &sid))
        .await?;
    Ok(user.map(|user| {
        let role = user.user.role;
        (
            Actor {
                principal: Principal::User {
                    user: user.user,
                    session_id,
                },
                role,
                request_id: request_id.to_string(),
            },
            claims.exp,
        )
    }))
}

/// Whether the session behind `actor` still holds with the same role (no
/// logout, password change, deactivation or role change since). API keys are
/// checked for revocation.
pub async fn still_valid(state: &AppState, actor: &Actor) -> Result<bool, Error> {
    match &actor.principal {
        Principal::User { user, session_id } => {
            let (id, sid) = (user.id, session_id.clone());
            Ok(state
                .db
                .read(move |conn| sessions::active_user(conn, id, &sid))
                .await?
                .is_some_and(|current| current.user.role == actor.role))
        }
        Principal::ApiKey { id, .. } => {
            let id = *id;
            Ok(state
                .db
                .read(move |conn| api_keys::is_live(conn, id))
                .await?)
        }
    }
}

/// Subscribes a live connection (stream, chat) to session changes, then
/// checks the session once more: a logout between the guard and the
/// subscription is caught here, one after it arrives on the receiver.
pub async fn hold_session(
    state: &AppState,
    actor: &Actor,
) -> Result<broadcast::Receiver<Credential>, Error> {
    let changes = state.events.subscribe_sessions().await;
    if still_valid(state, actor).await? {
        Ok(changes)
    } else {
        Err(AuthFailure::BadToken.into_error())
    }
}

/// Credentials for live connections, which browsers cannot give headers:
/// `Authorization`/`X-API-Key` as usual, or `?token=<access token>`. Never
/// fails, so a WebSocket can be accepted and then closed with 4401.
pub struct LiveAuth(pub Result<(Actor, Option<u64>), Error>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LiveAuth {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let has_header =
            req.headers().contains("Authorization") || req.headers().contains("X-API-Key");
        let query_token = req.query_value::<&str>("token").and_then(Result::ok);
        let result = match (has_header, query_token, req.rocket().state::<AppState>()) {
            (false, Some(token), Some(state)) => {
                match session_from_token(state, token, RequestId::of(req).as_str()).await {
                    Ok(Some((actor, exp))) => Ok((actor, Some(exp))),
                    Ok(None) => Err(AuthFailure::BadToken.into_error()),
                    Err(e) => Err(e),
                }
            }
            _ => match req
                .local_cache_async(async { authenticate(req).await })
                .await
            {
                Ok(actor) => {
                    let exp = req
                        .headers()
                        .get_one("Authorization")
                        .and_then(|h| h.split_once(' '))
                        .and_then(|(_, t)| {
                            req.rocket()
                                .state::<AppState>()
                                .and_then(|s| tokens::verify_access(&s.keys, t.trim()))
                        })
                        .map(|(_, claims)| claims.exp);
                    Ok((actor.clone(), exp))
                }
                Err(failure) => Err(failure.clone().into_error()),
            },
        };
        Outcome::Success(LiveAuth(result))
    }
}

fn client_ip(req: &Request<'_>) -> String {
    req.client_ip()
        .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

fn fail<T>(req: &Request<'_>, error: Error) -> Outcome<T, Error> {
    let status = error.status();
    Problem::from_error(&error, req).stash(req);
    Outcome::Error((status, error))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let result = req
            .local_cache_async(async { authenticate(req).await })
            .await;
        match result {
            Ok(actor) => Outcome::Success(CurrentUser(actor.clone())),
            Err(failure) => {
                if matches!(failure, AuthFailure::BadToken | AuthFailure::BadKey) {
                    tracing::info!(request_id = %RequestId::of(req), "rejected credentials");
                }
                fail(req, failure.clone().into_error())
            }
        }
    }
}

async fn with_role(req: &Request<'_>, role: Role) -> Outcome<Actor, Error> {
    match req.guard::<CurrentUser>().await {
        Outcome::Success(CurrentUser(actor)) if actor.role >= role => Outcome::Success(actor),
        Outcome::Success(_) => fail(
            req,
            Error::Forbidden(format!("this needs the {} role", role.as_str())),
        ),
        Outcome::Error(e) => Outcome::Error(e),
        Outcome::Forward(status) => Outcome::Forward(status),
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Agent {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        with_role(req, Role::Agent).await.map(Agent)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        with_role(req, Role::Admin).await.map(Admin)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientIp(client_ip(req)))
    }
}
