//! Python's `SimpleHTTPRequestHandler`: files and directory listings from a directory.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::handler::{BaseHttpRequestHandler, HttpRequest};
use super::listing::{list_directory_html, Entry, LISTING_CONTENT_TYPE};
use super::mime::ExtensionsMap;
use super::open_files::OpenFiles;
use super::parsedate::{is_not_modified, mtime_seconds};
use super::url::{directory_redirect_location, translate_path, TranslateError};
use crate::error::{Error, Result};

/// Python's `SimpleHTTPRequestHandler.server_version`.
pub const SIMPLE_SERVER_VERSION: &str = "SimpleHTTP/0.6";

/// Python's `http.server.SimpleHTTPRequestHandler`: serves the files under
/// [`directory`](Self::directory), lists directories without an index page, answers
/// `If-Modified-Since` with 304.
///
/// Its fields are Python's class attributes and the `directory` that
/// `functools.partial(SimpleHTTPRequestHandler, directory=…)` passes. Responses are byte
/// for byte CPython 3.13's (with the later fixes gh-134098 and gh-133889), except where a
/// request asks for something CPython does not do — a `Range` (answered `206`), an
/// `If-None-Match` when [`etag`](Self::etag) is on — or the handler is told to add
/// [`response_headers`](Self::response_headers).
///
/// ```no_run
/// use socketserver::http::{SimpleHttpRequestHandler, ThreadingHttpServer};
/// use socketserver::BaseServer;
///
/// let handler = SimpleHttpRequestHandler::new("/srv/www");
/// let server = std::sync::Arc::new(ThreadingHttpServer::new(("", 8000), handler)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
///
/// To change one step, wrap it in your own handler and call the steps you keep
/// ([`send_head`](Self::send_head), [`copyfile`](Self::copyfile),
/// [`translate_path`](Self::translate_path), …), as a Python subclass calls `super()`.
#[derive(Clone)]
#[non_exhaustive]
pub struct SimpleHttpRequestHandler {
    /// The directory served (Python's `directory`; Python's default is the current
    /// directory, see [`current_dir`](Self::current_dir)).
    pub directory: PathBuf,
    /// Python's `index_pages`: `index.html`, `index.htm`.
    pub index_pages: Vec<String>,
    /// Python's `extensions_map`: the MIME types by extension.
    pub extensions_map: ExtensionsMap,
    /// Python's `protocol_version`: `HTTP/1.0` (the command line's `-p` sets it).
    pub protocol_version: String,
    /// Python's `server_version`: `SimpleHTTP/0.6`.
    pub server_version: String,
    /// Headers added to every file, listing and 304 response (Python 3.15's
    /// `response_headers`, the command line's `--header`). Empty by default.
    pub response_headers: Vec<(String, String)>,
    /// Answer a `Range` request with `206 Partial Content` (or `416`). On by default: it
    /// changes nothing for a request without `Range`.
    pub ranges: bool,
    /// Send an `ETag` with files and answer a matching `If-None-Match` with 304. Off by
    /// default, because the extra header changes CPython's bytes.
    pub etag: bool,
    /// When an HTTP/1.1 client asks to close (`Connection: close`), say so in the
    /// response (`Connection: close`), as RFC 9112 §9.6 recommends; CPython closes
    /// without saying it, and clients that then send their next request on the closing
    /// connection (wrk) count an error per request. Off by default, because the extra
    /// header changes CPython's bytes.
    pub announce_close: bool,
    /// Log each request to stderr in Python's format. On by default.
    pub log_requests: bool,
    /// Python's `timeout` for the connection. `None` by default.
    pub timeout: Option<Duration>,
    /// Files served lately, kept open (shared by clones of the handler).
    open_files: Arc<OpenFiles>,
}

impl fmt::Debug for SimpleHttpRequestHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleHttpRequestHandler")
            .field("directory", &self.directory)
            .field("index_pages", &self.index_pages)
            .field("protocol_version", &self.protocol_version)
            .field("response_headers", &self.response_headers)
            .field("ranges", &self.ranges)
            .field("etag", &self.etag)
            .field("announce_close", &self.announce_close)
            .finish_non_exhaustive()
    }
}

/// What `send_head` hands to `copyfile`: an open file (part of it, for a range) or a page
/// built in memory.
#[derive(Debug)]
pub enum Body {
    /// `len` bytes of `file` from `offset`, sent with `sendfile`.
    File {
        /// The open file (shared with other requests for it: read it with positioned
        /// reads such as `read_at`, as `sendfile` does).
        file: Arc<File>,
        /// Where to start.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// A generated page (a directory listing).
    Bytes(Vec<u8>),
}

impl SimpleHttpRequestHandler {
    /// A handler serving `directory`, with Python's defaults otherwise.
    pub fn new(directory: impl Into<PathBuf>) -> SimpleHttpRequestHandler {
        SimpleHttpRequestHandler {
            directory: directory.into(),
            index_pages: vec!["index.html".into(), "index.htm".into()],
            extensions_map: ExtensionsMap::new(),
            protocol_version: "HTTP/1.0".into(),
            server_version: SIMPLE_SERVER_VERSION.into(),
            response_headers: Vec::new(),
            ranges: true,
            etag: false,
            announce_close: false,
            log_requests: true,
            timeout: None,
            open_files: Arc::default(),
        }
    }

    /// A handler serving the current directory (Python's default `directory`, read here
    /// once rather than per request).
    pub fn current_dir() -> io::Result<SimpleHttpRequestHandler> {
        Ok(Self::new(std::env::current_dir()?))
    }

    /// Python's `translate_path(path)`: the file a request path names under
    /// `directory` (never outside it; see [`url::translate_path`](super::url::translate_path)).
    #[doc(alias = "get_path")]
    pub fn translate_path(&self, path: &str) -> std::result::Result<PathBuf, TranslateError> {
        translate_path(path, &self.directory)
    }

    /// Python's `guess_type(path)`: the MIME type from the extension (CPython's built-in
    /// table and `extensions_map`), `application/octet-stream` when unknown.
    pub fn guess_type(&self, path: &Path) -> &str {
        self.extensions_map.guess_type(path)
    }

    /// Python's `send_head()`: sends the status line and headers for `h.path` — a file
    /// (200, 206 for a range, 304 when not modified), a listing, a redirect to add the
    /// missing `/` to a directory, or an error — and returns what the body is, if any.
    #[doc(alias = "do_file")]
    pub fn send_head(&self, h: &mut HttpRequest<'_>) -> Result<Option<Body>> {
        let mut path = match self.translate_path(&h.path) {
            Ok(p) => p,
            Err(e) if e.trailing_slash => {
                h.send_error_message(404, "File not found")?;
                return Ok(None);
            }
            // Python's open() raises a non-OSError here: no response, handle_error.
            Err(e) => return Err(Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e))),
        };
        // One `stat` answers "is it a directory?"; a regular file is opened (or taken
        // from the files kept open) to be served.
        let mut opened = self.open_files.open(&path);
        let is_dir = opened.meta.as_ref().is_some_and(|m| m.is_dir());
        if is_dir {
            let location = directory_redirect_location(&h.path)
                .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
            if let Some(location) = location {
                h.send_response(301)?;
                h.send_header("Location", &location)?;
                h.send_header("Content-Length", "0")?;
                h.end_headers()?;
                return Ok(None);
            }
            let index = self.index_pages.iter().find_map(|i| {
                let candidate = path.join(i);
                let found = self.open_files.open(&candidate);
                found.file.is_some().then_some((candidate, found))
            });
            match index {
                Some((index, found)) => {
                    path = index;
                    opened = found;
                }
                None => return self.list_directory(h, &path),
            }
        }
        let ctype = self.guess_type(&path);
        if path.as_os_str().as_bytes().ends_with(b"/") {
            h.send_error_message(404, "File not found")?;
            return Ok(None);
        }
        let Some((file, meta)) = opened.file() else {
            h.send_error_message(404, "File not found")?;
            return Ok(None);
        };
        let size = meta.len();
        let mtime = mtime_seconds(meta.mtime(), meta.mtime_nsec());
        let etag = || format!("\"{:x}-{:x}\"", meta.mtime(), size);
        let last_modified = h.date_time_string(Some(super::date::from_unix_seconds(mtime)));

        let inm = h.headers.get("If-None-Match");
        if self.etag && inm.is_some_and(|v| etag_matches(v, &etag())) {
            h.send_response(304)?;
            h.send_header("ETag", &etag())?;
            self.send_response_headers(h)?;
            h.end_headers()?;
            return Ok(None);
        }
        let not_modified = inm.is_none()
            && h.headers
                .get("If-Modified-Since")
                .is_some_and(|ims| is_not_modified(ims, meta.mtime(), meta.mtime_nsec()));
        if not_modified {
            h.send_response(304)?;
            self.send_response_headers(h)?;
            h.end_headers()?;
            return Ok(None);
        }

        let range = match h.headers.get("Range") {
            Some(range) if self.ranges => {
                let if_range_ok = match h.headers.get("If-Range") {
                    None => true,
                    Some(v) => v == etag() || v == last_modified,
                };
                if if_range_ok {
                    parse_range(range, size)
                } else {
                    RangeAnswer::Whole
                }
            }
            _ => RangeAnswer::Whole,
        };
        match range {
            RangeAnswer::Whole => {}
            RangeAnswer::Unsatisfiable => {
                h.send_response(416)?;
                h.send_header("Content-Range", &format!("bytes */{size}"))?;
                h.send_header("Content-Length", "0")?;
                h.end_headers()?;
                return Ok(None);
            }
            RangeAnswer::Part(start, end) => {
                let len = end - start + 1;
                h.send_response(206)?;
                h.send_header("Content-type", ctype)?;
                h.send_header("Content-Length", &len.to_string())?;
                h.send_header("Content-Range", &format!("bytes {start}-{end}/{size}"))?;
                h.send_header("Last-Modified", &last_modified)?;
                h.send_header("Accept-Ranges", "bytes")?;
                if self.etag {
                    h.send_header("ETag", &etag())?;
                }
                self.send_response_headers(h)?;
                h.end_headers()?;
                return Ok(Some(Body::File {
                    file,
                    offset: start,
                    len,
                }));
            }
        }

        h.send_response(200)?;
        h.send_header("Content-type", ctype)?;
        h.send_header("Content-Length", &size.to_string())?;
        h.send_header("Last-Modified", &last_modified)?;
        if self.etag {
            h.send_header("ETag", &etag())?;
        }
        self.send_response_headers(h)?;
        h.end_headers()?;
        Ok(Some(Body::File {
            file,
            offset: 0,
            len: size,
        }))
    }

    /// Python's `list_directory(path)`: the listing page of `path` (sent headers
    /// included), or a 404 `No permission to list directory`.
    #[doc(alias = "list_dir")]
    pub fn list_directory(&self, h: &mut HttpRequest<'_>, path: &Path) -> Result<Option<Body>> {
        let mut entries = match Entry::read_dir(path) {
            Ok(e) => e,
            Err(_) => {
                h.send_error_message(404, "No permission to list directory")?;
                return Ok(None);
            }
        };
        let page = list_directory_html(&h.path, &mut entries)
            .map_err(|e| Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        h.send_response(200)?;
        h.send_header("Content-type", LISTING_CONTENT_TYPE)?;
        h.send_header("Content-Length", &page.len().to_string())?;
        self.send_response_headers(h)?;
        h.end_headers()?;
        Ok(Some(Body::Bytes(page)))
    }

    /// Python's `copyfile(source, outputfile)`: sends the body — a file with `sendfile`,
    /// a page in one write.
    pub fn copyfile(&self, body: Body, h: &mut HttpRequest<'_>) -> Result<()> {
        match body {
            Body::File { file, offset, len } => h.wfile.send_file(&file, offset, len)?,
            Body::Bytes(bytes) => h.wfile.write_all(&bytes)?,
        }
        Ok(())
    }

    fn send_response_headers(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        for (name, value) in &self.response_headers {
            h.send_header(name, value)?;
        }
        if self.announce_close && h.close_connection && h.request_version == "HTTP/1.1" {
            h.send_header("Connection", "close")?;
        }
        Ok(())
    }
}

/// `If-None-Match: *` or a list containing `etag` (weak comparison).
fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// How to answer a `Range` header.
#[derive(Debug, PartialEq, Eq)]
enum RangeAnswer {
    /// Ignore it: the whole file with 200 (not a bytes range, several ranges, or junk).
    Whole,
    /// 416.
    Unsatisfiable,
    /// Bytes `start..=end`.
    Part(u64, u64),
}

/// Parses a single `bytes=` range against a file of `size` bytes (RFC 9110 §14.1.2).
fn parse_range(header: &str, size: u64) -> RangeAnswer {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last N bytes.
        let Some(n) = num(last) else {
            return RangeAnswer::Whole;
        };
        if n == 0 || size == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        return RangeAnswer::Part(size.saturating_sub(n), size - 1);
    }
    let Some(start) = num(first) else {
        return RangeAnswer::Whole;
    };
    let end = if last.is_empty() {
        None
    } else {
        match num(last) {
            Some(e) if e >= start => Some(e),
            _ => return RangeAnswer::Whole,
        }
    };
    if start >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Part(start, end.unwrap_or(size - 1).min(size - 1))
}

impl BaseHttpRequestHandler for SimpleHttpRequestHandler {
    fn server_version(&self) -> &str {
        &self.server_version
    }

    fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn log_message(&self, h: &HttpRequest<'_>, message: fmt::Arguments<'_>) {
        if self.log_requests {
            super::handler::default_log_message(self, h, message);
        }
    }

    /// Python's `do_GET`: `send_head`, then `copyfile`.
    fn do_get(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        if let Some(body) = self.send_head(h)? {
            self.copyfile(body, h)?;
        }
        Ok(())
    }

    /// Python's `do_HEAD`: `send_head` only.
    fn do_head(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        self.send_head(h)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        assert_eq!(parse_range("bytes=0-0", 10), Part(0, 0));
        assert_eq!(parse_range("bytes=2-", 10), Part(2, 9));
        assert_eq!(parse_range("bytes=-3", 10), Part(7, 9));
        assert_eq!(parse_range("bytes=-30", 10), Part(0, 9));
        assert_eq!(parse_range("bytes=5-100", 10), Part(5, 9));
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Whole);
        assert_eq!(parse_range("bytes=5-2", 10), Whole);
        assert_eq!(parse_range("items=0-1", 10), Whole);
        assert_eq!(parse_range("bytes=x-1", 10), Whole);
        assert_eq!(parse_range("bytes=99999999999999999999-", 10), Whole);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("*", "\"a\""));
        assert!(etag_matches("\"b\", \"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\"", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
