//! The `X-Request-Id` of a request: echoed when well formed, generated otherwise.

use std::fmt;

use rocket::request::{FromRequest, Outcome};
use rocket::Request;

pub const HEADER: &str = "X-Request-Id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The id of this request, created on first use and the same afterwards.
    pub fn of<'a>(req: &'a Request<'_>) -> &'a RequestId {
        req.local_cache(|| {
            let incoming = req.headers().get_one(HEADER).filter(|v| is_well_formed(v));
            RequestId(incoming.map_or_else(|| uuid::Uuid::new_v4().to_string(), String::from))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Up to 128 characters of `[A-Za-z0-9._:-]`: safe to log and to echo.
fn is_well_formed(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r RequestId {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RequestId::of(req))
    }
}

#[cfg(test)]
mod tests {
    use super::is_well_formed;

    #[test]
    fn only_safe_ids_are_echoed() {
        assert!(is_well_formed("abc-123_x.y:z"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("has space"));
        assert!(!is_well_formed("line\nbreak"));
        assert!(!is_well_formed(&"a".repeat(129)));
    }
}
