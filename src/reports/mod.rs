//! Reports for a date range (UTC days): tickets created and resolved per day,
//! first-response and resolution medians and 90th percentiles, service
//! levels met, satisfaction, and the same per agent. Everything is read from
//! daily rollups kept by triggers (`report_days`, `duration_days`,
//! `agent_response_days`, `csat_days`), so a report costs the same at a
//! thousand tickets and at a million. Percentiles come from 5 %-wide
//! duration buckets and are the bucket's middle: within 2.5 % of the exact
//! value.

mod durations;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rusqlite::{params, Connection};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;
use crate::ids::UserId;
use durations::{durations, Rollup, Span};

/// The longest range, in days.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub created: i64,
    pub resolved: i64,
    pub by_day: Vec<Day>,
    pub first_response: Durations,
    pub resolution: Durations,
    pub sla: SlaMet,
    pub csat: Csat,
    pub by_agent: Vec<AgentRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Day {
    pub date: String,
    pub created: i64,
    pub resolved: i64,
}

/// Seconds; `null` without any duration in the range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Durations {
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

/// Of the targets decided in the range (a first response given, a ticket
/// resolved), the percentage met; `null` when none was decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaMet {
    pub first_response_met_pct: Option<f64>,
    pub resolution_met_pct: Option<f64>,
}

/// Ratings given in the range; `score_pct` is the share of good ones.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Csat {
    pub good: i64,
    pub okay: i64,
    pub bad: i64,
    pub score_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentRow {
    pub agent: AgentRef,
    /// Tickets created in the range and assigned to the agent now.
    pub assigned: i64,
    /// Tickets resolved in the range and assigned to the agent now.
    pub resolved: i64,
    pub first_response_median_secs: Option<f64>,
    pub csat_score_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentRef {
    pub id: UserId,
    pub name: String,
}

fn pct(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let value = part as f64 * 100.0 / whole as f64;
        (value * 10.0).round() / 10.0
    })
}

/// The report for the days `from` to `to` (inclusive, `YYYY-MM-DD`, checked
/// by the caller).
pub fn compute(conn: &Connection, from: &str, to: &str) -> Result<Report, Error> {
    let mut days: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut sla = [0i64; 4];
    let mut per_agent: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT day, agent_id, created, resolved, first_response_met, first_response_missed,
                resolution_met, resolution_missed
         FROM report_days WHERE day BETWEEN ?1 AND ?2",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            [
                r.get::<_, i64>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ],
        ))
    })?;
    for row in rows {
        let (day, agent, [created, resolved, fm, fx, rm, rx]) = row?;
        let slot = days.entry(day).or_default();
        slot.0 += created;
        slot.1 += resolved;
        for (total, n) in sla.iter_mut().zip([fm, fx, rm, rx]) {
            *total += n;
        }
        if agent != 0 {
            let a = per_agent.entry(agent).or_default();
            a.0 += created;
            a.1 += resolved;
        }
    }
    let by_day = every_day(from, to)?
        .into_iter()
        .map(|date| {
            let (created, resolved) = days.get(&date).copied().unwrap_or_default();
            Day {
                date,
                created,
                resolved,
            }
        })
        .collect::<Vec<_>>();
    let span = Span::of(from, to)?;
    let first_response = durations(conn, Rollup::Kind(1), &span)?;
    let resolution = durations(conn, Rollup::Kind(2), &span)?;
    let (csat, csat_by_agent) = csat(conn, from, to)?;
    let mut by_agent = Vec::new();
    let agents: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, name FROM users WHERE role IN ('agent', 'admin') ORDER BY name, id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, name) in agents {
        let (assigned, resolved) = per_agent.get(&id).copied().unwrap_or_default();
        let rated = csat_by_agent.get(&id);
        if assigned == 0 && resolved == 0 && rated.is_none() {
            continue;
        }
        let response = durations(conn, Rollup::Agent(id), &span)?;
        by_agent.push(AgentRow {
            agent: AgentRef {
                id: UserId(id),
                name,
            },
            assigned,
            resolved,
            first_response_median_secs: response.median_secs,
            csat_score_pct: rated.and_then(|c| c.score_pct),
        });
    }
    Ok(Report {
        from: from.to_string(),
        to: to.to_string(),
        created: by_day.iter().map(|d| d.created).sum(),
        resolved: by_day.iter().map(|d| d.resolved).sum(),
        by_day,
        first_response,
        resolution,
        sla: SlaMet {
            first_response_met_pct: pct(sla[0], sla[0] + sla[1]),
            resolution_met_pct: pct(sla[2], sla[2] + sla[3]),
        },
        csat,
        by_agent,
    })
}

/// The ratings of the range, in all and per agent.
fn csat(conn: &Connection, from: &str, to: &str) -> Result<(Csat, BTreeMap<i64, Csat>), Error> {
    let mut all = Csat::default();
    let mut per_agent: BTreeMap<i64, Csat> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT agent_id, score, SUM(n) FROM csat_days WHERE day BETWEEN ?1 AND ?2 GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (agent, score, n) = row?;
        for target in [
            Some(&mut all),
            (agent != 0).then(|| per_agent.entry(agent).or_default()),
        ]
        .into_iter()
        .flatten()
        {
            match score.as_str() {
                "good" => target.good += n,
                "okay" => target.okay += n,
                _ => target.bad += n,
            }
        }
    }
    for c in std::iter::once(&mut all).chain(per_agent.values_mut()) {
        c.score_pct = pct(c.good, c.good + c.okay + c.bad);
    }
    per_agent.retain(|_, c| c.good + c.okay + c.bad > 0);
    Ok((all, per_agent))
}

/// Every date from `from` to `to`.
fn every_day(from: &str, to: &str) -> Result<Vec<String>, Error> {
    let parse = |d: &str| {
        d.parse::<jiff::civil::Date>()
            .map_err(|e| Error::Internal(format!("report date {d}: {e}")))
    };
    let (mut day, last) = (parse(from)?, parse(to)?);
    let mut out = Vec::new();
    while day <= last {
        out.push(day.to_string());
        if day == last {
            break;
        }
        day = day
            .tomorrow()
            .map_err(|e| Error::Internal(format!("report date after {day}: {e}")))?;
    }
    Ok(out)
}

/// The range of a request: `YYYY-MM-DD` dates, by default the 30 days up to
/// today (UTC); at most [`MAX_DAYS`] days, `from` not after `to`.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    today: jiff::civil::Date,
) -> Result<(String, String), Error> {
    let parse = |field: &str, value: Option<&str>| -> Result<Option<jiff::civil::Date>, Error> {
        value
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim()
                    .parse::<jiff::civil::Date>()
                    .ok()
                    .filter(|_| v.trim().len() == 10)
                    .ok_or_else(|| Error::validation(field, "a date as YYYY-MM-DD"))
            })
            .transpose()
    };
    let to_date = parse("to", to)?.unwrap_or(today);
    let from_date = match parse("from", from)? {
        Some(d) => d,
        None => to_date
            .checked_sub(jiff::Span::new().days(29))
            .map_err(|_| Error::validation("to", "too early a date"))?,
    };
    if from_date > to_date {
        return Err(Error::validation("from", "must not be after `to`"));
    }
    let days = from_date
        .until(to_date)
        .map_err(|e| Error::Internal(format!("report range: {e}")))?
        .get_days();
    if i64::from(days) >= MAX_DAYS {
        return Err(Error::validation(
            "from",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    Ok((from_date.to_string(), to_date.to_string()))
}

/// The days of a report as CSV: `date,created,resolved`.
pub fn csv(report: &Report) -> String {
    let mut out = String::from("date,created,resolved\n");
    for day in &report.by_day {
        let _ = writeln!(out, "{},{},{}", day.date, day.created, day.resolved);
    }
    out
}
