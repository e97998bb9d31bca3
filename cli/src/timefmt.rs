//! RFC 3339 dates and "4m 10s" durations from Unix seconds, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds of 0000-01-01 and 9999-12-31T23:59:59Z: the range RFC 3339 can write.
const MIN_UNIX: i64 = -62_167_219_200;
const MAX_UNIX: i64 = 253_402_300_799;

/// The current Unix time in seconds.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// `secs` as `YYYY-MM-DDTHH:MM:SSZ`, or `None` outside years 0000..=9999.
pub fn rfc3339(secs: i64) -> Option<String> {
    if !(MIN_UNIX..=MAX_UNIX).contains(&secs) {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let time = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    ))
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A duration in its two largest units: `4m 10s`, `2h 3m`, `3d 4h`, `0s`.
pub fn human_duration(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in UNITS {
        if rest >= size || (parts.is_empty() && size == 1) {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            // Units after the first one shown are kept even when zero ("2h 0m").
            parts.push(format!("0{name}"));
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(MAX_UNIX).unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(MIN_UNIX).unwrap(), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(MAX_UNIX + 1), None);
        assert_eq!(rfc3339(i64::MIN), None);
    }

    #[test]
    fn durations_show_two_units() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(250), "4m 10s");
        assert_eq!(human_duration(2 * 3600 + 3 * 60 + 59), "2h 3m");
        assert_eq!(human_duration(7200), "2h 0m");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600), "3d 4h");
        assert_eq!(human_duration(u64::MAX).split(' ').count(), 2);
    }
}
