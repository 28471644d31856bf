//! A sans-IO, streaming `multipart/form-data` parser: bytes in, events out, with the
//! line rules of Python 3.12's `cgi.FieldStorage`.
//!
//! # The rules (CPython 3.12 `cgi.py`, `read_multi` and `read_lines_to_outerboundary`)
//!
//! * Preamble: lines are skipped until one whose `strip()` is `--boundary`.
//! * A part's headers end at the first line whose `strip()` is empty; they are read as
//!   [`parse_part_headers`](super::header) describes.
//! * A part's content ends at a line that starts with `--boundary` and whose `rstrip()`
//!   is `--boundary` (another part follows) or `--boundary--` (the last one). A line
//!   ends at `\n`, so CRLF and bare LF both work; the line ending just before the
//!   boundary line (`\r\n` or `\n`) is not part of the content.
//! * Epilogue: ignored (drained by the reader, so a keep-alive connection stays in step).
//!
//! Memory: the parser holds at most one header block ([`Limits::max_header_size`]) or
//! the bytes that might be the start of a boundary line (a few dozen bytes); content is
//! handed out as it arrives.
//!
//! [`Limits::max_header_size`]: super::Limits::max_header_size

use super::error::FormError;
use super::header::{parse_header, parse_part_headers, HeaderValue};
use crate::http::HttpMessage;

/// What one part's headers say, as `cgi.FieldStorage` exposes it on a part.
#[derive(Debug, Clone, Default)]
pub struct PartInfo {
    /// All the part's headers (`Content-Length` dropped, as `cgi` drops it).
    pub headers: HttpMessage,
    /// `name` from `Content-Disposition` (Python's `field.name`).
    pub name: Option<String>,
    /// `filename` from `Content-Disposition`, or its RFC 2231/5987 form `filename*`
    /// when present (Python's `field.filename`; Python ignores `filename*`).
    pub filename: Option<String>,
    /// The content type's main value; `text/plain` when the part has none (Python's
    /// `field.type`).
    pub content_type: String,
    /// The content type's parameters (Python's `field.type_options`).
    pub type_options: Vec<(String, String)>,
    /// `Content-Disposition`'s main value, `""` when absent (Python's `disposition`).
    pub disposition: String,
    /// `Content-Disposition`'s parameters (Python's `disposition_options`).
    pub disposition_options: Vec<(String, String)>,
}

impl PartInfo {
    /// Reads the fields of `cgi.FieldStorage.__init__` from a part's headers.
    pub fn from_headers(headers: HttpMessage) -> PartInfo {
        let disp = headers
            .get("content-disposition")
            .map(parse_header)
            .unwrap_or_default();
        let ctype = match headers.get("content-type") {
            Some(v) => parse_header(v),
            None => HeaderValue {
                value: "text/plain".to_owned(),
                params: Vec::new(),
            },
        };
        PartInfo {
            name: disp.param_ext("name"),
            filename: disp.param_ext("filename"),
            content_type: ctype.value,
            type_options: ctype.params,
            disposition: disp.value,
            disposition_options: disp.params,
            headers,
        }
    }
}

/// One thing the parser found.
#[derive(Debug)]
pub enum Event<'a> {
    /// A part begins; its headers.
    Part(Box<PartInfo>),
    /// Some of the current part's content.
    Data(&'a [u8]),
    /// The current part's content is complete.
    PartEnd,
    /// The closing boundary: the form is complete (anything after it is epilogue).
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    Headers,
    Data,
    Epilogue,
}

/// Whitespace as Python's `bytes.strip()` sees it.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn strip(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ws(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ws(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    hay.iter().position(|&x| x == b)
}

enum Check {
    /// Not a boundary line.
    No,
    /// Could be a boundary line; more bytes are needed to tell.
    More,
    /// A boundary line of `len` bytes (its `\n` included); `last` for `--boundary--`.
    Yes { last: bool, len: usize },
}

/// The streaming parser. Feed it bytes with [`feed`](MultipartParser::feed) (and
/// [`feed_eof`](MultipartParser::feed_eof) at the end) whenever
/// [`next_event`](MultipartParser::next_event) answers `Ok(None)`.
///
/// ```
/// use socketserver::http::forms::{Event, MultipartParser};
///
/// let mut p = MultipartParser::new(b"XyZ", 16 * 1024, 1000).unwrap();
/// p.feed(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--Xy");
/// let mut content = Vec::new();
/// let mut name = None;
/// loop {
///     match p.next_event(usize::MAX).unwrap() {
///         Some(Event::Part(info)) => name = info.name.clone(),
///         Some(Event::Data(d)) => content.extend_from_slice(d),
///         Some(Event::PartEnd) => {}
///         Some(Event::End) => break,
///         // The boundary was split across two reads: feed the rest.
///         None => p.feed(b"Z--\r\n"),
///     }
/// }
/// assert_eq!((name.as_deref(), &content[..]), (Some("a"), &b"hello"[..]));
/// ```
#[derive(Debug)]
pub struct MultipartParser {
    /// `--` + boundary.
    delim: Vec<u8>,
    buf: Vec<u8>,
    pos: usize,
    state: State,
    eof: bool,
    fed_any: bool,
    /// Data state: the content starts at `buf[pos]` (a boundary may follow at once).
    at_content_start: bool,
    /// Preamble state: the current line was too long to be the boundary line.
    skipping_line: bool,
    /// How far past `pos` lines have been looked at already (preamble and headers), so
    /// a block that trickles in is not scanned again from its start.
    scanned: usize,
    /// The closing boundary was seen; [`Event::End`] is still to be reported.
    end_pending: bool,
    max_header_size: usize,
    max_parts: usize,
    parts: usize,
}

/// Whether `cgi.valid_boundary` accepts `b`: 1 to 201 printable ASCII characters, the
/// last one not a space.
pub fn valid_boundary(b: &[u8]) -> bool {
    (1..=201).contains(&b.len())
        && b.iter().all(|&c| (b' '..=b'~').contains(&c))
        && b[b.len() - 1] != b' '
}

impl MultipartParser {
    /// A parser for `boundary` (the `boundary` parameter of the content type), refusing
    /// header blocks above `max_header_size` bytes and more than `max_parts` parts.
    pub fn new(
        boundary: &[u8],
        max_header_size: usize,
        max_parts: usize,
    ) -> Result<MultipartParser, FormError> {
        if !valid_boundary(boundary) {
            return Err(FormError::InvalidBoundary(
                String::from_utf8_lossy(boundary).into_owned(),
            ));
        }
        let mut delim = b"--".to_vec();
        delim.extend_from_slice(boundary);
        Ok(MultipartParser {
            delim,
            buf: Vec::new(),
            pos: 0,
            state: State::Preamble,
            eof: false,
            fed_any: false,
            at_content_start: false,
            skipping_line: false,
            end_pending: false,
            scanned: 0,
            max_header_size,
            max_parts,
            parts: 0,
        })
    }

    /// Appends input. Call it when [`next_event`](MultipartParser::next_event) has
    /// answered `Ok(None)`; the parser then holds only a bounded tail.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.state == State::Epilogue {
            return;
        }
        self.fed_any |= !data.is_empty();
        self.buf.extend_from_slice(data);
    }

    /// Changes how many parts the form may hold.
    pub(crate) fn set_max_parts(&mut self, max_parts: usize) {
        self.max_parts = max_parts;
    }

    /// Marks the end of the input.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// True once the closing boundary has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Epilogue
    }

    /// The next event, `Ok(None)` when more input is needed (or, after
    /// [`Event::End`], never again anything). A [`Event::Data`] holds at most
    /// `max_data` bytes.
    pub fn next_event(&mut self, max_data: usize) -> Result<Option<Event<'_>>, FormError> {
        loop {
            match self.state {
                State::Preamble => {
                    if !self.preamble()? {
                        if self.state == State::Epilogue {
                            return Ok(Some(Event::End));
                        }
                        return Ok(None);
                    }
                }
                State::Headers => return self.headers(),
                State::Data => return self.data(max_data.max(1)),
                State::Epilogue => {
                    self.pos = self.buf.len();
                    if std::mem::take(&mut self.end_pending) {
                        return Ok(Some(Event::End));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Skips preamble lines; `true` once the first boundary line has been consumed.
    fn preamble(&mut self) -> Result<bool, FormError> {
        let cap = self.delim.len() + self.max_header_size;
        loop {
            let rest = &self.buf[self.pos..];
            let from = self.scanned.min(rest.len());
            match find_byte(&rest[from..], b'\n').map(|i| i + from) {
                Some(nl) => {
                    self.scanned = 0;
                    // A line longer than `cap` is skipped unread when it arrives in
                    // pieces (below); whole, it is skipped too, so that the answer does
                    // not depend on how the body was cut.
                    let matched =
                        !self.skipping_line && nl <= cap && strip(&rest[..=nl]) == self.delim;
                    self.pos += nl + 1;
                    self.skipping_line = false;
                    if matched {
                        self.state = State::Headers;
                        return Ok(true);
                    }
                }
                None if self.eof => {
                    if !self.skipping_line
                        && !rest.is_empty()
                        && rest.len() <= cap
                        && strip(rest) == self.delim
                    {
                        return Err(FormError::Truncated(
                            "the body ends after its first boundary",
                        ));
                    }
                    if !self.fed_any {
                        // An empty body is an empty form, as in Python.
                        self.state = State::Epilogue;
                        return Ok(false);
                    }
                    return Err(FormError::Truncated("the body has no boundary line"));
                }
                None => {
                    if rest.len() > cap {
                        self.skipping_line = true;
                        self.pos = self.buf.len();
                    }
                    self.scanned = self.buf.len() - self.pos;
                    return Ok(false);
                }
            }
        }
    }

    fn headers(&mut self) -> Result<Option<Event<'_>>, FormError> {
        let rest = &self.buf[self.pos..];
        // `scanned` is the start of the first line not yet complete.
        let mut i = self.scanned.min(rest.len());
        while let Some(nl) = find_byte(&rest[i..], b'\n') {
            let line = &rest[i..=i + nl];
            i += nl + 1;
            if i > self.max_header_size {
                return Err(FormError::HeaderTooLarge {
                    limit: self.max_header_size,
                });
            }
            if strip(line).is_empty() {
                let headers = parse_part_headers(&rest[..i]);
                self.pos += i;
                self.scanned = 0;
                self.parts += 1;
                if self.parts > self.max_parts {
                    return Err(FormError::TooManyFields {
                        limit: self.max_parts,
                    });
                }
                self.state = State::Data;
                self.at_content_start = true;
                return Ok(Some(Event::Part(Box::new(PartInfo::from_headers(headers)))));
            }
        }
        if rest.len() > self.max_header_size {
            return Err(FormError::HeaderTooLarge {
                limit: self.max_header_size,
            });
        }
        if self.eof {
            return Err(FormError::Truncated(
                "the body ends inside a part's headers",
            ));
        }
        Ok(None)
    }

    /// Whether `s` (the bytes from a line start) begins a boundary line.
    fn check(&self, s: &[u8]) -> Check {
        let d = &self.delim;
        if s.len() < d.len() {
            return if !self.eof && d.starts_with(s) {
                Check::More
            } else {
                Check::No
            };
        }
        if !s.starts_with(d) {
            return Check::No;
        }
        let rest = &s[d.len()..];
        let (line, len) = match find_byte(rest, b'\n') {
            Some(nl) => (&rest[..nl], d.len() + nl + 1),
            None if self.eof => (rest, s.len()),
            None => {
                // Could it still become `--B` + spaces or `--B--` + spaces?
                let tail = rest.strip_prefix(b"--").unwrap_or(rest);
                let plausible = rest == b"-" || tail.iter().all(|&b| is_ws(b));
                return if plausible && rest.len() <= self.max_header_size {
                    Check::More
                } else {
                    Check::No
                };
            }
        };
        // A line is waited for only up to `max_header_size` bytes after the delimiter (see
        // above); a longer one is content, however it arrived, so that the answer does
        // not depend on how the body was cut.
        if line.len() > self.max_header_size {
            return Check::No;
        }
        let mut end = line.len();
        while end > 0 && is_ws(line[end - 1]) {
            end -= 1;
        }
        match &line[..end] {
            b"" => Check::Yes { last: false, len },
            b"--" => Check::Yes { last: true, len },
            _ => Check::No,
        }
    }

    fn data(&mut self, max_data: usize) -> Result<Option<Event<'_>>, FormError> {
        let hay = &self.buf[self.pos..];
        let mut candidate = if self.at_content_start { Some(0) } else { None };
        let mut search = 0;
        // (line start, verdict) of the first boundary line or possible boundary line.
        let mut found: Option<(usize, Check)> = None;
        loop {
            let s = match candidate.take() {
                Some(s) => s,
                None => match find_byte(&hay[search..], b'\n') {
                    Some(nl) => search + nl + 1,
                    None => break,
                },
            };
            search = s;
            match self.check(&hay[s..]) {
                Check::No => continue,
                verdict => {
                    found = Some((s, verdict));
                    break;
                }
            }
        }
        // Where the content before the line at `s` ends: its `\r\n` or `\n` is dropped.
        let content_end = |s: usize| {
            if s == 0 {
                0
            } else if s >= 2 && hay[s - 2] == b'\r' {
                s - 2
            } else {
                s - 1
            }
        };
        let available = match &found {
            Some((s, Check::Yes { last, len })) => {
                let end = content_end(*s);
                if end == 0 {
                    let (last, consumed) = (*last, s + len);
                    self.pos += consumed;
                    self.at_content_start = false;
                    self.state = if last {
                        State::Epilogue
                    } else {
                        State::Headers
                    };
                    // `PartEnd` now, `End` from the next call.
                    self.end_pending = last;
                    return Ok(Some(Event::PartEnd));
                }
                end
            }
            Some((s, _more)) => content_end(*s),
            None if self.eof => {
                return Err(FormError::Truncated(
                    "the body ends before the part's closing boundary",
                ))
            }
            // A final '\r' may be the start of the line ending before a boundary.
            None if hay.last() == Some(&b'\r') => hay.len() - 1,
            None => hay.len(),
        };
        let n = available.min(max_data);
        if n == 0 {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += n;
        self.at_content_start = false;
        Ok(Some(Event::Data(&self.buf[start..start + n])))
    }
}
