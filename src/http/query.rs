//! Query-string helpers: pagination, sorting and typed filters, each failing with 422.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, FieldError};

pub const DEFAULT_PER_PAGE: u32 = 25;
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub page: u32,
    pub per_page: u32,
}

impl Pagination {
    /// Reads `page` (from 1) and `per_page` (1 to 100, default 25).
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let page = match page {
            None => 1,
            Some(raw) => match raw.parse::<u32>() {
                Ok(p) if (1..=1_000_000).contains(&p) => p,
                _ => {
                    errors.push(FieldError::new("page", "must be a whole number from 1"));
                    1
                }
            },
        };
        let per_page = match per_page {
            None => DEFAULT_PER_PAGE,
            Some(raw) => match raw.parse::<u32>() {
                Ok(p) if (1..=MAX_PER_PAGE).contains(&p) => p,
                _ => {
                    errors.push(FieldError::new(
                        "per_page",
                        format!("must be a whole number from 1 to {MAX_PER_PAGE}"),
                    ));
                    DEFAULT_PER_PAGE
                }
            },
        };
        if errors.is_empty() {
            Ok(Self { page, per_page })
        } else {
            Err(Error::Validation(errors))
        }
    }

    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, pagination: Pagination, total: i64) -> Self {
        Self {
            items,
            page: pagination.page,
            per_page: pagination.per_page,
            total,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    pub fn sql(self) -> &'static str {
        match self {
            Self::Asc => "ASC",
            Self::Desc => "DESC",
        }
    }
}

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
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(crate::db::format_time(t)))
        .map_err(|_| Error::validation(field, "must be an RFC 3339 time like 2026-11-22T10:04:05Z"))
}

/// A `LIKE` pattern matching `text` anywhere, with wildcards in it escaped (`ESCAPE '\'`).
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_bounds() {
        assert_eq!(
            Pagination::parse(None, None).unwrap(),
            Pagination {
                page: 1,
                per_page: 25
            }
        );
        let p = Pagination::parse(Some("3"), Some("100")).unwrap();
        assert_eq!(p.offset(), 200);
        for (page, per) in [
            (Some("0"), None),
            (Some("x"), None),
            (None, Some("101")),
            (None, Some("0")),
        ] {
            assert!(matches!(
                Pagination::parse(page, per),
                Err(Error::Validation(_))
            ));
        }
    }

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

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
