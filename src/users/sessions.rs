//! Sessions: one per sign-in, holding the family of rotating refresh tokens.

use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::tokens::{random_secret, secret_hash};
use crate::db::{format_time, now};
use crate::error::Error;
use crate::users::{repo as users, UserId, UserRecord};

fn expiry(ttl_secs: u64) -> String {
    let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2);
    format_time(time::OffsetDateTime::now_utc() + time::Duration::seconds(ttl))
}

/// Starts a session for `user`; returns (session id, first refresh token).
pub fn create(
    conn: &Connection,
    user: &UserRecord,
    ttl_secs: u64,
) -> Result<(String, String), Error> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now();
    conn.execute(
        "INSERT INTO sessions (id, user_id, token_version, created_at, last_used_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        params![id, user.user.id, user.token_version, now, expiry(ttl_secs)],
    )?;
    let refresh = random_secret();
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
        params![secret_hash(&refresh), id, now],
    )?;
    Ok((id, refresh))
}

/// What presenting a refresh token led to.
pub enum Rotation {
    /// A new refresh token for the same session.
    Rotated {
        user: UserRecord,
        session_id: String,
        refresh_token: String,
    },
    /// Refused; the reason is for the log only. A reused token has already
    /// revoked its session when this is returned (commit the transaction).
    Refused(&'static str),
}

/// Spends a refresh token and issues its successor, or refuses it.
pub fn rotate(conn: &Connection, presented: &str, ttl_secs: u64) -> Result<Rotation, Error> {
    let found = conn
        .query_row(
            "SELECT rt.session_id, rt.spent_at IS NOT NULL, s.user_id, s.token_version,
                    s.revoked_at IS NOT NULL, s.expires_at < ?2
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
             WHERE rt.token_hash = ?1",
            params![secret_hash(presented), now()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, UserId>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, bool>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((session_id, spent, user_id, session_version, revoked, expired)) = found else {
        return Ok(Rotation::Refused("unknown refresh token"));
    };
    if spent {
        revoke(conn, &session_id, "refresh token reused")?;
        return Ok(Rotation::Refused(
            "spent refresh token presented again; session revoked",
        ));
    }
    if revoked {
        return Ok(Rotation::Refused("session revoked"));
    }
    if expired {
        return Ok(Rotation::Refused("session expired"));
    }
    let Some(user) = users::get(conn, user_id)? else {
        return Ok(Rotation::Refused("user gone"));
    };
    if !user.user.active {
        return Ok(Rotation::Refused("user deactivated"));
    }
    if user.token_version != session_version {
        return Ok(Rotation::Refused("all sessions of the user were ended"));
    }
    let now = now();
    conn.execute(
        "UPDATE refresh_tokens SET spent_at = ?2 WHERE token_hash = ?1",
        params![secret_hash(presented), now],
    )?;
    let refresh_token = random_secret();
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
        params![secret_hash(&refresh_token), session_id, now],
    )?;
    conn.execute(
        "UPDATE sessions SET last_used_at = ?2, expires_at = ?3 WHERE id = ?1",
        params![session_id, now, expiry(ttl_secs)],
    )?;
    Ok(Rotation::Rotated {
        user,
        session_id,
        refresh_token,
    })
}

/// The session a refresh token belongs to, spent or not.
pub fn session_of_refresh_token(
    conn: &Connection,
    presented: &str,
) -> Result<Option<String>, Error> {
    Ok(conn
        .query_row(
            "SELECT session_id FROM refresh_tokens WHERE token_hash = ?1",
            [secret_hash(presented)],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn revoke(conn: &Connection, session_id: &str, reason: &str) -> Result<(), Error> {
    let user: Option<UserId> = conn
        .query_row(
            "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3
             WHERE id = ?1 AND revoked_at IS NULL RETURNING user_id",
            params![session_id, now(), reason],
            |r| r.get(0),
        )
        .optional()?;
    match user {
        Some(user) => ended(conn, user),
        None => Ok(()),
    }
}

/// Every way sessions end (sign-out, reuse of a spent refresh token, a new
/// password, deactivation, a role change) calls this in its transaction, so
/// that open streams and chats of `user` check again and close.
pub fn ended(conn: &Connection, user: UserId) -> Result<(), Error> {
    crate::events::record_session_change(conn, user)
}

/// Keeps one session alive across a token-version bump (the session that
/// changed the password).
pub fn carry_over(conn: &Connection, session_id: &str, token_version: i64) -> Result<(), Error> {
    conn.execute(
        "UPDATE sessions SET token_version = ?2 WHERE id = ?1",
        params![session_id, token_version],
    )?;
    Ok(())
}

/// The user behind an access token, if the token's session is still good:
/// not revoked, and of the user's current token version; the user active.
/// The user a session belongs to.
pub fn user_of(conn: &Connection, session_id: &str) -> Result<Option<UserId>, Error> {
    Ok(conn
        .query_row(
            "SELECT user_id FROM sessions WHERE id = ?1",
            [session_id],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn active_user(
    conn: &Connection,
    user_id: UserId,
    session_id: &str,
) -> Result<Option<UserRecord>, Error> {
    let session: Option<(i64, bool)> = conn
        .prepare_cached(
            "SELECT token_version, revoked_at IS NULL FROM sessions WHERE id = ?1 AND user_id = ?2",
        )?
        .query_row(params![session_id, user_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((session_version, live)) = session else {
        return Ok(None);
    };
    if !live {
        return Ok(None);
    }
    Ok(users::get(conn, user_id)?
        .filter(|user| user.user.active && user.token_version == session_version))
}

/// Deletes sessions that expired more than a day ago; returns how many.
pub fn prune_expired(conn: &Connection) -> Result<usize, Error> {
    let cutoff = format_time(time::OffsetDateTime::now_utc() - time::Duration::days(1));
    Ok(conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [cutoff])?)
}
