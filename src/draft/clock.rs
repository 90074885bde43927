//! The IMY clock: when a breach was discovered and when the 72 hours of
//! GDPR art. 33 run out, in Swedish local time (Europe/Stockholm).
//!
//! The deadline is 72 elapsed hours, so it is computed on the instant and
//! only then shown as local time: across a change to or from daylight
//! saving time the wall-clock hour moves.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

/// The time zone of Swedish authorities.
pub const ZONE: Tz = chrono_tz::Europe::Stockholm;

/// How long GDPR art. 33 allows before the report is late.
pub const DEADLINE_HOURS: i64 = 72;

/// A local date and time as an instant. A time that does not exist (the
/// hour skipped in spring) is read with the offset in force before the
/// change; a time that exists twice (the hour repeated in autumn) is read
/// as the earlier of the two, so that the deadline is never late.
pub fn local(naive: NaiveDateTime) -> DateTime<Tz> {
    match ZONE.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t,
        chrono::LocalResult::Ambiguous(earlier, _) => earlier,
        chrono::LocalResult::None => {
            let before = ZONE.from_local_datetime(&(naive - Duration::hours(1)));
            match before.earliest() {
                Some(t) => t + Duration::hours(1),
                None => ZONE.from_utc_datetime(&naive),
            }
        }
    }
}

/// The start of a day in local time.
pub fn start_of_day(date: NaiveDate) -> DateTime<Tz> {
    local(date.and_time(chrono::NaiveTime::MIN))
}

/// Reads a `first_seen` value: an RFC 3339 date-time with an offset, a
/// local date-time (`YYYY-MM-DDTHH:MM:SS`, read as Swedish time) or a date.
pub fn parse_first_seen(value: &str) -> Option<DateTime<Tz>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&ZONE));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Some(local(t));
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .map(start_of_day)
}

/// When the 72 hours from `discovered` run out.
pub fn deadline(discovered: DateTime<Tz>) -> DateTime<Tz> {
    discovered + Duration::hours(DEADLINE_HOURS)
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// "22 november 2026".
pub fn date_sv(date: NaiveDate) -> String {
    let month = MONTHS
        .get(date.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {} {}", date.day(), month, date.year())
}

/// "25 november 2026 kl. 00.00".
pub fn date_time_sv(t: DateTime<Tz>) -> String {
    format!(
        "{} kl. {:02}.{:02}",
        date_sv(t.date_naive()),
        t.hour(),
        t.minute()
    )
}

/// The end of a period: midnight is written as 24.00 of the day that
/// ends ("24 november 2026 kl. 24.00"), the Swedish way.
pub fn end_time_sv(t: DateTime<Tz>) -> String {
    if t.hour() == 0 && t.minute() == 0 {
        let day = t.date_naive().pred_opt().unwrap_or(t.date_naive());
        format!("{} kl. 24.00", date_sv(day))
    } else {
        date_time_sv(t)
    }
}

/// A length of time in days (dygn) and hours: "3 dygn och 2 timmar".
pub fn duration_sv(d: Duration) -> String {
    let hours = d.num_hours();
    if hours < 1 {
        return "mindre än en timme".to_string();
    }
    let (days, hours) = (hours / 24, hours % 24);
    let hours_text = match hours {
        1 => "1 timme".to_string(),
        h => format!("{h} timmar"),
    };
    match (days, hours) {
        (0, _) => hours_text,
        (d, 0) => format!("{d} dygn"),
        (d, _) => format!("{d} dygn och {hours_text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Tz> {
        local(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
    }

    #[test]
    fn deadline_crosses_a_month_end() {
        assert_eq!(
            date_time_sv(deadline(at("2026-01-30 10:15"))),
            "2 februari 2026 kl. 10.15"
        );
        assert_eq!(
            date_time_sv(deadline(start_of_day(
                NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
            ))),
            "2 december 2026 kl. 00.00"
        );
    }

    #[test]
    fn deadline_crosses_a_year_end() {
        assert_eq!(
            date_time_sv(deadline(at("2026-12-30 16:00"))),
            "2 januari 2027 kl. 16.00"
        );
    }

    #[test]
    fn deadline_is_72_hours_across_the_change_to_summer_time() {
        // Summer time starts on Sunday 29 March 2026 at 02.00: the wall clock
        // gains an hour, so 72 hours later reads one hour later.
        let discovered = at("2026-03-27 12:00");
        let due = deadline(discovered);
        assert_eq!(date_time_sv(due), "30 mars 2026 kl. 13.00");
        assert_eq!((due - discovered).num_hours(), 72);
        assert_eq!(due.offset().to_string(), "CEST");
    }

    #[test]
    fn deadline_is_72_hours_across_the_change_to_winter_time() {
        // Summer time ends on Sunday 25 October 2026 at 03.00.
        let discovered = at("2026-10-23 12:00");
        let due = deadline(discovered);
        assert_eq!(date_time_sv(due), "26 oktober 2026 kl. 11.00");
        assert_eq!((due - discovered).num_hours(), 72);
        assert_eq!(due.offset().to_string(), "CET");
    }

    #[test]
    fn skipped_and_repeated_hours_are_read_without_a_late_deadline() {
        // 02.30 does not exist on 29 March 2026: read as 02.30 winter time.
        let skipped = at("2026-03-29 02:30");
        assert_eq!(
            skipped.naive_utc().to_string(),
            "2026-03-29 01:30:00",
            "02.30 CET is 01.30 UTC"
        );
        // 02.30 happens twice on 25 October 2026: the first one counts.
        let repeated = at("2026-10-25 02:30");
        assert_eq!(repeated.naive_utc().to_string(), "2026-10-25 00:30:00");
    }

    #[test]
    fn midnight_ends_the_day_before_and_durations_read_in_days() {
        assert_eq!(
            end_time_sv(deadline(at("2026-11-22 00:00"))),
            "24 november 2026 kl. 24.00"
        );
        assert_eq!(
            end_time_sv(deadline(at("2026-11-22 09:41"))),
            "25 november 2026 kl. 09.41"
        );
        assert_eq!(duration_sv(Duration::hours(74)), "3 dygn och 2 timmar");
        assert_eq!(duration_sv(Duration::hours(48)), "2 dygn");
        assert_eq!(duration_sv(Duration::hours(1)), "1 timme");
        assert_eq!(duration_sv(Duration::minutes(20)), "mindre än en timme");
    }

    #[test]
    fn first_seen_forms() {
        assert_eq!(
            parse_first_seen("2026-11-20T08:30:00").map(date_time_sv),
            Some("20 november 2026 kl. 08.30".into())
        );
        assert_eq!(
            parse_first_seen("2026-07-01T06:00:00Z").map(date_time_sv),
            Some("1 juli 2026 kl. 08.00".into())
        );
        assert_eq!(
            parse_first_seen("2026-11-20").map(date_time_sv),
            Some("20 november 2026 kl. 00.00".into())
        );
        assert_eq!(parse_first_seen("igår"), None);
    }
}
