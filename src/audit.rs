//! The audit log: who did what, written in the same transaction as the change.

use rusqlite::{params, types::ToSql, Connection, Row};
use serde::Serialize;
use utoipa::ToSchema;

use crate::actor::Actor;
use crate::db::now;
use crate::error::Error;
use crate::ids::{ApiKeyId, UserId};
use crate::paging::Pagination;

/// What an audit entry is about.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub kind: &'static str,
    pub id: i64,
}

/// Who acted, and in which request, as recorded.
#[derive(Debug, Clone, Default)]
pub struct ActorRef {
    pub user_id: Option<UserId>,
    pub api_key_id: Option<ApiKeyId>,
    pub request_id: Option<String>,
}

impl From<&Actor> for ActorRef {
    fn from(actor: &Actor) -> Self {
        Self {
            user_id: actor.user_id(),
            api_key_id: actor.api_key_id(),
            request_id: Some(actor.request_id.clone()),
        }
    }
}

impl ActorRef {
    /// The system itself, or a command-line operator.
    pub const SYSTEM: Self = Self {
        user_id: None,
        api_key_id: None,
        request_id: None,
    };

    pub fn user(id: UserId) -> Self {
        Self {
            user_id: Some(id),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn in_request(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_string());
        self
    }
}

/// Records one entry. `details` must never hold secrets.
pub fn record(
    conn: &Connection,
    actor: &ActorRef,
    action: &str,
    target: Option<Target>,
    ticket_id: Option<i64>,
    details: &serde_json::Value,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor_user_id, actor_api_key_id, action, target_type, target_id, ticket_id, details, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        now(),
        actor.user_id,
        actor.api_key_id,
        action,
        target.map(|t| t.kind),
        target.map(|t| t.id),
        ticket_id,
        details.to_string(),
        actor.request_id,
    ])?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<UserId>,
    pub api_key_id: Option<ApiKeyId>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub ticket_id: Option<i64>,
    /// What changed; for updates, `{"field": {"from": ..., "to": ...}}`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    /// Who acted, by name: the user's name or the API key's (`null` for the system).
    pub actor_name: Option<String>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let details: String = row.get(8)?;
    Ok(AuditEntry {
        id: row.get(0)?,
        at: row.get(1)?,
        actor_id: row.get(2)?,
        api_key_id: row.get(3)?,
        action: row.get(4)?,
        target_type: row.get(5)?,
        target_id: row.get(6)?,
        ticket_id: row.get(7)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        request_id: row.get(9)?,
        actor_name: row.get(10)?,
    })
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub ticket_id: Option<i64>,
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
}

/// One page in `order` of time, with the total matching the filter.
pub fn list(
    conn: &Connection,
    filter: &AuditFilter,
    page: Pagination,
    order: crate::paging::SortOrder,
) -> Result<(Vec<AuditEntry>, i64), Error> {
    let order = order.sql();
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(ticket) = filter.ticket_id {
        clauses.push("ticket_id = ?");
        values.push(Box::new(ticket));
    }
    if let Some(actor) = filter.actor_id {
        clauses.push("actor_user_id = ?");
        values.push(Box::new(actor));
    }
    if let Some(action) = &filter.action {
        clauses.push("action = ?");
        values.push(Box::new(action.clone()));
    }
    let where_sql = crate::db::where_clause(&clauses);
    let params: Vec<&dyn ToSql> = values.iter().map(AsRef::as_ref).collect();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM audit_log{where_sql}"))?
        .query_row(params.as_slice(), |r| r.get(0))?;
    let sql = format!(
        "SELECT id, at, actor_user_id, actor_api_key_id, action, target_type, target_id, ticket_id, details, request_id,
                COALESCE((SELECT u.name FROM users u WHERE u.id = actor_user_id),
                         (SELECT k.name FROM api_keys k WHERE k.id = actor_api_key_id))
         FROM audit_log{where_sql} ORDER BY id {order} LIMIT {} OFFSET {}",
        page.per_page,
        page.offset()
    );
    let entries = conn
        .prepare_cached(&sql)?
        .query_map(params.as_slice(), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((entries, total))
}
