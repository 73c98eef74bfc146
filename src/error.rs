//! The one error type and its HTTP status mapping. The problem document that
//! carries it to a client (with the request id) is `http::problem`.

use rocket::http::Status;
use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than the limit of {0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A `Range` outside a file of this many bytes.
    #[error("the requested range lies outside the file of {0} bytes")]
    RangeNotSatisfiable(u64),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// A feature the installation has not set up: 503 with its own problem
    /// type, `urn:helpline:problem:<slug>`.
    #[error("{detail}")]
    NotConfigured { slug: &'static str, detail: String },
    #[error("{0}")]
    Config(String),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("{0}")]
    Migration(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status of this error: the one place where errors meet statuses.
    pub fn status(&self) -> Status {
        match self {
            Self::NotFound(_) => Status::NotFound,
            Self::BadRequest(_) => Status::BadRequest,
            Self::Validation(_) => Status::UnprocessableEntity,
            Self::Unauthorized(_) => Status::Unauthorized,
            Self::Forbidden(_) => Status::Forbidden,
            Self::Conflict(_) => Status::Conflict,
            Self::PayloadTooLarge(_) => Status::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => Status::UnsupportedMediaType,
            Self::RangeNotSatisfiable(_) => Status::RangeNotSatisfiable,
            Self::RateLimited { .. } => Status::TooManyRequests,
            Self::Unavailable(_) | Self::Pool(_) | Self::NotConfigured { .. } => {
                Status::ServiceUnavailable
            }
            Self::Database(e) => match database_error_kind(e) {
                DbErrorKind::NoRows => Status::NotFound,
                DbErrorKind::Unique => Status::Conflict,
                DbErrorKind::Busy => Status::ServiceUnavailable,
                DbErrorKind::Other => Status::InternalServerError,
            },
            Self::Config(_) | Self::Migration(_) | Self::Io { .. } | Self::Internal(_) => {
                Status::InternalServerError
            }
        }
    }

    /// What the client is told. Internal failures say nothing about their cause.
    pub fn public_detail(&self) -> String {
        match self {
            Self::Database(e) => match database_error_kind(e) {
                DbErrorKind::NoRows => "the requested resource does not exist".into(),
                DbErrorKind::Unique => "a resource with these values already exists".into(),
                DbErrorKind::Busy => "the database is busy; retry shortly".into(),
                DbErrorKind::Other => INTERNAL_DETAIL.into(),
            },
            Self::Pool(_) => "the server is busy; retry shortly".into(),
            Self::Config(_) | Self::Migration(_) | Self::Io { .. } | Self::Internal(_) => {
                INTERNAL_DETAIL.into()
            }
            other => other.to_string(),
        }
    }

    /// The problem type's last part when it is not the status's own.
    pub fn problem_slug(&self) -> Option<&'static str> {
        match self {
            Self::NotConfigured { slug, .. } => Some(slug),
            _ => None,
        }
    }

    /// Seconds a client should wait before retrying, when that helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable(_) | Self::Pool(_) => Some(1),
            Self::Database(e) if database_error_kind(e) == DbErrorKind::Busy => Some(1),
            _ => None,
        }
    }
}

pub const INTERNAL_DETAIL: &str =
    "an internal error occurred; quote the request id when reporting it";

#[derive(Debug, PartialEq, Eq)]
enum DbErrorKind {
    NoRows,
    Unique,
    Busy,
    Other,
}

fn database_error_kind(e: &rusqlite::Error) -> DbErrorKind {
    use rusqlite::ffi;
    match e {
        rusqlite::Error::QueryReturnedNoRows => DbErrorKind::NoRows,
        rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                DbErrorKind::Unique
            }
            _ if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
            {
                DbErrorKind::Busy
            }
            _ => DbErrorKind::Other,
        },
        _ => DbErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_map_to_statuses() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT UNIQUE); INSERT INTO t VALUES ('a');")
            .unwrap();
        let unique = conn.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        assert_eq!(Error::from(unique).status(), Status::Conflict);
        let none = conn
            .query_row("SELECT x FROM t WHERE x = 'b'", [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap_err();
        assert_eq!(Error::from(none).status(), Status::NotFound);
        let syntax = conn.execute("SELEKT", []).unwrap_err();
        let err = Error::from(syntax);
        assert_eq!(err.status(), Status::InternalServerError);
        assert!(
            !err.public_detail().contains("SELEKT"),
            "internals never leak"
        );
    }
}
