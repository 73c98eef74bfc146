//! Self-registration: a customer creates an account and, unless the setting
//! `require_email_verification` is off, proves the address with a mailed
//! link before signing in.

use super::account::{
    begin_session, check_new_account, insert_audited, issue_pair, start_session, Accounts,
    TokenPair,
};
use super::{repo, UserId};
use crate::actor::Role;
use crate::audit::{self, ActorRef, Target};
use crate::auth::tokens::{self, audience};
use crate::error::Error;
use crate::settings;

/// What a registration answers: a signed-in session, or (when addresses
/// must be confirmed) that the confirmation link is on its way.
pub enum Registration {
    SignedIn(Box<TokenPair>),
    VerificationSent,
}

pub async fn register(
    ctx: &Accounts<'_>,
    email: String,
    password: String,
    name: String,
    ip: &str,
) -> Result<Registration, Error> {
    ctx.rate_limits.register_per_ip.check_ip(ip)?;
    let settings = ctx.db.read(settings::load).await?;
    if !settings.allow_registration {
        return Err(Error::Forbidden(
            "self-registration is turned off; ask the help desk for an account".into(),
        ));
    }
    let (email, key, name) = check_new_account(&email, &name, Some(&password))?;
    if ctx
        .db
        .read({
            let key = key.clone();
            move |conn| repo::get_by_email(conn, &key)
        })
        .await?
        .is_some()
    {
        return Err(Error::Conflict(
            "an account with this email already exists; sign in, or reset the password to set one"
                .into(),
        ));
    }
    let hash = ctx.hasher.hash(password).await?;
    let ttl = ctx.config.refresh_token_ttl_secs;
    let verify = settings.require_email_verification;
    let session = ctx
        .db
        .write(move |tx| {
            let new = repo::NewUser {
                email: &email,
                email_key: &key,
                name: &name,
                role: Role::Customer,
                password_hash: Some(&hash),
            };
            let details = serde_json::json!({ "email": email, "verification": verify });
            let user = insert_audited(tx, &new, "user.registered", details)?;
            if verify {
                // Nobody signs in with an address they have not shown is theirs.
                repo::set_verify_pending(tx, user.user.id, true)?;
                crate::notify::verify_email(tx, &user)?;
                return Ok(None);
            }
            begin_session(tx, user.user.id, ttl).map(Some)
        })
        .await?;
    if let Some((user, session_id, refresh)) = session {
        return issue_pair(ctx, user, &session_id, refresh)
            .map(|pair| Registration::SignedIn(Box::new(pair)));
    }
    ctx.delivery.wake();
    Ok(Registration::VerificationSent)
}

/// Confirms a self-registered address with the mailed link and signs in.
pub async fn verify_email(ctx: &Accounts<'_>, token: String) -> Result<TokenPair, Error> {
    let claims = tokens::verify_purpose(ctx.keys, &token, audience::VERIFY)?;
    let spent = || Error::validation("token", "the link is invalid, expired or already used");
    let id = UserId(claims.sub.parse().map_err(|_| spent())?);
    let user = ctx
        .db
        .write(move |tx| {
            let user = repo::get(tx, id)?.ok_or_else(spent)?;
            if !user.user.active
                || user.token_version != claims.tv
                || !repo::verify_pending(tx, id)?
            {
                return Err(spent());
            }
            repo::set_verify_pending(tx, id, false)?;
            audit::record(
                tx,
                &ActorRef::user(id),
                "user.email_verified",
                Some(Target {
                    kind: "user",
                    id: id.0,
                }),
                None,
                &serde_json::json!({}),
            )?;
            Ok(user)
        })
        .await?;
    start_session(ctx, user).await
}
