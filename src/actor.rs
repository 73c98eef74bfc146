//! Who is acting: the role ladder, the user as the API shows it, and the
//! principal (a signed-in user or an API key) behind a request. A value type
//! of the ground floor, so `auth/`, the domain and the API all use it.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::ids::{ApiKeyId, UserId};

/// Roles, in increasing order of power.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "customer" => Some(Self::Customer),
            "agent" => Some(Self::Agent),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn is_staff(self) -> bool {
        self >= Self::Agent
    }
}

impl ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Role {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text).ok_or_else(|| FromSqlError::Other(format!("unknown role {text}").into()))
    }
}

/// A user as the API shows it. Never carries a password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Whether the user gets notification emails (agents may turn them off).
    pub email_notifications: bool,
    /// Added below the user's public replies (agents and admins).
    pub signature: Option<String>,
    /// Invited and not signed up yet (no password set): the invitation can be sent again.
    pub invited: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
}

/// Who is making a request: a signed-in user or an API key.
#[derive(Debug, Clone)]
pub enum Principal {
    User { user: User, session_id: String },
    ApiKey { id: ApiKeyId, name: String },
}

/// The authenticated principal with the role it acts as.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub role: Role,
    /// The request this actor is making, for the audit log.
    pub request_id: String,
}

impl Actor {
    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User { user, .. } => Some(user),
            Principal::ApiKey { .. } => None,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.user().map(|u| u.id)
    }

    pub fn api_key_id(&self) -> Option<ApiKeyId> {
        match &self.principal {
            Principal::ApiKey { id, .. } => Some(*id),
            Principal::User { .. } => None,
        }
    }

    pub fn session_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { session_id, .. } => Some(session_id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// The signed-in user, for endpoints about "me"; API keys have no profile.
    pub fn require_user(&self) -> Result<&User, Error> {
        self.user().ok_or_else(|| {
            Error::Forbidden("an API key has no user profile; sign in as a user".into())
        })
    }
}
