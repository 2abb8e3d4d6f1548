//! IMAP dates: `date-time` for APPEND and INTERNALDATE, `date` for SEARCH
//! (RFC 9051 §9). Civil-calendar arithmetic is done here, without a date
//! library, with Howard Hinnant's days-from-civil algorithm.

use std::fmt;

use nom::bytes::complete::{tag, take_while_m_n};

use super::primitives::{PResult, fail, mismatch};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An instant with the zone the client gave: `17-Jul-1996 02:44:25 -0700`
/// is `timestamp` 837596665 (UTC) and `offset_minutes` -420.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub timestamp: i64,
    /// The zone, in minutes east of UTC.
    pub offset_minutes: i32,
}

/// A calendar day, as SEARCH uses them (`1-Feb-1994`); always valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Four-digit year.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    /// 1 to the length of the month.
    pub day: u32,
}

impl Date {
    /// Seconds since the epoch of this day's midnight, UTC.
    pub fn to_timestamp(&self) -> i64 {
        days_from_civil(i64::from(self.year), self.month, self.day) * 86_400
    }
}

impl DateTime {
    /// An instant shown in the given zone (used to answer INTERNALDATE).
    pub fn from_timestamp(timestamp: i64, offset_minutes: i32) -> Self {
        DateTime {
            timestamp,
            offset_minutes,
        }
    }
}

/// The `date-time` text without its DQUOTEs: `17-Jul-1996 02:44:25 -0700`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self
            .timestamp
            .saturating_add(i64::from(self.offset_minutes) * 60);
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        let month = MONTHS[(m as usize).saturating_sub(1) % 12];
        write!(
            f,
            "{d:02}-{month}-{y:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            off / 60,
            off % 60
        )
    }
}

/// `date-text` form: `1-Feb-1994`.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month = MONTHS[(self.month as usize).saturating_sub(1) % 12];
        write!(f, "{}-{month}-{:04}", self.day, self.year)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    // `m % 12` first: no overflow even for a hand-built invalid month.
    let mp = i64::from((m % 12 + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
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

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `n` digits as a number (`n` <= 4, so no overflow).
fn digits(i: &[u8], min: usize, max: usize) -> PResult<'_, u32> {
    let (rest, ds) = take_while_m_n(min, max, |c: u8| c.is_ascii_digit())(i)?;
    Ok((
        rest,
        ds.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')),
    ))
}

/// `date-month = "Jan" / "Feb" / ... / "Dec"` (RFC 9051 §9; case-insensitive
/// like every ABNF literal).
fn date_month(i: &[u8]) -> PResult<'_, u32> {
    let Some(name) = i.get(..3) else {
        return mismatch(i);
    };
    match MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
    {
        Some(p) => Ok((&i[3..], p as u32 + 1)),
        None => mismatch(i),
    }
}

/// `date-day "-" date-month "-" date-year`, with the day already read.
fn month_year(i: &[u8], day: u32) -> PResult<'_, Date> {
    let (i, _) = tag("-")(i)?;
    let (i, month) = date_month(i)?;
    let (i, _) = tag("-")(i)?;
    let (rest, year) = digits(i, 4, 4)?;
    let year = year as i32;
    if day == 0 || day > days_in_month(year, month) {
        return fail(i, "Invalid date");
    }
    Ok((rest, Date { year, month, day }))
}

/// `date-text = date-day "-" date-month "-" date-year`, `date-day = 1*2DIGIT`
/// (RFC 9051 §9).
fn date_text(i: &[u8]) -> PResult<'_, Date> {
    let (i, day) = digits(i, 1, 2)?;
    month_year(i, day)
}

/// `date = date-text / DQUOTE date-text DQUOTE` (RFC 9051 §9).
pub(crate) fn date(i: &[u8]) -> PResult<'_, Date> {
    match i.strip_prefix(b"\"") {
        Some(inner) => {
            let (rest, d) = date_text(inner)?;
            let (rest, _) = tag("\"")(rest)?;
            Ok((rest, d))
        }
        None => date_text(i),
    }
}

/// `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT` (RFC 9051 §9); returns seconds
/// since midnight. A leap second (`:60`) is accepted.
fn time(i: &[u8]) -> PResult<'_, i64> {
    let (i, h) = digits(i, 2, 2)?;
    let (i, _) = tag(":")(i)?;
    let (i, m) = digits(i, 2, 2)?;
    let (i, _) = tag(":")(i)?;
    let (rest, s) = digits(i, 2, 2)?;
    if h > 23 || m > 59 || s > 60 {
        return fail(i, "Invalid time");
    }
    Ok((rest, i64::from(h * 3600 + m * 60 + s)))
}

/// `zone = ("+" / "-") 4DIGIT` (RFC 9051 §9); returns minutes east of UTC.
fn zone(i: &[u8]) -> PResult<'_, i32> {
    let (sign, after) = match i {
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return mismatch(i),
    };
    let (rest, hhmm) = digits(after, 4, 4)?;
    if hhmm % 100 > 59 {
        return fail(i, "Invalid time zone");
    }
    Ok((rest, sign * (hhmm / 100 * 60 + hhmm % 100) as i32))
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
///
/// `date-day-fixed = (SP DIGIT) / 2DIGIT` (RFC 9051 §9). A single-digit day
/// without the space is accepted too, as many clients send it.
pub(crate) fn date_time(i: &[u8]) -> PResult<'_, DateTime> {
    let (i, _) = tag("\"")(i)?;
    let i = i.strip_prefix(b" ").unwrap_or(i);
    let (i, day) = digits(i, 1, 2)?;
    let (i, d) = month_year(i, day)?;
    let (i, _) = tag(" ")(i)?;
    let (i, secs) = time(i)?;
    let (i, _) = tag(" ")(i)?;
    let (i, offset_minutes) = zone(i)?;
    let (rest, _) = tag("\"")(i)?;
    let timestamp = d.to_timestamp() + secs - i64::from(offset_minutes) * 60;
    Ok((
        rest,
        DateTime {
            timestamp,
            offset_minutes,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_date_time() {
        // RFC 9051 §6.3.12 example.
        let (rest, dt) = date_time(b"\"17-Jul-1996 02:44:25 -0700\"").unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            dt,
            DateTime {
                timestamp: 837_596_665,
                offset_minutes: -420
            }
        );
        assert_eq!(dt.to_string(), "17-Jul-1996 02:44:25 -0700");
    }

    #[test]
    fn date_time_forms() {
        let (_, dt) = date_time(b"\" 1-jan-1970 00:00:00 +0000\"").unwrap();
        assert_eq!(dt.timestamp, 0);
        assert_eq!(dt.to_string(), "01-Jan-1970 00:00:00 +0000");
        let (_, dt) = date_time(b"\"29-Feb-2024 23:59:59 +0530\"").unwrap();
        assert_eq!(dt.to_string(), "29-Feb-2024 23:59:59 +0530");
        assert_eq!(
            DateTime::from_timestamp(-1, 0).to_string(),
            "31-Dec-1969 23:59:59 +0000"
        );
        for bad in [
            "\"29-Feb-2023 00:00:00 +0000\"",
            "\"01-Foo-2023 00:00:00 +0000\"",
            "\"01-Jan-2023 24:00:00 +0000\"",
            "\"01-Jan-2023 00:00:00 +0060\"",
            "\"01-Jan-2023 00:00:00 0000\"",
            "\"01-Jan-23 00:00:00 +0000\"",
            "\"01-Jan-2023 00:00:00 +0000",
        ] {
            assert!(date_time(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_dates() {
        let (_, d) = date(b"1-Feb-1994").unwrap();
        assert_eq!(
            d,
            Date {
                year: 1994,
                month: 2,
                day: 1
            }
        );
        assert_eq!(d.to_string(), "1-Feb-1994");
        assert_eq!(d.to_timestamp(), 760_060_800);
        assert_eq!(
            date(b"\"31-dec-1999\"").unwrap().1.to_timestamp(),
            946_598_400
        );
        assert!(date(b"31-Apr-1999").is_err());
        assert!(date(b"123-Apr-1999").is_err());
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
