//! The catcher: every error Rocket raises itself (no route, a method the path
//! does not take, a failing guard, a panic) answers a problem document.

use rocket::http::{Method, Status};
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
        // No route took the request. Rocket forwards with 422 when a path
        // parameter does not parse (`/tickets/abc`): that path names nothing.
        404 | 422 => no_route(req, Some(req.method())),
        500 => {
            tracing::error!(
                request_id = %RequestId::of(req),
                method = %req.method(),
                path = %crate::http::telemetry::loggable_path(req),
                "handler failed (panic or responder error)"
            );
            Problem::new(status, INTERNAL_DETAIL, req)
        }
        413 => Problem::new(status, "the request body is too large", req),
        // Rocket turns away a method it does not know (`QUERY`, `FOO`) before
        // routing, and hands the catcher a stand-in request without a route.
        400 if req.route().is_none() => no_route(req, None),
        _ => Problem::new(status, status.reason_lossy().to_string(), req),
    }
}

/// No route took the request: 405 naming the methods this path takes, or 404
/// when it takes none. `method` is `None` when Rocket did not know it.
fn no_route(req: &Request<'_>, method: Option<Method>) -> Problem {
    let allowed = super::allowed_methods(req, method);
    if allowed.is_empty() {
        return Problem::new(
            Status::NotFound,
            format!("no resource at {}", req.uri().path()),
            req,
        );
    }
    let allowed = allowed.join(", ");
    Problem::new(
        Status::MethodNotAllowed,
        match method {
            Some(method) => format!("{method} is not allowed here; use {allowed}"),
            None => format!("this method is not supported; use {allowed}"),
        },
        req,
    )
    .with_allow(allowed)
}

pub fn catchers() -> Vec<rocket::Catcher> {
    rocket::catchers![default_catcher]
}
