//! The dates `http.server` writes: `Date`/`Last-Modified` headers and log timestamps.

use std::cell::Cell;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::server::lock;
use crate::sys;

/// Python's `BaseHTTPRequestHandler.monthname` (index 0 unused).
pub const MONTHNAME: [&str; 13] = [
    "", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Python's `BaseHTTPRequestHandler.weekdayname`.
pub const WEEKDAYNAME: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

/// A second since the epoch and its `Date` value.
type Stamp = (u64, [u8; DATE_LEN]);

thread_local! {
    /// This thread's copy of [`SHARED_NOW`]: no lock while the second lasts. Plain
    /// bytes, so a new thread neither allocates nor registers a destructor for it.
    static NOW: Cell<Stamp> = const { Cell::new((0, [0; DATE_LEN])) };
}

/// The `Date` value of the newest second seen, formatted once per second for the whole
/// process (a thread per connection would otherwise format it once per connection).
static SHARED_NOW: Mutex<Stamp> = Mutex::new((0, [0; DATE_LEN]));

/// Python's `date_time_string(timestamp)`: `Sun, 06 Nov 1994 08:49:37 GMT`
/// (`email.utils.formatdate(ts, usegmt=True)`); the current time when `None`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(784111777);
/// assert_eq!(socketserver::http::date_time_string(Some(t)), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn date_time_string(timestamp: Option<SystemTime>) -> String {
    let mut s = String::with_capacity(DATE_LEN);
    push_date_time_string(timestamp, &mut s);
    s
}

/// Appends [`date_time_string`] to `out` (the current one is cached per second).
pub fn push_date_time_string(timestamp: Option<SystemTime>, out: &mut String) {
    let date = match timestamp {
        Some(t) => format_date(t),
        None => now().1,
    };
    out.push_str(sys::ascii_str(&date).unwrap_or_default());
}

/// The current `Date` value, formatted at most once per second per process.
pub(crate) fn now_bytes() -> [u8; DATE_LEN] {
    now().1
}

fn now() -> Stamp {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mine = NOW.get();
    if mine.0 == secs {
        return mine;
    }
    let stamp = {
        let mut shared = lock(&SHARED_NOW);
        // Another thread may have moved on to the next second already: keep its.
        if shared.0 < secs {
            *shared = (secs, format_date(now));
        }
        *shared
    };
    NOW.set(stamp);
    stamp
}

/// `secs` seconds from the epoch (before it when negative), as near as `SystemTime`
/// goes.
pub(crate) fn from_unix_seconds(secs: i64) -> SystemTime {
    let span = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(span)
    } else {
        UNIX_EPOCH.checked_sub(span)
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// The first and last second Python's `formatdate` can write (years 1 to 9999).
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

/// `t` as an IMF-fixdate, without allocating: Python's `formatdate(t, usegmt=True)`,
/// fractions of a second dropped toward the past. Python refuses times outside the
/// years 1 to 9999 (`ValueError`); they are written as the nearest second inside.
fn format_date(t: SystemTime) -> [u8; DATE_LEN] {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole.saturating_add(i64::from(d.subsec_nanos() > 0))
        }
    };
    let secs = secs.clamp(FIRST_SECOND, LAST_SECOND);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday: index 3 in Python's Monday-first `weekdayname`.
    let weekday = WEEKDAYNAME[(days + 3).rem_euclid(7) as usize];
    let mut out = [0u8; DATE_LEN];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    let two = |n: i64| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    put(weekday.as_bytes());
    put(b", ");
    put(&two(day));
    put(b" ");
    put(MONTHNAME[month as usize].as_bytes());
    put(b" ");
    put(&two(year / 100));
    put(&two(year % 100));
    put(b" ");
    put(&two(rest / 3600));
    put(b":");
    put(&two(rest / 60 % 60));
    put(b":");
    put(&two(rest % 60));
    put(b" GMT");
    out
}

/// The proleptic Gregorian `(year, month, day)` of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
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

/// Python's `log_date_time_string()`: the local time as `23/Nov/2026 00:19:32`.
pub fn log_date_time_string() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (year, month, day, hh, mm, ss) = sys::localtime(secs).unwrap_or((1970, 1, 1, 0, 0, 0));
    format!(
        "{day:02}/{:>3}/{year:04} {hh:02}:{mm:02}:{ss:02}",
        MONTHNAME[month as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_formatdate() {
        let t = UNIX_EPOCH + Duration::from_secs(0);
        assert_eq!(date_time_string(Some(t)), "Thu, 01 Jan 1970 00:00:00 GMT");
        let now = date_time_string(None);
        assert_eq!(now.len(), 29);
        assert!(now.ends_with(" GMT"));
    }

    /// Every day from year 1 to 9999 is written as Python's `formatdate` writes it
    /// (checked against httpdate where both are defined, and at the edges by hand).
    #[test]
    fn formats_the_whole_range() {
        let at = |secs: i64| date_time_string(Some(from_unix_seconds(secs)));
        assert_eq!(at(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(at(FIRST_SECOND), "Mon, 01 Jan 0001 00:00:00 GMT");
        assert_eq!(at(FIRST_SECOND - 86_400), "Mon, 01 Jan 0001 00:00:00 GMT");
        assert_eq!(at(LAST_SECOND), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(at(LAST_SECOND + 1), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        let half = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(
            date_time_string(Some(half)),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
        for day in (0..LAST_SECOND / 86_400).step_by(7) {
            let secs = day * 86_400 + day % 86_400;
            let t = UNIX_EPOCH + Duration::from_secs(secs as u64);
            assert_eq!(at(secs), httpdate::fmt_http_date(t), "{secs}");
        }
    }

    #[test]
    fn log_time_shape() {
        let s = log_date_time_string();
        // 23/Nov/2026 00:19:32
        assert_eq!(s.len(), 20, "{s}");
        assert_eq!(&s[2..3], "/");
        assert_eq!(&s[6..7], "/");
        assert_eq!(&s[11..12], " ");
    }
}
