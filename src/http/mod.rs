//! HTTP plumbing shared by every route: request ids, JSON bodies, CORS, headers, telemetry.

pub mod cors;
pub mod json;
pub mod problem;
pub mod query;
pub mod request_id;
pub mod security;
pub mod telemetry;
