//! Wall-clock timestamps in RFC 3339 (UTC, without a date library) and
//! durations as people write them (`2s`, `500ms`, `5m`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current time as `2026-12-03T21:20:31Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// The current time as `2026-12-03T21:20:31.042Z`.
pub fn now_rfc3339_millis() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = rfc3339(now.as_secs());
    format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        now.subsec_millis()
    )
}

/// Formats milliseconds since the Unix epoch as `2026-12-03T21:20:31.042Z`
/// (times before 1970 are shown as the epoch).
pub fn rfc3339_millis(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    let seconds = rfc3339(ms / 1000);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), ms % 1000)
}

/// Formats seconds since the Unix epoch.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 timestamp (see [`parse_rfc3339_millis`]) into whole
/// seconds since the Unix epoch; `None` for anything else, and for instants
/// before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let millis = parse_rfc3339_millis(text).ok()?;
    u64::try_from(millis.div_euclid(1000)).ok()
}

/// A duration the way `kubectl get` shows ages: `42s`, `7m12s`, `5h3m`,
/// `3d4h`.
pub fn age(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of
/// `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses an RFC 3339 timestamp (`2026-12-03T21:20:31Z`,
/// `2026-12-03T21:20:31.042+01:00`) to milliseconds since the Unix epoch.
/// Digits beyond milliseconds are dropped; leap seconds are not accepted.
pub fn parse_rfc3339_millis(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 time such as 2026-12-03T21:20:31Z");
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &text[range];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let month_days = match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }

    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        for (i, c) in fraction[..digits.min(3)].bytes().enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let end = text.len();
            let (h, m) = (number(end - 5..end - 3)?, number(end - 2..end)?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            sign * i64::from(h * 60 + m)
        }
        _ => return Err(bad()),
    };

    let days = days_from_civil(i64::from(year), month, day);
    let seconds =
        days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

/// Parses `2s`, `500ms`, `5m`, `1h` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s, 5m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    if !(seconds > 0.0 && seconds <= 7.0 * 86_400.0) {
        return Err(format!(
            "{text:?} is out of range (more than 0, at most a week)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn rfc3339_times_parse_to_milliseconds() {
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_millis("2026-12-03T21:20:31.042Z"),
            Ok(1_796_332_831_042)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-12-03T22:20:31.0429+01:00"),
            Ok(1_796_332_831_042)
        );
        assert_eq!(
            parse_rfc3339_millis("2000-02-29T00:00:00Z"),
            Ok(951_782_400_000)
        );
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-12-03",
            "2026-12-03T21:20:31",
            "2026-12-03T21:20:31.Z",
            "yesterday",
        ] {
            assert!(parse_rfc3339_millis(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_332_831), "2026-12-03T21:20:31Z");
    }

    #[test]
    fn parses_what_it_formats_and_what_the_api_server_writes() {
        for secs in [0, 951_782_400, 1_796_332_831, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(
            parse_rfc3339("2026-12-03T21:20:31.123456Z"),
            Some(1_796_332_831)
        );
        assert_eq!(
            parse_rfc3339("2026-12-03T21:20:31+00:00"),
            Some(1_796_332_831)
        );
        assert_eq!(
            parse_rfc3339("2026-12-03 21:20:31Z"),
            Some(1_796_332_831),
            "RFC 3339 allows a space for the T"
        );
        assert_eq!(parse_rfc3339("2026-13-03T21:20:31Z"), None);
        assert_eq!(
            parse_rfc3339("2026-12-03T23:20:31+02:00"),
            Some(1_796_332_831)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), None);
        assert_eq!(parse_rfc3339("2026-12-03T2a:20:31Z"), None);
        assert_eq!(parse_rfc3339("2026-12-03T21:20:31.Z"), None);
        assert_eq!(parse_rfc3339("2026-12-03T21:20:31Zjunk"), None);
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(42), "42s");
        assert_eq!(age(432), "7m12s");
        assert_eq!(age(5 * 3600 + 180 + 9), "5h3m");
        assert_eq!(age(3 * 86_400 + 4 * 3600 + 59), "3d4h");
    }
}
