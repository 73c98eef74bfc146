//! The RFC 9457 problem document: the body of every error response, with the
//! request id, and the responders that turn an [`Error`] into one.

use std::io::Cursor;
use std::sync::Mutex;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::Request;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, FieldError};
use crate::http::request_id::{RequestId, HEADER};

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
    #[serde(skip)]
    content_range: Option<String>,
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
            content_range: None,
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
                path = %crate::http::telemetry::loggable_path(req),
                error = %error,
                "request failed"
            );
        }
        let mut problem = Self::new(status, error.public_detail(), req);
        if let Some(slug) = error.problem_slug() {
            problem.kind = format!("urn:helpline:problem:{slug}");
        }
        if let Error::Validation(errors) = error {
            problem.errors = Some(errors.clone());
        }
        problem.retry_after = error.retry_after();
        if let Error::RangeNotSatisfiable(size) = error {
            problem.content_range = Some(format!("bytes */{size}"));
        }
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

    pub fn take_stashed(req: &Request<'_>) -> Option<Self> {
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
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = serde_json::to_vec(&self).map_err(|_| Status::InternalServerError)?;
        let mut response = Response::build();
        response
            .status(Status::new(self.status))
            .header(ContentType::new("application", "problem+json"))
            .sized_body(body.len(), Cursor::new(body));
        if let Some(secs) = self.retry_after {
            response.header(Header::new("Retry-After", secs.to_string()));
        }
        if let Some(range) = self.content_range {
            response.header(Header::new("Content-Range", range));
        }
        if let Some(allow) = self.allow {
            response.header(Header::new("Allow", allow));
        }
        if self.status == 401 {
            response.header(Header::new("WWW-Authenticate", "Bearer realm=\"helpline\""));
        }
        // The fairings add these too, but not to a request Rocket could not
        // parse (an unknown method): every answer carries them.
        response.header(Header::new(HEADER, RequestId::of(req).to_string()));
        let mut response = response.finalize();
        super::security::apply(&mut response);
        Ok(response)
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Problem::from_error(&self, req).respond_to(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
