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
            path = %req.uri().path(),
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
