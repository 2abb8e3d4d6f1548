//! Calendar arithmetic and the two date formats the protocols print:
//! RFC 5322 §3.3 `date-time` (Date and Received headers) and RFC 9051 §9
//! `date-time` (INTERNALDATE), and RFC 3339 for the command line. Times are
//! Unix seconds in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Thursday (1970-01-01 was one).
    weekday: usize,
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Civil {
    /// Breaks `timestamp` down, shifted by `offset_minutes` east of UTC.
    pub fn from_timestamp(timestamp: i64, offset_minutes: i32) -> Civil {
        let local = timestamp + offset_minutes as i64 * 60;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: days.rem_euclid(7) as usize,
        }
    }
}

fn offset_string(offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("{sign}{:02}{:02}", m / 60, m % 60)
}

/// RFC 5322 §3.3: `Mon, 23 Nov 2026 16:01:40 +0000`.
pub fn rfc5322(timestamp: i64, offset_minutes: i32) -> String {
    let c = Civil::from_timestamp(timestamp, offset_minutes);
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} {}",
        WEEKDAYS[c.weekday],
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second,
        offset_string(offset_minutes)
    )
}

/// RFC 3339 §5.6 in UTC: `2026-11-23T16:01:40Z`.
pub fn rfc3339(timestamp: i64) -> String {
    let c = Civil::from_timestamp(timestamp, 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// RFC 9051 §9 `date-time`: `23-Nov-2026 16:01:40 +0000` (day padded with a space).
pub fn imap_internal_date(timestamp: i64, offset_minutes: i32) -> String {
    let c = Civil::from_timestamp(timestamp, offset_minutes);
    format!(
        "{:>2}-{}-{:04} {:02}:{:02}:{:02} {}",
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second,
        offset_string(offset_minutes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322(0, 0), "Thu, 1 Jan 1970 00:00:00 +0000");
        // RFC 9051 §6.3.12 example: 17-Jul-1996 02:44:25 -0700
        let t = days_from_civil(1996, 7, 17) * 86_400 + (9 * 3600 + 44 * 60 + 25);
        assert_eq!(imap_internal_date(t, -420), "17-Jul-1996 02:44:25 -0700");
        assert_eq!(rfc5322(t, -420), "Wed, 17 Jul 1996 02:44:25 -0700");
        assert_eq!(rfc3339(t), "1996-07-17T09:44:25Z");
        assert_eq!(
            imap_internal_date(days_from_civil(2024, 2, 29) * 86_400, 0),
            "29-Feb-2024 00:00:00 +0000"
        );
    }

    #[test]
    fn days_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 10_956, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
