//! Prometheus metrics: request counts and latency by route and status, pool and build info.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::db::PoolStats;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum_secs: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Label set of one series. Routes are templates (`/api/v1/tickets/<id>`), so
/// the number of series stays bounded whatever clients request.
type Labels = (String, String, u16);

pub struct Metrics {
    requests: Mutex<BTreeMap<Labels, Series>>,
    started: Instant,
    started_unix: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            requests: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let Ok(mut map) = self.requests.lock() else {
            return;
        };
        let series = map
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        series.count += 1;
        series.sum_secs += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                series.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, pools: &[PoolStats]) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP helpline_build_info Build information.\n");
        out.push_str("# TYPE helpline_build_info gauge\n");
        let _ = writeln!(
            out,
            "helpline_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out.push_str(
            "# HELP helpline_start_time_seconds Start time of the server since the Unix epoch.\n",
        );
        out.push_str("# TYPE helpline_start_time_seconds gauge\n");
        let _ = writeln!(out, "helpline_start_time_seconds {:.3}", self.started_unix);
        out.push_str("# HELP helpline_uptime_seconds Seconds since the server started.\n");
        out.push_str("# TYPE helpline_uptime_seconds gauge\n");
        let _ = writeln!(
            out,
            "helpline_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );

        out.push_str("# HELP helpline_db_pool_connections Database pool connections by state.\n");
        out.push_str("# TYPE helpline_db_pool_connections gauge\n");
        for pool in pools {
            let _ = writeln!(
                out,
                "helpline_db_pool_connections{{pool=\"{}\",state=\"idle\"}} {}",
                pool.name, pool.idle
            );
            let _ = writeln!(
                out,
                "helpline_db_pool_connections{{pool=\"{}\",state=\"in_use\"}} {}",
                pool.name,
                pool.open - pool.idle
            );
        }
        out.push_str(
            "# HELP helpline_db_pool_max_connections Configured size of each database pool.\n",
        );
        out.push_str("# TYPE helpline_db_pool_max_connections gauge\n");
        for pool in pools {
            let _ = writeln!(
                out,
                "helpline_db_pool_max_connections{{pool=\"{}\"}} {}",
                pool.name, pool.max
            );
        }

        let Ok(map) = self.requests.lock() else {
            return out;
        };
        out.push_str("# HELP helpline_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE helpline_http_requests_total counter\n");
        for ((method, route, status), series) in map.iter() {
            let _ = writeln!(
                out,
                "helpline_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                series.count
            );
        }
        out.push_str(
            "# HELP helpline_http_request_duration_seconds Time to answer HTTP requests.\n",
        );
        out.push_str("# TYPE helpline_http_request_duration_seconds histogram\n");
        for ((method, route, status), series) in map.iter() {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            for (bound, count) in BUCKETS.iter().zip(series.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "helpline_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "helpline_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(
                out,
                "helpline_http_request_duration_seconds_sum{{{labels}}} {}",
                series.sum_secs
            );
            let _ = writeln!(
                out,
                "helpline_http_request_duration_seconds_count{{{labels}}} {}",
                series.count
            );
        }
        out
    }
}

/// Gauges of the IMAP mailboxes: up (connected and not failing) and
/// messages filed since start.
pub fn render_mailboxes(views: &[crate::mail::imap::MailboxView]) -> String {
    if views.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    out.push_str("# HELP helpline_mailbox_up 1 while the mailbox is connected and not failing.\n");
    out.push_str("# TYPE helpline_mailbox_up gauge\n");
    for v in views {
        let up = u8::from(v.state != crate::mail::imap::MailboxState::Error);
        let _ = writeln!(
            out,
            "helpline_mailbox_up{{mailbox=\"{}\"}} {up}",
            escape(&v.name)
        );
    }
    out.push_str(
        "# HELP helpline_mailbox_filed_total Messages filed from the mailbox since start.\n",
    );
    out.push_str("# TYPE helpline_mailbox_filed_total counter\n");
    for v in views {
        let _ = writeln!(
            out,
            "helpline_mailbox_filed_total{{mailbox=\"{}\"}} {}",
            escape(&v.name),
            v.filed
        );
    }
    out
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.observe_request("GET", "/health", 200, Duration::from_millis(3));
        m.observe_request("GET", "/health", 200, Duration::from_millis(30));
        let text = m.render(&[]);
        assert!(text.contains(
            "helpline_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.001\"} 0"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.05\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}
