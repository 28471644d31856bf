//! `HttpMessage`: the request headers, as Python's `http.client.HTTPMessage` parses and
//! presents them.
//!
//! Python hands the header block, decoded as Latin-1, to `email.parser.Parser` with the
//! `compat32` policy. That parser is lenient in ways a port must reproduce:
//!
//! * lines end at `\r\n`, `\n` **or a bare `\r`** (gh-114782: `X: a\rY: b` is two
//!   headers);
//! * a header line is `From `, a name of characters `!`–`9`, `;`–`~` followed directly by
//!   `:`, or a continuation starting with a space or tab; the first other line ends the
//!   headers — a blank line is the separator, anything else (`NoColonHere`, `X : 1`)
//!   starts the body and every header after it is lost;
//! * a continuation line is appended to the previous value verbatim, line ending
//!   included (`X: 1\r\n  more` gives `"1\r\n  more"`); a continuation with no header
//!   before it is ignored;
//! * `From ` lines are mbox envelope lines: ignored, except that one in last position is
//!   pushed back into the body;
//! * a line starting with `:` (no name) is ignored;
//! * the value is the text after the first `:`, leading spaces and tabs removed, trailing
//!   `\r`/`\n` removed; trailing spaces stay;
//! * names keep their case; lookups ignore it; duplicates are all kept, `get` returns the
//!   first.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead};
use std::ops::Range;

use super::parse::{
    decode_latin1, field_colon, find_eol, is_py_space, name_end, read_header_block, HeaderError,
    MAXHEADERS, MAXLINE,
};

/// The headers of a request (Python's `self.headers`, an `http.client.HTTPMessage`).
///
/// Names and values are ranges into one `String`, so parsing the next request of a
/// kept-alive connection into the same value ([`HttpMessage::parse_into`]) reuses the
/// storage instead of allocating per header.
///
/// ```
/// use socketserver::http::headers::HttpMessage;
///
/// let h = HttpMessage::parse(b"Host: a\r\nX-Long: 1\r\n  2\r\nhost: b\r\n\r\n");
/// assert_eq!(h.get("HOST"), Some("a"));
/// assert_eq!(h.get_all("host").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(h.get("x-long"), Some("1\r\n  2"));
/// assert_eq!(h.to_string(), "Host: a\nX-Long: 1\n  2\nhost: b\n\n");
/// ```
#[derive(Default)]
pub struct HttpMessage {
    text: String,
    fields: Vec<Field>,
    /// What Python's parser keeps as the payload: a pushed-back `From ` line, then the
    /// lines after the headers. Only `Display` uses it.
    body: [Range<usize>; 2],
    /// [`HttpMessage::read_from_with`]'s working storage; not part of the value.
    ahead: Ahead,
}

/// A header field: the ranges of its name and value in the text.
type Field = (Range<usize>, Range<usize>);

/// What [`HttpMessage::read_from_with`] keeps between requests: the parse it makes while
/// finding the block, and a buffer for a block that has to be collected from several
/// reads.
#[derive(Default)]
struct Ahead {
    /// A whole header block, verbatim; it is ASCII, so it is also its own Latin-1
    /// decoding.
    text: String,
    /// The fields of `text`, as [`parse_section`] finds them; the payload of such a
    /// block is empty.
    fields: Vec<Field>,
    /// True when `text` and `fields` hold a parse of `text` that
    /// [`HttpMessage::parse_into`] of the same bytes can take instead of parsing again.
    ready: bool,
    /// The number of the [`LENT`] record made when `text` was parsed.
    lending: u64,
    /// A block read line by line (the general path).
    block: Vec<u8>,
}

thread_local! {
    /// The block that [`HttpMessage::read_from_with`] is lending its parser on this
    /// thread, if any: (the number of the lending, the block's address, its length);
    /// `(0, 0, 0)` when none. The block stays borrowed, and so unchanged, until the
    /// record is taken down, so a slice with that address and length is that block.
    static LENT: Cell<(u64, usize, usize)> = const { Cell::new((0, 0, 0)) };
    /// The number of the last lending on this thread.
    static LENDINGS: Cell<u64> = const { Cell::new(0) };
}

/// Puts back the [`LENT`] record that was there before, even when the parser panics.
struct EndLending((u64, usize, usize));

impl Drop for EndLending {
    #[inline]
    fn drop(&mut self) {
        LENT.with(|lent| lent.set(self.0));
    }
}

impl Clone for HttpMessage {
    fn clone(&self) -> HttpMessage {
        HttpMessage {
            text: self.text.clone(),
            fields: self.fields.clone(),
            body: self.body.clone(),
            ahead: Ahead::default(),
        }
    }
}

impl Eq for HttpMessage {}

impl PartialEq for HttpMessage {
    /// The same headers and payload (working storage aside).
    fn eq(&self, other: &HttpMessage) -> bool {
        self.text == other.text && self.fields == other.fields && self.body == other.body
    }
}

impl HttpMessage {
    /// No headers.
    pub fn new() -> HttpMessage {
        HttpMessage::default()
    }
    /// Parses a header block the way Python's email parser does.
    pub fn parse(block: &[u8]) -> HttpMessage {
        let mut m = HttpMessage::new();
        m.parse_into(block);
        m
    }
    /// Replaces the headers with those parsed from `block`, reusing storage.
    ///
    /// `block` is decoded as Latin-1 (so every byte sequence parses; nothing fails).
    ///
    /// Called by [`read_from_with`](HttpMessage::read_from_with)'s `parse` with the block
    /// it has just parsed (or a copy of it), this takes that parse instead of repeating
    /// it: two swaps.
    #[inline]
    pub fn parse_into(&mut self, block: &[u8]) {
        let ahead = &self.ahead;
        if ahead.ready
            && (LENT.with(Cell::get) == (ahead.lending, block.as_ptr() as usize, block.len())
                || ahead.text.as_bytes() == block)
        {
            // `ahead` is the parse of these very bytes: the block `read_from_with` is
            // lending its parser right now, or the same bytes elsewhere.
            std::mem::swap(&mut self.text, &mut self.ahead.text);
            std::mem::swap(&mut self.fields, &mut self.ahead.fields);
            let end = self.text.len();
            self.body = [0..0, end..end];
            self.ahead.ready = false;
        } else {
            self.parse_anew(block);
        }
    }
    /// [`parse_into`](HttpMessage::parse_into) when there is no parse to take.
    #[inline(never)]
    fn parse_anew(&mut self, block: &[u8]) {
        self.clear();
        decode_latin1(block, &mut self.text);
        self.body = parse_section(&self.text, 0, &mut self.fields);
    }
    /// Python's `http.client.parse_headers(rfile)` into `self`: reads a header block
    /// exactly as [`read_header_block`] does and parses it as
    /// [`parse_into`](HttpMessage::parse_into) does.
    ///
    /// This is [`read_from_with`](HttpMessage::read_from_with) with `parse_into` as the
    /// parser. `Ok(Err(_))` is a refused block (431) and `Err(_)` an I/O error; after
    /// either, `self` is as it was.
    ///
    /// ```
    /// use socketserver::http::headers::HttpMessage;
    /// let mut input: &[u8] = b"Host: x\r\nAccept: */*\r\n\r\nbody";
    /// let mut headers = HttpMessage::new();
    /// headers.read_from(&mut input).unwrap().unwrap();
    /// assert_eq!(headers.get("accept"), Some("*/*"));
    /// assert_eq!(input, b"body");
    /// ```
    pub fn read_from<R: BufRead + ?Sized>(
        &mut self,
        rfile: &mut R,
    ) -> io::Result<Result<(), HeaderError>> {
        self.read_from_with(rfile, |block, m| m.parse_into(block))
    }
    /// Reads a header block from `rfile` exactly as [`read_header_block`] does — the same
    /// limits (lines of at most 65536 bytes, at most 100 lines with the blank one), the
    /// same errors, nothing consumed past the blank line — and calls `parse(block, self)`
    /// with it. On an error `parse` is not called and `self` is as it was.
    ///
    /// When the reader's buffer already holds the whole block and the block is plain —
    /// ASCII `name: value` lines and continuation lines, each ending in `\r\n` or `\n`,
    /// then the blank line — the block is found and its fields parsed in one pass over
    /// the buffer, without copying the block out first. `parse` is then called with the
    /// block in the reader's buffer, and [`parse_into`](HttpMessage::parse_into) of those
    /// bytes takes that parse instead of parsing again; any other `parse` sees `self`
    /// unchanged and does what it likes. Every other block (split across reads,
    /// non-ASCII, `From ` lines, lines the email parser takes for the body, too long, too
    /// many) is read line by line into a buffer kept in `self` and then passed to
    /// `parse`: the outcome is the same either way.
    pub fn read_from_with<R: BufRead + ?Sized>(
        &mut self,
        rfile: &mut R,
        parse: impl FnOnce(&[u8], &mut HttpMessage),
    ) -> io::Result<Result<(), HeaderError>> {
        let buf = match rfile.fill_buf() {
            Ok(buf) => Some(buf),
            // The general path retries, as `read_header_block` does.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => None,
            Err(e) => return Err(e),
        };
        if let Some(buf) = buf {
            if buf.is_empty() {
                // EOF at once: an empty block (Python's `readline` returned `b''`).
                parse(b"", self);
                return Ok(Ok(()));
            }
            if let Some(end) = self.parse_ahead(buf) {
                let block = &buf[..end];
                let lending = LENDINGS.with(|n| {
                    n.set(n.get() + 1);
                    n.get()
                });
                self.ahead.lending = lending;
                let record = (lending, block.as_ptr() as usize, block.len());
                // The record comes down when `parse` returns (or panics), while `block`
                // is still borrowed.
                let _end = EndLending(LENT.with(|lent| lent.replace(record)));
                parse(block, self);
                drop(_end);
                rfile.consume(end);
                return Ok(Ok(()));
            }
        }
        let mut block = std::mem::take(&mut self.ahead.block);
        block.clear();
        let read = read_header_block(rfile, &mut block);
        if let Ok(Ok(())) = read {
            parse(&block, self);
        }
        self.ahead.block = block;
        read
    }
    /// Parses the plain block at the start of `buf` into `ahead` (see
    /// [`read_from_with`](HttpMessage::read_from_with)); its length, or `None` when `buf`
    /// does not start with a whole plain block.
    #[inline]
    fn parse_ahead(&mut self, buf: &[u8]) -> Option<usize> {
        let ahead = &mut self.ahead;
        ahead.ready = false;
        let end = scan_plain_block(buf, &mut ahead.fields)?;
        let text = crate::sys::ascii_str(&buf[..end])?;
        ahead.text.clear();
        ahead.text.push_str(text);
        ahead.ready = true;
        Some(end)
    }
    /// The first value of `name` (case-insensitive), as `headers.get(name)`.
    pub fn get(&self, name: &str) -> Option<&str> {
        // Only the names are sliced while looking (`iter` slices the values too).
        self.fields
            .iter()
            .find(|(n, _)| names_match(&self.text[n.clone()], name))
            .map(|(_, v)| &self.text[v.clone()])
    }
    /// Every value of `name`, in order (`headers.get_all(name)`).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| names_match(n, name))
            .map(|(_, v)| v)
    }
    /// `(name, value)` pairs in order, names as sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.fields
            .iter()
            .map(|(n, v)| (&self.text[n.clone()], &self.text[v.clone()]))
    }
    /// How many header fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    /// Removes every header.
    pub fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
        self.body = [0..0, 0..0];
    }
    /// The bytes of storage held, working storage included.
    pub(crate) fn storage_size(&self) -> usize {
        let fields = (self.fields.capacity() + self.ahead.fields.capacity()) * size_of::<Field>();
        self.text.capacity() + self.ahead.text.capacity() + self.ahead.block.capacity() + fields
    }
    /// Appends a header (Python's `add_header(name, value)` without parameters: stored
    /// as given).
    pub fn add_header(&mut self, name: &str, value: &str) {
        let n = self.text.len()..self.text.len() + name.len();
        self.text.push_str(name);
        let v = self.text.len()..self.text.len() + value.len();
        self.text.push_str(value);
        self.fields.push((n, v));
    }
}

/// Python's `k.lower() == name.lower()` where `stored` came from a header line (or
/// `add_header`).
fn names_match(stored: &str, query: &str) -> bool {
    // Lower-casing maps an ASCII character to one ASCII character, so two names whose
    // first characters are ASCII and differ but for case differ (most lookups end here).
    if let (Some(a), Some(b)) = (stored.as_bytes().first(), query.as_bytes().first()) {
        if a.is_ascii() && b.is_ascii() && !a.eq_ignore_ascii_case(b) {
            return false;
        }
    }
    // Equal but for the case of ASCII letters: equal lower-cased, whatever else is in
    // them. Otherwise two ASCII names differ.
    if stored.eq_ignore_ascii_case(query) {
        return true;
    }
    if stored.is_ascii() && query.is_ascii() {
        return false;
    }
    // Unicode lower-casing (e.g. U+212A KELVIN SIGN lower-cases to `k`), as Python does.
    stored.to_lowercase() == query.to_lowercase()
}

/// What the email parser's header pattern (`From `, a name then `:`, or leading
/// white space) says about a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Starts with a space or tab.
    Continuation,
    /// Starts with `From `.
    From,
    /// `name:`; the offset of the colon (equal to the line start for an empty name).
    Field(usize),
    /// Anything else: the end of the headers.
    Other,
}

/// Classifies the line starting at `pos`.
#[inline]
fn line_kind(b: &[u8], pos: usize) -> LineKind {
    match b.get(pos) {
        Some(b' ' | b'\t') => return LineKind::Continuation,
        None => return LineKind::Other,
        _ => {}
    }
    let i = name_end(b, pos);
    match b.get(i) {
        Some(b':') => LineKind::Field(i),
        // A name character run ending in a space: `From ` is the only other match.
        _ if b[pos..].starts_with(b"From ") => LineKind::From,
        _ => LineKind::Other,
    }
}

/// The start of the line after the one whose content ends at `eol` (a `\r`, a `\n`
/// or the end of `b`).
#[inline(always)]
fn next_line(b: &[u8], eol: usize) -> usize {
    match b.get(eol) {
        None => eol,
        Some(b'\r') if b.get(eol + 1) == Some(&b'\n') => eol + 2,
        Some(_) => eol + 1,
    }
}

/// The end of the line whose content ends at `eol` when that is a `\r\n` or a `\n`;
/// `None` for a bare `\r` or the end of `b`.
#[inline(always)]
fn crlf_end(b: &[u8], eol: usize) -> Option<usize> {
    match *b.get(eol)? {
        b'\n' => Some(eol + 1),
        _ => (*b.get(eol + 1)? == b'\n').then_some(eol + 2),
    }
}

/// Finds a plain header block at the start of `buf` and parses it in the same pass:
/// `name: value` lines (a name of `!`–`9`, `;`–`~` directly followed by `:`) and lines
/// starting with a space or tab, each ending in `\r\n` or `\n` and at most [`MAXLINE`]
/// bytes long, then a blank line, at most [`MAXHEADERS`] lines in all. Returns the
/// block's length with its fields in `fields`, or `None` for anything else.
///
/// On such a block (when ASCII) [`read_header_block`] stops at the same blank line and
/// [`parse_section`] finds the same fields: every line it sees is a readline line, a
/// continuation extends the field before it (there is always one unless the
/// continuation comes first, when it is ignored), and the payload is empty.
fn scan_plain_block(buf: &[u8], fields: &mut Vec<Field>) -> Option<usize> {
    fields.clear();
    let mut pos = 0;
    for _ in 0..MAXHEADERS {
        // The line's end first: the next line depends on nothing else, so the name
        // and the value are parsed off that chain. (A name, the `:` and the white space
        // after it never contain `\r` or `\n`, so this is also the value's end.)
        let eol = find_eol(buf, pos);
        let next = crlf_end(buf, eol)?;
        if next - pos > MAXLINE {
            return None;
        }
        match buf[pos] {
            // `eol == pos`: the blank line.
            b'\r' | b'\n' => return Some(next),
            b' ' | b'\t' => {
                if let Some(last) = fields.last_mut() {
                    last.1.end = eol;
                }
            }
            _ => {
                let colon = field_colon(buf, pos)?;
                let mut vstart = colon + 1;
                while matches!(buf[vstart], b' ' | b'\t') {
                    vstart += 1;
                }
                fields.push((pos..colon, vstart..eol));
            }
        }
        pos = next;
    }
    None
}

/// Parses the header section of `text[start..]` as `FeedParser` does, pushing the fields
/// to `fields`; returns the payload as (pushed-back `From ` line, rest).
///
/// A field is pushed as soon as its line is seen; a continuation line then moves the end
/// of the last field's value (continuations follow their field directly, so a value is
/// always one contiguous range, and since a continuation line is never empty its end is
/// where Python's `rstrip('\r\n')` stops).
fn parse_section(text: &str, start: usize, fields: &mut Vec<Field>) -> [Range<usize>; 2] {
    let b = text.as_bytes();
    let mut pos = start;
    // Whether a continuation line extends the last pushed field.
    let mut open = false;
    let mut unread = 0..0;
    let rest = loop {
        if pos >= b.len() {
            break b.len();
        }
        match line_kind(b, pos) {
            LineKind::Field(colon) if colon > pos => {
                let mut vstart = colon + 1;
                while matches!(b.get(vstart), Some(b' ' | b'\t')) {
                    vstart += 1;
                }
                let eol = find_eol(b, vstart);
                fields.push((pos..colon, vstart..eol));
                open = true;
                pos = next_line(b, eol);
            }
            LineKind::Continuation => {
                let eol = find_eol(b, pos);
                if open {
                    if let Some(last) = fields.last_mut() {
                        last.1.end = eol;
                    }
                }
                pos = next_line(b, eol);
            }
            LineKind::Other => {
                let eol = find_eol(b, pos);
                // A blank line is the separator (dropped); anything else starts the body.
                break if eol == pos { next_line(b, eol) } else { pos };
            }
            kind => {
                // `From ` lines and empty names: the field before is complete, and
                // continuation lines after them are ignored.
                let next = next_line(b, find_eol(b, pos));
                // An envelope line first is ignored; one in last position is pushed back
                // into the body (the headers before it are kept); elsewhere ignored.
                if kind == LineKind::From && pos != start && line_kind(b, next) == LineKind::Other {
                    unread = pos..next;
                }
                open = false;
                pos = next;
            }
        }
    };
    [unread, rest..b.len()]
}

impl fmt::Display for HttpMessage {
    /// What `print(self.headers)` prints, minus `print`'s own newline: Python's
    /// `str(msg)` (`email.generator` with `compat32`).
    ///
    /// Each header is `Name: value\n`, a blank line follows, then whatever Python's
    /// parser kept as the payload (only non-empty when the head was malformed, e.g. after
    /// a `NoColonHere` line) with its line endings turned into `\n`. Folded values are
    /// re-folded as Python does (`1\r\n  more` → `1\n  more`; a continuation line of one
    /// space disappears). A `message/*` content type makes Python parse the payload as a
    /// nested message, which is reproduced.
    ///
    /// Differences, on input that does not occur in practice: Python writes a value
    /// containing non-ASCII characters as RFC 2047 encoded words
    /// (`=?utf-8?b?w6TDvw==?=`); here it is written as is. Python raises
    /// `HeaderWriteError` for a value containing U+000B, U+000C or U+001C–U+001E (line
    /// breaks to `str.splitlines`); here the re-folded text is written anyway. For a
    /// `multipart/*` payload that contains its boundary, and a non-empty
    /// `message/delivery-status` payload, Python re-parses the parts; here the payload is
    /// written as text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_message(self, &mut out);
        f.write_str(&out)
    }
}

/// Python's `Message.get_content_type()` with the `text/plain` default.
fn content_type(m: &HttpMessage) -> String {
    let Some(value) = m.get("content-type") else {
        return "text/plain".to_owned();
    };
    let ctype = value.split(';').next().unwrap_or_default();
    let ctype = ctype.trim_matches(is_py_space).to_lowercase();
    if ctype.matches('/').count() == 1 {
        ctype
    } else {
        "text/plain".to_owned()
    }
}

fn write_message(m: &HttpMessage, out: &mut String) {
    for (name, value) in m.iter() {
        out.push_str(name);
        out.push_str(": ");
        fold_value(name.chars().count() + 2, value, out);
        out.push('\n');
    }
    out.push('\n');
    let body = &m.body;
    let ctype = content_type(m);
    if ctype.starts_with("multipart/") {
        // Python keeps a multipart payload without parts as one string and writes it
        // unchanged.
        out.push_str(&m.text[body[0].clone()]);
        out.push_str(&m.text[body[1].clone()]);
    } else if ctype.starts_with("message/") && ctype != "message/delivery-status" {
        let mut text = String::new();
        text.push_str(&m.text[body[0].clone()]);
        text.push_str(&m.text[body[1].clone()]);
        let mut inner = HttpMessage {
            text,
            ..HttpMessage::default()
        };
        inner.body = parse_section(&inner.text, 0, &mut inner.fields);
        write_message(&inner, out);
    } else {
        for part in body {
            write_lines(&m.text[part.clone()], out);
        }
    }
}

/// Writes `s` with every `\r\n`, `\r` and `\n` turned into `\n`.
fn write_lines(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push_str(&rest[..i]);
        out.push('\n');
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    out.push_str(rest);
}

/// True for the characters Python's `str.splitlines()` breaks at.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Python's `str.splitlines()` (line breaks not kept).
fn py_splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        match rest.char_indices().find(|&(_, c)| is_line_break(c)) {
            None => {
                lines.push(rest);
                break;
            }
            Some((i, c)) => {
                lines.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") {
                    2
                } else {
                    c.len_utf8()
                };
                rest = &rest[i + skip..];
            }
        }
    }
    lines
}

/// `email.header._ValueFormatter` with no line-length limit: the finished lines, and the
/// line being built as (folding white space, text) pairs.
struct Folder {
    lines: Vec<String>,
    cur: Vec<(String, String)>,
    initial: usize,
}

impl Folder {
    /// `_ascii_split`: `s` cut into (run of spaces/tabs, following text) pairs.
    fn feed(&mut self, s: &str) {
        let mut rest = s;
        let mut fws = "";
        loop {
            let text_len = rest.find([' ', '\t']).unwrap_or(rest.len());
            if !(fws.is_empty() && text_len == 0) {
                self.cur.push((fws.to_owned(), rest[..text_len].to_owned()));
            }
            rest = &rest[text_len..];
            if rest.is_empty() {
                break;
            }
            let ws_len = rest.find(|c| c != ' ' && c != '\t').unwrap_or(rest.len());
            fws = &rest[..ws_len];
            rest = &rest[ws_len..];
            if rest.is_empty() {
                self.cur.push((fws.to_owned(), String::new()));
                break;
            }
        }
    }

    /// Ends the current line: a trailing single-space pair is dropped, a line of only
    /// white space joins the previous line.
    fn newline(&mut self) {
        if self
            .cur
            .last()
            .is_some_and(|(fws, text)| fws == " " && text.is_empty())
        {
            self.cur.pop();
        }
        let len = self.initial
            + self
                .cur
                .iter()
                .map(|(a, b)| a.len() + b.len())
                .sum::<usize>();
        if len > 0 {
            let s: String = self
                .cur
                .iter()
                .flat_map(|(a, b)| [a.as_str(), b.as_str()])
                .collect();
            let only_ws = self.initial == 0 && !s.is_empty() && s.chars().all(is_py_space);
            match self.lines.last_mut() {
                Some(last) if only_ws => last.push_str(&s),
                _ => self.lines.push(s),
            }
        }
        self.cur.clear();
        self.initial = 0;
    }
}

/// `Header(value).encode(linesep='\n', maxlinelen=0)`: a value re-folded the way
/// `str(msg)` writes it. `headerlen` is the length of `Name: `.
fn fold_value(headerlen: usize, value: &str, out: &mut String) {
    if !value.contains(is_line_break) {
        // One line: Python writes it unchanged.
        out.push_str(value);
        return;
    }
    let mut f = Folder {
        lines: Vec::new(),
        cur: Vec::new(),
        initial: headerlen,
    };
    let lines = py_splitlines(value);
    f.feed(lines.first().copied().unwrap_or_default());
    for line in lines.iter().skip(1) {
        f.newline();
        f.feed(line);
    }
    if lines.len() > 1 {
        f.newline();
    }
    // add_transition, then the final newline() of `_str`.
    f.cur.push((" ".to_owned(), String::new()));
    f.newline();
    for (i, line) in f.lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line);
    }
}

impl fmt::Debug for HttpMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Python's `http.client.parse_headers(fp)`: reads a header block and parses it.
///
/// `Ok(Err(_))` is a refused block (431); `Err(_)` an I/O error (a timeout, a reset).
///
/// ```
/// use socketserver::http::headers::parse_headers;
/// let mut input: &[u8] = b"Connection: close\r\n\r\n";
/// let headers = parse_headers(&mut input).unwrap().unwrap();
/// assert_eq!(headers.get("connection"), Some("close"));
/// ```
pub fn parse_headers<R: BufRead>(rfile: &mut R) -> io::Result<Result<HttpMessage, HeaderError>> {
    let mut m = HttpMessage::new();
    Ok(m.read_from(rfile)?.map(|()| m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(block: &[u8]) -> Vec<(String, String)> {
        HttpMessage::parse(block)
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// (header block, CPython 3.13.0's `msg.items()`, CPython's `str(msg)`).
    type Case = (
        &'static [u8],
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    const TABLE: &[Case] = &[
        // python-stdlib.md §2.9.6
        (
            b"NoColonHere\r\nX: 1\r\n\r\n",
            &[],
            "\nNoColonHere\nX: 1\n\n",
        ),
        (b"X : spaced\r\n\r\n", &[], "\nX : spaced\n\n"),
        (
            b"X: 1\r\n  continued\r\n\r\n",
            &[("X", "1\r\n  continued")],
            "X: 1\n  continued\n\n",
        ),
        (
            b"X: a\rY: b\r\n\r\n",
            &[("X", "a"), ("Y", "b")],
            "X: a\nY: b\n\n",
        ),
        (
            b"X: \xe4\xff\r\n\r\n",
            &[("X", "\u{e4}\u{ff}")],
            "X: \u{e4}\u{ff}\n\n",
        ),
        (
            b"Host: a\r\nHost: b\r\n\r\n",
            &[("Host", "a"), ("Host", "b")],
            "Host: a\nHost: b\n\n",
        ),
        // The blank line, EOF, values.
        (b"\r\n", &[], "\n"),
        (b"", &[], "\n"),
        (b"X: 1", &[("X", "1")], "X: 1\n\n"),
        (b"X: a   \r\n\r\n", &[("X", "a   ")], "X: a   \n\n"),
        (b"X:\t \tv\r\n\r\n", &[("X", "v")], "X: v\n\n"),
        (b"X:\r\n\r\n", &[("X", "")], "X: \n\n"),
        (b"X: a:b: c\r\n\r\n", &[("X", "a:b: c")], "X: a:b: c\n\n"),
        (b"X: a\x00b\r\n\r\n", &[("X", "a\x00b")], "X: a\x00b\n\n"),
        // Folding: verbatim in the value, re-folded by str().
        (
            b"X: 1\r\n\tcontinued\r\nY: 2\r\n\r\n",
            &[("X", "1\r\n\tcontinued"), ("Y", "2")],
            "X: 1\n\tcontinued\nY: 2\n\n",
        ),
        (
            b"X:\r\n  cont\r\n\r\n",
            &[("X", "\r\n  cont")],
            "X: \n  cont\n\n",
        ),
        (b"X: 1\r\n \r\n\r\n", &[("X", "1\r\n ")], "X: 1\n\n"),
        (b"X: 1\r\n\t\r\n\r\n", &[("X", "1\r\n\t")], "X: 1\t\n\n"),
        (
            b"X: 1 \r\n  2\r\n\r\n",
            &[("X", "1 \r\n  2")],
            "X: 1\n  2\n\n",
        ),
        (
            b"X: 1\r\n  a: b\r\n\r\n",
            &[("X", "1\r\n  a: b")],
            "X: 1\n  a: b\n\n",
        ),
        (b" first\r\nX: 1\r\n\r\n", &[("X", "1")], "X: 1\n\n"),
        // A bare CR before the CRLF is a blank line: the rest is the payload.
        (b"X: a\r\r\nY: b\r\n\r\n", &[("X", "a")], "X: a\n\nY: b\n\n"),
        // `From ` lines.
        (b"From me\r\nX: 1\r\n\r\n", &[("X", "1")], "X: 1\n\n"),
        (
            b"X: 1\r\nFrom me\r\n\r\n",
            &[("X", "1")],
            "X: 1\n\nFrom me\n",
        ),
        (
            b"X: 1\r\n  c\r\nFrom me\r\n\r\n",
            &[("X", "1\r\n  c")],
            "X: 1\n  c\n\nFrom me\n",
        ),
        (
            b"X: 1\r\nFrom me\r\nY: 2\r\n\r\n",
            &[("X", "1"), ("Y", "2")],
            "X: 1\nY: 2\n\n",
        ),
        (
            b"X: 1\r\nFrom me\r\n  cont\r\nY: 2\r\n\r\n",
            &[("X", "1"), ("Y", "2")],
            "X: 1\nY: 2\n\n",
        ),
        (
            b"X: 1\r\nFrom me\r\n\rY: 2\r\n\r\n",
            &[("X", "1")],
            "X: 1\n\nFrom me\nY: 2\n\n",
        ),
        (b"From: me\r\n\r\n", &[("From", "me")], "From: me\n\n"),
        // Empty names.
        (b":x\r\n  c\r\nY: 1\r\n\r\n", &[("Y", "1")], "Y: 1\n\n"),
        // The payload of a message/* type is a nested message.
        (
            b"Content-Type: message/rfc822\r\n\r\n",
            &[("Content-Type", "message/rfc822")],
            "Content-Type: message/rfc822\n\n\n",
        ),
        (
            b"X: 1\r\nbody\r\nmore\r\n\r\n",
            &[("X", "1")],
            "X: 1\n\nbody\nmore\n\n",
        ),
    ];

    #[test]
    fn header_blocks_match_cpython() {
        for (block, want, text) in TABLE {
            let m = HttpMessage::parse(block);
            assert_eq!(
                items(block),
                pairs(want),
                "{:?}",
                String::from_utf8_lossy(block)
            );
            assert_eq!(m.to_string(), *text, "{:?}", String::from_utf8_lossy(block));
        }
    }

    #[test]
    fn lookups_ignore_case_and_return_the_first() {
        let m = HttpMessage::parse(b"Host: a\r\nX-Y: 1\r\nhost: b\r\nHOST: c\r\n\r\n");
        assert_eq!(m.get("host"), Some("a"));
        assert_eq!(m.get("HoSt"), Some("a"));
        assert_eq!(m.get("x-y"), Some("1"));
        assert_eq!(m.get("missing"), None);
        assert_eq!(m.get_all("HOST").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(m.get_all("nope").count(), 0);
        assert_eq!(m.len(), 4);
        assert!(!m.is_empty());
        // Python lower-cases with Unicode rules: KELVIN SIGN is `k`.
        let m = HttpMessage::parse(b"Keep: 1\r\n\r\n");
        assert_eq!(m.get("\u{212a}eep"), Some("1"));
        assert_eq!(m.get("\u{e9}"), None);
    }

    #[test]
    fn add_header_and_clear() {
        let mut m = HttpMessage::parse(b"A: 1\r\nbody\r\n");
        m.add_header("B", "2");
        m.add_header("Ü", "\u{263a}");
        assert_eq!(m.get("b"), Some("2"));
        assert_eq!(m.get("ü"), Some("\u{263a}"));
        assert_eq!(m.to_string(), "A: 1\nB: 2\nÜ: \u{263a}\n\nbody\n");
        // Not ASCII, and equal but for the case of an ASCII letter.
        m.add_header("Ü-x", "3");
        assert_eq!(m.get("Ü-X"), Some("3"));
        assert_eq!(m.get("ü-X"), Some("3"));
        assert_eq!(m.get("Ü-Y"), None);
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.to_string(), "\n");
        assert_eq!(m, HttpMessage::new());
    }

    #[test]
    fn reparsing_reuses_storage() {
        // read_from alternates between two sets of buffers, each reused.
        let mut m = HttpMessage::new();
        let big = b"Host: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-1: a\r\n\r\n";
        for _ in 0..2 {
            m.read_from(&mut &big[..]).unwrap().unwrap();
        }
        let ptrs = |m: &HttpMessage| {
            let mut p = [m.text.as_ptr(), m.ahead.text.as_ptr()];
            p.sort();
            p
        };
        let before = ptrs(&m);
        for _ in 0..3 {
            m.read_from(&mut &big[..]).unwrap().unwrap();
            assert_eq!(m.len(), 4);
            assert_eq!(ptrs(&m), before);
        }
        let mut m = HttpMessage::new();
        m.parse_into(big);
        let (text_cap, fields_cap) = (m.text.capacity(), m.fields.capacity());
        let text_ptr = m.text.as_ptr();
        for _ in 0..3 {
            m.parse_into(b"Host: b\r\nAccept: */*\r\n\r\n");
            assert_eq!(m.get("host"), Some("b"));
            m.parse_into(big);
            assert_eq!(m.len(), 4);
        }
        assert_eq!(
            (m.text.capacity(), m.fields.capacity()),
            (text_cap, fields_cap)
        );
        assert_eq!(m.text.as_ptr(), text_ptr);
    }

    #[test]
    fn parse_headers_reads_then_parses() {
        let mut input: &[u8] = b"A: 1\r\nB: 2\r\n\r\nrest";
        let m = parse_headers(&mut input).unwrap().unwrap();
        assert_eq!(m.get("b"), Some("2"));
        assert_eq!(input, b"rest");
        let mut many: &[u8] = &b"A: 1\r\n".repeat(100);
        assert_eq!(
            parse_headers(&mut many).unwrap().unwrap_err(),
            HeaderError::TooManyHeaders
        );
    }

    /// `read_header_block` then `HttpMessage::parse`: what `read_from` must give.
    fn two_steps(
        input: &[u8],
    ) -> (
        Result<(), HeaderError>,
        usize,
        Option<(HttpMessage, String)>,
    ) {
        let mut r = input;
        let mut block = Vec::new();
        let res = read_header_block(&mut r, &mut block).unwrap();
        let parsed = res.is_ok().then(|| {
            let m = HttpMessage::parse(&block);
            let text = m.to_string();
            (m, text)
        });
        (res, input.len() - r.len(), parsed)
    }

    fn read_from_inputs() -> Vec<Vec<u8>> {
        let mut inputs: Vec<Vec<u8>> = TABLE.iter().map(|(b, _, _)| b.to_vec()).collect();
        for extra in [
            &b"Host: a\r\nAccept: */*\r\n\r\nGET / HTTP/1.1\r\n"[..],
            b"Host: a\nX:\n\nbody",
            b"X: 1\r\n\tc\r\n d\r\nY:  \t 2 \r\n\r\n",
            b" lead\r\nX: 1\r\n\r\n",
            b"X: a\x0bb\x0c\x00\x7f\r\n\r\n",
            b"X: \xe9\r\n\r\n",
            b"\xe9: 1\r\n\r\n",
            b"X: 1\r\n\r",
            b"X: 1\r\n\rX",
            b"X: 1\r",
            b"X: 1\r\n",
            b"X: 1\n\r\n",
            b"X: 1\r\r\n\r\n",
            b"X\r\n\r\n",
            b"X:1",
            b"\n",
            b"\r\n",
            b"\r",
            b"",
        ] {
            inputs.push(extra.to_vec());
        }
        for n in [98, 99, 100, 101] {
            let mut b = b"X-Foo: bar\r\n".repeat(n);
            b.extend_from_slice(b"\r\n");
            inputs.push(b);
            let mut c = b"X: 1\r\n".to_vec();
            c.extend(b" c\r\n".repeat(n));
            c.extend_from_slice(b"\n");
            inputs.push(c);
        }
        for len in [MAXLINE - 2, MAXLINE - 1, MAXLINE] {
            let mut b = b"X: ".to_vec();
            b.resize(len, b'a');
            b.extend_from_slice(b"\r\n\r\n");
            inputs.push(b.clone());
            let mut c = b"X: 1\r\n ".to_vec();
            c.resize(len + 6, b'a');
            c.extend_from_slice(b"\n\n");
            inputs.push(c);
        }
        inputs
    }

    /// `read_from` gives what reading the block and then parsing it gives, whatever the
    /// reader's buffering, and leaves a message untouched when it refuses the block.
    #[test]
    fn read_from_is_read_header_block_then_parse() {
        let old = HttpMessage::parse(b"Old: 1\r\nOld: 2\r\n\r\n");
        for input in read_from_inputs() {
            let (want_res, want_used, want_msg) = two_steps(&input);
            for cap in [1, 2, 3, 7, 8, 9, 64, 8192, MAXLINE * 2] {
                let mut r = io::BufReader::with_capacity(cap, input.as_slice());
                let mut m = old.clone();
                let res = m.read_from(&mut r).unwrap();
                let mut rest = Vec::new();
                io::Read::read_to_end(&mut r, &mut rest).unwrap();
                let what = format!("capacity {cap}, {:?}", String::from_utf8_lossy(&input));
                assert_eq!(res, want_res, "{what}");
                assert_eq!(input.len() - rest.len(), want_used, "{what}");
                match &want_msg {
                    Some((want, text)) => {
                        assert_eq!(&m, want, "{what}");
                        assert_eq!(&m.to_string(), text, "{what}");
                    }
                    None => assert_eq!(m, old, "{what}"),
                }
            }
        }
    }

    /// The parser given to `read_from_with` gets the block and the message as it was;
    /// `parse_into` of a copy of the block gives the same message.
    #[test]
    fn read_from_with_hands_over_the_block() {
        let old = HttpMessage::parse(b"Old: 1\r\n\r\n");
        for input in read_from_inputs() {
            let (want_res, _, want_msg) = two_steps(&input);
            let mut m = old.clone();
            let mut seen = None;
            let mut r = input.as_slice();
            let res = m
                .read_from_with(&mut r, |block, m| {
                    // A copy, so `parse_into` has to compare the bytes.
                    let copy = block.to_vec();
                    seen = Some((copy.clone(), m.clone()));
                    m.parse_into(&copy);
                })
                .unwrap();
            assert_eq!(res, want_res);
            match want_msg {
                Some((want, _)) => {
                    let (block, before) = seen.expect("parse called");
                    assert_eq!(block, input[..block.len()]);
                    assert_eq!(HttpMessage::parse(&block), want);
                    assert_eq!(before, old);
                    assert_eq!(m, want);
                }
                None => {
                    assert!(seen.is_none());
                    assert_eq!(m, old);
                }
            }
        }
        // A parser that ignores the block leaves the message as it was.
        let mut m = old.clone();
        let mut r: &[u8] = b"New: 1\r\n\r\n";
        m.read_from_with(&mut r, |_, _| {}).unwrap().unwrap();
        assert_eq!((m, r), (old, &b""[..]));
    }

    /// The lending ends with the parser, even when the parser panics; a parse made
    /// ahead is only taken for its own bytes after that.
    #[test]
    fn a_lending_ends_with_the_parser() {
        use std::panic::{self, AssertUnwindSafe};
        let mut m = HttpMessage::new();
        let mut buf = b"A: 1\r\n\r\n".to_vec();
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            m.read_from_with(&mut &buf[..], |_, _| panic!("parser failed"))
        }));
        assert!(r.is_err());
        assert_eq!(LENT.with(Cell::get), (0, 0, 0));
        assert!(m.is_empty());
        // The same address and length, other bytes: parsed, not taken.
        buf.copy_from_slice(b"B: 2\r\n\r\n");
        m.parse_into(&buf);
        assert_eq!(m.iter().collect::<Vec<_>>(), [("B", "2")]);
        // A message that left its parser (here by `mem::take`) still holding a parse.
        let mut escaped = HttpMessage::new();
        let mut r: &[u8] = &buf;
        m.read_from_with(&mut r, |_, m| escaped = std::mem::take(m))
            .unwrap()
            .unwrap();
        assert!(escaped.ahead.ready);
        buf.copy_from_slice(b"C: 3\r\n\r\n");
        escaped.parse_into(&buf);
        assert_eq!(escaped.iter().collect::<Vec<_>>(), [("C", "3")]);
        // Its own bytes, anywhere: taken.
        let mut escaped = HttpMessage::new();
        let mut r: &[u8] = &buf;
        m.read_from_with(&mut r, |_, m| escaped = std::mem::take(m))
            .unwrap()
            .unwrap();
        let copy = b"C: 3\r\n\r\n";
        escaped.parse_into(copy);
        assert!(!escaped.ahead.ready);
        assert_eq!(escaped.iter().collect::<Vec<_>>(), [("C", "3")]);
    }

    #[test]
    fn read_from_passes_io_errors_through() {
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
            }
        }
        let old = HttpMessage::parse(b"Old: 1\r\n\r\n");
        let mut m = old.clone();
        let err = m.read_from(&mut io::BufReader::new(Failing)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(m, old);
        // Interrupted reads are retried.
        struct Interrupted(bool, &'static [u8]);
        impl io::Read for Interrupted {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 = !self.0;
                if self.0 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                io::Read::read(&mut self.1, buf)
            }
        }
        let mut r = io::BufReader::new(Interrupted(false, b"A: 1\r\n\r\n"));
        m.read_from(&mut r).unwrap().unwrap();
        assert_eq!(m.get("a"), Some("1"));
    }

    #[test]
    fn splitlines_is_pythons() {
        assert_eq!(py_splitlines(""), Vec::<&str>::new());
        assert_eq!(py_splitlines("a\n"), ["a"]);
        assert_eq!(
            py_splitlines("a\r\nb\rc\x0bd\x1ee\u{85}f\n\n"),
            ["a", "b", "c", "d", "e", "f", ""]
        );
        assert_eq!(py_splitlines("a\x1fb"), ["a\x1fb"]);
    }

    #[test]
    fn debug_lists_the_pairs() {
        let m = HttpMessage::parse(b"A: 1\r\n\r\n");
        assert_eq!(format!("{m:?}"), r#"[("A", "1")]"#);
    }
}
