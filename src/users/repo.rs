//! SQL for users. Synchronous, over any connection or transaction.

use rusqlite::{params, types::ToSql, Connection, OptionalExtension, Row};

use super::{Role, User, UserId, UserRecord};
use crate::db::now;
use crate::error::Error;
use crate::paging::{like_pattern, Pagination, SortOrder};

const COLUMNS: &str =
    "id, email, name, role, active, created_at, last_login_at, password_hash, token_version, email_notifications, signature,
     invited_at IS NOT NULL AND password_hash IS NULL";

fn from_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        user: User {
            id: row.get(0)?,
            email: row.get(1)?,
            name: row.get(2)?,
            role: row.get(3)?,
            active: row.get(4)?,
            email_notifications: row.get(9)?,
            signature: row.get(10)?,
            invited: row.get(11)?,
            created_at: row.get(5)?,
            last_login_at: row.get(6)?,
        },
        password_hash: row.get(7)?,
        token_version: row.get(8)?,
    })
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

/// Inserts a user; a taken email is a 409.
pub fn insert(conn: &Connection, new: &NewUser<'_>) -> Result<UserRecord, Error> {
    let now = now();
    let result = conn.execute(
        "INSERT INTO users (email, email_key, name, role, password_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            new.email,
            new.email_key,
            new.name,
            new.role,
            new.password_hash,
            now
        ],
    );
    match result {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(
                "a user with this email already exists".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    get(conn, UserId(conn.last_insert_rowid()))?
        .ok_or_else(|| Error::Internal("inserted user vanished".into()))
}

/// Notes that an invitation was (re)sent to the user.
pub fn mark_invited(conn: &Connection, id: UserId) -> Result<(), Error> {
    conn.prepare_cached("UPDATE users SET invited_at = ?2 WHERE id = ?1")?
        .execute(params![id, now()])?;
    Ok(())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

pub fn get(conn: &Connection, id: UserId) -> Result<Option<UserRecord>, Error> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub fn get_by_email(conn: &Connection, email_key: &str) -> Result<Option<UserRecord>, Error> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email_key = ?1"))?;
    Ok(stmt.query_row([email_key], from_row).optional()?)
}

#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Matches name or email, case-insensitively.
    pub q: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    Name,
    Email,
    CreatedAt,
    LastLoginAt,
}

impl UserSort {
    pub const ALLOWED: &'static [(&'static str, Self)] = &[
        ("name", Self::Name),
        ("email", Self::Email),
        ("created_at", Self::CreatedAt),
        ("last_login_at", Self::LastLoginAt),
    ];

    fn column(self) -> &'static str {
        match self {
            Self::Name => "name COLLATE NOCASE",
            Self::Email => "email_key",
            Self::CreatedAt => "created_at",
            Self::LastLoginAt => "last_login_at",
        }
    }
}

/// One page of users and the total matching the filter.
pub fn list(
    conn: &Connection,
    filter: &UserFilter,
    sort: (UserSort, SortOrder),
    page: Pagination,
) -> Result<(Vec<User>, i64), Error> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(role) = filter.role {
        clauses.push("role = ?");
        values.push(Box::new(role));
    }
    if let Some(active) = filter.active {
        clauses.push("active = ?");
        values.push(Box::new(active));
    }
    if let Some(q) = &filter.q {
        clauses.push("(name LIKE ? ESCAPE '\\' OR email_key LIKE ? ESCAPE '\\')");
        let pattern = like_pattern(&q.to_lowercase());
        values.push(Box::new(pattern.clone()));
        values.push(Box::new(pattern));
    }
    let where_sql = crate::db::where_clause(&clauses);
    let params: Vec<&dyn ToSql> = values.iter().map(AsRef::as_ref).collect();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM users{where_sql}"))?
        .query_row(params.as_slice(), |r| r.get(0))?;

    let (column, order) = (sort.0.column(), sort.1.sql());
    let sql = format!(
        "SELECT {COLUMNS} FROM users{where_sql} ORDER BY {column} {order}, id {order} LIMIT {} OFFSET {}",
        page.per_page,
        page.offset()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let users = stmt
        .query_map(params.as_slice(), |row| from_row(row).map(|r| r.user))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((users, total))
}

#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub email_notifications: Option<bool>,
    /// `Some(None)` removes it.
    pub signature: Option<Option<String>>,
}

/// Applies changes; deactivation also ends every session.
pub fn update(conn: &Connection, id: UserId, changes: &UserChanges) -> Result<(), Error> {
    let now = now();
    if let Some(name) = &changes.name {
        conn.execute(
            "UPDATE users SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, name, now],
        )?;
    }
    if let Some(role) = changes.role {
        conn.execute(
            "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, role, now],
        )?;
    }
    if let Some(on) = changes.email_notifications {
        conn.execute(
            "UPDATE users SET email_notifications = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, on, now],
        )?;
    }
    if let Some(signature) = &changes.signature {
        conn.execute(
            "UPDATE users SET signature = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, signature, now],
        )?;
    }
    if let Some(active) = changes.active {
        conn.execute(
            "UPDATE users SET active = ?2, updated_at = ?3,
                 token_version = token_version + (CASE WHEN ?2 = 0 AND active = 1 THEN 1 ELSE 0 END)
             WHERE id = ?1",
            params![id, active, now],
        )?;
    }
    Ok(())
}

/// Sets a new password hash and bumps the token version; returns the new version.
pub fn set_password(conn: &Connection, id: UserId, hash: &str) -> Result<i64, Error> {
    let version = conn.query_row(
        "UPDATE users SET password_hash = ?2, token_version = token_version + 1, updated_at = ?3
         WHERE id = ?1 RETURNING token_version",
        params![id, hash, now()],
        |r| r.get(0),
    )?;
    Ok(version)
}

/// Ends every session of the user; returns the new version.
pub fn bump_token_version(conn: &Connection, id: UserId) -> Result<i64, Error> {
    let version = conn.query_row(
        "UPDATE users SET token_version = token_version + 1, updated_at = ?2 WHERE id = ?1
         RETURNING token_version",
        params![id, now()],
        |r| r.get(0),
    )?;
    Ok(version)
}

pub fn count_active_admins(conn: &Connection) -> Result<i64, Error> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Admins, active or not: setup is possible only while there are none.
/// Whether a self-registered account still has to confirm its address.
pub fn verify_pending(conn: &Connection, id: UserId) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT verify_pending FROM users WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

pub fn set_verify_pending(conn: &Connection, id: UserId, pending: bool) -> Result<(), Error> {
    conn.prepare_cached("UPDATE users SET verify_pending = ?2 WHERE id = ?1")?
        .execute(params![id, pending])?;
    Ok(())
}

pub fn count_admins(conn: &Connection) -> Result<i64, Error> {
    Ok(
        conn.query_row("SELECT COUNT(*) FROM users WHERE role = 'admin'", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn record_login(conn: &Connection, id: UserId) -> Result<(), Error> {
    conn.execute(
        "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
        params![id, now()],
    )?;
    Ok(())
}
