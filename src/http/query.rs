//! Query-string helpers: sorting and typed filters, each failing with 422.

use rocket::request::{FromRequest, Outcome};
use rocket::Request;

use crate::error::Error;
use crate::http::problem::Problem;
pub use crate::paging::{like_pattern, Page, Pagination, SortOrder};

/// Parses `field` or `-field` against an allow-list; unknown fields are 422.
pub fn parse_sort<T: Copy>(
    raw: Option<&str>,
    allowed: &[(&str, T)],
    default: (T, SortOrder),
) -> Result<(T, SortOrder), Error> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    let (name, order) = match raw.strip_prefix('-') {
        Some(name) => (name, SortOrder::Desc),
        None => (raw, SortOrder::Asc),
    };
    allowed
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| (*value, order))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            Error::validation(
                "sort",
                format!(
                    "must be one of {} (prefix - for descending)",
                    names.join(", ")
                ),
            )
        })
}

/// Parses `true`/`false` (also `1`/`0`).
pub fn parse_bool(field: &str, raw: Option<&str>) -> Result<Option<bool>, Error> {
    match raw {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(Error::validation(field, "must be true or false")),
    }
}

/// Parses an RFC 3339 time into the stored form (UTC, milliseconds, `Z`).
pub fn parse_time(field: &str, raw: Option<&str>) -> Result<Option<String>, Error> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(None);
    };
    let time = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            Error::validation(field, "must be an RFC 3339 time like 2026-11-22T10:04:05Z")
        })?;
    // `9999-12-31T23:59:59-23:59` is a valid time whose UTC lies past year 9999.
    let utc = time
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(|| Error::validation(field, "is out of range (years 0 to 9999 in UTC)"))?;
    Ok(Some(crate::db::format_time(utc)))
}

/// A query string that names each parameter once. `?page=1&page=2` is 422:
/// which one was meant cannot be known (Rocket would quietly take none).
/// A guard of every route that reads its query string.
pub struct SingleValued;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SingleValued {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let mut seen = std::collections::HashSet::new();
        for field in req.query_fields() {
            let name = field.name.source().as_str();
            if !seen.insert(name) {
                let error = Error::validation(name, "is given more than once");
                let status = error.status();
                Problem::from_error(&error, req).stash(req);
                return Outcome::Error((status, error));
            }
        }
        Outcome::Success(SingleValued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_allow_list() {
        let allowed = [("name", 1), ("created_at", 2)];
        assert_eq!(
            parse_sort(Some("-created_at"), &allowed, (1, SortOrder::Asc)).unwrap(),
            (2, SortOrder::Desc)
        );
        assert_eq!(
            parse_sort(None, &allowed, (1, SortOrder::Asc)).unwrap(),
            (1, SortOrder::Asc)
        );
        assert!(parse_sort(
            Some("name; DROP TABLE users"),
            &allowed,
            (1, SortOrder::Asc)
        )
        .is_err());
    }
}
