//! Business time: the hours a team works each weekday in its time zone,
//! minus holidays. Targets are counted in it (a 4-hour target opened on
//! Friday at 16:00 falls due on Monday at 12:00 with 09:00-17:00 hours).
//! Days are read in the calendar's zone with its daylight-saving rules
//! (jiff's time-zone database), so a working day on the night the clocks
//! change is as long as it really is.

use std::collections::BTreeSet;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Minutes after midnight: 0 up to 1440 (the end of the day).
pub type Minute = u16;

/// The longest stretch a calculation looks ahead before it gives up (a
/// calendar whose holidays cover every working day for years).
const HORIZON_DAYS: u32 = 3 * 366;

#[derive(Debug, Clone)]
pub struct Calendar {
    zone: TimeZone,
    /// Monday first; each day's working intervals `[start, end)` in minutes,
    /// sorted and apart.
    week: [Vec<(Minute, Minute)>; 7],
    holidays: BTreeSet<Date>,
}

impl Calendar {
    pub fn new(zone: TimeZone, week: [Vec<(Minute, Minute)>; 7], holidays: BTreeSet<Date>) -> Self {
        Self {
            zone,
            week,
            holidays,
        }
    }

    /// The instant `secs` seconds of business time after `start` (unix
    /// seconds); `None` when the calendar has no working time ahead.
    pub fn add(&self, start: i64, secs: i64) -> Option<i64> {
        let mut left = secs.max(0);
        let mut day = self.date_of(start)?;
        for _ in 0..HORIZON_DAYS {
            for (from, to) in self.intervals(day) {
                let from = from.max(start);
                if from >= to {
                    continue;
                }
                if left <= to - from {
                    return Some(from + left);
                }
                left -= to - from;
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// Seconds of business time in `[from, to)`.
    pub fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let (Some(mut day), Some(last)) = (self.date_of(from), self.date_of(to)) else {
            return 0;
        };
        let mut total = 0;
        while day <= last {
            for (a, b) in self.intervals(day) {
                total += (b.min(to) - a.max(from)).max(0);
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        total
    }

    fn date_of(&self, at: i64) -> Option<Date> {
        Some(
            self.zone
                .to_datetime(Timestamp::from_second(at).ok()?)
                .date(),
        )
    }

    /// The working intervals of `day` as unix seconds (none on a holiday).
    fn intervals(&self, day: Date) -> Vec<(i64, i64)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let index = usize::try_from(day.weekday().to_monday_zero_offset()).unwrap_or(0);
        self.week[index]
            .iter()
            .filter_map(|&(from, to)| Some((self.instant(day, from)?, self.instant(day, to)?)))
            .collect()
    }

    /// The instant a wall clock in the zone shows `minute` on `day` (a time
    /// skipped by a clock change counts as the moment after the gap; a
    /// repeated one as its first occurrence).
    fn instant(&self, day: Date, minute: Minute) -> Option<i64> {
        let (day, minute) = if minute >= 1440 {
            (day.tomorrow().ok()?, 0)
        } else {
            (day, minute)
        };
        let time = Time::new(
            i8::try_from(minute / 60).ok()?,
            i8::try_from(minute % 60).ok()?,
            0,
            0,
        )
        .ok()?;
        let at = self
            .zone
            .to_ambiguous_timestamp(day.to_datetime(time))
            .compatible()
            .ok()?;
        Some(at.as_second())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zone: &str, local: &str) -> i64 {
        let dt: jiff::civil::DateTime = local.parse().unwrap();
        TimeZone::get(zone)
            .unwrap()
            .to_ambiguous_timestamp(dt)
            .compatible()
            .unwrap()
            .as_second()
    }

    fn local(zone: &str, secs: i64) -> String {
        TimeZone::get(zone)
            .unwrap()
            .to_datetime(Timestamp::from_second(secs).unwrap())
            .strftime("%Y-%m-%d %H:%M (%a)")
            .to_string()
    }

    /// Monday to Friday 09:00-17:00 in `zone`.
    fn office(zone: &str, holidays: &[&str]) -> Calendar {
        let day = vec![(9 * 60, 17 * 60)];
        Calendar::new(
            TimeZone::get(zone).unwrap(),
            [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            holidays.iter().map(|d| d.parse().unwrap()).collect(),
        )
    }

    const H: i64 = 3600;

    #[test]
    fn a_target_waits_over_the_night_and_the_weekend() {
        let cal = office("Europe/Berlin", &[]);
        // Friday 2026-03-06 16:00 + 4 h: one hour on Friday, three on Monday.
        let due = cal
            .add(at("Europe/Berlin", "2026-03-06T16:00"), 4 * H)
            .unwrap();
        assert_eq!(local("Europe/Berlin", due), "2026-03-09 12:00 (Mon)");
        // Opened on Saturday: the clock starts on Monday at 09:00.
        let due = cal
            .add(at("Europe/Berlin", "2026-03-07T11:00"), 30 * 60)
            .unwrap();
        assert_eq!(local("Europe/Berlin", due), "2026-03-09 09:30 (Mon)");
        // Opened before hours: from 09:00.
        let due = cal.add(at("Europe/Berlin", "2026-03-10T06:00"), H).unwrap();
        assert_eq!(local("Europe/Berlin", due), "2026-03-10 10:00 (Tue)");
        // Ending exactly at closing time stays on that day.
        let due = cal
            .add(at("Europe/Berlin", "2026-03-10T09:00"), 8 * H)
            .unwrap();
        assert_eq!(local("Europe/Berlin", due), "2026-03-10 17:00 (Tue)");
    }

    #[test]
    fn holidays_are_skipped_also_inside_a_long_target() {
        // Christmas 2026: Friday the 25th; Boxing Day is a Saturday anyway.
        let cal = office("Europe/Berlin", &["2026-12-24", "2026-12-25"]);
        // Wednesday 23rd 15:00 + 10 h: 2 h on the 23rd, then Monday 28th
        // all day (8 h).
        let due = cal
            .add(at("Europe/Berlin", "2026-12-23T15:00"), 10 * H)
            .unwrap();
        assert_eq!(local("Europe/Berlin", due), "2026-12-28 17:00 (Mon)");
        assert_eq!(
            cal.between(
                at("Europe/Berlin", "2026-12-23T15:00"),
                at("Europe/Berlin", "2026-12-28T17:00")
            ),
            10 * H
        );
    }

    #[test]
    fn clock_changes_keep_wall_clock_hours() {
        // Berlin springs forward on Sunday 2026-03-29, falls back on Sunday
        // 2026-10-25; New York springs forward on Sunday 2026-03-08 and falls
        // back on Sunday 2026-11-01. Friday 16:00 + 2 h is Monday 10:00 in
        // each case, although the real time between is 1 h more or less.
        for (zone, friday, monday) in [
            (
                "Europe/Berlin",
                "2026-03-27T16:00",
                "2026-03-30 10:00 (Mon)",
            ),
            (
                "Europe/Berlin",
                "2026-10-23T16:00",
                "2026-10-26 10:00 (Mon)",
            ),
            (
                "America/New_York",
                "2026-03-06T16:00",
                "2026-03-09 10:00 (Mon)",
            ),
            (
                "America/New_York",
                "2026-10-30T16:00",
                "2026-11-02 10:00 (Mon)",
            ),
        ] {
            let cal = office(zone, &[]);
            let start = at(zone, friday);
            let due = cal.add(start, 2 * H).unwrap();
            assert_eq!(local(zone, due), monday, "{zone}");
            assert_eq!(cal.between(start, due), 2 * H, "{zone}");
        }
    }

    #[test]
    fn a_day_around_the_clock_is_as_long_as_it_really_is() {
        let all = vec![(0, 1440)];
        let cal = Calendar::new(
            TimeZone::get("Europe/Berlin").unwrap(),
            std::array::from_fn(|_| all.clone()),
            BTreeSet::new(),
        );
        let day = |d: &str| {
            cal.between(
                at("Europe/Berlin", &format!("{d}T00:00")),
                at("Europe/Berlin", &format!("{d}T23:59")) + 60,
            )
        };
        assert_eq!(day("2026-03-29"), 23 * H, "spring forward");
        assert_eq!(day("2026-10-25"), 25 * H, "fall back");
        assert_eq!(day("2026-06-01"), 24 * H);
    }

    #[test]
    fn pausing_moves_the_due_time_by_the_business_time_paused() {
        let zone = "America/New_York";
        let cal = office(zone, &[]);
        let opened = at(zone, "2026-05-04T10:00"); // Monday
        let target = 8 * H;
        // Pending from Monday 12:00 to Tuesday 11:00: 5 + 2 = 7 h paused.
        let paused = cal.between(at(zone, "2026-05-04T12:00"), at(zone, "2026-05-05T11:00"));
        assert_eq!(paused, 7 * H);
        let due = cal.add(opened, target + paused).unwrap();
        // 2 h before the pause, 6 h left from Tuesday 11:00: Tuesday 17:00.
        assert_eq!(local(zone, due), "2026-05-05 17:00 (Tue)");
    }

    #[test]
    fn a_calendar_without_hours_has_no_due_time() {
        let cal = Calendar::new(
            TimeZone::get("UTC").unwrap(),
            std::array::from_fn(|_| Vec::new()),
            BTreeSet::new(),
        );
        assert_eq!(cal.add(0, 60), None);
        assert_eq!(cal.between(0, 86_400 * 10), 0);
    }
}
