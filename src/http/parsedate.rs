//! `If-Modified-Since` as `SimpleHTTPRequestHandler.send_head` reads it: Python's
//! `email.utils.parsedate_to_datetime` (the rfc822 `_parsedate_tz` parser) plus
//! `send_head`'s rules, byte-exact with CPython 3.13.
//!
//! * Accepted: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
//!   (`Sunday, 06-Nov-94 08:49:37 GMT`), asctime (`Sun Nov  6 08:49:37 1994`), and the
//!   many variants `_parsedate_tz` tolerates: no or wrong weekday, one-digit day, month
//!   before day, two-digit years (69–99 → 19xx, 0–68 → 20xx), `hh:mm` or `hh.mm.ss`,
//!   numeric zones, `UT`/`UTC`/`GMT`/`Z` and the US zone names.
//! * Used only if the date is exactly UTC: `GMT`, `+0000`, a zone Python cannot read, no
//!   zone at all or `-0000` (a naive date counts as UTC). Any other offset (`+0200`,
//!   `EST`) makes `send_head` ignore the header, and so does every value on which Python
//!   raises (`ValueError`, `OverflowError`, …): `None`.
//!
//! ```
//! use socketserver::http::parsedate::parse_if_modified_since as ims;
//!
//! assert_eq!(ims("Thu, 02 Jan 2020 03:04:05 GMT"), Some(1577934245));
//! assert_eq!(ims("Thursday, 02-Jan-20 03:04:05 GMT"), Some(1577934245));
//! assert_eq!(ims("Thu Jan  2 03:04:05 2020"), Some(1577934245));
//! assert_eq!(ims("Thu, 02 Jan 2020 05:04:05 +0200"), None);
//! assert_eq!(ims("garbage"), None);
//! ```

use std::borrow::Cow;

use super::parse::is_py_space;

/// The zero of every run of ten decimal digits (category Nd) in CPython 3.13's Unicode
/// 15.1 database: `int()` reads any of them. Generated with `unicodedata.decimal`.
const DECIMAL_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
];

/// The ranges of `str.isdigit()` in CPython 3.13 (decimal digits plus digits such as
/// `²` and `①` that `int()` refuses).
const DIGIT_RANGES: &[(u32, u32)] = &[
    (0x30, 0x39),
    (0xB2, 0xB3),
    (0xB9, 0xB9),
    (0x660, 0x669),
    (0x6F0, 0x6F9),
    (0x7C0, 0x7C9),
    (0x966, 0x96F),
    (0x9E6, 0x9EF),
    (0xA66, 0xA6F),
    (0xAE6, 0xAEF),
    (0xB66, 0xB6F),
    (0xBE6, 0xBEF),
    (0xC66, 0xC6F),
    (0xCE6, 0xCEF),
    (0xD66, 0xD6F),
    (0xDE6, 0xDEF),
    (0xE50, 0xE59),
    (0xED0, 0xED9),
    (0xF20, 0xF29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x1369, 0x1371),
    (0x17E0, 0x17E9),
    (0x1810, 0x1819),
    (0x1946, 0x194F),
    (0x19D0, 0x19DA),
    (0x1A80, 0x1A89),
    (0x1A90, 0x1A99),
    (0x1B50, 0x1B59),
    (0x1BB0, 0x1BB9),
    (0x1C40, 0x1C49),
    (0x1C50, 0x1C59),
    (0x2070, 0x2070),
    (0x2074, 0x2079),
    (0x2080, 0x2089),
    (0x2460, 0x2468),
    (0x2474, 0x247C),
    (0x2488, 0x2490),
    (0x24EA, 0x24EA),
    (0x24F5, 0x24FD),
    (0x24FF, 0x24FF),
    (0x2776, 0x277E),
    (0x2780, 0x2788),
    (0x278A, 0x2792),
    (0xA620, 0xA629),
    (0xA8D0, 0xA8D9),
    (0xA900, 0xA909),
    (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9),
    (0xAA50, 0xAA59),
    (0xABF0, 0xABF9),
    (0xFF10, 0xFF19),
    (0x104A0, 0x104A9),
    (0x10A40, 0x10A43),
    (0x10D30, 0x10D39),
    (0x10E60, 0x10E68),
    (0x11052, 0x1105A),
    (0x11066, 0x1106F),
    (0x110F0, 0x110F9),
    (0x11136, 0x1113F),
    (0x111D0, 0x111D9),
    (0x112F0, 0x112F9),
    (0x11450, 0x11459),
    (0x114D0, 0x114D9),
    (0x11650, 0x11659),
    (0x116C0, 0x116C9),
    (0x11730, 0x11739),
    (0x118E0, 0x118E9),
    (0x11950, 0x11959),
    (0x11C50, 0x11C59),
    (0x11D50, 0x11D59),
    (0x11DA0, 0x11DA9),
    (0x11F50, 0x11F59),
    (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9),
    (0x16B50, 0x16B59),
    (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9),
    (0x1E4F0, 0x1E4F9),
    (0x1E950, 0x1E959),
    (0x1F100, 0x1F10A),
    (0x1FBF0, 0x1FBF9),
];

/// `str.isdigit()` of one character.
fn is_py_digit(c: char) -> bool {
    let c = u32::from(c);
    let i = DIGIT_RANGES.partition_point(|&(start, _)| start <= c);
    i > 0 && c <= DIGIT_RANGES[i - 1].1
}

/// The value of a decimal digit as `int()` reads it.
fn decimal_value(c: char) -> Option<u32> {
    let c = u32::from(c);
    let i = DECIMAL_ZEROS.partition_point(|&zero| zero <= c);
    let value = c - DECIMAL_ZEROS.get(i.checked_sub(1)?)?;
    (value < 10).then_some(value)
}

/// CPython's default `sys.get_int_max_str_digits()`: longer decimal strings make `int()`
/// raise `ValueError`.
const INT_MAX_STR_DIGITS: usize = 4300;

/// What Python's `int(s)` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PyInt {
    /// A value that fits an `i64`.
    Small(i64),
    /// A valid, non-zero value beyond `i64` (no date field can hold it).
    Big,
}

/// Python's `int(s)` (base 10) for a string without whitespace: an optional sign, then
/// decimal digits of any script separated by single underscores, at most 4300 digits.
/// `None` where Python raises `ValueError`.
fn py_int(s: &str) -> Option<PyInt> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: Option<i64> = Some(0);
    let mut count = 0usize;
    let mut after_digit = false;
    for c in digits.chars() {
        if c == '_' {
            if !after_digit {
                return None;
            }
            after_digit = false;
            continue;
        }
        let d = decimal_value(c)?;
        count += 1;
        after_digit = true;
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(i64::from(d)));
    }
    if count == 0 || !after_digit || count > INT_MAX_STR_DIGITS {
        return None;
    }
    Some(match value {
        Some(v) if negative => PyInt::Small(-v),
        Some(v) => PyInt::Small(v),
        None => PyInt::Big,
    })
}

/// The small value of an `int()` result; `None` (no valid date) when it is `Big`.
fn small(n: PyInt) -> Option<i64> {
    match n {
        PyInt::Small(v) => Some(v),
        PyInt::Big => None,
    }
}

const MONTH_NAMES: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `_timezones` of `email._parseaddr` (hours·100 + minutes).
const TIMEZONES: [(&str, i64); 14] = [
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("AST", -400),
    ("ADT", -300),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
];

/// The fields `_parsedate_tz` returns: year, month, day, hour, minute, second, and the
/// zone: `None` for "no zone" (naive), `Some(true)` for a zero offset, `Some(false)` for
/// any other offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    fields: [PyInt; 6],
    zero_offset: Option<bool>,
}

/// Drops one trailing comma.
fn strip_comma(s: &str) -> &str {
    s.strip_suffix(',').unwrap_or(s)
}

/// `email._parseaddr._parsedate_tz(data)`; `None` where it returns `None` or raises.
fn parsedate_tz(data: &str) -> Option<Parsed> {
    // Only the first seven words can matter: one weekday, then at most five fields.
    let mut words: Vec<&str> = data
        .split(is_py_space)
        .filter(|w| !w.is_empty())
        .take(7)
        .collect();
    let first = *words.first()?;
    if first.ends_with(',') || DAY_NAMES.contains(&first.to_lowercase().as_str()) {
        words.remove(0);
    } else if let Some(i) = first.rfind(',') {
        words[0] = &first[i + 1..];
    }
    if words.len() == 3 {
        let stuff: Vec<&str> = words[0].split('-').collect();
        if stuff.len() == 3 {
            words.splice(0..1, stuff);
        }
    }
    if words.len() == 4 {
        let s = words[3];
        let i = match s.find('+') {
            Some(i) => Some(i),
            None => s.find('-'),
        };
        match i {
            Some(i) if i > 0 => {
                words.splice(3..4, [&s[..i], &s[i..]]);
            }
            _ => words.push(""),
        }
    }
    if words.len() < 5 {
        return None;
    }
    let (mut dd, mm, mut yy, mut tm, mut tz): (Cow<'_, str>, _, _, _, _) =
        (words[0].into(), words[1], words[2], words[3], words[4]);
    if dd.is_empty() || mm.is_empty() || yy.is_empty() {
        return None;
    }
    let mut mm = mm.to_lowercase();
    if !MONTH_NAMES.contains(&mm.as_str()) {
        let day_lower = dd.to_lowercase();
        dd = Cow::Owned(std::mem::replace(&mut mm, day_lower));
        if !MONTH_NAMES.contains(&mm.as_str()) {
            return None;
        }
    }
    let month = MONTH_NAMES.iter().position(|m| *m == mm)? % 12 + 1;
    let dd = strip_comma(&dd);
    if yy.find(':').is_some_and(|i| i > 0) {
        std::mem::swap(&mut yy, &mut tm);
    }
    if let Some(stripped) = yy.strip_suffix(',') {
        yy = stripped;
        if yy.is_empty() {
            return None;
        }
    }
    // `yy[0]` (an IndexError cannot happen: yy is not empty here).
    if !is_py_digit(yy.chars().next()?) {
        std::mem::swap(&mut yy, &mut tz);
    }
    // `tm[-1]` (tm is never empty here either).
    tm.chars().last()?;
    let tm = strip_comma(tm);
    let parts: Vec<&str> = tm.split(':').take(4).collect();
    let (thh, tmm, tss) = match parts[..] {
        [h, m] => (h, m, "0"),
        [h, m, s] => (h, m, s),
        [single] if single.contains('.') => {
            let parts: Vec<&str> = single.split('.').take(4).collect();
            match parts[..] {
                [h, m] => (h, m, "0"),
                [h, m, s] => (h, m, s),
                _ => return None,
            }
        }
        _ => return None,
    };
    let year = py_int(yy)?;
    let day = py_int(dd)?;
    let fields = [py_int(thh)?, py_int(tmm)?, py_int(tss)?];
    let year = match year {
        PyInt::Small(y) if y < 100 => PyInt::Small(if y > 68 { y + 1900 } else { y + 2000 }),
        other => other,
    };

    let tz = tz.to_uppercase();
    let offset = match TIMEZONES.iter().find(|(name, _)| *name == tz) {
        Some(&(_, offset)) => Some(offset != 0),
        None => match py_int(&tz) {
            // `-0000`: "UTC, source zone unknown" → naive.
            Some(PyInt::Small(0)) if tz.starts_with('-') => None,
            Some(PyInt::Small(0)) => Some(false),
            Some(_) => Some(true),
            None => None,
        },
    };
    Some(Parsed {
        fields: [
            year,
            PyInt::Small(month as i64),
            day,
            fields[0],
            fields[1],
            fields[2],
        ],
        // `offset` says "non-zero"; flip it into "zero offset".
        zero_offset: offset.map(|nonzero| !nonzero),
    })
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Python's `datetime.datetime(y, m, d, hh, mm, ss)` as Unix seconds (UTC); `None` where
/// it raises (year outside 1–9999, day past the month's end, second 60, …).
fn datetime_seconds(fields: [PyInt; 6]) -> Option<i64> {
    let [y, m, d, hh, mi, ss] = fields.map(small);
    let (y, m, d, hh, mi, ss) = (y?, m?, d?, hh?, mi?, ss?);
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => return None,
    };
    let valid = (1..=9999).contains(&y)
        && (1..=month_days).contains(&d)
        && (0..24).contains(&hh)
        && (0..60).contains(&mi)
        && (0..60).contains(&ss);
    valid.then(|| days_from_civil(y, m, d) * 86_400 + hh * 3600 + mi * 60 + ss)
}

/// The `If-Modified-Since` time `send_head` compares with, in Unix seconds, or `None`
/// when `send_head` ignores the header.
///
/// That is `email.utils.parsedate_to_datetime(value)`, where every exception
/// (`TypeError`, `IndexError`, `OverflowError`, `ValueError`) means "ignore"; a naive
/// result counts as UTC; and only a result whose zone is exactly UTC is used.
pub fn parse_if_modified_since(value: &str) -> Option<i64> {
    let parsed = parsedate_tz(value)?;
    // A non-zero offset is never `datetime.timezone.utc`; whether Python could even build
    // that zone (offsets of a day or more raise) does not matter.
    if parsed.zero_offset == Some(false) {
        return None;
    }
    datetime_seconds(parsed.fields)
}

/// The file time `send_head` compares with: `datetime.fromtimestamp(st_mtime,
/// timezone.utc).replace(microsecond=0)` in Unix seconds, from the `stat` fields
/// (`MetadataExt::mtime` and `mtime_nsec`).
///
/// Python first makes `st_mtime` a float (`sec + nsec * 1e-9`) and rounds it to
/// microseconds half-to-even, so a time within half a microsecond of the next second
/// counts as that second (while `Last-Modified` truncates it).
///
/// ```
/// use socketserver::http::parsedate::mtime_seconds;
/// assert_eq!(mtime_seconds(1577934245, 0), 1577934245);
/// assert_eq!(mtime_seconds(1577934245, 999_999_000), 1577934245);
/// assert_eq!(mtime_seconds(1577934245, 999_999_999), 1577934246);
/// assert_eq!(mtime_seconds(-2, 500_000_000), -2);
/// ```
pub fn mtime_seconds(st_mtime: i64, st_mtime_nsec: i64) -> i64 {
    let t = st_mtime as f64 + st_mtime_nsec as f64 * 1e-9;
    let int = t.trunc();
    let micros = ((t - int) * 1e6).round_ties_even();
    let seconds = if micros >= 1e6 {
        int + 1.0
    } else if micros < 0.0 {
        int - 1.0
    } else {
        int
    };
    // `as` saturates; Python's `datetime` rejects such times anyway.
    seconds as i64
}

/// Whether `send_head` answers `304 Not Modified` for a file with this modification time
/// (`stat`'s `mtime`, `mtime_nsec`) and this `If-Modified-Since` value: the header parses
/// ([`parse_if_modified_since`]) and the file is not newer ([`mtime_seconds`]).
///
/// Python consults `If-Modified-Since` only when the request has no `If-None-Match`; that
/// check is the caller's.
///
/// ```
/// use socketserver::http::parsedate::is_not_modified;
/// let ims = "Thu, 02 Jan 2020 03:04:05 GMT";
/// assert!(is_not_modified(ims, 1577934245, 0));
/// assert!(!is_not_modified(ims, 1577934246, 0));
/// assert!(!is_not_modified("Thu, 02 Jan 2020 05:04:05 +0200", 0, 0));
/// ```
pub fn is_not_modified(if_modified_since: &str, st_mtime: i64, st_mtime_nsec: i64) -> bool {
    parse_if_modified_since(if_modified_since)
        .is_some_and(|ims| mtime_seconds(st_mtime, st_mtime_nsec) <= ims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_577_934_245; // Thu, 02 Jan 2020 03:04:05 GMT

    #[test]
    fn accepted_forms() {
        for value in [
            "Thu, 02 Jan 2020 03:04:05 GMT",
            "Thursday, 02-Jan-20 03:04:05 GMT",
            "Thu Jan  2 03:04:05 2020",
            "Thu, 02 Jan 2020 03:04:05 +0000",
            "Thu, 02 Jan 2020 03:04:05 UTC",
            "Thu, 02 Jan 2020 03:04:05 UT",
            "Thu, 02 Jan 2020 03:04:05 z",
            "Thu, 02 Jan 2020 03:04:05 -0000",
            "Thu, 02 Jan 2020 03:04:05",
            "02 Jan 2020 03:04:05 GMT",
            "Mon, 02 Jan 2020 03:04:05 GMT",
            "Thu, 2 Jan 2020 03:04:05 GMT",
            "Thu,02 Jan 2020 03:04:05 GMT",
            "Thu, Jan 02 2020 03:04:05 GMT",
            "Thu, 02 january 2020 03:04:05 GMT",
            "Thu, 02 Jan 20 03:04:05 GMT",
            "Thu, 02 Jan 2020 03.04.05 GMT",
            "Thu, 02 Jan 2020, 03:04:05, GMT",
            "Thu, 02 Jan 03:04:05 2020",
            "Thu, 02 Jan 2020 03:04:05 XYZ",
            "Thu, 02 Jan 2020 03:04:05 GMT extra words",
            "Thu, 02 Jan 2_020 03:04:05 GMT",
            "Thu, \u{ff10}\u{ff12} Jan 2020 03:04:05 GMT",
        ] {
            assert_eq!(parse_if_modified_since(value), Some(T), "{value:?}");
        }
        assert_eq!(
            parse_if_modified_since("Thu, 02 Jan 2020 03:04 GMT"),
            Some(T - 5)
        );
        assert_eq!(parse_if_modified_since("1 Jan 70 0:0:0"), Some(0));
        assert_eq!(parse_if_modified_since("1 Jan 69 0:0:0"), Some(-31_536_000));
        assert_eq!(
            parse_if_modified_since("31 Dec 9999 23:59:59"),
            Some(253_402_300_799)
        );
        assert_eq!(
            parse_if_modified_since("1 Jan 100 0:0:0"),
            Some(-59_011_459_200)
        );
        // A year cannot be negative: a word not starting with a digit swaps with the zone.
        assert_eq!(parse_if_modified_since("1 Jan -1900 0:0:0"), None);
    }

    #[test]
    fn ignored_values() {
        for value in [
            "",
            "   ",
            "garbage",
            "Thu, 02 Jan 2020 05:04:05 +0200",
            "Thu, 02 Jan 2020 03:04:05 EST",
            "Thu, 02 Jan 2020 03:04:05 +0001",
            "Thu, 02 Foo 2020 03:04:05 GMT",
            "Thu, 30 Feb 2020 03:04:05 GMT",
            "Thu, 02 Jan 2020 24:00:00 GMT",
            "Thu, 02 Jan 2020 03:04:60 GMT",
            "Thu, 02 Jan 10000 03:04:05 GMT",
            "Thu, 02 Jan 2020 03:04:05:06 GMT",
            "Thu, 02 Jan 2020 030405 GMT",
            "Thu, 02 Jan ²020 03:04:05 GMT",
            "Thu, 02 Jan 99999999999999999999 03:04:05 GMT",
            "Thu, 02 Jan 2020",
            "Thu, , Jan 2020 03:04:05",
        ] {
            assert_eq!(parse_if_modified_since(value), None, "{value:?}");
        }
    }

    #[test]
    fn int_like_python() {
        assert_eq!(py_int("007"), Some(PyInt::Small(7)));
        assert_eq!(py_int("-1_0"), Some(PyInt::Small(-10)));
        assert_eq!(py_int("+0"), Some(PyInt::Small(0)));
        assert_eq!(py_int("\u{663}"), Some(PyInt::Small(3)));
        assert_eq!(py_int("99999999999999999999"), Some(PyInt::Big));
        for bad in ["", "+", "-", "_1", "1_", "1__0", "+-1", "²", "1.0", "0x1"] {
            assert_eq!(py_int(bad), None, "{bad:?}");
        }
        assert!(py_int(&"1".repeat(4300)).is_some());
        assert_eq!(py_int(&"0".repeat(4301)), None);
    }

    #[test]
    fn huge_zones() {
        // A zone int() refuses (more than 4300 digits) is "no zone": UTC.
        let zone = "1".repeat(4301);
        assert_eq!(
            parse_if_modified_since(&format!("02 Jan 2020 03:04:05 +{zone}")),
            Some(T)
        );
        let zone = "1".repeat(4300);
        assert_eq!(
            parse_if_modified_since(&format!("02 Jan 2020 03:04:05 +{zone}")),
            None
        );
    }
}
