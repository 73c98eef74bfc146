//! Paging and sorting of lists, and `LIKE` patterns: value types every list uses.

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
    /// `true` when the server stopped counting at [`COUNT_CAP`] matches
    /// (`total` is then that cap, and there are more).
    pub total_capped: bool,
}

/// Lists count their matches up to this many where no counter is kept.
pub const COUNT_CAP: i64 = 10_000;

impl<T> Page<T> {
    pub fn new(items: Vec<T>, pagination: Pagination, total: i64) -> Self {
        Self::counted(items, pagination, Count::exact(total))
    }

    pub fn counted(items: Vec<T>, pagination: Pagination, count: Count) -> Self {
        Self {
            items,
            page: pagination.page,
            per_page: pagination.per_page,
            total: count.total,
            total_capped: count.capped,
        }
    }
}

/// How many match a list: exact, or [`COUNT_CAP`] and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub total: i64,
    pub capped: bool,
}

impl Count {
    pub fn exact(total: i64) -> Self {
        Self {
            total,
            capped: false,
        }
    }

    /// From a count that stopped at `COUNT_CAP + 1`.
    pub fn up_to_cap(counted: i64) -> Self {
        if counted > COUNT_CAP {
            Self {
                total: COUNT_CAP,
                capped: true,
            }
        } else {
            Self::exact(counted)
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
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
