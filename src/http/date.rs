//! The dates `http.server` writes: `Date`/`Last-Modified` headers and log timestamps.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sys;

/// Python's `BaseHTTPRequestHandler.monthname` (index 0 unused).
pub const MONTHNAME: [&str; 13] = [
    "", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Python's `BaseHTTPRequestHandler.weekdayname`.
pub const WEEKDAYNAME: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

thread_local! {
    /// The `Date` value of the current second, formatted once per second per thread.
    static NOW: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Python's `date_time_string(timestamp)`: `Sun, 06 Nov 1994 08:49:37 GMT`
/// (`email.utils.formatdate(ts, usegmt=True)`); the current time when `None`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(784111777);
/// assert_eq!(socketserver::http::date_time_string(Some(t)), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn date_time_string(timestamp: Option<SystemTime>) -> String {
    let mut s = String::with_capacity(29);
    push_date_time_string(timestamp, &mut s);
    s
}

/// Appends [`date_time_string`] to `out` (the current one is cached per second).
pub fn push_date_time_string(timestamp: Option<SystemTime>, out: &mut String) {
    match timestamp {
        Some(t) => out.push_str(&httpdate::fmt_http_date(t)),
        None => with_now(|now| out.push_str(now)),
    }
}

/// Calls `f` with the current `Date` value, formatted at most once per second per
/// thread.
pub(crate) fn with_now<R>(f: impl FnOnce(&str) -> R) -> R {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    NOW.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            cached.1.clear();
            cached.1.push_str(&httpdate::fmt_http_date(now));
            cached.0 = secs;
        }
        f(&cached.1)
    })
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
    use std::time::Duration;

    #[test]
    fn formats_like_formatdate() {
        let t = UNIX_EPOCH + Duration::from_secs(0);
        assert_eq!(date_time_string(Some(t)), "Thu, 01 Jan 1970 00:00:00 GMT");
        let now = date_time_string(None);
        assert_eq!(now.len(), 29);
        assert!(now.ends_with(" GMT"));
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
