//! Sign-in flows: register, login, refresh, logout, password reset, invites, first-admin setup.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::sessions::{self, Rotation};
use crate::actor::Actor;
use crate::audit::{self, ActorRef, Target};
use crate::auth::password::PasswordHasher;
use crate::auth::rate_limit::RateLimits;
use crate::auth::tokens::{self, audience};
use crate::auth::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, FieldError};
use crate::events::EventHub;
use crate::notify::delivery::Delivery;
use crate::users::{self, repo, Role, User, UserId, UserRecord};

/// What account operations (sign-in, registration, resets, user management)
/// need from the running server. The app hands one out per request.
pub struct Accounts<'a> {
    pub config: &'a Config,
    pub db: &'a Db,
    pub keys: &'a JwtKeys,
    pub hasher: &'a PasswordHasher,
    pub rate_limits: &'a RateLimits,
    /// Live connections end when their user's sessions or role change.
    pub events: &'a EventHub,
    /// Woken when a change queued mail (invites, resets).
    pub delivery: &'a Delivery,
}

/// Answer of every sign-in: a short-lived access token and a refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; spent by `/auth/refresh`, which answers a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
}

pub(super) fn issue_pair(
    ctx: &Accounts<'_>,
    user: UserRecord,
    session_id: &str,
    refresh_token: String,
) -> Result<TokenPair, Error> {
    let ttl = ctx.config.access_token_ttl_secs;
    let access_token = tokens::issue_access(
        ctx.keys,
        user.user.id,
        user.user.role,
        user.token_version,
        session_id,
        ttl,
    )?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl,
        user: user.user,
    })
}

/// Records the sign-in and starts a session for an active user, inside the
/// caller's transaction: (user as now stored, session id, refresh token).
pub(super) fn begin_session(
    conn: &rusqlite::Connection,
    id: UserId,
    ttl: u64,
) -> Result<(UserRecord, String, String), Error> {
    repo::record_login(conn, id)?;
    let user = repo::get(conn, id)?
        .filter(|u| u.user.active)
        .ok_or_else(invalid_credentials)?;
    let (sid, refresh) = sessions::create(conn, &user, ttl)?;
    Ok((user, sid, refresh))
}

fn invalid_credentials() -> Error {
    Error::Unauthorized("invalid email or password".into())
}

/// Collects validation problems of a new account.
/// Creates an account that signs itself up (first admin, registration) and
/// audits it as its own act.
pub(super) fn insert_audited(
    tx: &rusqlite::Connection,
    new: &repo::NewUser<'_>,
    action: &str,
    details: serde_json::Value,
) -> Result<UserRecord, Error> {
    let user = repo::insert(tx, new)?;
    audit::record(
        tx,
        &ActorRef::user(user.user.id),
        action,
        Some(Target {
            kind: "user",
            id: user.user.id.0,
        }),
        None,
        &details,
    )?;
    Ok(user)
}

pub(super) fn check_new_account(
    email: &str,
    name: &str,
    password: Option<&str>,
) -> Result<(String, String, String), Error> {
    let mut errors: Vec<FieldError> = Vec::new();
    let email = users::normalize_email(email)
        .map_err(|e| errors.push(e))
        .ok();
    let name = users::normalize_name(name).map_err(|e| errors.push(e)).ok();
    if let Some(password) = password {
        if let Err(e) = users::check_password("password", password) {
            errors.push(e);
        }
    }
    match (email, name) {
        (Some((email, key)), Some(name)) if errors.is_empty() => Ok((email, key, name)),
        _ => Err(Error::Validation(errors)),
    }
}

pub async fn login(
    ctx: &Accounts<'_>,
    email: String,
    password: String,
    ip: &str,
    request_id: &str,
) -> Result<TokenPair, Error> {
    let key = email.trim().to_lowercase();
    ctx.rate_limits.login_per_ip.check_ip(ip)?;
    // Per account *and* client network: guessing from elsewhere cannot lock
    // the owner out of their account.
    let client = crate::auth::rate_limit::client_key(ip);
    ctx.rate_limits
        .login_per_account
        .check(&format!("{key} {client}"))?;
    let found = ctx
        .db
        .read({
            let key = key.clone();
            move |conn| repo::get_by_email(conn, &key)
        })
        .await?;
    // Verify even when there is no account or no password: same time either way.
    let hash = found.as_ref().and_then(|u| u.password_hash.clone());
    let verified = ctx.hasher.verify(password, hash).await?;
    let Some(user) = found.filter(|u| verified && u.user.active) else {
        tracing::info!(request_id, email = %key, ip, "failed sign-in");
        return Err(invalid_credentials());
    };
    let ttl = ctx.config.refresh_token_ttl_secs;
    let id = user.user.id;
    // The password is right: saying that the address is unconfirmed leaks nothing.
    if ctx
        .db
        .read(move |conn| repo::verify_pending(conn, id))
        .await?
    {
        return Err(Error::Forbidden(
            "confirm your email address first: follow the link we mailed you \
             (or reset your password, which confirms it too)"
                .into(),
        ));
    }
    let (user, session_id, refresh) = ctx.db.write(move |tx| begin_session(tx, id, ttl)).await?;
    issue_pair(ctx, user, &session_id, refresh)
}

pub async fn refresh(ctx: &Accounts<'_>, presented: String, ip: &str) -> Result<TokenPair, Error> {
    ctx.rate_limits.refresh_per_ip.check_ip(ip)?;
    let ttl = ctx.config.refresh_token_ttl_secs;
    let rotation = ctx
        .db
        .write(move |tx| sessions::rotate(tx, &presented, ttl))
        .await?;
    match rotation {
        Rotation::Rotated {
            user,
            session_id,
            refresh_token,
        } => issue_pair(ctx, user, &session_id, refresh_token),
        Rotation::Refused(reason) => {
            tracing::info!(reason, "refresh refused");
            Err(Error::Unauthorized(
                "the refresh token is invalid, spent, expired or revoked".into(),
            ))
        }
    }
}

/// Ends the session of the refresh token and, when given, of the access token.
pub async fn logout(
    ctx: &Accounts<'_>,
    refresh_token: String,
    actor: Option<Actor>,
) -> Result<(), Error> {
    ctx.db
        .write(move |tx| {
            if let Some(sid) = sessions::session_of_refresh_token(tx, &refresh_token)? {
                sessions::revoke(tx, &sid, "logout")?;
            }
            if let Some(sid) = actor.as_ref().and_then(Actor::session_id) {
                sessions::revoke(tx, sid, "logout")?;
            }
            Ok(())
        })
        .await
}

/// Ends every session of the signed-in user.
pub async fn logout_everywhere(ctx: &Accounts<'_>, actor: &Actor) -> Result<(), Error> {
    let user = actor.require_user()?.id;
    ctx.db
        .write(move |tx| {
            repo::bump_token_version(tx, user)?;
            sessions::ended(tx, user)?;
            audit::record(
                tx,
                &ActorRef::user(user),
                "user.signed_out_everywhere",
                Some(Target {
                    kind: "user",
                    id: user.0,
                }),
                None,
                &serde_json::json!({}),
            )
        })
        .await
}

pub fn link(ctx: &Accounts<'_>, page: &str, token: &str) -> String {
    format!("{}/{page}#token={token}", ctx.config.public_url())
}

/// Issues an invite link for a user without a password.
pub fn invite_link(ctx: &Accounts<'_>, user: &UserRecord) -> Result<String, Error> {
    let token = tokens::issue_purpose(
        ctx.keys,
        audience::INVITE,
        &user.user.id.to_string(),
        user.token_version,
        tokens::INVITE_TTL_SECS,
    )?;
    Ok(link(ctx, "accept-invite", &token))
}

pub fn password_reset_link(ctx: &Accounts<'_>, user: &UserRecord) -> Result<String, Error> {
    let token = tokens::issue_purpose(
        ctx.keys,
        audience::PASSWORD_RESET,
        &user.user.id.to_string(),
        user.token_version,
        tokens::PASSWORD_RESET_TTL_SECS,
    )?;
    Ok(link(ctx, "reset-password", &token))
}

/// Always succeeds from the caller's view, so nobody can probe for accounts.
pub async fn request_password_reset(
    ctx: &Accounts<'_>,
    email: String,
    ip: &str,
) -> Result<(), Error> {
    let key = email.trim().to_lowercase();
    ctx.rate_limits.password_reset_per_ip.check_ip(ip)?;
    ctx.rate_limits.password_reset_per_account.check(&key)?;
    let sent = ctx
        .db
        .write(
            move |tx| match repo::get_by_email(tx, &key)?.filter(|u| u.user.active) {
                Some(user) => {
                    crate::notify::password_reset(tx, &user)?;
                    Ok(true)
                }
                None => Ok(false),
            },
        )
        .await?;
    if sent {
        ctx.delivery.wake();
    } else {
        tracing::info!("password reset requested for an unknown or inactive account");
    }
    Ok(())
}

/// Sets a password through a link token; the password change spends the token.
async fn set_password_with_token(
    ctx: &Accounts<'_>,
    token: &str,
    aud: &'static str,
    password: String,
) -> Result<UserRecord, Error> {
    users::check_password("password", &password).map_err(|e| Error::Validation(vec![e]))?;
    let claims = tokens::verify_purpose(ctx.keys, token, aud)?;
    let spent = || Error::validation("token", "the link is invalid, expired or already used");
    let id = UserId(claims.sub.parse().map_err(|_| spent())?);
    let hash = ctx.hasher.hash(password).await?;
    let user = ctx
        .db
        .write(move |tx| {
            let user = repo::get(tx, id)?.ok_or_else(spent)?;
            if !user.user.active || user.token_version != claims.tv {
                return Err(spent());
            }
            repo::set_password(tx, id, &hash)?;
            sessions::ended(tx, id)?;
            // The link came to the address: it is confirmed.
            repo::set_verify_pending(tx, id, false)?;
            let action = if aud == audience::INVITE {
                "user.invite_accepted"
            } else {
                "user.password_reset"
            };
            audit::record(
                tx,
                &ActorRef::user(id),
                action,
                Some(Target {
                    kind: "user",
                    id: id.0,
                }),
                None,
                &serde_json::json!({}),
            )?;
            repo::get(tx, id)?.ok_or(Error::NotFound("user"))
        })
        .await?;
    Ok(user)
}

pub async fn confirm_password_reset(
    ctx: &Accounts<'_>,
    token: String,
    password: String,
) -> Result<(), Error> {
    set_password_with_token(ctx, &token, audience::PASSWORD_RESET, password).await?;
    Ok(())
}

/// Accepting an invite sets the password and signs the user in.
pub async fn accept_invite(
    ctx: &Accounts<'_>,
    token: String,
    password: String,
) -> Result<TokenPair, Error> {
    let user = set_password_with_token(ctx, &token, audience::INVITE, password).await?;
    start_session(ctx, user).await
}

pub(super) async fn start_session(
    ctx: &Accounts<'_>,
    user: UserRecord,
) -> Result<TokenPair, Error> {
    let ttl = ctx.config.refresh_token_ttl_secs;
    let id = user.user.id;
    let (user, sid, refresh) = ctx.db.write(move |tx| begin_session(tx, id, ttl)).await?;
    issue_pair(ctx, user, &sid, refresh)
}

/// The one-time link that creates the first admin, while there is none.
pub fn setup_link(ctx: &Accounts<'_>) -> Result<String, Error> {
    let token = tokens::issue_purpose(
        ctx.keys,
        audience::SETUP,
        "setup",
        0,
        tokens::SETUP_TTL_SECS,
    )?;
    Ok(link(ctx, "setup", &token))
}

/// Creates the first admin through the setup link.
pub async fn setup_admin(
    ctx: &Accounts<'_>,
    token: String,
    email: String,
    name: String,
    password: String,
) -> Result<TokenPair, Error> {
    tokens::verify_purpose(ctx.keys, &token, audience::SETUP)?;
    let (email, key, name) = check_new_account(&email, &name, Some(&password))?;
    let hash = ctx.hasher.hash(password).await?;
    let user = ctx
        .db
        .write(move |tx| {
            if repo::count_admins(tx)? > 0 {
                return Err(Error::Conflict(
                    "setup is already done: an admin exists; sign in instead".into(),
                ));
            }
            let new = repo::NewUser {
                email: &email,
                email_key: &key,
                name: &name,
                role: Role::Admin,
                password_hash: Some(&hash),
            };
            insert_audited(tx, &new, "user.setup_admin", json!({ "email": email }))
        })
        .await?;
    start_session(ctx, user).await
}
