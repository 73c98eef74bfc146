//! The one error type, its HTTP status mapping and the RFC 9457 problem responses.

use std::io::Cursor;
use std::sync::Mutex;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::{catch, Request};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::request_id::RequestId;

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
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
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
            Self::RateLimited { .. } => Status::TooManyRequests,
            Self::Unavailable(_) | Self::Pool(_) => Status::ServiceUnavailable,
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
    fn public_detail(&self) -> String {
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

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable(_) | Self::Pool(_) => Some(1),
            Self::Database(e) if database_error_kind(e) == DbErrorKind::Busy => Some(1),
            _ => None,
        }
    }
}

const INTERNAL_DETAIL: &str = "an internal error occurred; quote the request id when reporting it";

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

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    allow: Option<String>,
}

impl Problem {
    pub fn new(status: Status, detail: impl Into<String>, req: &Request<'_>) -> Self {
        Self {
            kind: problem_type(status),
            title: status.reason_lossy().to_string(),
            status: status.code,
            detail: detail.into(),
            request_id: RequestId::of(req).to_string(),
            errors: None,
            retry_after: None,
            allow: None,
        }
    }

    /// Builds the problem for `error`, logging what the client is not told.
    pub fn from_error(error: &Error, req: &Request<'_>) -> Self {
        let status = error.status();
        let request_id = RequestId::of(req);
        if status.code >= 500 {
            tracing::error!(
                request_id = %request_id,
                method = %req.method(),
                path = %req.uri().path(),
                error = %error,
                "request failed"
            );
        }
        let mut problem = Self::new(status, error.public_detail(), req);
        if let Error::Validation(errors) = error {
            problem.errors = Some(errors.clone());
        }
        problem.retry_after = error.retry_after();
        problem
    }

    #[must_use]
    pub fn with_allow(mut self, methods: String) -> Self {
        self.allow = Some(methods);
        self
    }

    /// Keeps this problem for the catcher that runs after a failing guard.
    pub fn stash(self, req: &Request<'_>) {
        let slot = req.local_cache(StashedProblem::default);
        if let Ok(mut slot) = slot.0.lock() {
            *slot = Some(self);
        }
    }

    fn take_stashed(req: &Request<'_>) -> Option<Self> {
        req.local_cache(StashedProblem::default)
            .0
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
    }
}

#[derive(Default)]
struct StashedProblem(Mutex<Option<Problem>>);

fn problem_type(status: Status) -> String {
    let slug = status
        .reason_lossy()
        .to_ascii_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    format!("urn:helpline:problem:{slug}")
}

impl<'r> Responder<'r, 'static> for Problem {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let body = serde_json::to_vec(&self).map_err(|_| Status::InternalServerError)?;
        let mut response = Response::build();
        response
            .status(Status::new(self.status))
            .header(ContentType::new("application", "problem+json"))
            .sized_body(body.len(), Cursor::new(body));
        if let Some(secs) = self.retry_after {
            response.header(Header::new("Retry-After", secs.to_string()));
        }
        if let Some(allow) = self.allow {
            response.header(Header::new("Allow", allow));
        }
        if self.status == 401 {
            response.header(Header::new("WWW-Authenticate", "Bearer realm=\"helpline\""));
        }
        response.ok()
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Problem::from_error(&self, req).respond_to(req)
    }
}

/// Every error Rocket raises itself (no route, failing guard, panic) ends here.
#[catch(default)]
pub fn default_catcher(status: Status, req: &Request<'_>) -> Problem {
    // A guard that failed left its problem; a different status means something
    // else failed later (an optional guard's problem is not the answer then).
    if let Some(problem) = Problem::take_stashed(req).filter(|p| p.status == status.code) {
        return problem;
    }
    match status.code {
        404 => {
            let allowed = crate::api::allowed_methods(req);
            if allowed.is_empty() {
                Problem::new(status, format!("no resource at {}", req.uri().path()), req)
            } else {
                Problem::new(
                    Status::MethodNotAllowed,
                    format!(
                        "{} is not allowed here; use {}",
                        req.method(),
                        allowed.join(", ")
                    ),
                    req,
                )
                .with_allow(allowed.join(", "))
            }
        }
        500 => {
            tracing::error!(
                request_id = %RequestId::of(req),
                method = %req.method(),
                path = %req.uri().path(),
                "handler failed (panic or responder error)"
            );
            Problem::new(status, INTERNAL_DETAIL, req)
        }
        413 => Problem::new(status, "the request body is too large", req),
        _ => Problem::new(status, status.reason_lossy().to_string(), req),
    }
}

pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![default_catcher]
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

    #[test]
    fn problem_types_are_uris() {
        assert_eq!(
            problem_type(Status::NotFound),
            "urn:helpline:problem:not-found"
        );
        assert_eq!(
            problem_type(Status::UnprocessableEntity),
            "urn:helpline:problem:unprocessable-entity"
        );
    }
}
