//! Sans-IO parsing of an HTTP request head, byte-compatible with CPython 3.13's
//! `BaseHTTPRequestHandler.parse_request` and `http.client.parse_headers` (with the later
//! fixes gh-54930 and gh-70765).
//!
//! STUB: signatures only; the implementation lands separately.
#![allow(dead_code, unused_variables)]

use std::io::{self, BufRead};

/// `http.client._MAXLINE`: the longest request line or header line, in bytes, including
/// the line ending.
pub const MAXLINE: usize = 65536;
/// `http.client._MAXHEADERS`: more header lines than this (the blank line counts) is an
/// error.
pub const MAXHEADERS: usize = 100;

/// Appends `bytes` decoded as ISO-8859-1 (every byte is the code point of the same value)
/// to `out`.
pub fn decode_latin1(bytes: &[u8], out: &mut String) {
    todo!()
}

/// Python's `str.split()` with no argument, on Latin-1 text: the words between runs of
/// whitespace (`\t \n \x0b \x0c \r \x1c`–`\x1f`, space, U+0085, U+00A0).
pub fn split_words(s: &str) -> impl Iterator<Item = &str> + '_ {
    s.split(|c: char| {
        matches!(
            c,
            '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}'
        )
    })
    .filter(|w| !w.is_empty())
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
        todo!()
    }
    /// CPython's exact message, `%r` included (e.g. `Bad request version ('FUBAR')`).
    pub fn message(&self) -> String {
        todo!()
    }
}

/// CPython's `parse_request` on a decoded request line (trailing `\r`/`\n` already
/// stripped).
pub fn parse_request_line(requestline: &str) -> Result<RequestLine<'_>, RequestLineError> {
    todo!()
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
        todo!()
    }
    /// CPython's explanation: `got more than 65536 bytes when reading header line` /
    /// `got more than 100 headers`.
    pub fn explain(&self) -> &'static str {
        todo!()
    }
}

/// `http.client._read_headers`: reads header lines (each at most [`MAXLINE`] bytes) into
/// `block` until a blank line (`\r\n` or `\n`, kept in `block`) or EOF.
pub fn read_header_block<R: BufRead>(
    r: &mut R,
    block: &mut Vec<u8>,
) -> io::Result<Result<(), HeaderError>> {
    todo!()
}
