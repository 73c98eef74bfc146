//! What may be done to users and by whom: admin management and one's own profile.

use super::account::Accounts;
use super::repo::{self, UserChanges};
use super::{check_password, normalize_email, normalize_name, Role, User, UserId, UserRecord};
use crate::actor::Actor;
use crate::audit::{self, ActorRef, Target};
use crate::error::{Error, FieldError};
use crate::notify;
use crate::users::sessions;

/// A user may be seen by staff, and by themselves.
pub fn can_view(actor: &Actor, id: UserId) -> bool {
    actor.role.is_staff() || actor.user_id() == Some(id)
}

pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: Option<String>,
}

/// Creates a user (admins only). Without a password, an invite link is issued.
pub async fn create(ctx: &Accounts<'_>, actor: &Actor, input: NewAccount) -> Result<User, Error> {
    let mut errors: Vec<FieldError> = Vec::new();
    let email = normalize_email(&input.email)
        .map_err(|e| errors.push(e))
        .ok();
    let name = normalize_name(&input.name).map_err(|e| errors.push(e)).ok();
    if let Some(password) = &input.password {
        if let Err(e) = check_password("password", password) {
            errors.push(e);
        }
    }
    let (Some((email, key)), Some(name), true) = (email, name, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    let hash = match input.password {
        Some(password) => Some(ctx.hasher.hash(password).await?),
        None => None,
    };
    let role = input.role;
    let by = ActorRef::from(actor);
    let user = ctx
        .db
        .write(move |tx| {
            let user = repo::insert(
                tx,
                &repo::NewUser { email: &email, email_key: &key, name: &name, role, password_hash: hash.as_deref() },
            )?;
            audit::record(
                tx,
                &by,
                "user.created",
                Some(Target { kind: "user", id: user.user.id.0 }),
                None,
                &serde_json::json!({ "email": user.user.email, "role": role.as_str(), "invited": hash.is_none() }),
            )?;
            if user.password_hash.is_none() {
                notify::invite(tx, &user)?;
                repo::mark_invited(tx, user.user.id)?;
                return repo::get(tx, user.user.id)?.ok_or(Error::NotFound("user"));
            }
            Ok(user)
        })
        .await?;
    ctx.delivery.wake();
    Ok(user.user)
}

/// Sends the invitation again to a user who has not set a password yet
/// (admins); 409 once they have, or when the account is deactivated.
pub async fn resend_invite(ctx: &Accounts<'_>, actor: &Actor, id: UserId) -> Result<User, Error> {
    let by = ActorRef::from(actor);
    let user = ctx
        .db
        .write(move |tx| {
            let user = repo::get(tx, id)?.ok_or(Error::NotFound("user"))?;
            if user.password_hash.is_some() {
                return Err(Error::Conflict(
                    "this user has already set a password".into(),
                ));
            }
            if !user.user.invited {
                return Err(Error::Conflict(
                    "this user was never invited (customers made from mail sign up themselves)"
                        .into(),
                ));
            }
            if !user.user.active {
                return Err(Error::Conflict(
                    "this user is deactivated; activate them first".into(),
                ));
            }
            notify::invite(tx, &user)?;
            repo::mark_invited(tx, id)?;
            audit::record(
                tx,
                &by,
                "user.invite_resent",
                Some(Target {
                    kind: "user",
                    id: id.0,
                }),
                None,
                &serde_json::json!({ "email": user.user.email }),
            )?;
            Ok(repo::get(tx, id)?.ok_or(Error::NotFound("user"))?.user)
        })
        .await?;
    ctx.delivery.wake();
    Ok(user)
}

fn last_admin_guard(
    conn: &rusqlite::Connection,
    target: &UserRecord,
    changes: &UserChanges,
) -> Result<(), Error> {
    let is_active_admin = target.user.role == Role::Admin && target.user.active;
    let loses_admin =
        changes.role.is_some_and(|r| r != Role::Admin) || changes.active == Some(false);
    if is_active_admin && loses_admin && repo::count_active_admins(conn)? <= 1 {
        return Err(Error::Conflict(
            "this is the last active admin; make another user admin first".into(),
        ));
    }
    Ok(())
}

/// Changes name, role or active state (admins only).
pub async fn update(
    ctx: &Accounts<'_>,
    actor: &Actor,
    id: UserId,
    mut changes: UserChanges,
) -> Result<User, Error> {
    if let Some(name) = &changes.name {
        changes.name = Some(normalize_name(name).map_err(|e| Error::Validation(vec![e]))?);
    }
    let by = ActorRef::from(actor);
    let user = ctx
        .db
        .write(move |tx| {
            let target = repo::get(tx, id)?.ok_or(Error::NotFound("user"))?;
            last_admin_guard(tx, &target, &changes)?;
            repo::update(tx, id, &changes)?;
            // A deactivated account's portal links die with it; a role
            // change or deactivation applies to open live connections too.
            if changes.active == Some(false) {
                crate::portal::revoke_all_of(tx, id)?;
            }
            if changes.active.is_some() || changes.role.is_some() {
                sessions::ended(tx, id)?;
            }
            let mut details = serde_json::Map::new();
            if let Some(name) = &changes.name {
                details.insert("name".into(), name.clone().into());
            }
            if let Some(role) = changes.role {
                details.insert("role".into(), role.as_str().into());
            }
            if let Some(active) = changes.active {
                details.insert("active".into(), active.into());
            }
            if let Some(on) = changes.email_notifications {
                details.insert("email_notifications".into(), on.into());
            }
            audit::record(
                tx,
                &by,
                "user.updated",
                Some(Target {
                    kind: "user",
                    id: id.0,
                }),
                None,
                &details.into(),
            )?;
            Ok(repo::get(tx, id)?.ok_or(Error::NotFound("user"))?.user)
        })
        .await?;
    Ok(user)
}

/// Deactivates a user: they cannot sign in, their sessions end, their history stays.
pub async fn deactivate(ctx: &Accounts<'_>, actor: &Actor, id: UserId) -> Result<(), Error> {
    update(
        ctx,
        actor,
        id,
        UserChanges {
            active: Some(false),
            ..UserChanges::default()
        },
    )
    .await?;
    Ok(())
}

pub struct ProfileChanges {
    pub name: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
    pub email_notifications: Option<bool>,
    /// `Some(None)` removes it; agents and admins only.
    pub signature: Option<Option<String>>,
}

/// Longest signature, in characters.
pub const SIGNATURE_MAX_CHARS: usize = 2000;

/// Changes one's own name or password. A password change needs the current
/// password and ends every other session; the one making the change stays.
pub async fn update_me(
    ctx: &Accounts<'_>,
    actor: &Actor,
    changes: ProfileChanges,
) -> Result<User, Error> {
    let me = actor.require_user()?.id;
    let session_id = actor.session_id().map(String::from);
    let mut errors = Vec::new();
    let name = changes
        .name
        .as_deref()
        .map(normalize_name)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let signature = changes.signature.map(|s| {
        s.map(|s| s.trim_end().to_string())
            .filter(|s| !s.trim().is_empty())
    });
    if let Some(Some(text)) = &signature {
        if !actor.role.is_staff() {
            return Err(Error::Forbidden(
                "signatures are for agents and admins".into(),
            ));
        }
        if text.chars().count() > SIGNATURE_MAX_CHARS || text.contains('\0') {
            errors.push(FieldError::new(
                "signature",
                format!("must be at most {SIGNATURE_MAX_CHARS} characters, without NUL"),
            ));
        }
    }
    if let Some(password) = &changes.password {
        if let Err(e) = check_password("password", password) {
            errors.push(e);
        }
        if changes.current_password.is_none() {
            errors.push(FieldError::new(
                "current_password",
                "is required to change the password",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let new_hash = match (changes.password, changes.current_password) {
        (Some(password), Some(current)) => {
            let stored = ctx
                .db
                .read(move |conn| repo::get(conn, me))
                .await?
                .ok_or(Error::NotFound("user"))?;
            if !ctx.hasher.verify(current, stored.password_hash).await? {
                return Err(Error::validation("current_password", "is not correct"));
            }
            Some(ctx.hasher.hash(password).await?)
        }
        _ => None,
    };
    let user = ctx
        .db
        .write(move |tx| {
            repo::update(
                tx,
                me,
                &UserChanges {
                    name: name.clone(),
                    email_notifications: changes.email_notifications,
                    signature: signature.clone(),
                    ..UserChanges::default()
                },
            )?;
            if let Some(hash) = &new_hash {
                let version = repo::set_password(tx, me, hash)?;
                if let Some(sid) = &session_id {
                    sessions::carry_over(tx, sid, version)?;
                }
                sessions::ended(tx, me)?;
                audit::record(
                    tx,
                    &ActorRef::user(me),
                    "user.password_changed",
                    Some(Target {
                        kind: "user",
                        id: me.0,
                    }),
                    None,
                    &serde_json::json!({}),
                )?;
            }
            Ok(repo::get(tx, me)?.ok_or(Error::NotFound("user"))?.user)
        })
        .await?;
    Ok(user)
}
