//! Sans-IO parsing of an HTTP request head, byte-compatible with CPython 3.13's
//! `BaseHTTPRequestHandler.parse_request` and `http.client.parse_headers` (with the later
//! fixes gh-54930 and gh-70765).
//!
//! The handler drives these pieces in Python's order:
//!
//! 1. read the request line (at most [`MAXLINE`]` + 1` bytes; longer is a 414), decode it
//!    with [`decode_latin1`], strip trailing `\r`/`\n`;
//! 2. [`parse_request_line`] — an error's [`code`](RequestLineError::code) and
//!    [`message`](RequestLineError::message) are what `send_error` gets;
//! 3. [`read_header_block`] then [`HttpMessage::parse_into`](super::headers::HttpMessage::parse_into)
//!    (or [`parse_headers`](super::headers::parse_headers) for both);
//! 4. the `Connection` and `Expect` rules, which stay with the caller.
//!
//! ```
//! use socketserver::http::parse::{parse_request_line, RequestLineError};
//!
//! let rl = parse_request_line("GET //evil.com/x HTTP/1.1").unwrap();
//! assert_eq!((rl.command, rl.path, rl.version), ("GET", "/evil.com/x", Some("HTTP/1.1")));
//! assert_eq!(rl.version_number, (1, 1));
//!
//! let err = parse_request_line("GET / FUBAR").unwrap_err();
//! assert_eq!((err.code(), err.message()), (400, "Bad request version ('FUBAR')".to_string()));
//! ```

use std::fmt;
use std::io::{self, BufRead, Read};

use super::pyrepr::py_repr;

/// `http.client._MAXLINE`: the longest request line or header line, in bytes, including
/// the line ending.
pub const MAXLINE: usize = 65536;
/// `http.client._MAXHEADERS`: more header lines than this (the blank line counts) is an
/// error.
pub const MAXHEADERS: usize = 100;

/// Appends `bytes` decoded as ISO-8859-1 (every byte is the code point of the same value)
/// to `out`.
///
/// This is Python's `bytes.decode('iso-8859-1')`: it never fails. ASCII input (the usual
/// case) is copied in one go.
///
/// ```
/// let mut s = String::new();
/// socketserver::http::parse::decode_latin1(b"caf\xe9", &mut s);
/// assert_eq!(s, "café");
/// ```
pub fn decode_latin1(bytes: &[u8], out: &mut String) {
    if bytes.is_ascii() {
        if let Ok(s) = std::str::from_utf8(bytes) {
            out.push_str(s);
            return;
        }
    }
    let extra = bytes.iter().filter(|b| !b.is_ascii()).count();
    out.reserve(bytes.len() + extra);
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        if let Ok(s) = std::str::from_utf8(&rest[..run]) {
            out.push_str(s);
        }
        if let Some(&b) = rest.get(run) {
            out.push(char::from(b));
            rest = &rest[run + 1..];
        } else {
            rest = &[];
        }
    }
}

/// True for the characters Python's `str.split()` (no argument) splits on:
/// `str.isspace()`. Note that U+001C–U+001F, U+0085 and U+00A0 are whitespace to Python
/// (Rust's `char::is_whitespace` disagrees on U+001C–U+001F).
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\x1c'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The words of `s` as Python's `str.split()` finds them.
struct Words<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    /// The length of the whitespace character at `i`, or 0 if there is none.
    fn space_at(&self, i: usize) -> usize {
        let b = self.s.as_bytes()[i];
        if b < 0x80 {
            usize::from(matches!(b, b'\t'..=b'\r' | 0x1c..=b' '))
        } else {
            match self.s[i..].chars().next() {
                Some(c) if is_py_space(c) => c.len_utf8(),
                _ => 0,
            }
        }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let len = self.s.len();
        let mut i = self.pos;
        // Skip leading whitespace.
        while i < len {
            let n = self.space_at(i);
            if n == 0 {
                break;
            }
            i += n;
        }
        if i == len {
            self.pos = len;
            return None;
        }
        let start = i;
        while i < len && self.space_at(i) == 0 {
            // Step over one character (never splits a UTF-8 sequence).
            i += self.s[i..].chars().next().map_or(1, char::len_utf8);
        }
        self.pos = i;
        Some(&self.s[start..i])
    }
}

/// A request line CPython accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// The method, as sent (case kept).
    pub command: &'a str,
    /// The target, with a leading run of slashes collapsed to one (CVE-2021-28861).
    pub path: &'a str,
    /// The version word (`"HTTP/1.1"`); `None` for an HTTP/0.9 request (`GET /path`).
    pub version: Option<&'a str>,
    /// The version as numbers; `(0, 9)` for HTTP/0.9.
    ///
    /// Python allows up to ten digits per component, so `HTTP/1.9999999999` is a valid
    /// (HTTP/1.x) version; a component above `u32::MAX` is saturated to `u32::MAX`, which
    /// keeps every comparison with a real version (`>= (1, 1)`) what Python computes.
    pub version_number: (u32, u32),
}

/// Why CPython rejects a request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestLineError {
    /// No words at all: close the connection without answering.
    Empty,
    /// 400 `Bad request version (%r)`.
    BadVersion(String),
    /// 505 `Invalid HTTP version (%s)` — the text after `HTTP/`.
    UnsupportedVersion(String),
    /// 400 `Bad request syntax (%r)` of the whole line.
    BadSyntax(String),
    /// 400 `Bad HTTP/0.9 request type (%r)` of the command.
    BadHttp09Method(String),
}

impl RequestLineError {
    /// The status code CPython answers with (0 for `Empty`).
    pub fn code(&self) -> u16 {
        match self {
            RequestLineError::Empty => 0,
            RequestLineError::UnsupportedVersion(_) => 505,
            RequestLineError::BadVersion(_)
            | RequestLineError::BadSyntax(_)
            | RequestLineError::BadHttp09Method(_) => 400,
        }
    }
    /// CPython's exact message, `%r` included (e.g. `Bad request version ('FUBAR')`).
    ///
    /// It is the reason phrase of the status line and (HTML-escaped) the `Message:` of
    /// the error page. Empty for [`RequestLineError::Empty`], which gets no answer.
    pub fn message(&self) -> String {
        match self {
            RequestLineError::Empty => String::new(),
            RequestLineError::BadVersion(v) => format!("Bad request version ({})", py_repr(v)),
            RequestLineError::UnsupportedVersion(v) => format!("Invalid HTTP version ({v})"),
            RequestLineError::BadSyntax(l) => format!("Bad request syntax ({})", py_repr(l)),
            RequestLineError::BadHttp09Method(c) => {
                format!("Bad HTTP/0.9 request type ({})", py_repr(c))
            }
        }
    }
}

impl fmt::Display for RequestLineError {
    /// The [`message`](RequestLineError::message) (`empty request line` for `Empty`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestLineError::Empty => f.write_str("empty request line"),
            other => f.write_str(&other.message()),
        }
    }
}

impl std::error::Error for RequestLineError {}

/// One component of a version number: 1–10 ASCII digits.
///
/// Python checks `str.isdigit()` (which also accepts `¹²³`) and then `int()` (which
/// refuses them); both failures give the same 400, so only ASCII digits pass here.
/// (For text outside Latin-1, `int()` would also take other scripts' decimal digits; the
/// request line is Latin-1 text, so that never arises.)
fn version_component(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes()
        .try_fold(0u64, |n, d| Some(n * 10 + u64::from(d - b'0')))
}

/// `HTTP/<major>.<minor>` → the numbers, or `None` for `Bad request version`.
fn parse_version(version: &str) -> Option<(u64, u64)> {
    let base = version.strip_prefix("HTTP/")?;
    let (major, minor) = base.split_once('.')?;
    if minor.contains('.') {
        return None;
    }
    Some((version_component(major)?, version_component(minor)?))
}

/// CPython's `parse_request` on a decoded request line (trailing `\r`/`\n` already
/// stripped).
///
/// The words are Python's `requestline.split()`. With three or more words the last one
/// must be a version `HTTP/<1–10 digits>.<1–10 digits>` (else
/// [`BadVersion`](RequestLineError::BadVersion)) below 2.0 (else
/// [`UnsupportedVersion`](RequestLineError::UnsupportedVersion)); then there must be two
/// or three words (else [`BadSyntax`](RequestLineError::BadSyntax)); two words are an
/// HTTP/0.9 request, which must be `GET` (else
/// [`BadHttp09Method`](RequestLineError::BadHttp09Method)). A path starting with `//` loses
/// all but one of its leading slashes. Keep-alive and `Expect` are the caller's.
pub fn parse_request_line(requestline: &str) -> Result<RequestLine<'_>, RequestLineError> {
    let mut words = Words {
        s: requestline,
        pos: 0,
    };
    let Some(command) = words.next() else {
        return Err(RequestLineError::Empty);
    };
    let second = words.next();
    let mut count = 1 + usize::from(second.is_some());
    let mut last = second;
    if second.is_some() {
        for w in words {
            count += 1;
            last = Some(w);
        }
    }

    let mut version = None;
    let mut version_number = (0, 9);
    if count >= 3 {
        let v = last.unwrap_or_default();
        let Some((major, minor)) = parse_version(v) else {
            return Err(RequestLineError::BadVersion(v.to_owned()));
        };
        if major >= 2 {
            return Err(RequestLineError::UnsupportedVersion(
                v["HTTP/".len()..].to_owned(),
            ));
        }
        version = Some(v);
        let sat = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        version_number = (sat(major), sat(minor));
    }
    let path = match (count, second) {
        (2 | 3, Some(path)) => path,
        _ => return Err(RequestLineError::BadSyntax(requestline.to_owned())),
    };
    if count == 2 && command != "GET" {
        return Err(RequestLineError::BadHttp09Method(command.to_owned()));
    }
    let path = if path.starts_with("//") {
        // '/' + path.lstrip('/'): the last slash of the leading run and what follows.
        let rest = path.trim_start_matches('/');
        &path[path.len() - rest.len() - 1..]
    } else {
        path
    };
    Ok(RequestLine {
        command,
        path,
        version,
        version_number,
    })
}

/// Why a header block was refused (both answered with 431).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// A line longer than [`MAXLINE`]: 431 `Line too long`.
    LineTooLong,
    /// More than [`MAXHEADERS`] lines: 431 `Too many headers`.
    TooManyHeaders,
}

impl HeaderError {
    /// CPython's short message: `Line too long` / `Too many headers`.
    pub fn message(&self) -> &'static str {
        match self {
            HeaderError::LineTooLong => "Line too long",
            HeaderError::TooManyHeaders => "Too many headers",
        }
    }
    /// CPython's explanation: `got more than 65536 bytes when reading header line` /
    /// `got more than 100 headers`.
    pub fn explain(&self) -> &'static str {
        match self {
            HeaderError::LineTooLong => "got more than 65536 bytes when reading header line",
            HeaderError::TooManyHeaders => "got more than 100 headers",
        }
    }
}

impl fmt::Display for HeaderError {
    /// The [`explain`](HeaderError::explain) text (Python's `str(err)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.explain())
    }
}

impl std::error::Error for HeaderError {}

/// `http.client._read_headers`: reads header lines (each at most [`MAXLINE`] bytes) into
/// `block` until a blank line (`\r\n` or `\n`, kept in `block`) or EOF.
///
/// Each line is read as Python's `readline(65537)` reads it: up to and including `\n`,
/// never more than 65537 bytes, and nothing past the line is consumed (the body stays in
/// `r`). A line longer than 65536 bytes is [`HeaderError::LineTooLong`]; a 101st line
/// (the blank line counts, so 100 headers and the blank line are too many) is
/// [`HeaderError::TooManyHeaders`]. Lines are appended to `block`, which is not cleared
/// first; at most 101 × 65537 bytes are appended.
///
/// ```
/// use socketserver::http::parse::read_header_block;
/// let mut input: &[u8] = b"Host: x\r\n\r\nbody";
/// let mut block = Vec::new();
/// read_header_block(&mut input, &mut block).unwrap().unwrap();
/// assert_eq!(block, b"Host: x\r\n\r\n");
/// assert_eq!(input, b"body");
/// ```
pub fn read_header_block<R: BufRead>(
    r: &mut R,
    block: &mut Vec<u8>,
) -> io::Result<Result<(), HeaderError>> {
    let mut lines = 0;
    loop {
        let start = block.len();
        let n = r
            .by_ref()
            .take(MAXLINE as u64 + 1)
            .read_until(b'\n', block)?;
        if n > MAXLINE {
            return Ok(Err(HeaderError::LineTooLong));
        }
        lines += 1;
        if lines > MAXHEADERS {
            return Ok(Err(HeaderError::TooManyHeaders));
        }
        let line = &block[start..];
        if line.is_empty() || line == b"\n" || line == b"\r\n" {
            return Ok(Ok(()));
        }
    }
}
