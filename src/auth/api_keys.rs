//! API keys: created by admins with a role, shown once, stored as hashes.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

use super::tokens::{new_api_key, secret_hash, API_KEY_VISIBLE};
use crate::actor::Role;
use crate::db::now;
use crate::error::Error;
use crate::ids::{ApiKeyId, UserId};

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_by: Option<UserId>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const COLUMNS: &str = "id, name, role, prefix, created_by, created_at, last_used_at, revoked_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: row.get(0)?,
        name: row.get(1)?,
        role: row.get(2)?,
        prefix: row.get(3)?,
        created_by: row.get(4)?,
        created_at: row.get(5)?,
        last_used_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

/// Creates a key; returns it with the clear key, which is never stored.
pub fn create(
    conn: &Connection,
    name: &str,
    role: Role,
    created_by: Option<UserId>,
) -> Result<(ApiKey, String), Error> {
    let key = new_api_key();
    let prefix: String = key.chars().take(API_KEY_VISIBLE).collect();
    conn.execute(
        "INSERT INTO api_keys (name, role, prefix, key_hash, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![name, role, prefix, secret_hash(&key), created_by, now()],
    )?;
    let id = ApiKeyId(conn.last_insert_rowid());
    let created =
        get(conn, id)?.ok_or_else(|| Error::Internal("inserted API key vanished".into()))?;
    Ok((created, key))
}

pub fn get(conn: &Connection, id: ApiKeyId) -> Result<Option<ApiKey>, Error> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// All keys, newest first (revoked ones included, marked).
pub fn list(conn: &Connection) -> Result<Vec<ApiKey>, Error> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY id DESC"))?;
    let keys = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

/// Looks a presented key up; only live keys are returned.
pub fn find_live(conn: &Connection, presented: &str) -> Result<Option<ApiKey>, Error> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL"
        ))?
        .query_row([secret_hash(presented)], from_row)
        .optional()?)
}

/// Whether the key exists and is not revoked.
pub fn is_live(conn: &Connection, id: ApiKeyId) -> Result<bool, Error> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ?1 AND revoked_at IS NULL)",
        [id],
        |r| r.get(0),
    )?)
}

/// Records a use; written at most once a minute per key to spare the writer.
pub fn touch(conn: &Connection, id: ApiKeyId) -> Result<(), Error> {
    conn.execute(
        "UPDATE api_keys SET last_used_at = ?2
         WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds'))",
        params![id, now()],
    )?;
    Ok(())
}

/// Whether `touch` would write (checked on a reader first).
pub fn needs_touch(key: &ApiKey) -> bool {
    let Some(last) = &key.last_used_at else {
        return true;
    };
    let minute_ago =
        crate::db::format_time(time::OffsetDateTime::now_utc() - time::Duration::seconds(60));
    last.as_str() < minute_ago.as_str()
}

/// Revokes a key; returns false when there is no such key.
pub fn revoke(conn: &Connection, id: ApiKeyId) -> Result<bool, Error> {
    if get(conn, id)?.is_none() {
        return Ok(false);
    }
    conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now()],
    )?;
    Ok(true)
}
