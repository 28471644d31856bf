//! The header block at the start of a CGI script's output (RFC 3875 §6), sans-IO: bytes
//! in, values out, so it can be unit-tested and fuzzed.
//!
//! CPython's `CGIHTTPRequestHandler` never parses it (it sends `200 Script output
//! follows` and passes the output through); the crate does only in its opt-in RFC 3875
//! mode ([`CgiHttpRequestHandler::rfc3875`](super::CgiHttpRequestHandler::rfc3875)).
//!
//! ```
//! use socketserver::http::cgi::{parse_script_headers, HeaderBlockFinder};
//!
//! let out = b"Status: 302 Found\nLocation: /there\n\nbody";
//! let end = HeaderBlockFinder::default().find(out).unwrap();
//! let head = parse_script_headers(&out[..end]).unwrap();
//! assert_eq!(head.status(), (302, "Found".to_owned()));
//! assert_eq!(head.headers, [("Location".to_owned(), "/there".to_owned())]);
//! assert_eq!(&out[end..], b"body");
//! ```

use std::fmt;

use crate::http::status::responses;

/// The longest header block accepted (the request side's line limit, 64 KiB).
pub const MAX_SCRIPT_HEADER_BLOCK: usize = 65536;

/// The most header lines accepted (the request side's limit).
pub const MAX_SCRIPT_HEADERS: usize = 100;

/// Finds the end of the header block in output that arrives piece by piece: call
/// [`find`](Self::find) with all the bytes so far after each new piece. Each byte is
/// looked at once.
#[derive(Debug, Clone, Default)]
pub struct HeaderBlockFinder {
    line_start: usize,
}

impl HeaderBlockFinder {
    /// The length of the header block — up to and including the empty line (`\n` or
    /// `\r\n`) that ends it — once `output` holds it; `None` while it does not.
    pub fn find(&mut self, output: &[u8]) -> Option<usize> {
        let mut from = self.line_start.min(output.len());
        while let Some(i) = output[from..].iter().position(|&b| b == b'\n') {
            let nl = from + i;
            let line = &output[self.line_start..nl];
            if line.is_empty() || line == b"\r" {
                return Some(nl + 1);
            }
            self.line_start = nl + 1;
            from = nl + 1;
        }
        None
    }
}

/// The script's header block, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptHeaders {
    /// `Status:`'s code and reason phrase, if the script sent one (the reason defaults
    /// to the standard phrase for the code).
    pub status: Option<(u16, String)>,
    /// The other header lines, in order, names and values as sent (bytes read as
    /// Latin-1, surrounding blanks of the value removed).
    pub headers: Vec<(String, String)>,
}

impl ScriptHeaders {
    /// The first value of header `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The response status RFC 3875 §6.2 gives this output: `Status:` if present, else
    /// `302 Found` for a `Location:`, else `200 OK`.
    pub fn status(&self) -> (u16, String) {
        match &self.status {
            Some(s) => s.clone(),
            None if self.get("Location").is_some() => (302, "Found".into()),
            None => (200, "OK".into()),
        }
    }
}

/// Why a script's header block was refused (answered `502 Bad Gateway`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptOutputError {
    /// The output ended before the empty line that ends the header block.
    Incomplete,
    /// The block is longer than [`MAX_SCRIPT_HEADER_BLOCK`].
    TooLarge,
    /// The block has more than [`MAX_SCRIPT_HEADERS`] lines.
    TooManyHeaders,
    /// A line is not `name: value` with a token for the name (this includes a folded
    /// continuation line). The line, lossily decoded, cut to 80 bytes.
    Malformed(String),
    /// `Status:` is not three digits, a space and a reason phrase, or is repeated.
    BadStatus(String),
}

impl fmt::Display for ScriptOutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptOutputError::Incomplete => {
                f.write_str("end of output before the end of the headers")
            }
            ScriptOutputError::TooLarge => write!(
                f,
                "header block longer than {MAX_SCRIPT_HEADER_BLOCK} bytes"
            ),
            ScriptOutputError::TooManyHeaders => {
                write!(f, "more than {MAX_SCRIPT_HEADERS} header lines")
            }
            ScriptOutputError::Malformed(line) => write!(f, "malformed header line {line:?}"),
            ScriptOutputError::BadStatus(v) => write!(f, "bad Status header {v:?}"),
        }
    }
}

impl std::error::Error for ScriptOutputError {}

/// RFC 9110's `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn excerpt(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned()
}

/// Parses a complete header block (as [`HeaderBlockFinder::find`] delimits it; a block
/// without its empty line is [`ScriptOutputError::Incomplete`]). Lines end with `\n` or
/// `\r\n`.
pub fn parse_script_headers(block: &[u8]) -> Result<ScriptHeaders, ScriptOutputError> {
    if block.len() > MAX_SCRIPT_HEADER_BLOCK {
        return Err(ScriptOutputError::TooLarge);
    }
    let mut out = ScriptHeaders::default();
    let mut rest = block;
    let mut count = 0;
    loop {
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Err(ScriptOutputError::Incomplete);
        };
        let raw = &rest[..nl];
        rest = &rest[nl + 1..];
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            return Ok(out);
        }
        count += 1;
        if count > MAX_SCRIPT_HEADERS {
            return Err(ScriptOutputError::TooManyHeaders);
        }
        let colon = line.iter().position(|&b| b == b':');
        let Some(colon) = colon.filter(|&c| c > 0 && line[..c].iter().all(|&b| is_tchar(b))) else {
            return Err(ScriptOutputError::Malformed(excerpt(line)));
        };
        let name = &line[..colon];
        let value = trim_blanks(&line[colon + 1..]);
        if value.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(ScriptOutputError::Malformed(excerpt(line)));
        }
        if name.eq_ignore_ascii_case(b"status") {
            if out.status.is_some() {
                return Err(ScriptOutputError::BadStatus(excerpt(value)));
            }
            out.status = Some(parse_status(value)?);
        } else {
            out.headers.push((latin1(name), latin1(value)));
        }
    }
}

fn trim_blanks(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// `Status: 302 Found` → `(302, "Found")`; the reason may be left out.
fn parse_status(value: &[u8]) -> Result<(u16, String), ScriptOutputError> {
    let bad = || ScriptOutputError::BadStatus(excerpt(value));
    let (code, reason) = match value.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => (&value[..i], trim_blanks(&value[i..])),
        None => (value, &b""[..]),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return Err(bad());
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let reason = if reason.is_empty() {
        responses(code).map(|r| r.0).unwrap_or("").to_owned()
    } else {
        latin1(reason)
    };
    Ok((code, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(out: &[u8]) -> Result<(ScriptHeaders, usize), ScriptOutputError> {
        let end = HeaderBlockFinder::default()
            .find(out)
            .ok_or(ScriptOutputError::Incomplete)?;
        parse_script_headers(&out[..end]).map(|h| (h, end))
    }

    #[test]
    fn documents_and_redirects() {
        let (h, end) = parse(b"Content-Type: text/html\r\n\r\n<p>").unwrap();
        assert_eq!(h.status(), (200, "OK".into()));
        assert_eq!(h.get("content-type"), Some("text/html"));
        assert_eq!(end, 27);
        let (h, _) = parse(b"Location: http://x/\n\n").unwrap();
        assert_eq!(h.status(), (302, "Found".into()));
        let (h, _) = parse(b"Status: 404\nContent-Type: text/plain\n\n").unwrap();
        assert_eq!(h.status(), (404, "Not Found".into()));
        let (h, _) = parse(b"status:  418   I'm a teapot  \n\n").unwrap();
        assert_eq!(h.status(), (418, "I'm a teapot".into()));
        assert!(h.headers.is_empty());
        let (h, _) = parse(b"X-Latin: caf\xe9\n\n").unwrap();
        assert_eq!(h.get("x-latin"), Some("caf\u{e9}"));
    }

    #[test]
    fn refusals() {
        use ScriptOutputError::*;
        assert_eq!(parse(b"Content-Type: text/html\n"), Err(Incomplete));
        assert!(matches!(parse(b"no colon\n\n"), Err(Malformed(_))));
        assert!(matches!(parse(b": empty name\n\n"), Err(Malformed(_))));
        assert!(matches!(parse(b"Bad Name: x\n\n"), Err(Malformed(_))));
        assert!(matches!(parse(b"A: 1\n folded\n\n"), Err(Malformed(_))));
        assert!(matches!(parse(b"A: 1\rB: 2\n\n"), Err(Malformed(_))));
        assert!(matches!(parse(b"Status: 99 x\n\n"), Err(BadStatus(_))));
        assert!(matches!(parse(b"Status: 2000\n\n"), Err(BadStatus(_))));
        assert!(matches!(parse(b"Status: abc\n\n"), Err(BadStatus(_))));
        assert!(matches!(
            parse(b"Status: 200\nStatus: 302\n\n"),
            Err(BadStatus(_))
        ));
        let many: Vec<u8> = (0..=MAX_SCRIPT_HEADERS)
            .flat_map(|i| format!("X-{i}: v\n").into_bytes())
            .chain(*b"\n")
            .collect();
        assert_eq!(parse(&many), Err(TooManyHeaders));
        let big = [b"X: ".as_slice(), &[b'a'; MAX_SCRIPT_HEADER_BLOCK], b"\n\n"].concat();
        assert_eq!(parse(&big), Err(TooLarge));
    }

    #[test]
    fn finder_sees_each_byte_once_across_pieces() {
        let out = b"A: 1\r\nB: 2\n\r\nbody\n\nmore";
        for split in 0..out.len() {
            let mut f = HeaderBlockFinder::default();
            let first = f.find(&out[..split]);
            let end = first.or_else(|| f.find(out));
            assert_eq!(end, Some(13), "split at {split}");
        }
        assert_eq!(HeaderBlockFinder::default().find(b"\nrest"), Some(1));
        assert_eq!(HeaderBlockFinder::default().find(b"A: 1"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let mut f = HeaderBlockFinder::default();
            let half = data.len() / 2;
            let end = f.find(&data[..half]).or_else(|| f.find(&data));
            if let Some(end) = end {
                proptest::prop_assert!(end <= data.len());
                let _ = parse_script_headers(&data[..end]);
            }
            let _ = parse_script_headers(&data);
        }
    }
}
