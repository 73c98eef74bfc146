//! One span and one log line per request, the `X-Request-Id` header, and request metrics.

use std::sync::Arc;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};
use tracing::field::Empty;

use super::request_id::{RequestId, HEADER};
use crate::metrics::Metrics;

pub struct Telemetry {
    metrics: Arc<Metrics>,
}

impl Telemetry {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

/// When the request arrived and the span it is logged in.
struct RequestStart {
    at: Instant,
    span: tracing::Span,
}

#[rocket::async_trait]
impl Fairing for Telemetry {
    fn info(&self) -> Info {
        Info {
            name: "telemetry",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        let span = tracing::info_span!(
            "request",
            request_id = %RequestId::of(req),
            method = %req.method(),
            path = %loggable_path(req),
            status = Empty,
            latency_ms = Empty,
        );
        req.local_cache(|| RequestStart {
            at: Instant::now(),
            span,
        });
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let id = RequestId::of(req);
        res.set_header(Header::new(HEADER, id.to_string()));

        let start = req.local_cache(|| RequestStart {
            at: Instant::now(),
            span: tracing::Span::none(),
        });
        let elapsed = start.at.elapsed();
        let status = res.status().code;
        let route = req
            .route()
            .map_or_else(|| "unmatched".to_string(), |r| r.uri.as_str().to_string());
        self.metrics
            .observe_request(req.method().as_str(), &route, status, elapsed);

        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        start.span.record("status", status);
        start.span.record("latency_ms", latency_ms);
        let _entered = start.span.enter();
        if status >= 500 {
            tracing::warn!("request failed");
        } else {
            tracing::info!("request finished");
        }
    }
}

/// The request path as logs show it: the secret segment of a portal link
/// (`/api/v1/portal/<token>`, `/portal/<token>`) is written `***`. (Query
/// strings, where streams take `?token=`, are never logged.)
pub fn loggable_path(req: &Request<'_>) -> String {
    redact(req.uri().path().as_str())
}

fn redact(path: &str) -> String {
    let mut secret_next = false;
    let parts: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let part = if secret_next && !segment.is_empty() {
                "***"
            } else {
                segment
            };
            secret_next = segment == "portal";
            part
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn portal_tokens_are_not_logged() {
        assert_eq!(redact("/api/v1/portal/s3cr3t"), "/api/v1/portal/***");
        assert_eq!(
            redact("/api/v1/portal/s3cr3t/messages"),
            "/api/v1/portal/***/messages"
        );
        assert_eq!(redact("/portal/s3cr3t"), "/portal/***");
        assert_eq!(
            redact("/api/v1/portal-tokens/5/revoke"),
            "/api/v1/portal-tokens/5/revoke"
        );
        assert_eq!(redact("/api/v1/tickets/7"), "/api/v1/tickets/7");
    }
}
