//! Typed attribute values shared by every source: booleans as exports write
//! them, dates and date-times, and Windows FILETIME numbers.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::inventory::{Account, Expiry};
use crate::text::trim;

/// The well-known account attributes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WellKnown {
    DisplayName,
    Department,
    Title,
    EmployeeType,
    Enabled,
    Expires,
    LastLogon,
}

impl WellKnown {
    pub fn name(self) -> &'static str {
        match self {
            WellKnown::DisplayName => "display_name",
            WellKnown::Department => "department",
            WellKnown::Title => "title",
            WellKnown::EmployeeType => "employee_type",
            WellKnown::Enabled => "enabled",
            WellKnown::Expires => "expires",
            WellKnown::LastLogon => "last_logon",
        }
    }
}

/// `true`/`false` as exports write them, in English and Swedish.
pub fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: &[&str] = &[
        "true",
        "1",
        "ja",
        "yes",
        "sant",
        "y",
        "j",
        "aktiv",
        "aktiverad",
        "enabled",
    ];
    const FALSE: &[&str] = &[
        "false",
        "0",
        "nej",
        "no",
        "falskt",
        "n",
        "inaktiv",
        "inaktiverad",
        "disabled",
    ];
    // Every word is ASCII, so an ASCII case-insensitive match is exact.
    let v = trim(value);
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(v)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(v)) {
        Some(false)
    } else {
        None
    }
}

/// FILETIME: 100-nanosecond intervals since 1601-01-01 UTC.
pub fn from_filetime(ticks: i64) -> Option<NaiveDateTime> {
    const UNIX_EPOCH_TICKS: i64 = 116_444_736_000_000_000;
    let since_unix = ticks.checked_sub(UNIX_EPOCH_TICKS)?;
    let secs = since_unix.div_euclid(10_000_000);
    let nanos = (since_unix.rem_euclid(10_000_000) * 100) as u32;
    DateTime::from_timestamp(secs, nanos).map(|d| d.naive_utc())
}

/// A date or date-time: ISO dates, `YYYY-MM-DD HH:MM[:SS]`, RFC 3339, LDAP
/// generalized time (`20261122134500.0Z`) and FILETIME numbers.
pub fn parse_datetime(value: &str) -> Option<NaiveDateTime> {
    let v = trim(value);
    if let Some(t) = parse_iso_fast(v) {
        return Some(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, fmt) {
            return Some(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.naive_utc());
    }
    if let Some(t) = v.strip_suffix('Z').and_then(|s| {
        let s = s.split('.').next().unwrap_or(s);
        NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()
    }) {
        return Some(t);
    }
    if v.len() >= 15 && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().ok().and_then(from_filetime);
    }
    None
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` and `YYYY-MM-DD HH:MM:SS` (space or
/// `T`) without going through format strings: exports have millions.
fn parse_iso_fast(v: &str) -> Option<NaiveDateTime> {
    let b = v.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut n = 0u32;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(n)
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    match b.len() {
        10 => date.and_hms_opt(0, 0, 0),
        16 | 19 if (b[10] == b' ' || b[10] == b'T') && b[13] == b':' => {
            let secs = if b.len() == 19 {
                if b[16] != b':' {
                    return None;
                }
                num(17..19)?
            } else {
                0
            };
            date.and_hms_opt(num(11..13)?, num(14..16)?, secs)
        }
        _ => None,
    }
}

/// An expiry: empty, `0`, `never` and FILETIME's maximum mean never.
pub fn parse_expiry(value: &str) -> Option<Expiry> {
    let v = trim(value);
    if ["", "0", "never", "aldrig", "9223372036854775807"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(v))
    {
        return Some(Expiry::Never);
    }
    parse_datetime(v).map(Expiry::At)
}

/// Why a value could not be set, for the reader to put a location on.
pub struct BadValue {
    pub attribute: &'static str,
    pub expected: &'static str,
}

/// Sets a typed well-known attribute (enabled, expires, last logon,
/// display name) from its text. Empty text leaves the attribute unset.
/// Text attributes (department, title, employee type) are interned in the
/// inventory by the sources and are not set here.
pub fn set_well_known(account: &mut Account, attr: WellKnown, value: &str) -> Result<(), BadValue> {
    let v = trim(value);
    if v.is_empty() {
        return Ok(());
    }
    let bad = |expected| BadValue {
        attribute: attr.name(),
        expected,
    };
    match attr {
        WellKnown::Enabled => {
            account.enabled = Some(parse_bool(v).ok_or(bad("true, false, 1, 0, ja or nej"))?);
        }
        WellKnown::Expires => {
            account.expires = Some(parse_expiry(v).ok_or(bad(
                "a date (YYYY-MM-DD), a date-time (YYYY-MM-DD HH:MM:SS) or `never`",
            ))?);
        }
        WellKnown::LastLogon => {
            if v != "0" {
                account.last_logon = Some(parse_datetime(v).ok_or(bad(
                    "a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS)",
                ))?);
            }
        }
        WellKnown::DisplayName => account.display_name = Some(v.into()),
        WellKnown::Department | WellKnown::Title | WellKnown::EmployeeType => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_in_every_export_form() {
        let expected = NaiveDate::from_ymd_opt(2026, 11, 22)
            .and_then(|d| d.and_hms_opt(13, 45, 0))
            .unwrap();
        for v in [
            "2026-11-22 13:45:00",
            "2026-11-22 13:45",
            "2026-11-22T13:45:00",
            "2026-11-22T13:45:00Z",
            "2026-11-22T14:45:00+01:00",
            "20261122134500.0Z",
            "134398287000000000",
        ] {
            assert_eq!(parse_datetime(v), Some(expected), "{v}");
        }
        assert_eq!(parse_datetime("22/11/2026"), None);
    }

    #[test]
    fn never_expiring_values() {
        for v in ["", "0", "9223372036854775807", "never"] {
            assert_eq!(parse_expiry(v), Some(Expiry::Never), "{v}");
        }
    }

    #[test]
    fn booleans_in_swedish_and_english() {
        assert_eq!(parse_bool("Ja"), Some(true));
        assert_eq!(parse_bool("NEJ"), Some(false));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("kanske"), None);
    }
}
