//! Sans-IO parsing of an HTTP request head, byte-compatible with CPython 3.13's
//! `BaseHTTPRequestHandler.parse_request` and `http.client.parse_headers` (with the later
//! fixes gh-54930 and gh-70765).
//!
//! The handler drives these pieces in Python's order:
//!
//! 1. read the request line with [`read_line`] (at most [`MAXLINE`]` + 1` bytes; longer is
//!    a 414), strip trailing `\r`/`\n` and decode it as Latin-1 with
//!    [`decode_request_line`];
//! 2. [`parse_request_line`] — an error's [`code`](RequestLineError::code) and
//!    [`message`](RequestLineError::message) are what `send_error` gets;
//! 3. [`read_header_block`] then [`HttpMessage::parse_into`](super::headers::HttpMessage::parse_into),
//!    or both at once with [`HttpMessage::read_from`](super::headers::HttpMessage::read_from)
//!    (which parses while it reads when the block is in the reader's buffer) or
//!    [`parse_headers`](super::headers::parse_headers);
//! 4. the `Connection` and `Expect` rules, which stay with the caller.
//!
//! ```
//! use socketserver::http::parse::{parse_request_line, RequestLineError};
//!
//! assert_eq!(parse_request_line("  \t").unwrap_err(), RequestLineError::Empty);
//!
//! let rl = parse_request_line("GET //evil.com/x HTTP/1.1").unwrap();
//! assert_eq!((rl.command, rl.path, rl.version), ("GET", "/evil.com/x", Some("HTTP/1.1")));
//! assert_eq!(rl.version_number, (1, 1));
//!
//! let err = parse_request_line("GET / FUBAR").unwrap_err();
//! assert_eq!(err, RequestLineError::BadVersion("FUBAR".into()));
//! assert_eq!((err.code(), err.message()), (400, "Bad request version ('FUBAR')".to_string()));
//! ```

use std::fmt;
use std::io::{self, BufRead};

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
#[inline]
pub fn decode_latin1(bytes: &[u8], out: &mut String) {
    if let Some(s) = crate::sys::ascii_str(bytes) {
        out.push_str(s);
    } else {
        decode_latin1_slow(bytes, out);
    }
}

/// [`decode_latin1`] of text that is not all ASCII.
#[inline(never)]
fn decode_latin1_slow(bytes: &[u8], out: &mut String) {
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

/// Python's `rfile.readline(limit)`: appends to `out` the bytes of `r` up to and including
/// the first `\n`, at most `limit` of them, fewer at EOF; returns how many.
///
/// Exactly `r.take(limit).read_until(b'\n', out)` — the same bytes consumed, the same
/// retries of interrupted reads, what was read before an error kept in `out` — with a
/// newline search eight bytes at a time (`read_until`'s byte search is slow on lines as
/// short as a request line).
///
/// ```
/// use socketserver::http::parse::read_line;
/// let mut input: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";
/// let mut line = Vec::new();
/// assert_eq!(read_line(&mut input, 65537, &mut line).unwrap(), 16);
/// assert_eq!(line, b"GET / HTTP/1.1\r\n");
/// line.clear();
/// read_line(&mut input, 4, &mut line).unwrap();
/// assert_eq!(line, b"Host");
/// ```
pub fn read_line<R: BufRead + ?Sized>(
    r: &mut R,
    limit: usize,
    out: &mut Vec<u8>,
) -> io::Result<usize> {
    let mut read = 0;
    loop {
        if read == limit {
            // `Take` at its limit reads nothing more.
            return Ok(read);
        }
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let avail = &buf[..buf.len().min(limit - read)];
        let (done, used) = match find_newline(avail) {
            Some(i) => (true, i + 1),
            None => (false, avail.len()),
        };
        out.extend_from_slice(&avail[..used]);
        r.consume(used);
        read += used;
        if done || used == 0 {
            return Ok(read);
        }
    }
}

/// The first `\n` in `b`, a [`Word`] at a time.
#[inline]
fn find_newline(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(x) = word_at(b, i) {
        let hits = zero_lanes(x ^ splat(b'\n'));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += WORD;
    }
    b[i..].iter().position(|&c| c == b'\n').map(|j| i + j)
}

/// Python's `str(raw_requestline, 'iso-8859-1').rstrip('\r\n')`: `raw` without its
/// trailing `\r` and `\n` bytes, decoded as Latin-1, appended to `out`.
///
/// ```
/// let mut s = String::new();
/// socketserver::http::parse::decode_request_line(b"GET /\xe9 HTTP/1.1\r\n\r", &mut s);
/// assert_eq!(s, "GET /\u{e9} HTTP/1.1");
/// ```
pub fn decode_request_line(raw: &[u8], out: &mut String) {
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    decode_latin1(&raw[..end], out);
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

/// The length of the Python whitespace character starting at byte `i` of `s`, or 0.
///
/// ASCII is a table test; a non-ASCII character can only be whitespace when `i` is the
/// lead byte of U+0085, U+00A0 or one of the U+1680…U+3000 spaces.
#[inline(always)]
fn space_len(s: &str, i: usize) -> usize {
    match s.as_bytes().get(i) {
        Some(&b) if b < 0x80 => usize::from(ASCII_SPACE[usize::from(b)]),
        Some(0xc2 | 0xe1..=0xe3) => non_ascii_space_len(s, i),
        _ => 0,
    }
}

/// [`space_len`] for a character that is not ASCII.
#[inline(never)]
fn non_ascii_space_len(s: &str, i: usize) -> usize {
    match s.get(i..).and_then(|t| t.chars().next()) {
        Some(c) if is_py_space(c) => c.len_utf8(),
        _ => 0,
    }
}

/// The first byte at or after `i` below 0x21 or above 0x7E — the only bytes that can
/// start a Python whitespace character — or `b.len()`; a [`Word`] at a time.
#[inline(always)]
fn next_candidate(b: &[u8], mut i: usize) -> usize {
    while let Some(x) = word_at(b, i) {
        // Lanes below 0x21 (borrow into the high bit) or with the high bit set.
        let hits = ((x.wrapping_sub(splat(0x21)) & !x) | x) & splat(0x80);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += WORD;
    }
    while i < b.len() && (0x21..0x80).contains(&b[i]) {
        i += 1;
    }
    i
}

/// Python's ASCII whitespace: `\t \n \x0b \x0c \r`, `\x1c`–`\x1f` and space.
static ASCII_SPACE: [bool; 128] = {
    let mut t = [false; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = matches!(i as u8, b'\t'..=b'\r' | 0x1c..=b' ');
        i += 1;
    }
    t
};

/// The words of `s` as Python's `str.split()` finds them.
/// Python's `str.split()` with no argument, on Latin-1 text: the words between runs of
/// whitespace (`\t`–`\r`, `\x1c`–`\x1f`, space, U+0085, U+00A0).
///
/// ```
/// let w: Vec<_> = socketserver::http::parse::split_words(" GET\t/a\x1c HTTP/1.0 ").collect();
/// assert_eq!(w, ["GET", "/a", "HTTP/1.0"]);
/// ```
pub fn split_words(s: &str) -> impl Iterator<Item = &str> + '_ {
    Words { s, pos: 0 }
}

struct Words<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline(always)]
    fn next(&mut self) -> Option<&'a str> {
        let len = self.s.len();
        let mut i = self.pos;
        // Skip leading whitespace.
        loop {
            if i >= len {
                self.pos = len;
                return None;
            }
            match space_len(self.s, i) {
                0 => break,
                n => i += n,
            }
        }
        let start = i;
        // Jump between bytes that could start whitespace (controls, space, non-ASCII);
        // a continuation byte is never whitespace, so `space_len` only has to look at
        // the bytes it is asked about.
        let b = self.s.as_bytes();
        loop {
            i = next_candidate(b, i + 1);
            if i >= len || space_len(self.s, i) != 0 {
                break;
            }
        }
        self.pos = i;
        self.s.get(start..i)
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

/// The usual request line — three words of visible ASCII separated by single spaces —
/// split without the general word loop; `None` for anything else.
#[inline]
fn three_plain_words(s: &str) -> Option<(&str, &str, &str)> {
    let b = s.as_bytes();
    let one = next_candidate(b, 0);
    if one == 0 || b.get(one) != Some(&b' ') {
        return None;
    }
    let two = next_candidate(b, one + 1);
    if two == one + 1 || b.get(two) != Some(&b' ') {
        return None;
    }
    if two + 1 >= b.len() || next_candidate(b, two + 1) != b.len() {
        return None;
    }
    Some((s.get(..one)?, s.get(one + 1..two)?, s.get(two + 1..)?))
}

/// One component of a version number: 1–10 ASCII digits.
///
/// Python checks `str.isdigit()` (which also accepts `¹²³`) and then `int()` (which
/// refuses them); both failures give the same 400, so only ASCII digits pass here.
/// (For text outside Latin-1, `int()` would also take other scripts' decimal digits; the
/// request line is Latin-1 text, so that never arises.)
#[inline]
fn version_component(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n = 0u64;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
    }
    Some(n)
}

/// `HTTP/<major>.<minor>` → the numbers, or `None` for `Bad request version`.
#[inline]
fn parse_version(version: &str) -> Option<(u64, u64)> {
    // What clients send, as one comparison each.
    match version.as_bytes() {
        b"HTTP/1.1" => return Some((1, 1)),
        b"HTTP/1.0" => return Some((1, 0)),
        _ => {}
    }
    let base = version.as_bytes().strip_prefix(b"HTTP/")?;
    let dot = base.iter().position(|&b| b == b'.')?;
    let (major, minor) = (&base[..dot], &base[dot + 1..]);
    // A second dot is not a digit, so `version_component` refuses it.
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
    // Python's `words = requestline.split()`; only the first two words, the last one
    // and the count matter.
    let (mut first, mut second, mut last) = ("", None, None);
    let mut count = 0usize;
    if let Some((a, b, c)) = three_plain_words(requestline) {
        (first, second, last, count) = (a, Some(b), Some(c), 3);
    } else {
        for word in (Words {
            s: requestline,
            pos: 0,
        }) {
            match count {
                0 => first = word,
                1 => second = Some(word),
                _ => {}
            }
            last = Some(word);
            count += 1;
        }
    }
    if count == 0 {
        return Err(RequestLineError::Empty);
    }
    let command = first;
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
pub fn read_header_block<R: BufRead + ?Sized>(
    r: &mut R,
    block: &mut Vec<u8>,
) -> io::Result<Result<(), HeaderError>> {
    let mut state = Lines { lines: 0, cur: 0 };
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            // EOF: a partial line is one `readline` result, the empty read another.
            state.lines += usize::from(state.cur > 0) + 1;
            return Ok(if state.lines > MAXHEADERS {
                Err(HeaderError::TooManyHeaders)
            } else {
                Ok(())
            });
        }
        let prev = block.last().copied();
        let (used, outcome) = state.scan(buf, prev);
        block.extend_from_slice(&buf[..used]);
        r.consume(used);
        if let Some(outcome) = outcome {
            return Ok(outcome);
        }
    }
}

/// Where [`read_header_block`] is: how many `readline` results so far, and how many
/// bytes of the line being read are already in the block.
struct Lines {
    lines: usize,
    cur: usize,
}

impl Lines {
    /// Takes the lines of `buf` as successive `readline(65537)` calls would, stopping
    /// after the blank line or at an error. Returns how many bytes those calls consume
    /// and the outcome if the block is over. `prev` is the last byte already in the
    /// block (the `\r` of a `\r\n` split across reads).
    #[inline]
    fn scan(&mut self, buf: &[u8], prev: Option<u8>) -> (usize, Option<Result<(), HeaderError>>) {
        // Where the current line starts in `buf`.
        let mut start = 0;
        // A newline at or past this index makes the current line too long; on that
        // error `readline(65537)` has consumed the line up to and including `limit`.
        let mut limit = MAXLINE - self.cur;
        // A newline ends a line: the outcome if that ends the block.
        let mut newline = |k: usize, start: &mut usize, limit: &mut usize| {
            if k >= *limit {
                return Some((*limit + 1, Err(HeaderError::LineTooLong)));
            }
            let len = self.cur + k + 1 - *start;
            self.lines += 1;
            let before = if k > *start { Some(buf[k - 1]) } else { prev };
            let blank = len == 1 || (len == 2 && before == Some(b'\r'));
            self.cur = 0;
            *start = k + 1;
            *limit = *start + MAXLINE;
            if self.lines > MAXHEADERS {
                Some((*start, Err(HeaderError::TooManyHeaders)))
            } else if blank {
                Some((*start, Ok(())))
            } else {
                None
            }
        };
        let mut chunks = buf.chunks_exact(WORD);
        let mut base = 0;
        for chunk in chunks.by_ref() {
            let mut lane = [0u8; WORD];
            lane.copy_from_slice(chunk);
            let mut hits = zero_lanes(Word::from_le_bytes(lane) ^ splat(b'\n'));
            while hits != 0 {
                let j = (hits.trailing_zeros() / 8) as usize;
                hits &= hits - 1;
                // Lanes above a newline may be false hits.
                if chunk[j] == b'\n' {
                    if let Some((used, outcome)) = newline(base + j, &mut start, &mut limit) {
                        return (used, Some(outcome));
                    }
                }
            }
            base += WORD;
            if base > limit {
                // 65537 bytes and no newline: `readline` stops there.
                return (limit + 1, Some(Err(HeaderError::LineTooLong)));
            }
        }
        for (j, &b) in chunks.remainder().iter().enumerate() {
            if b == b'\n' {
                if let Some((used, outcome)) = newline(base + j, &mut start, &mut limit) {
                    return (used, Some(outcome));
                }
            }
            if base + j + 1 > limit {
                return (limit + 1, Some(Err(HeaderError::LineTooLong)));
            }
        }
        self.cur += buf.len() - start;
        (buf.len(), None)
    }
}

/// The word the byte scanners work on: eight bytes at a time (sixteen measured no
/// faster).
type Word = u64;
/// Bytes in a [`Word`].
const WORD: usize = std::mem::size_of::<Word>();

/// Broadcasts a byte to every lane of a [`Word`].
const fn splat(b: u8) -> Word {
    Word::from_ne_bytes([b; WORD])
}

/// The [`Word`] of `b` starting at `i`, if `b` has that many bytes left.
#[inline(always)]
fn word_at(b: &[u8], i: usize) -> Option<Word> {
    let chunk = b.get(i..i + WORD)?;
    let mut lane = [0u8; WORD];
    lane.copy_from_slice(chunk);
    Some(Word::from_le_bytes(lane))
}

/// The lanes of `x` that are zero, as their high bits (the lowest set bit marks the
/// first zero lane exactly; higher ones may be false positives).
#[inline]
const fn zero_lanes(x: Word) -> Word {
    x.wrapping_sub(splat(1)) & !x & splat(0x80)
}

/// The first byte at or after `from` that cannot be part of a header name to the email
/// parser (anything but `!`–`9` and `;`–`~`), or `hay.len()`; a [`Word`] at a time.
#[inline]
pub(crate) fn name_end(hay: &[u8], mut from: usize) -> usize {
    while let Some(x) = word_at(hay, from) {
        // Below 0x21, equal to ':' or DEL, or with the high bit set.
        let below = x.wrapping_sub(splat(0x21)) & !x;
        let hits =
            (below | zero_lanes(x ^ splat(b':')) | zero_lanes(x ^ splat(0x7f)) | x) & splat(0x80);
        if hits != 0 {
            return from + (hits.trailing_zeros() / 8) as usize;
        }
        from += WORD;
    }
    while from < hay.len() && matches!(hay[from], 0x21..=0x39 | 0x3b..=0x7e) {
        from += 1;
    }
    from
}

/// The first `\r` or `\n` in `hay` at or after `from` (or `hay.len()`), a [`Word`] at a
/// time.
#[inline]
pub(crate) fn find_eol(hay: &[u8], mut from: usize) -> usize {
    while let Some(x) = word_at(hay, from) {
        let hits = zero_lanes(x ^ splat(b'\r')) | zero_lanes(x ^ splat(b'\n'));
        if hits != 0 {
            return from + (hits.trailing_zeros() / 8) as usize;
        }
        from += WORD;
    }
    while from < hay.len() && !matches!(hay[from], b'\r' | b'\n') {
        from += 1;
    }
    from
}

/// The `:` ending the header name that starts at `from` — a run of `!`–`9` and
/// `;`–`~` followed directly by `:` — or `None` when the run ends otherwise (or is
/// empty); a [`Word`] at a time.
#[inline]
pub(crate) fn field_colon(hay: &[u8], mut from: usize) -> Option<usize> {
    let start = from;
    while let Some(x) = word_at(hay, from) {
        // Below 0x21, equal to ':' or DEL, or with the high bit set.
        let below = x.wrapping_sub(splat(0x21)) & !x;
        let colon = zero_lanes(x ^ splat(b':'));
        let hits = (below | colon | zero_lanes(x ^ splat(0x7f)) | x) & splat(0x80);
        if hits != 0 {
            // The first hit is exact in every mask that has it.
            let bit = hits.trailing_zeros();
            let at = from + (bit / 8) as usize;
            return (colon & (1 << bit) != 0 && at > start).then_some(at);
        }
        from += WORD;
    }
    while from < hay.len() && matches!(hay[from], 0x21..=0x39 | 0x3b..=0x7e) {
        from += 1;
    }
    (hay.get(from) == Some(&b':') && from > start).then_some(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expect =
        Result<(&'static str, &'static str, Option<&'static str>, (u32, u32)), (u16, &'static str)>;

    /// (request line as the handler reads it, what CPython 3.13.0 makes of it).
    const TABLE: &[(&[u8], Expect)] = &[
        // python-stdlib.md §2.2 (BaseHTTPServerTestCase)
        (
            b"GET / HTTP/1.1\r\n",
            Ok(("GET", "/", Some("HTTP/1.1"), (1, 1))),
        ),
        (
            b"XYZBOGUS / HTTP/1.1\n",
            Ok(("XYZBOGUS", "/", Some("HTTP/1.1"), (1, 1))),
        ),
        (
            b"GET / FUBAR\r\n",
            Err((400, "Bad request version ('FUBAR')")),
        ),
        (
            b"GET / HTTP/9.9.9\r\n",
            Err((400, "Bad request version ('HTTP/9.9.9')")),
        ),
        (
            b"GET / HTTP/-9_9_9.+9_9_9\r\n",
            Err((400, "Bad request version ('HTTP/-9_9_9.+9_9_9')")),
        ),
        (
            b"GET / HTTP/909876543210.0\r\n",
            Err((400, "Bad request version ('HTTP/909876543210.0')")),
        ),
        (
            b"GET / HTTP/1.909876543210\r\n",
            Err((400, "Bad request version ('HTTP/1.909876543210')")),
        ),
        (b"GET / \r\n", Ok(("GET", "/", None, (0, 9)))),
        (
            b"CUSTOM / \r\n",
            Err((400, "Bad HTTP/0.9 request type ('CUSTOM')")),
        ),
        (
            b"GET / HTTP/9.9\r\n",
            Err((505, "Invalid HTTP version (9.9)")),
        ),
        (b" /  \r\n", Err((400, "Bad request syntax (' /  ')"))),
        // §2.9.1 (stock handler)
        (
            b"GET / HTTP/1.0\r\n",
            Ok(("GET", "/", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET / HTTP/01.1\r\n",
            Ok(("GET", "/", Some("HTTP/01.1"), (1, 1))),
        ),
        (
            b"get / HTTP/1.0\r\n",
            Ok(("get", "/", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET / HTTP/1.0\n",
            Ok(("GET", "/", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET / HTTP/-1.1\r\n",
            Err((400, "Bad request version ('HTTP/-1.1')")),
        ),
        (
            b"GET / http/1.1\r\n",
            Err((400, "Bad request version ('http/1.1')")),
        ),
        (
            b"GET / HTTP/2.0\r\n",
            Err((505, "Invalid HTTP version (2.0)")),
        ),
        (
            b"POST /\r\n",
            Err((400, "Bad HTTP/0.9 request type ('POST')")),
        ),
        (b"GET /\r\n", Ok(("GET", "/", None, (0, 9)))),
        (b"GET\r\n", Err((400, "Bad request syntax ('GET')"))),
        (
            b"GET /spaced out HTTP/1.1\r\n",
            Err((400, "Bad request syntax ('GET /spaced out HTTP/1.1')")),
        ),
        (b"\r\n", Err((0, ""))),
        (b"", Err((0, ""))),
        (
            b"<script>alert(\"hello\")</script> / HTTP/1.1\r\n",
            Ok((
                "<script>alert(\"hello\")</script>",
                "/",
                Some("HTTP/1.1"),
                (1, 1),
            )),
        ),
        // §2.9.6 (leniency)
        (
            b"GET  /a   HTTP/1.0  \r\n",
            Ok(("GET", "/a", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET\t/a\tHTTP/1.0\r\n",
            Ok(("GET", "/a", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b" GET /a HTTP/1.0\r\n",
            Ok(("GET", "/a", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET //a//b HTTP/1.0\r\n",
            Ok(("GET", "/a//b", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET http://h/x HTTP/1.0\r\n",
            Ok(("GET", "http://h/x", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET * HTTP/1.0\r\n",
            Ok(("GET", "*", Some("HTTP/1.0"), (1, 0))),
        ),
        // Edges: Python's whitespace, version corner cases, repr quoting.
        (
            b"GET\x1c/\x1dHTTP/1.0\x1f",
            Ok(("GET", "/", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET\x85/\xa0HTTP/1.0",
            Ok(("GET", "/", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET\x0b/\x0cHTTP/1.0\r\r\n",
            Ok(("GET", "/", Some("HTTP/1.0"), (1, 0))),
        ),
        (
            b"GET / HTTP/1.1\n\r",
            Ok(("GET", "/", Some("HTTP/1.1"), (1, 1))),
        ),
        (
            b"GET\x00/ HTTP/1.0",
            Err((400, "Bad HTTP/0.9 request type ('GET\\x00/')")),
        ),
        (
            b"GET / HTTP/\xb2.\xb3",
            Err((400, "Bad request version ('HTTP/².³')")),
        ),
        (
            b"GET / HTTP/1.",
            Err((400, "Bad request version ('HTTP/1.')")),
        ),
        (
            b"GET / HTTP/.1",
            Err((400, "Bad request version ('HTTP/.1')")),
        ),
        (
            b"GET / HTTP/1",
            Err((400, "Bad request version ('HTTP/1')")),
        ),
        (
            b"GET / HTTP/1/1",
            Err((400, "Bad request version ('HTTP/1/1')")),
        ),
        (
            b"GET / HTTP/+1.1",
            Err((400, "Bad request version ('HTTP/+1.1')")),
        ),
        (
            b"GET / HTTP/0000000001.9999999999",
            Ok((
                "GET",
                "/",
                Some("HTTP/0000000001.9999999999"),
                (1, u32::MAX),
            )),
        ),
        (
            b"GET / HTTP/00000000001.1",
            Err((400, "Bad request version ('HTTP/00000000001.1')")),
        ),
        (
            b"GET / HTTP/9999999999.0",
            Err((505, "Invalid HTTP version (9999999999.0)")),
        ),
        (
            b"GET / HTTP/02.0",
            Err((505, "Invalid HTTP version (02.0)")),
        ),
        (
            b"GET / HTTP/0.9",
            Ok(("GET", "/", Some("HTTP/0.9"), (0, 9))),
        ),
        (
            b"GET /a /b HTTP/2.0",
            Err((505, "Invalid HTTP version (2.0)")),
        ),
        (
            b"GET /a /b HTTP/1.1",
            Err((400, "Bad request syntax ('GET /a /b HTTP/1.1')")),
        ),
        (b"A B C FOO", Err((400, "Bad request version ('FOO')"))),
        (b"GET / it's", Err((400, "Bad request version (\"it's\")"))),
        (b"GET / 'x\"", Err((400, "Bad request version ('\\'x\"')"))),
        (
            b"P\xe9\\ /",
            Err((400, "Bad HTTP/0.9 request type ('Pé\\\\')")),
        ),
        (
            b"GET /\x1b\x7f HTTP/1.0 x",
            Err((400, "Bad request version ('x')")),
        ),
        (
            b"GET /\x1b\x7f\xa0 HTTP/1.0 HTTP/1.0",
            Err((
                400,
                "Bad request syntax ('GET /\\x1b\\x7f\\xa0 HTTP/1.0 HTTP/1.0')",
            )),
        ),
        (
            b"GET ////// HTTP/1.1",
            Ok(("GET", "/", Some("HTTP/1.1"), (1, 1))),
        ),
        (b"GET //x", Ok(("GET", "/x", None, (0, 9)))),
        (b"GET /x/", Ok(("GET", "/x/", None, (0, 9)))),
        (b" \t\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\r\n", Err((0, ""))),
    ];

    type Parsed = (String, String, Option<String>, (u32, u32));

    fn run(raw: &[u8]) -> Result<Parsed, (u16, String)> {
        let mut s = String::new();
        decode_latin1(raw, &mut s);
        match parse_request_line(s.trim_end_matches(['\r', '\n'])) {
            Ok(rl) => Ok((
                rl.command.to_owned(),
                rl.path.to_owned(),
                rl.version.map(str::to_owned),
                rl.version_number,
            )),
            Err(e) => Err((e.code(), e.message())),
        }
    }

    #[test]
    fn request_lines_match_cpython() {
        for (raw, want) in TABLE {
            let want = match want {
                Ok((c, p, v, n)) => Ok((c.to_string(), p.to_string(), v.map(str::to_owned), *n)),
                Err((code, m)) => Err((*code, m.to_string())),
            };
            assert_eq!(
                run(raw),
                want,
                "request line {:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn errors_carry_what_send_error_needs() {
        let e = parse_request_line("GET / FUBAR").unwrap_err();
        assert_eq!(e, RequestLineError::BadVersion("FUBAR".into()));
        let e = parse_request_line("GET / HTTP/2.0").unwrap_err();
        assert_eq!(e, RequestLineError::UnsupportedVersion("2.0".into()));
        assert_eq!(e.to_string(), "Invalid HTTP version (2.0)");
        let e = parse_request_line("GET").unwrap_err();
        assert_eq!(e, RequestLineError::BadSyntax("GET".into()));
        let e = parse_request_line("PUT /").unwrap_err();
        assert_eq!(e, RequestLineError::BadHttp09Method("PUT".into()));
        assert_eq!(
            parse_request_line("  ").unwrap_err(),
            RequestLineError::Empty
        );
        assert_eq!(RequestLineError::Empty.code(), 0);
        assert_eq!(RequestLineError::Empty.message(), "");
    }

    #[test]
    fn results_borrow_from_the_line() {
        let line = String::from("GET ///a HTTP/1.1");
        let rl = parse_request_line(&line).unwrap();
        let range = line.as_bytes().as_ptr_range();
        for part in [rl.command, rl.path, rl.version.unwrap()] {
            assert!(range.contains(&part.as_ptr()));
        }
        assert_eq!(rl.path, "/a");
    }

    #[test]
    fn python_whitespace_is_not_rusts() {
        // U+001C..U+001F split words in Python; they are not Rust whitespace.
        for c in ['\x1c', '\x1d', '\x1e', '\x1f'] {
            assert!(is_py_space(c) && !c.is_whitespace());
        }
        // U+200B is neither.
        assert!(!is_py_space('\u{200b}'));
        let line = "GET\u{3000}/\u{2028}HTTP/1.1";
        assert_eq!(parse_request_line(line).unwrap().path, "/");
    }

    #[test]
    fn decode_latin1_maps_bytes_to_code_points() {
        let all: Vec<u8> = (0..=255).collect();
        let mut s = String::from("keep:");
        decode_latin1(&all, &mut s);
        let want: String = "keep:".chars().chain((0..=255u8).map(char::from)).collect();
        assert_eq!(s, want);
        let mut ascii = String::new();
        decode_latin1(b"GET / HTTP/1.1", &mut ascii);
        assert_eq!(ascii, "GET / HTTP/1.1");
    }

    fn read(input: &[u8]) -> (Result<(), HeaderError>, Vec<u8>, usize) {
        let mut r = input;
        let mut block = Vec::new();
        let res = read_header_block(&mut r, &mut block).unwrap();
        (res, block, input.len() - r.len())
    }

    #[test]
    fn header_block_stops_at_the_blank_line() {
        for (input, block) in [
            (
                &b"A: 1\r\nB: 2\r\n\r\nbody"[..],
                &b"A: 1\r\nB: 2\r\n\r\n"[..],
            ),
            (b"A: 1\n\nbody", b"A: 1\n\n"),
            (b"\r\nbody", b"\r\n"),
            (b"\nbody", b"\n"),
            (b"", b""),
            (b"A: 1\r\n", b"A: 1\r\n"),
            (b"A: 1", b"A: 1"),
            // A bare CR does not end the block (the email parser splits on it later).
            (b"A: 1\r\r\nB\r\n\r\nx", b"A: 1\r\r\nB\r\n\r\n"),
            (b"A: 1\r\n \r\n\r\nx", b"A: 1\r\n \r\n\r\n"),
        ] {
            let (res, got, consumed) = read(input);
            assert_eq!(res, Ok(()));
            assert_eq!(got, block);
            assert_eq!(consumed, block.len(), "nothing past the block is consumed");
        }
    }

    #[test]
    fn header_block_appends() {
        let mut r: &[u8] = b"B: 2\r\n\r\n";
        let mut block = b"kept".to_vec();
        read_header_block(&mut r, &mut block).unwrap().unwrap();
        assert_eq!(block, b"keptB: 2\r\n\r\n");
    }

    #[test]
    fn header_line_limit() {
        // 65536 bytes with the CRLF: accepted.
        let mut ok = vec![b'X', b':'];
        ok.resize(MAXLINE - 2, b'a');
        ok.extend_from_slice(b"\r\n\r\n");
        assert_eq!(read(&ok).0, Ok(()));
        // 65537: refused after reading exactly 65537 bytes.
        let mut long = vec![b'X', b':'];
        long.resize(MAXLINE - 1, b'a');
        long.extend_from_slice(b"\r\n\r\n");
        let (res, block, consumed) = read(&long);
        assert_eq!(res, Err(HeaderError::LineTooLong));
        assert_eq!((block.len(), consumed), (MAXLINE + 1, MAXLINE + 1));
        // §2.6 test_header_length.
        let mut t = b"X-Foo: bar".to_vec();
        t.resize(t.len() + 65537, b'r');
        t.extend_from_slice(b"\r\n\r\n");
        assert_eq!(read(&t).0, Err(HeaderError::LineTooLong));
        assert_eq!(HeaderError::LineTooLong.message(), "Line too long");
        assert_eq!(
            HeaderError::LineTooLong.explain(),
            "got more than 65536 bytes when reading header line"
        );
    }

    #[test]
    fn header_count_limit() {
        for (n, want) in [
            (MAXHEADERS - 1, Ok(())),
            (MAXHEADERS, Err(HeaderError::TooManyHeaders)),
            (MAXHEADERS + 1, Err(HeaderError::TooManyHeaders)),
        ] {
            let mut b = b"X-Foo: bar\r\n".repeat(n);
            b.extend_from_slice(b"\r\n");
            assert_eq!(read(&b).0, want, "{n} headers");
        }
        // 100 lines then EOF: the empty read is the 101st line.
        assert_eq!(
            read(&b"X: 1\r\n".repeat(MAXHEADERS)).0,
            Err(HeaderError::TooManyHeaders)
        );
        assert_eq!(read(&b"X: 1\r\n".repeat(MAXHEADERS - 1)).0, Ok(()));
        assert_eq!(HeaderError::TooManyHeaders.message(), "Too many headers");
        assert_eq!(
            HeaderError::TooManyHeaders.explain(),
            "got more than 100 headers"
        );
        assert_eq!(
            HeaderError::TooManyHeaders.to_string(),
            "got more than 100 headers"
        );
    }

    /// A reader that hands out one byte per `fill_buf` and then fails.
    struct Trickle<'a> {
        data: &'a [u8],
        fail: bool,
    }

    impl io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.fill_buf()?.len().min(buf.len()).min(1);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Trickle<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.data.is_empty() && self.fail {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
            }
            Ok(&self.data[..self.data.len().min(1)])
        }
        fn consume(&mut self, n: usize) {
            self.data = &self.data[n..];
        }
    }

    #[test]
    fn header_block_from_a_slow_reader() {
        let mut r = Trickle {
            data: b"A: 1\r\nB: 2\r\n\r\nbody",
            fail: false,
        };
        let mut block = Vec::new();
        read_header_block(&mut r, &mut block).unwrap().unwrap();
        assert_eq!(block, b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(r.data, b"body");
    }

    /// The same lines, the same consumption and the same outcome whatever the reader's
    /// buffer size (lines and `\r\n` split across `fill_buf` calls).
    #[test]
    fn header_block_independent_of_buffering() {
        let mut inputs: Vec<Vec<u8>> = vec![
            b"A: 1\r\nB: 2\r\n\r\nbody".to_vec(),
            b"A: 1\nB\r\r\n \r\n\n".to_vec(),
            b"A: 1\x0b\n\x0b\nB: 2\r\n\r\n".to_vec(),
            b"A: 1\r\nno end".to_vec(),
            b"\r\n".to_vec(),
            b"\r".to_vec(),
            b"X: 1\r\n".repeat(99),
            b"X: 1\r\n".repeat(100),
        ];
        for len in [MAXLINE - 2, MAXLINE - 1, MAXLINE, MAXLINE + 1, MAXLINE + 40] {
            let mut line = vec![b'a'; len];
            line.extend_from_slice(b"\r\n\r\n");
            inputs.push(line.clone());
            let mut after = b"A: 1\r\n".to_vec();
            after.extend_from_slice(&line);
            inputs.push(after);
            inputs.push(vec![b'a'; len]);
        }
        for input in &inputs {
            let want = read(input);
            for cap in [1, 2, 3, 7, 8, 9, 64, 8192] {
                let mut r = io::BufReader::with_capacity(cap, input.as_slice());
                let mut block = Vec::new();
                let res = read_header_block(&mut r, &mut block).unwrap();
                let mut rest = Vec::new();
                io::Read::read_to_end(&mut r, &mut rest).unwrap();
                let got = (res, block, input.len() - rest.len());
                assert!(
                    got == want,
                    "capacity {cap}, input of {} bytes",
                    input.len()
                );
            }
        }
    }

    /// `read_line` is `take(limit).read_until(b'\n')`: the same bytes, the same
    /// consumption, whatever the buffering and the limit.
    #[test]
    fn read_line_is_take_read_until() {
        let mut inputs: Vec<Vec<u8>> = vec![
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            b"\n\n".to_vec(),
            b"no newline".to_vec(),
            b"".to_vec(),
            b"exactly8\nrest".to_vec(),
            b"\r\r\r\r\r\r\r\r\r\r\r\r\n".to_vec(),
        ];
        for len in [MAXLINE - 1, MAXLINE, MAXLINE + 1, MAXLINE + 2] {
            let mut line = vec![b'a'; len];
            line.extend_from_slice(b"\nnext\n");
            inputs.push(line);
        }
        for input in &inputs {
            for limit in [0, 1, 7, 8, 9, 16, MAXLINE + 1] {
                let mut want = Vec::new();
                let mut r = input.as_slice();
                let n = io::Read::take(&mut r, limit as u64)
                    .read_until(b'\n', &mut want)
                    .unwrap();
                let want = (n, want, input.len() - r.len());
                for cap in [1, 2, 7, 8, 9, 64, 8192] {
                    let mut r = io::BufReader::with_capacity(cap, input.as_slice());
                    let mut got = b"kept".to_vec();
                    let n = read_line(&mut r, limit, &mut got).unwrap();
                    let mut rest = Vec::new();
                    io::Read::read_to_end(&mut r, &mut rest).unwrap();
                    assert_eq!(&got[..4], b"kept");
                    let got = (n, got[4..].to_vec(), input.len() - rest.len());
                    assert!(got == want, "limit {limit}, capacity {cap}");
                }
            }
        }
        // Every offset of the newline in and across words.
        for len in 0..40 {
            let mut input = vec![b'a'; len];
            input.extend_from_slice(b"\nb\n");
            let mut got = Vec::new();
            read_line(&mut input.as_slice(), MAXLINE + 1, &mut got).unwrap();
            assert_eq!(got, input[..=len]);
        }
        // What was read before an error stays read.
        let mut r = Trickle {
            data: b"GET /",
            fail: true,
        };
        let mut line = Vec::new();
        let err = read_line(&mut r, 100, &mut line).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(line, b"GET /");
    }

    /// The word-at-a-time scanners against byte loops: every interesting byte pair at
    /// every offset in and across words.
    #[test]
    fn word_scanners_match_byte_loops() {
        let name = |b: u8| matches!(b, 0x21..=0x39 | 0x3b..=0x7e);
        let special = [
            b'\r', b'\n', b':', b' ', b'\t', 0x00, 0x0b, 0x0e, 0x20, 0x21, 0x39, 0x3b, 0x7e, 0x7f,
            0x80, 0xff, b'a',
        ];
        for len in 0..19 {
            for &b in &special {
                for &c in &special {
                    let mut hay = vec![b'a'; len];
                    hay.extend_from_slice(&[b, c, b'x', b'y']);
                    for from in 0..=hay.len() {
                        let eol = (from..hay.len())
                            .find(|&i| matches!(hay[i], b'\r' | b'\n'))
                            .unwrap_or(hay.len());
                        assert_eq!(find_eol(&hay, from), eol, "{hay:?} from {from}");
                        let end = (from..hay.len())
                            .find(|&i| !name(hay[i]))
                            .unwrap_or(hay.len());
                        assert_eq!(name_end(&hay, from), end, "{hay:?} from {from}");
                        let colon = (end > from && hay.get(end) == Some(&b':')).then_some(end);
                        assert_eq!(field_colon(&hay, from), colon, "{hay:?} from {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn request_line_decoding_strips_line_ends() {
        for (raw, want) in [
            (&b"GET / HTTP/1.1\r\n"[..], "GET / HTTP/1.1"),
            (b"GET /\n\r\n\r", "GET /"),
            (b"\r\n", ""),
            (b"", ""),
            (b" a \t\r\n", " a \t"),
            (b"\xe9\r\xe9\n", "\u{e9}\r\u{e9}"),
        ] {
            let mut s = String::from(">");
            decode_request_line(raw, &mut s);
            assert_eq!(s, format!(">{want}"));
        }
    }

    #[test]
    fn header_block_io_errors_pass_through() {
        let mut r = Trickle {
            data: b"A: 1\r\nB:",
            fail: true,
        };
        let mut block = Vec::new();
        let err = read_header_block(&mut r, &mut block).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
