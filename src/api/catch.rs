//! The catcher: every error Rocket raises itself (no route, a method the path
//! does not take, a failing guard, a panic) answers a problem document.

use rocket::http::Status;
use rocket::{catch, Request};

use crate::error::INTERNAL_DETAIL;
use crate::http::problem::Problem;
use crate::http::request_id::RequestId;

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
            let allowed = super::allowed_methods(req);
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
