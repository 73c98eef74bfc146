//! The SLA policy: whether targets apply, the team's time zone, weekly
//! business hours and holidays, and the targets per priority in minutes of
//! business time. One per help desk, stored as one JSON document.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{Calendar, Minute};
use crate::db::now;
use crate::error::{Error, FieldError};
use crate::tickets::Priority;

/// At most this many holidays (about ten years of them).
const MAX_HOLIDAYS: usize = 400;
/// At most this many working intervals a day.
const MAX_INTERVALS: usize = 8;
/// The longest target: a year of round-the-clock minutes.
const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Targets apply to tickets only when on.
    #[serde(default)]
    pub enabled: bool,
    /// An IANA time-zone name (`Europe/Berlin`); business hours and holidays
    /// are read in it, with its daylight-saving rules.
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default)]
    pub business_hours: BusinessHours,
    /// Dates (`2026-12-25`) without business hours.
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub targets: Targets,
    /// How far into a target (percent) its warning goes out.
    #[serde(default = "eighty")]
    #[schema(minimum = 1, maximum = 99)]
    pub warning_percent: u8,
}

/// Working intervals per weekday, `[["09:00", "17:00"]]`; `24:00` ends a day.
/// A day left out has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[serde(default)]
    pub mon: Vec<[String; 2]>,
    #[serde(default)]
    pub tue: Vec<[String; 2]>,
    #[serde(default)]
    pub wed: Vec<[String; 2]>,
    #[serde(default)]
    pub thu: Vec<[String; 2]>,
    #[serde(default)]
    pub fri: Vec<[String; 2]>,
    #[serde(default)]
    pub sat: Vec<[String; 2]>,
    #[serde(default)]
    pub sun: Vec<[String; 2]>,
}

impl BusinessHours {
    /// Monday first, with the days' names.
    fn days(&self) -> [(&'static str, &Vec<[String; 2]>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }

    /// Monday to Friday, 09:00 to 17:00.
    fn office() -> Self {
        let day = || vec![["09:00".to_string(), "17:00".to_string()]];
        Self {
            mon: day(),
            tue: day(),
            wed: day(),
            thu: day(),
            fri: day(),
            sat: Vec::new(),
            sun: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub urgent: Target,
    pub high: Target,
    pub medium: Target,
    pub low: Target,
}

impl Default for Targets {
    fn default() -> Self {
        let target = |first, resolution| Target {
            first_response_minutes: first,
            resolution_minutes: resolution,
        };
        Self {
            urgent: target(30, 4 * 60),
            high: target(60, 8 * 60),
            medium: target(4 * 60, 3 * 8 * 60),
            low: target(8 * 60, 5 * 8 * 60),
        }
    }
}

impl Targets {
    pub fn of(&self, priority: Priority) -> Target {
        match priority {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }
}

/// Minutes of business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[schema(minimum = 1, maximum = 527_040)]
    pub first_response_minutes: u32,
    #[schema(minimum = 1, maximum = 527_040)]
    pub resolution_minutes: u32,
}

fn utc() -> String {
    "UTC".into()
}

fn eighty() -> u8 {
    80
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            timezone: utc(),
            business_hours: BusinessHours::office(),
            holidays: Vec::new(),
            targets: Targets::default(),
            warning_percent: eighty(),
        }
    }
}

impl SlaPolicy {
    /// Checks every field; each problem is named by its path.
    pub fn validate(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            errors.push(FieldError::new(
                "timezone",
                "not a known time zone; use an IANA name such as Europe/Berlin",
            ));
        }
        let mut any_hours = false;
        for (day, intervals) in self.business_hours.days() {
            if let Err(e) = parse_day(day, intervals) {
                errors.push(e);
            }
            any_hours |= !intervals.is_empty();
        }
        if self.enabled && !any_hours {
            errors.push(FieldError::new(
                "business_hours",
                "targets need business hours on at least one day",
            ));
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            errors.push(FieldError::new(
                "holidays",
                format!("at most {MAX_HOLIDAYS} holidays"),
            ));
        }
        for (i, day) in self.holidays.iter().enumerate() {
            if day.len() != 10 || day.parse::<jiff::civil::Date>().is_err() {
                errors.push(FieldError::new(
                    format!("holidays[{i}]"),
                    "a date as YYYY-MM-DD",
                ));
            }
        }
        for (name, target) in [
            ("urgent", self.targets.urgent),
            ("high", self.targets.high),
            ("medium", self.targets.medium),
            ("low", self.targets.low),
        ] {
            for (field, minutes) in [
                ("first_response_minutes", target.first_response_minutes),
                ("resolution_minutes", target.resolution_minutes),
            ] {
                if minutes == 0 || minutes > MAX_TARGET_MINUTES {
                    errors.push(FieldError::new(
                        format!("targets.{name}.{field}"),
                        format!("between 1 and {MAX_TARGET_MINUTES} minutes"),
                    ));
                }
            }
        }
        if !(1..=99).contains(&self.warning_percent) {
            errors.push(FieldError::new(
                "warning_percent",
                "between 1 and 99 (percent of a target)",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }

    /// The business calendar of a valid policy.
    pub fn calendar(&self) -> Result<Calendar, Error> {
        self.validate()?;
        let zone = jiff::tz::TimeZone::get(&self.timezone)
            .map_err(|e| Error::Internal(format!("time zone {}: {e}", self.timezone)))?;
        let mut week: [Vec<(Minute, Minute)>; 7] = Default::default();
        for (slot, (day, intervals)) in week.iter_mut().zip(self.business_hours.days()) {
            *slot = parse_day(day, intervals).map_err(|e| Error::Validation(vec![e]))?;
        }
        let holidays: BTreeSet<jiff::civil::Date> = self
            .holidays
            .iter()
            .filter_map(|d| d.parse().ok())
            .collect();
        Ok(Calendar::new(zone, week, holidays))
    }
}

/// `HH:MM` (00:00 to 24:00) as minutes after midnight.
fn parse_minute(text: &str) -> Option<Minute> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (Minute, Minute) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// A day's intervals, checked: each starts before it ends, in order, apart.
fn parse_day(day: &str, intervals: &[[String; 2]]) -> Result<Vec<(Minute, Minute)>, FieldError> {
    if intervals.len() > MAX_INTERVALS {
        return Err(FieldError::new(
            format!("business_hours.{day}"),
            format!("at most {MAX_INTERVALS} intervals a day"),
        ));
    }
    let mut parsed = Vec::new();
    for (i, [from, to]) in intervals.iter().enumerate() {
        let field = || format!("business_hours.{day}[{i}]");
        let (Some(a), Some(b)) = (parse_minute(from), parse_minute(to)) else {
            return Err(FieldError::new(
                field(),
                "times as HH:MM, from 00:00 to 24:00",
            ));
        };
        if a >= b {
            return Err(FieldError::new(
                field(),
                "the start must come before the end",
            ));
        }
        if parsed.last().is_some_and(|&(_, end)| a < end) {
            return Err(FieldError::new(
                field(),
                "intervals must be in order and must not overlap",
            ));
        }
        parsed.push((a, b));
    }
    Ok(parsed)
}

/// The stored policy, or the default (off) when none was saved.
pub fn load(conn: &Connection) -> Result<SlaPolicy, Error> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT policy FROM sla_policy WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(stored
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Saves a validated policy.
pub fn save(conn: &Connection, policy: &SlaPolicy) -> Result<(), Error> {
    policy.validate()?;
    let json = serde_json::to_string(policy)
        .map_err(|e| Error::Internal(format!("encoding the SLA policy: {e}")))?;
    conn.execute(
        "INSERT INTO sla_policy (id, policy, updated_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
        params![json, now()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_from_midnight_to_the_end_of_the_day() {
        assert_eq!(parse_minute("00:00"), Some(0));
        assert_eq!(parse_minute("09:30"), Some(570));
        assert_eq!(parse_minute("24:00"), Some(1440));
        for bad in [
            "24:01", "9:00", "09:60", "25:00", "0900", "", "aa:bb", "-1:00",
        ] {
            assert_eq!(parse_minute(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let mut policy = SlaPolicy {
            enabled: true,
            timezone: "Mars/Olympus".into(),
            holidays: vec!["2026-12-25".into(), "25.12.2026".into()],
            warning_percent: 100,
            ..SlaPolicy::default()
        };
        policy.business_hours.mon = vec![["12:00".into(), "10:00".into()]];
        policy.business_hours.tue = vec![
            ["09:00".into(), "13:00".into()],
            ["12:00".into(), "17:00".into()],
        ];
        policy.targets.high.resolution_minutes = 0;
        let Err(Error::Validation(errors)) = policy.validate() else {
            panic!("accepted");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "timezone",
                "business_hours.mon[0]",
                "business_hours.tue[1]",
                "holidays[1]",
                "targets.high.resolution_minutes",
                "warning_percent"
            ]
        );
        assert!(SlaPolicy::default().validate().is_ok());
    }

    #[test]
    fn targets_need_some_business_hours() {
        let policy = SlaPolicy {
            enabled: true,
            business_hours: BusinessHours::default(),
            ..SlaPolicy::default()
        };
        assert!(policy.validate().is_err());
        let off = SlaPolicy {
            enabled: false,
            ..policy
        };
        assert!(off.validate().is_ok());
    }
}
