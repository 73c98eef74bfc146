//! Durations of a report: median and 90th percentile from the 5 %-wide
//! buckets, read from monthly rollups for a range's whole months and from
//! daily ones for the days at its two ends.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use super::Durations;
use crate::error::Error;
use crate::tickets::stats::bucket_middle_ms;

/// Which bucket rollups a duration comes from: all tickets of a kind
/// (1 first response, 2 resolution) or one agent's first responses.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rollup {
    Kind(i64),
    Agent(i64),
}

impl Rollup {
    /// The daily and monthly tables, their key column and its value.
    fn tables(self) -> (&'static str, &'static str, &'static str, i64) {
        match self {
            Self::Kind(kind) => ("duration_days", "duration_months", "kind", kind),
            Self::Agent(id) => (
                "agent_response_days",
                "agent_response_months",
                "agent_id",
                id,
            ),
        }
    }
}

/// A range split into whole months (read from the monthly rollups) and the
/// days before and after them (from the daily ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Span {
    /// `YYYY-MM` to `YYYY-MM`, when the range holds a whole month.
    months: Option<(String, String)>,
    /// Day ranges, inclusive.
    days: Vec<(String, String)>,
}

impl Span {
    pub(super) fn of(from: &str, to: &str) -> Result<Self, Error> {
        let parse = |d: &str| {
            d.parse::<jiff::civil::Date>()
                .map_err(|e| Error::Internal(format!("report date {d}: {e}")))
        };
        let (from_date, to_date) = (parse(from)?, parse(to)?);
        let first_whole = if from_date.day() == 1 {
            Some(from_date)
        } else {
            from_date.last_of_month().tomorrow().ok()
        };
        let last_whole = if to_date == to_date.last_of_month() {
            Some(to_date)
        } else {
            to_date.first_of_month().yesterday().ok()
        };
        let (Some(first), Some(last)) = (first_whole, last_whole) else {
            return Ok(Self::days_only(from, to));
        };
        if first > last {
            return Ok(Self::days_only(from, to));
        }
        let month = |d: jiff::civil::Date| d.strftime("%Y-%m").to_string();
        let mut days = Vec::new();
        if first > from_date {
            let before = first
                .yesterday()
                .map_err(|e| Error::Internal(e.to_string()))?;
            days.push((from.to_string(), before.to_string()));
        }
        if last < to_date {
            let after = last
                .tomorrow()
                .map_err(|e| Error::Internal(e.to_string()))?;
            days.push((after.to_string(), to.to_string()));
        }
        Ok(Self {
            months: Some((month(first), month(last))),
            days,
        })
    }

    fn days_only(from: &str, to: &str) -> Self {
        Self {
            months: None,
            days: vec![(from.to_string(), to.to_string())],
        }
    }
}

/// Median and 90th percentile of a rollup over a span.
pub(super) fn durations(
    conn: &Connection,
    rollup: Rollup,
    span: &Span,
) -> Result<Durations, Error> {
    let (days, months, key, value) = rollup.tables();
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    let mut add = |sql: String, a: &str, b: &str| -> Result<(), Error> {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![value, a, b], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (bucket, n) = row?;
            *counts.entry(bucket).or_default() += n;
        }
        Ok(())
    };
    if let Some((first, last)) = &span.months {
        add(
            format!("SELECT bucket, n FROM {months} WHERE {key} = ?1 AND month BETWEEN ?2 AND ?3"),
            first,
            last,
        )?;
    }
    for (first, last) in &span.days {
        add(
            format!("SELECT bucket, n FROM {days} WHERE {key} = ?1 AND day BETWEEN ?2 AND ?3"),
            first,
            last,
        )?;
    }
    let total: i64 = counts.values().filter(|n| **n > 0).sum();
    if total == 0 {
        return Ok(Durations {
            median_secs: None,
            p90_secs: None,
        });
    }
    // The bucket of the value of 0-based rank `rank`.
    let at_rank = |rank: i64| -> Option<i64> {
        let mut seen = 0;
        counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .find_map(|(bucket, n)| {
                seen += n;
                (rank < seen).then_some(*bucket)
            })
    };
    let middle = |bucket: Option<i64>| -> Result<f64, Error> {
        bucket.map_or(Ok(0.0), |b| bucket_middle_ms(conn, b))
    };
    let secs = |ms: f64| (ms.round()) / 1000.0;
    // The median: the mean of the two middle values; the 90th percentile:
    // the value of rank ceil(0.9 n) (nearest rank).
    let median = f64::midpoint(
        middle(at_rank((total - 1) / 2))?,
        middle(at_rank(total / 2))?,
    );
    let p90_rank = (total * 9 + 9) / 10 - 1;
    Ok(Durations {
        median_secs: Some(secs(median)),
        p90_secs: Some(secs(middle(at_rank(p90_rank))?)),
    })
}

#[cfg(test)]
mod tests {
    use super::Span;

    /// Whole months, then the days around them.
    type Split = (Option<(String, String)>, Vec<(String, String)>);

    fn span(from: &str, to: &str) -> Split {
        let s = Span::of(from, to).unwrap();
        (s.months, s.days)
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn a_range_splits_into_whole_months_and_the_days_around_them() {
        assert_eq!(
            span("2026-01-15", "2026-04-10"),
            (
                Some(pair("2026-02", "2026-03")),
                vec![
                    pair("2026-01-15", "2026-01-31"),
                    pair("2026-04-01", "2026-04-10")
                ]
            )
        );
        assert_eq!(
            span("2026-02-01", "2026-02-28"),
            (Some(pair("2026-02", "2026-02")), vec![])
        );
        assert_eq!(
            span("2026-02-03", "2026-03-02"),
            (None, vec![pair("2026-02-03", "2026-03-02")])
        );
        assert_eq!(
            span("2026-03-02", "2026-03-04"),
            (None, vec![pair("2026-03-02", "2026-03-04")])
        );
        assert_eq!(
            span("2025-11-28", "2026-11-28"),
            (
                Some(pair("2025-12", "2026-10")),
                vec![
                    pair("2025-11-28", "2025-11-30"),
                    pair("2026-11-01", "2026-11-28")
                ]
            )
        );
    }
}
