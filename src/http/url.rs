//! URL helpers of Python's `urllib.parse` and `http.server`, byte-exact with CPython 3.13:
//! [`quote`], [`unquote`], [`urlsplit`]/[`urlunsplit`], `SimpleHTTPRequestHandler`'s
//! [`translate_path`] (with the gh-134098 fix) and the redirect of `send_head`
//! ([`directory_redirect_location`]), and CGI's `_url_collapse_path` ([`url_collapse_path`]).
//!
//! # Python strings, file names and bytes
//!
//! The request target reaches Python as a `str` decoded from ISO-8859-1, so every `&str`
//! here is what Python holds in `self.path`. Python then percent-decodes it with
//! `errors='surrogatepass'` (an encoded lone surrogate such as `%ED%B3%BF` becomes the
//! code point U+DCFF) and finally hands the path to the operating system encoded as UTF-8
//! with `surrogateescape` (U+DC80–U+DCFF become the single bytes 0x80–0xFF; any other lone
//! surrogate cannot be encoded). This module returns those final bytes, so a handler can
//! open the same files Python opens, including names that are not UTF-8.
//!
//! ```
//! use socketserver::http::url::{quote, quote_fs_name, unquote_fs};
//!
//! assert_eq!(quote("sp ace/<x>.txt"), "sp%20ace/%3Cx%3E.txt");
//! // A file name with the undecodable byte 0xFF, as the listing links to it:
//! assert_eq!(quote_fs_name(b"a\xff"), "a%ED%B3%BF");
//! // ... and the link leads back to the same bytes.
//! assert_eq!(unquote_fs("/a%ED%B3%BF").unwrap(), b"/a\xff");
//! ```

use std::error::Error as StdError;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Helpers for Python `str` values that may hold lone surrogates.
///
/// Such a string is stored as "generalized UTF-8": ordinary code points as UTF-8, and a
/// lone surrogate U+D800–U+DFFF as its three-byte form `ED [A0-BF] [80-BF]` (exactly what
/// Python's `surrogatepass` writes). Valid UTF-8 never contains `ED A0`–`ED BF`, so the
/// form is unambiguous, and every ASCII byte in it is the ASCII character.
pub(crate) mod pystr {
    /// Whether `bytes` decode as UTF-8 with `errors='surrogatepass'`. When they do, the
    /// decoded string's generalized UTF-8 form is `bytes` itself.
    pub(crate) fn decodes_surrogatepass(mut bytes: &[u8]) -> bool {
        loop {
            match std::str::from_utf8(bytes) {
                Ok(_) => return true,
                Err(e) => {
                    let rest = &bytes[e.valid_up_to()..];
                    match rest {
                        [0xED, 0xA0..=0xBF, 0x80..=0xBF, tail @ ..] => bytes = tail,
                        _ => return false,
                    }
                }
            }
        }
    }

    /// Python's `os.fsdecode(name)` (UTF-8, `surrogateescape`): every byte that is not
    /// part of a valid UTF-8 sequence becomes the lone surrogate U+DC00 + byte.
    pub(crate) fn fsdecode(mut bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        loop {
            match std::str::from_utf8(bytes) {
                Ok(_) => {
                    out.extend_from_slice(bytes);
                    return out;
                }
                Err(e) => {
                    let (good, rest) = bytes.split_at(e.valid_up_to());
                    out.extend_from_slice(good);
                    let bad = e.error_len().unwrap_or(rest.len()).min(rest.len());
                    for &b in &rest[..bad] {
                        push_escaped_byte(b, &mut out);
                    }
                    bytes = &rest[bad..];
                }
            }
        }
    }

    /// Appends the surrogate U+DC00 + `b` (for `b` ≥ 0x80) in generalized UTF-8.
    fn push_escaped_byte(b: u8, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0xED, 0xB0 | (b >> 6), 0x80 | (b & 0x3F)]);
    }

    /// Python's `s.encode('utf-8', 'surrogateescape')` of a generalized UTF-8 string:
    /// U+DC80–U+DCFF become single bytes; `None` if another lone surrogate is present
    /// (Python raises `UnicodeEncodeError`).
    pub(crate) fn fsencode(s: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i..] {
                [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, ..] => {
                    // U+D800 + ((b1 & 0x1F) << 6 | (b2 & 0x3F)); only U+DC80..U+DCFF
                    // (b1 = 0xB2 or 0xB3) stand for a byte.
                    if b1 == 0xB2 || b1 == 0xB3 {
                        out.push(((b1 & 0x03) << 6) | (b2 & 0x3F));
                        i += 3;
                    } else {
                        return None;
                    }
                }
                _ => {
                    out.push(s[i]);
                    i += 1;
                }
            }
        }
        Some(out)
    }

    /// Python's `s.lower()` of a generalized UTF-8 string, in generalized UTF-8.
    ///
    /// Lone surrogates are neither cased nor case-ignorable, so lowering each run of
    /// valid UTF-8 on its own gives Python's answer (the final-sigma rule included).
    /// Generalized UTF-8 sorts bytewise in code-point order, as Python compares `str`.
    pub(crate) fn lower(mut s: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        loop {
            match std::str::from_utf8(s) {
                Ok(text) => {
                    out.extend_from_slice(text.to_lowercase().as_bytes());
                    return out;
                }
                Err(e) => {
                    let (good, rest) = s.split_at(e.valid_up_to());
                    if let Ok(text) = std::str::from_utf8(good) {
                        out.extend_from_slice(text.to_lowercase().as_bytes());
                    }
                    // A surrogate (3 bytes) or, defensively, any other invalid byte.
                    let n = match rest {
                        [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => 3,
                        _ => 1,
                    };
                    out.extend_from_slice(&rest[..n]);
                    s = &rest[n..];
                }
            }
        }
    }
}

/// Whether `urllib.parse.quote` leaves `b` alone with `safe='/'`.
fn is_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~' | b'/')
}

/// Appends `quote_from_bytes(bytes, safe='/')` to `out`.
fn quote_into(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_safe(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// Python's `urllib.parse.quote_from_bytes(bytes, safe='/')`: `A-Z a-z 0-9 _ . - ~ /` are
/// kept, every other byte becomes `%XX` (upper-case hex).
///
/// ```
/// assert_eq!(socketserver::http::url::quote_bytes(b"a b\xff/"), "a%20b%FF/");
/// ```
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    quote_into(bytes, &mut out);
    out
}

/// Python's `urllib.parse.quote(s)` (`safe='/'`, UTF-8): unreserved characters
/// `A-Z a-z 0-9 _ . - ~` and `/` are kept, everything else is `%XX` of its UTF-8 bytes.
///
/// ```
/// assert_eq!(socketserver::http::url::quote("q?é.txt"), "q%3F%C3%A9.txt");
/// ```
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// `urllib.parse.quote(os.fsdecode(name), errors='surrogatepass')`: how the directory
/// listing links to a file name that came from the file system as bytes.
///
/// Valid UTF-8 is quoted as by [`quote`]; a byte that is not part of valid UTF-8 (say
/// 0xFF) was decoded by Python to the lone surrogate U+DCFF, which `surrogatepass` writes
/// as `ED B3 BF`, so it appears as `%ED%B3%BF`. [`unquote_fs`] maps that back to 0xFF.
///
/// ```
/// use socketserver::http::url::quote_fs_name;
/// assert_eq!(quote_fs_name(b"caf\xc3\xa9 \xff/"), "caf%C3%A9%20%ED%B3%BF/");
/// ```
pub fn quote_fs_name(name: &[u8]) -> String {
    quote_bytes(&pystr::fsdecode(name))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Python's `urllib.parse.unquote_to_bytes(s)`: `%XX` (either case) becomes the byte; a
/// `%` not followed by two hex digits is kept; everything else is its UTF-8 bytes.
///
/// ```
/// assert_eq!(socketserver::http::url::unquote_to_bytes("a%20b%zz%4"), b"a b%zz%4");
/// ```
pub fn unquote_to_bytes(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2)) {
                if let (Some(h), Some(l)) = (hex_value(h), hex_value(l)) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Python's `urllib.parse.unquote(s)` (UTF-8, `errors='replace'`): percent-decodes, and
/// every invalid UTF-8 sequence becomes U+FFFD (as Python does: one per maximal invalid
/// subpart).
///
/// ```
/// use socketserver::http::url::unquote;
/// assert_eq!(unquote("/caf%C3%A9%20x"), "/café x");
/// assert_eq!(unquote("/%ff"), "/\u{fffd}");
/// ```
pub fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    match String::from_utf8(unquote_to_bytes(s)) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// `unquote(s, errors='surrogatepass')`, falling back to `unquote(s)` (`errors='replace'`)
/// when that raises, as `translate_path` and `list_directory` do; generalized UTF-8.
///
/// Python decodes each ASCII run of `s` separately and keeps non-ASCII characters as
/// they are; decoding the whole byte string at once gives the same result, because the
/// UTF-8 bytes of a character can neither complete nor continue a neighbouring sequence.
pub(crate) fn unquote_surrogatepass(s: &str) -> Vec<u8> {
    if !s.contains('%') {
        return s.as_bytes().to_vec();
    }
    let bytes = unquote_to_bytes(s);
    if pystr::decodes_surrogatepass(&bytes) {
        bytes
    } else {
        String::from_utf8_lossy(&bytes).into_owned().into_bytes()
    }
}

/// A decoded path holds a lone surrogate that Python cannot encode for the file system.
///
/// `unquote('%ED%A0%80', errors='surrogatepass')` is U+D800; only U+DC80–U+DCFF can be
/// written with `surrogateescape`, so Python's `open()` raises `UnicodeEncodeError`
/// (and `os.path.isdir` answers `False`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnencodableError;

impl fmt::Display for UnencodableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the decoded path holds a surrogate that the file system encoding cannot encode",
        )
    }
}

impl StdError for UnencodableError {}

/// The file-system bytes of `unquote(s, errors='surrogatepass')` (falling back to
/// `errors='replace'` as `translate_path` does), encoded as Python's `open()` encodes a
/// path: UTF-8 with `surrogateescape`.
///
/// * `%C3%A9` and a raw `é` (the byte 0xE9 of the request line, decoded ISO-8859-1) both
///   give `C3 A9`;
/// * `%ED%B3%BF` (an encoded U+DCFF) gives the single byte `FF`, so a name that is not
///   UTF-8 can be reached;
/// * `%FF` alone is invalid UTF-8: Python falls back to `errors='replace'` → `EF BF BD`;
/// * `%ED%A0%80` (U+D800) cannot be encoded → [`UnencodableError`].
///
/// ```
/// use socketserver::http::url::unquote_fs;
/// assert_eq!(unquote_fs("%C3%A9/é").unwrap(), "é/é".as_bytes());
/// assert_eq!(unquote_fs("%ff").unwrap(), "\u{fffd}".as_bytes());
/// assert_eq!(unquote_fs("%ED%B3%BF").unwrap(), b"\xff");
/// assert!(unquote_fs("%ED%A0%80").is_err());
/// ```
pub fn unquote_fs(s: &str) -> Result<Vec<u8>, UnencodableError> {
    pystr::fsencode(&unquote_surrogatepass(s)).ok_or(UnencodableError)
}

/// Why [`translate_path`] cannot give Python's file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslateErrorKind {
    /// A kept path component holds a lone surrogate outside U+DC80–U+DCFF (from
    /// `%ED%A0%80` and the like): Python's `open()` raises `UnicodeEncodeError`.
    Unencodable,
    /// A kept path component holds NUL (`%00`): Python's `open()` raises
    /// `ValueError: embedded null byte`.
    EmbeddedNul,
}

/// The path Python's `translate_path` returns cannot be opened: `os.path.isdir` says
/// `False`, so `send_head` answers 404 if [`trailing_slash`](Self::trailing_slash) is
/// set, and otherwise `open()` raises an exception that is not an `OSError`: the request
/// ends in `handle_error` with no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranslateError {
    /// What is wrong with the path.
    pub kind: TranslateErrorKind,
    /// Whether Python's path ends with `/` (then `send_head` answers 404 before trying to
    /// open it).
    pub trailing_slash: bool,
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TranslateErrorKind::Unencodable => f.write_str(
                "the request path decodes to a surrogate the file system encoding cannot encode",
            ),
            TranslateErrorKind::EmbeddedNul => {
                f.write_str("the request path decodes to a file name with a NUL byte")
            }
        }
    }
}

impl StdError for TranslateError {}

/// The part of `path` before the first `?` or `#` (Python splits at the first `#`, then at
/// the first `?`; the result is the same).
pub(crate) fn before_query(path: &str) -> &str {
    match path.find(['?', '#']) {
        Some(i) => &path[..i],
        None => path,
    }
}

/// `SimpleHTTPRequestHandler.translate_path(path)` of CPython 3.13 with the gh-134098 fix,
/// joined onto `directory`, as the bytes Python's `open()` receives.
///
/// 1. Drop everything from the first `?` or `#`.
/// 2. Percent-decode (`errors='surrogatepass'`, falling back to `'replace'`).
/// 3. Remember whether the *decoded* path ends with `/` (gh-134098: a trailing `%2f`
///    counts; 3.13.0 looked at the raw path after `rstrip()`).
/// 4. `posixpath.normpath`, split on `/`, drop empty words, `.`, `..` and words with a
///    directory part (none remain on POSIX).
/// 5. Join the words onto `directory` as `os.path.join` does, and re-append `/`.
///
/// The result never leaves `directory` lexically (a `..` can only cancel a word of the
/// request itself), but symlinks inside `directory` are followed when it is opened, as in
/// Python. An absolute-form target (`http://host/x`) is not understood: `http:` is a
/// path component, as in Python (gh-132741).
///
/// ```
/// use socketserver::http::url::translate_path;
/// use std::path::Path;
///
/// let dir = Path::new("/srv/www");
/// let t = |p| translate_path(p, dir).unwrap();
/// assert_eq!(t("/a/b.txt?x=1#f"), Path::new("/srv/www/a/b.txt"));
/// assert_eq!(t("/../../etc/passwd"), Path::new("/srv/www/etc/passwd"));
/// assert_eq!(t("/%2e%2e/sub/"), Path::new("/srv/www/sub/"));
/// assert_eq!(t("/file%2f"), Path::new("/srv/www/file/"));
/// ```
pub fn translate_path(path: &str, directory: &Path) -> Result<PathBuf, TranslateError> {
    let decoded = unquote_surrogatepass(before_query(path));
    let trailing_slash = decoded.last() == Some(&b'/');
    let words = normpath_words(&decoded);

    let mut out = directory.as_os_str().as_bytes().to_vec();
    let mut error = None;
    for word in words {
        let Some(word) = pystr::fsencode(word) else {
            error = Some(TranslateErrorKind::Unencodable);
            continue;
        };
        if word.contains(&0) && error.is_none() {
            error = Some(TranslateErrorKind::EmbeddedNul);
        }
        if !out.is_empty() && out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(&word);
    }
    if let Some(kind) = error {
        return Err(TranslateError {
            kind,
            trailing_slash,
        });
    }
    if trailing_slash {
        out.push(b'/');
    }
    Ok(PathBuf::from(OsString::from_vec(out)))
}

/// The words `translate_path` keeps from a decoded path: `posixpath.normpath`, split on
/// `/`, without empty words, `.` and `..`.
///
/// `normpath` keeps a leading run of `..` in a relative path and lets `..` cancel the word
/// before it; the leading `..` are then dropped with the other `..`, so a `..` that has no
/// word to cancel is simply ignored.
fn normpath_words(decoded: &[u8]) -> Vec<&[u8]> {
    let mut words: Vec<&[u8]> = Vec::new();
    for comp in decoded.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                words.pop();
            }
            _ => words.push(comp),
        }
    }
    words
}

/// CGI's `_url_collapse_path(path)`: split off the query at the first `?`, percent-decode
/// the rest ([`unquote`]), resolve `.`, `..` and empty segments, and put the query back.
/// The result always starts with `/`. `None` where Python raises `IndexError` (a `..`
/// climbing above the root).
///
/// ```
/// use socketserver::http::url::url_collapse_path;
/// assert_eq!(url_collapse_path("/a/b/c/../d?x=1").as_deref(), Some("/a/b/d?x=1"));
/// assert_eq!(url_collapse_path("cgi-bin/file1.py").as_deref(), Some("/cgi-bin/file1.py"));
/// assert_eq!(url_collapse_path("/.//.."), None);
/// ```
pub fn url_collapse_path(path: &str) -> Option<String> {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path, ""),
    };
    let path = unquote(path);
    let mut parts: Vec<&str> = path.split('/').collect();
    let last = parts.pop().unwrap_or("");
    let mut head: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            ".." => {
                head.pop()?;
            }
            "" | "." => {}
            _ => head.push(part),
        }
    }
    let mut tail = match last {
        ".." => {
            head.pop()?;
            ""
        }
        "." => "",
        other => other,
    }
    .to_owned();
    if !query.is_empty() {
        tail.push('?');
        tail.push_str(query);
    }
    let mut out = String::with_capacity(path.len() + tail.len() + 2);
    out.push('/');
    out.push_str(&head.join("/"));
    out.push('/');
    out.push_str(&tail);
    Some(out)
}

/// The five parts of a URL, as Python's `urllib.parse.urlsplit` returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitResult {
    /// Lower-cased scheme (`"https"`), or empty.
    pub scheme: String,
    /// `user@host:port` after `//`, or empty.
    pub netloc: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The text after the first `?` (without it), or empty.
    pub query: String,
    /// The text after the first `#` (without it), or empty.
    pub fragment: String,
}

/// Why `urlsplit` raises `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidUrl {
    /// The netloc has `[` without `]` or the reverse: `Invalid IPv6 URL`.
    UnbalancedBrackets,
    /// The text between `[` and `]` is neither an IPv6 address nor `v<hex>.<text>`
    /// (or it is an IPv4 address).
    BracketedHost(String),
    /// A non-ASCII netloc that NFKC normalization turns into `/`, `?`, `#`, `@` or `:`.
    Nfkc(String),
}

impl fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidUrl::UnbalancedBrackets => f.write_str("Invalid IPv6 URL"),
            InvalidUrl::BracketedHost(host) => {
                write!(f, "invalid bracketed host {host:?}")
            }
            InvalidUrl::Nfkc(netloc) => write!(
                f,
                "netloc '{netloc}' contains invalid characters under NFKC normalization"
            ),
        }
    }
}

impl StdError for InvalidUrl {}

/// Characters `urllib.parse` accepts in a scheme (after an ASCII letter).
fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// `urllib.parse.uses_netloc` of CPython 3.13.
const USES_NETLOC: &[&str] = &[
    "",
    "ftp",
    "http",
    "gopher",
    "nntp",
    "telnet",
    "imap",
    "wais",
    "file",
    "mms",
    "https",
    "shttp",
    "snews",
    "prospero",
    "rtsp",
    "rtsps",
    "rtspu",
    "rsync",
    "svn",
    "svn+ssh",
    "sftp",
    "nfs",
    "git",
    "git+ssh",
    "ws",
    "wss",
    "itms-services",
];

/// Code points whose NFKC form contains `/`, `?`, `#`, `@` or `:` (Unicode 15.1, as in
/// CPython 3.13's `unicodedata`): `⁇ ⁈ ⁉ ℀ ℁ ℅ ℆ ⩴ ︓ ︖ ﹕ ﹖ ﹟ ﹫ ＃ ／ ： ？ ＠`. No
/// canonical composition can absorb those ASCII characters, so a netloc fails Python's
/// `_checknetloc` exactly when it holds one of these.
const NFKC_DELIMITERS: &[char] = &[
    '\u{2047}', '\u{2048}', '\u{2049}', '\u{2100}', '\u{2101}', '\u{2105}', '\u{2106}', '\u{2A74}',
    '\u{FE13}', '\u{FE16}', '\u{FE55}', '\u{FE56}', '\u{FE5F}', '\u{FE6B}', '\u{FF03}', '\u{FF0F}',
    '\u{FF1A}', '\u{FF1F}', '\u{FF20}',
];

/// Python's `urllib.parse.urlsplit(url)` (default scheme `''`, fragments allowed).
///
/// Leading C0 controls and spaces are stripped, tabs and line breaks removed anywhere; a
/// scheme is an ASCII letter then letters, digits, `+ - .` before the first `:`; a netloc
/// follows `//` up to the next `/`, `?` or `#`; then the fragment is split off at the first
/// `#` and the query at the first `?`. `%` escapes are not decoded.
///
/// ```
/// use socketserver::http::url::urlsplit;
/// let p = urlsplit("https://pypi.org/a/b?q=1#f").unwrap();
/// assert_eq!((&*p.scheme, &*p.netloc, &*p.path, &*p.query, &*p.fragment),
///            ("https", "pypi.org", "/a/b", "q=1", "f"));
/// assert!(urlsplit("http://[::1/x").is_err());
/// ```
pub fn urlsplit(url: &str) -> Result<SplitResult, InvalidUrl> {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = url.as_str();
    let mut parts = SplitResult::default();

    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        let mut chars = candidate.chars();
        if chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(is_scheme_char) {
            parts.scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        parts.netloc = after[..end].to_owned();
        rest = &after[end..];
        let netloc = parts.netloc.as_str();
        if netloc.contains('[') != netloc.contains(']') {
            return Err(InvalidUrl::UnbalancedBrackets);
        }
        if let Some((_, after_open)) = netloc.split_once('[') {
            let host = after_open.split_once(']').map_or(after_open, |(h, _)| h);
            if !is_valid_bracketed_host(host) {
                return Err(InvalidUrl::BracketedHost(host.to_owned()));
            }
        }
    }
    if let Some((before, fragment)) = rest.split_once('#') {
        parts.fragment = fragment.to_owned();
        rest = before;
    }
    if let Some((before, query)) = rest.split_once('?') {
        parts.query = query.to_owned();
        rest = before;
    }
    parts.path = rest.to_owned();
    if parts.netloc.contains(NFKC_DELIMITERS) {
        return Err(InvalidUrl::Nfkc(parts.netloc));
    }
    Ok(parts)
}

/// `urllib.parse._check_bracketed_host`: `v<hex>.<anything>` (IPvFuture) or an IPv6
/// address as `ipaddress` parses it (an IPv4 address is refused).
fn is_valid_bracketed_host(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('v') {
        // \Av[a-fA-F0-9]+\..+\Z ('.' matches anything but a newline; none is left).
        let hex_len = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        return hex_len > 0
            && rest[hex_len..]
                .strip_prefix('.')
                .is_some_and(|tail| !tail.is_empty());
    }
    is_python_ipv6(host)
}

/// `ipaddress.IPv4Address` accepts `s` (four decimal octets, no leading zeros, ≤ 255).
fn is_python_ipv4(s: &str) -> bool {
    let octets: Vec<&str> = s.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| {
            !o.is_empty()
                && o.len() <= 3
                && o.bytes().all(|b| b.is_ascii_digit())
                && (*o == "0" || !o.starts_with('0'))
                && o.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// `ipaddress.IPv6Address` accepts `s` (with an optional `%scope`).
fn is_python_ipv6(s: &str) -> bool {
    let addr = match s.split_once('%') {
        Some((addr, scope)) => {
            if scope.is_empty() || scope.contains('%') {
                return false;
            }
            addr
        }
        None => s,
    };
    if addr.is_empty() {
        return false;
    }
    let mut parts: Vec<&str> = addr.split(':').collect();
    if parts.len() < 3 {
        return false;
    }
    let ipv4_tail = parts.last().is_some_and(|p| p.contains('.'));
    if ipv4_tail {
        if !parts.pop().is_some_and(is_python_ipv4) {
            return false;
        }
        // Two hextets stand in for the IPv4 address.
        parts.push("0");
        parts.push("0");
    }
    if parts.len() > 9 {
        return false;
    }
    let n = parts.len();
    let mut skip_index = None;
    for (i, part) in parts.iter().enumerate().take(n - 1).skip(1) {
        if part.is_empty() {
            if skip_index.is_some() {
                return false;
            }
            skip_index = Some(i);
        }
    }
    let (hi, lo) = match skip_index {
        Some(skip) => {
            let mut hi = skip;
            let mut lo = n - skip - 1;
            if parts[0].is_empty() {
                hi -= 1;
                if hi != 0 {
                    return false;
                }
            }
            if parts[n - 1].is_empty() {
                lo -= 1;
                if lo != 0 {
                    return false;
                }
            }
            if hi + lo >= 8 {
                return false;
            }
            (hi, lo)
        }
        None => {
            if n != 8 || parts[0].is_empty() || parts[n - 1].is_empty() {
                return false;
            }
            (n, 0)
        }
    };
    let hextet_ok =
        |h: &&str| !h.is_empty() && h.len() <= 4 && h.bytes().all(|b| b.is_ascii_hexdigit());
    parts[..hi].iter().all(hextet_ok) && parts[n - lo..].iter().all(hextet_ok)
}

/// Python's `urllib.parse.urlunsplit(parts)`.
///
/// A netloc is written after `//` (adding `/` before a path that lacks it); a path that
/// starts with `//` and has no netloc gets an empty `//` authority in front of it, so it
/// cannot be read as a host; schemes of `uses_netloc` get `//` before an empty or absolute
/// path. Empty query and fragment are left out.
///
/// ```
/// use socketserver::http::url::{urlsplit, urlunsplit};
/// let mut p = urlsplit("/dir?x=1#f").unwrap();
/// p.path.push('/');
/// assert_eq!(urlunsplit(&p), "/dir/?x=1#f");
/// ```
pub fn urlunsplit(parts: &SplitResult) -> String {
    let mut url = String::with_capacity(
        parts.scheme.len()
            + parts.netloc.len()
            + parts.path.len()
            + parts.query.len()
            + parts.fragment.len()
            + 8,
    );
    if !parts.scheme.is_empty() {
        url.push_str(&parts.scheme);
        url.push(':');
    }
    let path = parts.path.as_str();
    if !parts.netloc.is_empty() {
        url.push_str("//");
        url.push_str(&parts.netloc);
        if !path.is_empty() && !path.starts_with('/') {
            url.push('/');
        }
    } else if path.starts_with("//")
        || (!parts.scheme.is_empty()
            && USES_NETLOC.contains(&parts.scheme.as_str())
            && (path.is_empty() || path.starts_with('/')))
    {
        url.push_str("//");
    }
    url.push_str(path);
    if !parts.query.is_empty() {
        url.push('?');
        url.push_str(&parts.query);
    }
    if !parts.fragment.is_empty() {
        url.push('#');
        url.push_str(&parts.fragment);
    }
    url
}

/// The `Location` of `send_head`'s redirect for a directory requested without a trailing
/// slash, or `None` when the URL path already ends with `/` (or, with the gh-134098 fix,
/// with `%2f`/`%2F`).
///
/// `Location` is `urlunsplit((scheme, netloc, path + '/', query, fragment))` of
/// `urlsplit(path)`; `Err` where Python's `urlsplit` raises `ValueError` (the request then
/// ends in `handle_error` with no response). The request line parser has already reduced a
/// leading `//` to `/` (CVE-2021-28861); were it not, `//evil.com/dir` would give
/// `//evil.com/dir/`.
///
/// ```
/// use socketserver::http::url::directory_redirect_location;
/// let loc = |p| directory_redirect_location(p).unwrap();
/// assert_eq!(loc("/sub?a=1#frag").as_deref(), Some("/sub/?a=1#frag"));
/// assert_eq!(loc("/sub/"), None);
/// assert_eq!(loc("/sub%2F"), None);
/// assert_eq!(loc("https://pypi.org/sub").as_deref(), Some("https://pypi.org/sub/"));
/// ```
pub fn directory_redirect_location(path: &str) -> Result<Option<String>, InvalidUrl> {
    let mut parts = urlsplit(path)?;
    let p = parts.path.as_bytes();
    let ends_with_slash =
        p.ends_with(b"/") || p.len() >= 3 && p[p.len() - 3..].eq_ignore_ascii_case(b"%2f");
    if ends_with_slash {
        return Ok(None);
    }
    parts.path.push('/');
    // A browser reads `\` as `/` in an http URL, so `/\evil.example/dir/` would take it
    // to another host; `%5C` names the same file here and keeps the client on this one.
    // (CPython sends the backslash as is; paths without one are unchanged.)
    if parts.path.contains('\\') {
        parts.path = parts.path.replace('\\', "%5C");
    }
    Ok(Some(urlunsplit(&parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_keeps_unreserved_and_slash() {
        assert_eq!(quote(""), "");
        assert_eq!(quote("AZaz09_.-~/"), "AZaz09_.-~/");
        assert_eq!(
            quote("<test&>.txt"),
            "%3Ctest%26%3E.txt",
            "listing example of §2.1.3"
        );
        assert_eq!(quote("q?.txt"), "q%3F.txt");
        assert_eq!(quote("sp ace.txt"), "sp%20ace.txt");
        assert_eq!(quote("%A4"), "%25A4");
        assert_eq!(quote("\"dq\" 'sq'"), "%22dq%22%20%27sq%27");
        assert_eq!(quote("€"), "%E2%82%AC");
    }

    #[test]
    fn fs_names_round_trip() {
        assert_eq!(quote_fs_name(b"\xff"), "%ED%B3%BF");
        assert_eq!(quote_fs_name(b"\x80"), "%ED%B2%80");
        // An encoded surrogate in a file name is three undecodable bytes.
        assert_eq!(
            quote_fs_name(b"\xed\xb3\xbf"),
            "%ED%B3%AD%ED%B2%B3%ED%B2%BF"
        );
        // A truncated sequence: each byte is escaped.
        assert_eq!(quote_fs_name(b"\xe2\x82"), "%ED%B3%A2%ED%B2%82");
        for name in [
            &b"a\xffb"[..],
            b"\xed\xb3\xbf",
            b"\xe2\x82",
            b"caf\xc3\xa9",
            b"\x80\x81",
        ] {
            let url = format!("/{}", quote_fs_name(name));
            let mut expected = b"/".to_vec();
            expected.extend_from_slice(name);
            assert_eq!(unquote_fs(&url).unwrap(), expected, "{url}");
        }
    }

    #[test]
    fn unquote_like_python() {
        assert_eq!(unquote("abc"), "abc");
        assert_eq!(unquote("%%41"), "%A");
        assert_eq!(unquote("%4g%41"), "%4gA");
        assert_eq!(unquote("a%2"), "a%2");
        assert_eq!(unquote("%C3é%A9"), "\u{fffd}é\u{fffd}");
        assert_eq!(unquote("%f0%80%80x"), "\u{fffd}\u{fffd}\u{fffd}x");
        assert_eq!(unquote("%e2%82"), "\u{fffd}");
    }

    #[test]
    fn unquote_fs_surrogates() {
        assert_eq!(unquote_fs("%ed%b2%80%ed%b3%bf").unwrap(), b"\x80\xff");
        assert_eq!(unquote_fs("%ed%a0%80"), Err(UnencodableError));
        assert_eq!(unquote_fs("%ed%b0%80"), Err(UnencodableError), "U+DC00");
        // One invalid sequence makes Python fall back to 'replace' for all of it.
        assert_eq!(
            unquote_fs("%ed%a0%80%ff").unwrap(),
            "\u{fffd}\u{fffd}\u{fffd}\u{fffd}".as_bytes()
        );
        assert_eq!(unquote_fs("\u{e9}").unwrap(), b"\xc3\xa9");
    }

    #[test]
    fn translate_path_thse_cases() {
        // THS L1265-1352: each maps to <directory>/filename.
        for dir in ["/cwd", "foo", "bar"] {
            for p in [
                "/filename",
                "/filename?foo=bar",
                "/filename?a=b&spam=eggs#zot",
                "//filename",
                "//filename?foo=bar",
            ] {
                assert_eq!(
                    translate_path(p, Path::new(dir)).unwrap(),
                    Path::new(dir).join("filename")
                );
            }
        }
    }

    #[test]
    fn translate_path_details() {
        let t = |p: &str, d: &str| {
            translate_path(p, Path::new(d))
                .map(|p| p.into_os_string().into_vec())
                .unwrap()
        };
        assert_eq!(t("/", "/srv"), b"/srv/");
        assert_eq!(t("", "/srv"), b"/srv");
        assert_eq!(t("/", "/srv/"), b"/srv//");
        assert_eq!(t("/a", ""), b"a");
        assert_eq!(t("/a/b/", ""), b"a/b/");
        assert_eq!(t("/a/../../b", "/d"), b"/d/b");
        assert_eq!(t("a/../../b/..", "/d"), b"/d");
        assert_eq!(t("/test%2f", "/d"), b"/d/test/");
        assert_eq!(t("/test%2F", "/d"), b"/d/test/");
        assert_eq!(t("/sp%20/", "/d"), b"/d/sp /");
        assert_eq!(t("/%ed%b3%bf", "/d"), b"/d/\xff");
        assert_eq!(t("/\u{e9}", "/d"), b"/d/\xc3\xa9");
        assert_eq!(
            t("/%ed%a0%80/../x", "/d"),
            b"/d/x",
            "dropped word never encoded"
        );
        assert_eq!(t("/...", "/d"), b"/d/...");
        assert_eq!(t("/.. /x", "/d"), b"/d/.. /x");
        assert_eq!(
            t("http://example.com/sub", "/d"),
            b"/d/http:/example.com/sub"
        );
        let e = translate_path("/%ed%a0%80/", Path::new("/d")).unwrap_err();
        assert_eq!(
            e,
            TranslateError {
                kind: TranslateErrorKind::Unencodable,
                trailing_slash: true
            }
        );
        let e = translate_path("/a%00b", Path::new("/d")).unwrap_err();
        assert_eq!(e.kind, TranslateErrorKind::EmbeddedNul);
        assert!(!e.trailing_slash);
    }

    /// Every `_url_collapse_path` vector of THS L825-865 (research §2.5).
    #[test]
    fn url_collapse_path_vectors() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", Some("//")),
            ("..", None),
            ("/.//..", None),
            ("/", Some("//")),
            ("//", Some("//")),
            ("/\\", Some("//\\")),
            ("/.//", Some("//")),
            ("cgi-bin/file1.py", Some("/cgi-bin/file1.py")),
            ("/cgi-bin/file1.py", Some("/cgi-bin/file1.py")),
            ("a", Some("//a")),
            ("/a", Some("//a")),
            ("//a", Some("//a")),
            ("./a", Some("//a")),
            ("./C:/", Some("/C:/")),
            ("/a/b", Some("/a/b")),
            ("/a/b/", Some("/a/b/")),
            ("/a/b/.", Some("/a/b/")),
            ("/a/b/c/..", Some("/a/b/")),
            ("/a/b/c/../d", Some("/a/b/d")),
            ("/a/b/c/../d/e/../f", Some("/a/b/d/f")),
            ("/a/b/c/../d/e/../../f", Some("/a/b/f")),
            ("/a/b/c/../d/e/.././././..//f", Some("/a/b/f")),
            ("../a/b/c/../d/e/.././././..//f", None),
            ("/a/b/c/../d/e/../../../f", Some("/a/f")),
            ("/a/b/c/../d/e/../../../../f", Some("//f")),
            ("/a/b/c/../d/e/../../../../../f", None),
            ("/a/b/c/../d/e/../../../../f/..", Some("//")),
            ("/a/b/c/../d/e/../../../../f/../.", Some("//")),
        ];
        for &(input, expected) in cases {
            assert_eq!(url_collapse_path(input).as_deref(), expected, "{input:?}");
        }
        assert_eq!(
            url_collapse_path("/cgi-bin%2ffile1.py?a=b?c=d").as_deref(),
            Some("/cgi-bin/file1.py?a=b?c=d")
        );
    }

    #[test]
    fn redirects_of_ths_domain_injection_test() {
        // THS L451-498 with the tempdir "tmp": the request path after parse_request's
        // collapsing of leading slashes.
        let url = "/python.org/..%2f..%2f..%2f..%2f..%2f../%0a%0d/../tmp/existing_directory";
        let expected = format!("{url}/");
        assert_eq!(
            directory_redirect_location(url).unwrap().as_deref(),
            Some(&*expected)
        );
        let loc = directory_redirect_location(&format!("https://pypi.org{url}"))
            .unwrap()
            .unwrap();
        assert!(loc.starts_with("https://pypi.org/"), "{loc}");
        // Without the collapsing, '//' would become a netloc (that is the CVE).
        assert_eq!(
            directory_redirect_location("//evil.com/x")
                .unwrap()
                .as_deref(),
            Some("//evil.com/x/")
        );
        assert_eq!(
            directory_redirect_location("/evil.com/..%2f..%2f/sub")
                .unwrap()
                .as_deref(),
            Some("/evil.com/..%2f..%2f/sub/")
        );
        assert_eq!(directory_redirect_location("/sub%2f").unwrap(), None);
    }

    #[test]
    fn urlsplit_errors() {
        assert_eq!(
            urlsplit("http://[::1/"),
            Err(InvalidUrl::UnbalancedBrackets)
        );
        assert_eq!(
            urlsplit("http://::1]/"),
            Err(InvalidUrl::UnbalancedBrackets)
        );
        assert!(urlsplit("http://[::1]:80/").is_ok());
        assert!(urlsplit("http://[::ffff:1.2.3.4]/").is_ok());
        assert!(urlsplit("http://[fe80::1%25eth0]/").is_ok());
        assert!(urlsplit("http://[v1.x]/").is_ok());
        assert!(urlsplit("http://[1.2.3.4]/").is_err());
        assert!(urlsplit("http://[::1::2]/").is_err());
        assert!(urlsplit("http://a\u{ff0f}b/").is_err());
        assert!(urlsplit("http://a\u{e9}b/").is_ok());
    }
}
