//! The agency's time. The agency works in one time zone (`AGENCY_TIME_ZONE`, by default the
//! server's): every "today", due date, reminder hour, cut-off and displayed time is read in it,
//! while the database stores UTC. Handlers ask the app's [`Clock`]; pages format times with
//! [`local`], which reads the zone the app was started with.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The hour (in the agency's zone) reminders and overdue notices go out on their day.
pub const REMINDER_TIME: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => panic!("a valid time"),
};

/// The server's own time zone, or UTC when the system does not say.
pub fn server_zone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// The instant a wall-clock `time` on `day` is in `zone`. A time skipped by a daylight-saving
/// change is taken an hour later; a time that happens twice, the first time.
pub fn at_local(zone: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = day.and_time(time);
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => match zone.from_local_datetime(&(naive + Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => naive.and_utc(),
        },
    }
}

/// The day `at` falls on in `zone`.
pub fn day_in(zone: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// Where "now" and "today" come from. The app's clock is the system's; tests and drills may
/// move theirs forward to jump over due dates.
#[derive(Clone, Debug)]
pub struct Clock {
    zone: Tz,
    /// Seconds added to the system time (0 outside tests).
    shift: Arc<AtomicI64>,
}

impl Clock {
    pub fn new(zone: Tz) -> Self {
        Clock {
            zone,
            shift: Arc::new(AtomicI64::new(0)),
        }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.shift.load(Ordering::Relaxed))
    }

    /// Today in the agency's zone.
    pub fn today(&self) -> NaiveDate {
        day_in(self.zone, self.now())
    }

    /// The instant of `time` on `day` in the agency's zone.
    pub fn at(&self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        at_local(self.zone, day, time)
    }

    /// Moves this clock (and every copy of it) forward: for tests and drills only.
    pub fn advance(&self, by: Duration) {
        self.shift.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }

    /// Puts this clock (and every copy) back on the system's time: for tests only.
    pub fn reset(&self) {
        self.shift.store(0, Ordering::Relaxed);
    }
}

static DISPLAY_ZONE: OnceLock<Tz> = OnceLock::new();

/// Sets the zone pages show times in; the first call wins (one app per process).
pub fn set_display_zone(zone: Tz) {
    let _ = DISPLAY_ZONE.set(zone);
}

/// The zone pages show times in.
pub fn display_zone() -> Tz {
    *DISPLAY_ZONE.get_or_init(server_zone)
}

/// A day as every page and email writes it: "Dec 13, 2026".
pub fn day(d: NaiveDate) -> String {
    d.format("%b %-d, %Y").to_string()
}

/// An instant as pages show it, short and in the agency's zone: "today 11:50 am",
/// "yesterday 4:05 pm", "tomorrow 9:00 am", "Nov 28, 3:15 pm" this year, "Nov 28, 2025" before.
pub fn local(at: DateTime<Utc>) -> String {
    short(at, Utc::now(), display_zone())
}

/// [`local`] as of `now` in `zone`.
pub fn short(at: DateTime<Utc>, now: DateTime<Utc>, zone: Tz) -> String {
    let at = at.with_timezone(&zone);
    let today = now.with_timezone(&zone).date_naive();
    let day = at.date_naive();
    let clock = at.format("%-I:%M %P");
    match (day - today).num_days() {
        0 => format!("today {clock}"),
        -1 => format!("yesterday {clock}"),
        1 => format!("tomorrow {clock}"),
        _ if day.year() == today.year() => format!("{}, {clock}", at.format("%b %-d")),
        _ => at.format("%b %-d, %Y").to_string(),
    }
}

/// An instant to the second, for the audit and mail logs: "2026-12-01 05:50:12 CST".
pub fn local_precise(at: DateTime<Utc>) -> String {
    at.with_timezone(&display_zone())
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Today in the zone pages show times in, for what a page marks as due or overdue.
pub fn display_today() -> NaiveDate {
    day_in(display_zone(), Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn an_evening_in_chicago_is_still_that_day_there_but_the_next_in_utc() {
        let zone: Tz = "America/Chicago".parse().unwrap();
        // 2026-12-01 23:30 in Chicago is 05:30 UTC on the 2nd.
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 5, 30, 0).unwrap();
        assert_eq!(day_in(zone, at), d(2026, 12, 1));
        assert_eq!(day_in(Tz::UTC, at), d(2026, 12, 2));
    }

    #[test]
    fn nine_in_the_morning_follows_daylight_saving() {
        let zone: Tz = "America/Chicago".parse().unwrap();
        let winter = at_local(zone, d(2026, 12, 1), REMINDER_TIME);
        assert_eq!(winter, Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap());
        let summer = at_local(zone, d(2026, 7, 1), REMINDER_TIME);
        assert_eq!(summer, Utc.with_ymd_and_hms(2026, 7, 1, 14, 0, 0).unwrap());
    }

    #[test]
    fn a_skipped_hour_is_taken_an_hour_later_and_a_repeated_one_the_first_time() {
        let zone: Tz = "America/Chicago".parse().unwrap();
        // 2026-03-08 02:30 does not exist in Chicago; 03:30 CDT is 08:30 UTC.
        let skipped = at_local(
            zone,
            d(2026, 3, 8),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(skipped, Utc.with_ymd_and_hms(2026, 3, 8, 8, 30, 0).unwrap());
        // 2026-11-01 01:30 happens twice; the first (CDT) is 06:30 UTC.
        let twice = at_local(
            zone,
            d(2026, 11, 1),
            NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
        );
        assert_eq!(twice, Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap());
    }

    #[test]
    fn pages_write_an_instant_short_and_relative_to_today_in_the_agencys_zone() {
        let zone: Tz = "America/Chicago".parse().unwrap();
        // 2026-12-02 17:50 UTC is 11:50 am in Chicago.
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 17, 50, 0).unwrap();
        let at = |y, m, d, h, min| Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
        let cases = [
            (now, "today 11:50 am"),
            // 5:30 UTC on the 2nd is still the 1st in Chicago: yesterday there.
            (at(2026, 12, 2, 5, 30), "yesterday 11:30 pm"),
            (at(2026, 12, 2, 6, 5), "today 12:05 am"),
            (at(2026, 12, 3, 15, 0), "tomorrow 9:00 am"),
            (at(2026, 11, 28, 21, 15), "Nov 28, 3:15 pm"),
            (at(2026, 12, 9, 15, 0), "Dec 9, 9:00 am"),
            (at(2026, 1, 1, 6, 0), "Jan 1, 12:00 am"),
            (at(2025, 11, 28, 21, 15), "Nov 28, 2025"),
            (at(2027, 1, 4, 15, 0), "Jan 4, 2027"),
        ];
        for (instant, expected) in cases {
            assert_eq!(short(instant, now, zone), expected, "{instant}");
        }
        // Just after midnight in Chicago, an hour ago is yesterday there, though not in UTC.
        let after_midnight = Utc.with_ymd_and_hms(2026, 12, 2, 6, 10, 0).unwrap();
        assert_eq!(
            short(at(2026, 12, 2, 5, 10), after_midnight, zone),
            "yesterday 11:10 pm"
        );
        assert_eq!(
            short(at(2026, 12, 2, 5, 10), after_midnight, Tz::UTC),
            "today 5:10 am"
        );
    }

    #[test]
    fn a_clock_moved_forward_moves_every_copy() {
        let clock = Clock::new(Tz::UTC);
        let copy = clock.clone();
        let before = copy.today();
        clock.advance(Duration::days(3));
        assert_eq!(copy.today(), before + Duration::days(3));
    }
}
