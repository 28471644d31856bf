//! Python's `http.server.BaseHTTPRequestHandler`.

use std::fmt::{self, Write as _};
use std::io::{self, BufRead, Read, Write};
use std::time::{Duration, Instant, SystemTime};

use super::date::now_bytes;
use super::head::{self, Head};
use super::headers::HttpMessage;
use super::parse::{self, HeaderError, RequestLineError, MAXLINE};
use super::pyrepr::{escape_control_chars, html_escape, py_repr};
use super::reuse;
use super::status::responses;
use crate::address::Address;
use crate::error::{Error, Result};
use crate::handler::stream::{rbuf_capacity, StreamOptions};
use crate::handler::{marker, run_phases, BufferedReader, RequestHandlerClass, SocketWriter};
use crate::server::ServerRef;
use crate::server::{graceful, park};
use crate::socket::{Connection, ConnectionReader};

/// Python's `DEFAULT_ERROR_MESSAGE`: the HTML page `send_error` sends, a `%`-format with
/// the keys `code`, `message` and `explain`.
pub const DEFAULT_ERROR_MESSAGE: &str = "<!DOCTYPE HTML>
<html lang=\"en\">
    <head>
        <meta charset=\"utf-8\">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>
";

/// Python's `DEFAULT_ERROR_CONTENT_TYPE` (no space before `charset`, as in Python).
pub const DEFAULT_ERROR_CONTENT_TYPE: &str = "text/html;charset=utf-8";

/// Python's `BaseHTTPRequestHandler.server_version`.
pub const SERVER_VERSION: &str = "BaseHTTP/0.6";

/// This crate's `sys_version` (Python's is `Python/3.13.0`).
pub const SYS_VERSION: &str = concat!("socketserver/", env!("CARGO_PKG_VERSION"));

/// Python's `http.server.BaseHTTPRequestHandler`: parses each request on a connection
/// and calls the `do_*` method for its command.
///
/// Implement `do_get`, `do_post`, … (Python's `do_GET`, `do_POST`); a command without a
/// method — and any command `do_method` does not handle — is answered
/// `501 Unsupported method`, exactly as Python answers. The other methods are Python's
/// class attributes and hooks, with Python's defaults; override them to change a value
/// (return a field of your handler to set it at run time, as `python -m http.server -p`
/// sets `protocol_version`).
///
/// ```no_run
/// use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
/// use socketserver::BaseServer;
/// use std::io::Write;
///
/// struct Hello;
///
/// impl BaseHttpRequestHandler for Hello {
///     fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
///         h.send_response(200)?;
///         h.send_header("Content-Type", "text/plain")?;
///         h.send_header("Content-Length", "13")?;
///         h.end_headers()?;
///         h.wfile.write_all(b"Hello, world!")?;
///         Ok(())
///     }
/// }
///
/// let server = std::sync::Arc::new(HttpServer::new(("", 8000), Hello)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub trait BaseHttpRequestHandler: Send + Sync + 'static {
    /// Python's `server_version`: `BaseHTTP/0.6`.
    fn server_version(&self) -> &str {
        SERVER_VERSION
    }

    /// Python's `sys_version` (`Python/3.13.0` there; this crate's name and version
    /// here).
    fn sys_version(&self) -> &str {
        SYS_VERSION
    }

    /// Python's `protocol_version`: the version written in every status line; at
    /// `HTTP/1.1` or above, connections are kept alive. Default `HTTP/1.0`.
    fn protocol_version(&self) -> &str {
        "HTTP/1.0"
    }

    /// Python's `default_request_version`: the version assumed until the request line
    /// says otherwise. Default `HTTP/0.9`.
    fn default_request_version(&self) -> &str {
        "HTTP/0.9"
    }

    /// Python's `error_message_format` ([`DEFAULT_ERROR_MESSAGE`]).
    fn error_message_format(&self) -> &str {
        DEFAULT_ERROR_MESSAGE
    }

    /// Python's `error_content_type` ([`DEFAULT_ERROR_CONTENT_TYPE`]).
    fn error_content_type(&self) -> &str {
        DEFAULT_ERROR_CONTENT_TYPE
    }

    /// Python's `timeout`: per read/write on the connection. Default `None`.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// The most requests one kept-alive connection may carry: the last is answered with
    /// `Connection: close`, and the connection closes after it (nginx's
    /// `keepalive_requests`). Default `None` (no limit, as in Python); on a pool server
    /// its `max_requests_per_connection` (1000) applies too, and the smaller one wins.
    fn max_requests_per_connection(&self) -> Option<usize> {
        None
    }

    /// Python's `disable_nagle_algorithm`. Default **`true`** here (Python: `False`): a
    /// response written in several pieces would otherwise wait for the client's delayed
    /// ACK (about 40 ms) before its second piece.
    fn disable_nagle_algorithm(&self) -> bool {
        true
    }

    /// Python's `rbufsize`: -1 buffered (default), 0 unbuffered.
    fn rbufsize(&self) -> isize {
        -1
    }

    /// Python's `wbufsize`: 0 sends each write at once (default).
    fn wbufsize(&self) -> usize {
        0
    }

    /// Runs once per connection before the first request. Default: nothing.
    fn setup(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        let _ = h;
        Ok(())
    }

    /// Runs once per connection after the last request, even after an error. Default:
    /// nothing.
    fn finish(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        let _ = h;
        Ok(())
    }

    /// Python's `handle()`: [`handle_one_request`](Self::handle_one_request) until
    /// `close_connection` is set.
    ///
    /// On a pool server, a kept-alive connection whose next request has not arrived is
    /// parked by `handle_one_request` (see [`park`](crate::server::park)), which sets
    /// `close_connection` so that this loop — or one written in Python's shape — ends.
    fn handle(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.close_connection = true;
        self.handle_one_request(h)?;
        while !h.close_connection {
            self.handle_one_request(h)?;
        }
        Ok(())
    }

    /// Python's `handle_one_request()`: reads and parses one request, calls its `do_*`
    /// method, flushes `wfile`.
    fn handle_one_request(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        handle_one_request(self, h)
    }

    /// Python's `parse_request()`: parses the request line and the headers into
    /// `command`, `path`, `request_version`, `headers`; answers an error and returns
    /// `false` when they are unacceptable.
    fn parse_request(&self, h: &mut HttpRequest<'_>) -> Result<bool> {
        parse_request(self, h)
    }

    /// Python's `MessageClass`: how a header block becomes `headers`. Override to parse
    /// headers differently.
    ///
    /// [`read_headers`](BaseHttpRequestHandler::read_headers) calls it with every block
    /// it accepts, the blank line included; `headers` still holds the previous request's
    /// headers (or none). The default, [`HttpMessage::parse_into`], replaces them.
    #[doc(alias = "MessageClass")]
    fn parse_headers(&self, block: &[u8], headers: &mut HttpMessage) {
        headers.parse_into(block);
    }

    /// Python's `http.client.parse_headers(self.rfile, _class=self.MessageClass)`: reads
    /// the header block after the request line and has
    /// [`parse_headers`](BaseHttpRequestHandler::parse_headers) turn it into `headers`.
    /// `Ok(Err(_))` is answered with a 431; `Err(_)` is an I/O error (a timeout, a reset).
    ///
    /// The default is [`HttpMessage::read_from_with`] with `parse_headers` as the parser:
    /// the limits and the bytes consumed are [`read_header_block`]'s, and
    /// `parse_headers` is called with the block exactly when the block is accepted. When
    /// the block is already in `rfile`'s buffer (the usual case) it is parsed in the
    /// same pass that finds its end, and the default `parse_headers` takes that parse
    /// instead of parsing again. So overriding `parse_headers` alone keeps working — it
    /// gets the same block, with `headers` as it was, and its result is what the
    /// handler sees — and overriding `read_headers` replaces the whole step (it need not
    /// call `parse_headers` at all).
    ///
    /// [`read_header_block`]: crate::http::parse::read_header_block
    fn read_headers(
        &self,
        rfile: &mut dyn BufRead,
        headers: &mut HttpMessage,
    ) -> io::Result<Result<(), HeaderError>> {
        headers.read_from_with(rfile, |block, headers| self.parse_headers(block, headers))
    }

    /// Python's `handle_expect_100()`: answers `100 Continue` at once and returns `true`;
    /// override to refuse (send an error and return `false`).
    fn handle_expect_100(&self, h: &mut HttpRequest<'_>) -> Result<bool> {
        h.send_response_only(100, None)?;
        h.end_headers()?;
        h.wfile.flush()?;
        Ok(true)
    }

    /// Python's `log_request(code, size)`: logs `"<requestline>" <code> <size>`.
    fn log_request(&self, h: &HttpRequest<'_>, code: u16, size: Option<u64>) {
        match size {
            Some(n) => self.log_message(h, format_args!("\"{}\" {} {}", h.requestline, code, n)),
            None => self.log_message(h, format_args!("\"{}\" {} -", h.requestline, code)),
        }
    }

    /// Python's `log_error`: goes to `log_message` (with the `log` feature, the line is
    /// logged at `Warn`).
    fn log_error(&self, h: &HttpRequest<'_>, message: fmt::Arguments<'_>) {
        crate::logging::as_error(|| self.log_message(h, message));
    }

    /// Python's `log_message(format, *args)`: writes `<address> - - [<local time>]
    /// <message>` to stderr, with control characters in the message escaped as `\xHH`
    /// and `\` doubled. The message arrives unformatted (`format_args!`), as Python's
    /// `format` and `args` do, so a `log_message` that ignores it costs nothing. Override
    /// to log elsewhere, or not at all.
    fn log_message(&self, h: &HttpRequest<'_>, message: fmt::Arguments<'_>) {
        default_log_message(self, h, message);
    }

    /// Python's `version_string()`: `server_version + " " + sys_version`, sent as the
    /// `Server` header (read once per connection).
    fn version_string(&self) -> String {
        // `join` sizes the string once.
        [self.server_version(), self.sys_version()].join(" ")
    }

    /// Python's `address_string()`: the client's host (`client_address[0]`).
    fn address_string(&self, h: &HttpRequest<'_>) -> String {
        h.client_address.host()
    }

    /// `GET` (Python's `do_GET`).
    #[doc(alias = "do_GET")]
    fn do_get(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }
    /// `HEAD` (Python's `do_HEAD`).
    #[doc(alias = "do_HEAD")]
    fn do_head(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }
    /// `POST` (Python's `do_POST`).
    #[doc(alias = "do_POST")]
    fn do_post(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }
    /// `PUT` (Python's `do_PUT`).
    #[doc(alias = "do_PUT")]
    fn do_put(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }
    /// `DELETE` (Python's `do_DELETE`).
    #[doc(alias = "do_DELETE")]
    fn do_delete(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }
    /// `OPTIONS` (Python's `do_OPTIONS`).
    #[doc(alias = "do_OPTIONS")]
    fn do_options(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }
    /// `PATCH` (Python's `do_PATCH`).
    #[doc(alias = "do_PATCH")]
    fn do_patch(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }

    /// Any other command (Python's `do_<COMMAND>` for a command not listed above, e.g.
    /// `do_SPAM`): look at `h.command`. Default: 501.
    fn do_method(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_unsupported()
    }

    /// Calls the `do_*` method for `h.command` (case-sensitive, as Python's `getattr`).
    fn dispatch(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        match h.command.as_str() {
            "GET" => self.do_get(h),
            "HEAD" => self.do_head(h),
            "POST" => self.do_post(h),
            "PUT" => self.do_put(h),
            "DELETE" => self.do_delete(h),
            "OPTIONS" => self.do_options(h),
            "PATCH" => self.do_patch(h),
            _ => self.do_method(h),
        }
    }
}

/// The per-connection value of a [`BaseHttpRequestHandler`]: Python's `self` in `do_GET`.
///
/// One lives for the whole connection, like Python's handler object: the request
/// fields are refilled for each request on a kept-alive connection, and its buffers are
/// reused.
#[non_exhaustive]
pub struct HttpRequest<'a> {
    /// The connection (Python's `self.request`).
    pub request: &'a Connection,
    /// The same connection (Python's `self.connection`).
    pub connection: &'a Connection,
    /// The client's address.
    pub client_address: &'a Address,
    /// The server (`server_address`, `server_name`, a shutdown handle).
    pub server: &'a ServerRef,
    /// Buffered reader over the connection: read a request body from here.
    pub rfile: BufferedReader<ConnectionReader<'a>>,
    /// The response stream. Headers from `end_headers` wait here and leave with the
    /// first body write, in one system call.
    pub wfile: SocketWriter<'a>,
    /// The method (`GET`, …); empty until a request line is parsed.
    pub command: String,
    /// The request target (`/index.html?x=1`), leading `//` collapsed to `/`.
    pub path: String,
    /// The request's version (`HTTP/1.1`).
    pub request_version: String,
    /// The request line, without its line ending.
    pub requestline: String,
    /// The request line as received, line ending included.
    pub raw_requestline: Vec<u8>,
    /// The request headers.
    pub headers: HttpMessage,
    /// Close the connection after this request (Python's `close_connection`).
    pub close_connection: bool,
    /// Python's `protocol_version` for this connection.
    pub protocol_version: &'a str,
    /// Python's `default_request_version` for this connection.
    pub default_request_version: &'a str,
    /// Python's `server_version`.
    pub server_version: &'a str,
    /// Python's `sys_version`.
    pub sys_version: &'a str,
    /// Python's `error_message_format`.
    pub error_message_format: &'a str,
    /// Python's `error_content_type`.
    pub error_content_type: &'a str,
    version_string: String,
    headers_buffer: Vec<u8>,
    /// When the head being received must be complete (set on a pool worker once its
    /// first bytes have arrived).
    head_deadline: Option<Instant>,
    /// Requests served on this connection before the current one.
    served: usize,
    /// The current request is the last the connection may carry.
    last_request: bool,
    /// The response has a `Connection` header of its own.
    connection_header_sent: bool,
    class: &'a dyn BaseHttpRequestHandler,
}

impl std::fmt::Debug for HttpRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("client_address", &self.client_address)
            .field("requestline", &self.requestline)
            .field("command", &self.command)
            .field("path", &self.path)
            .field("request_version", &self.request_version)
            .field("headers", &self.headers)
            .field("close_connection", &self.close_connection)
            .finish_non_exhaustive()
    }
}

impl Drop for HttpRequest<'_> {
    /// Leaves the storage for the thread's next request (`src/http/reuse.rs`).
    fn drop(&mut self) {
        use std::mem::take;
        reuse::give_back(reuse::Storage {
            rbuf: self.rfile.take_buffer(),
            wbuf: self.wfile.take_buffer(),
            headers_buffer: take(&mut self.headers_buffer),
            raw_requestline: take(&mut self.raw_requestline),
            command: take(&mut self.command),
            path: take(&mut self.path),
            request_version: take(&mut self.request_version),
            requestline: take(&mut self.requestline),
            headers: take(&mut self.headers),
        });
    }
}

impl<'a> HttpRequest<'a> {
    /// Python's `StreamRequestHandler.setup` for an HTTP handler.
    fn new(
        class: &'a dyn BaseHttpRequestHandler,
        connection: &'a Connection,
        client_address: &'a Address,
        server: &'a ServerRef,
    ) -> io::Result<HttpRequest<'a>> {
        let options = StreamOptions {
            timeout: class.timeout(),
            disable_nagle_algorithm: class.disable_nagle_algorithm(),
            rbufsize: class.rbufsize(),
            wbufsize: class.wbufsize(),
        };
        if park::is_fresh() {
            options.apply(connection, server)?;
        }
        // On a pool worker: what an earlier turn received of a head.
        let (leftover, head_deadline) = park::take_leftover();
        let mut reader = ConnectionReader::new(connection);
        if !leftover.is_empty() {
            reader.set_prefix(leftover);
        }
        let spare = reuse::take();
        let rbuf_capacity = rbuf_capacity(options.rbufsize);
        Ok(HttpRequest {
            request: connection,
            connection,
            client_address,
            server,
            rfile: BufferedReader::with_buffer(spare.rbuf, rbuf_capacity, reader),
            wfile: SocketWriter::with_buffer(connection, options.wbufsize, spare.wbuf),
            command: spare.command,
            path: spare.path,
            request_version: spare.request_version,
            requestline: spare.requestline,
            raw_requestline: spare.raw_requestline,
            headers: spare.headers,
            close_connection: true,
            protocol_version: class.protocol_version(),
            default_request_version: class.default_request_version(),
            server_version: class.server_version(),
            sys_version: class.sys_version(),
            error_message_format: class.error_message_format(),
            error_content_type: class.error_content_type(),
            version_string: class.version_string(),
            headers_buffer: spare.headers_buffer,
            head_deadline,
            served: park::requests_served(),
            last_request: false,
            connection_header_sent: false,
            class,
        })
    }

    /// True for an HTTP/0.9 request: no status line and no headers are sent.
    fn is_http_09(&self) -> bool {
        self.request_version == "HTTP/0.9"
    }

    /// Python's `send_response(code)`: logs the request, then buffers the status line
    /// and the `Server` and `Date` headers.
    pub fn send_response(&mut self, code: u16) -> Result<()> {
        self.send_response_message(code, None)
    }

    /// Python's `send_response(code, message)`: as [`send_response`](Self::send_response)
    /// with your own reason phrase.
    pub fn send_response_message(&mut self, code: u16, message: Option<&str>) -> Result<()> {
        self.class.log_request(self, code, None);
        self.send_response_only(code, message)?;
        if !self.is_http_09() {
            let buf = &mut self.headers_buffer;
            buf.extend_from_slice(b"Server: ");
            push_latin1(buf, &self.version_string)?;
            buf.extend_from_slice(b"\r\nDate: ");
            buf.extend_from_slice(&now_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    /// Python's `send_response_only(code, message)`: buffers the status line only (the
    /// reason phrase defaults to Python's for `code`, or empty).
    pub fn send_response_only(&mut self, code: u16, message: Option<&str>) -> Result<()> {
        if self.is_http_09() {
            return Ok(());
        }
        let message = message.unwrap_or_else(|| responses(code).map(|r| r.0).unwrap_or(""));
        push_status_line(
            &mut self.headers_buffer,
            self.protocol_version,
            code,
            message,
        )
    }

    /// Python's `send_header(keyword, value)`: buffers `keyword: value`; a `Connection`
    /// header also decides `close_connection`.
    ///
    /// Unlike Python, a CR or LF in either part is refused with an error (Python writes
    /// it, which lets a reflected value split the response), as is a character outside
    /// Latin-1 (Python raises `UnicodeEncodeError`).
    pub fn send_header(&mut self, keyword: &str, value: &str) -> Result<()> {
        if self.is_http_09() {
            check_header_text(keyword)?;
            check_header_text(value)?;
        } else {
            push_header_line(&mut self.headers_buffer, keyword, value)?;
        }
        if keyword.eq_ignore_ascii_case("connection") {
            self.connection_header_sent = true;
            if value.eq_ignore_ascii_case("close") {
                self.close_connection = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                self.close_connection = false;
            }
        }
        Ok(())
    }

    /// Python's `end_headers()`: ends the header block. It is held in `wfile` and leaves
    /// with the first body write (or when the request ends), so a small response is one
    /// system call.
    pub fn end_headers(&mut self) -> Result<()> {
        if !self.is_http_09() {
            // The connection's last request (`max_requests_per_connection`, or a
            // graceful stop under way): say so,
            // unless the handler spoke of the connection itself or this is an interim
            // (1xx) response.
            if (self.last_request || self.server.shutdown_handle().is_draining())
                && !self.connection_header_sent
                && self.headers_buffer.get(9) != Some(&b'1')
            {
                push_header_line(&mut self.headers_buffer, "Connection", "close")?;
                self.close_connection = true;
            }
            self.headers_buffer.extend_from_slice(b"\r\n");
            self.wfile.hold(&self.headers_buffer);
            self.headers_buffer.clear();
        }
        Ok(())
    }

    /// Python's `flush_headers()`: sends what is buffered now.
    pub fn flush_headers(&mut self) -> Result<()> {
        self.wfile.hold(&self.headers_buffer);
        self.headers_buffer.clear();
        self.wfile.flush()?;
        Ok(())
    }

    /// Python's `send_error(code)`: an error page with Python's default message and
    /// explanation for `code`.
    pub fn send_error(&mut self, code: u16) -> Result<()> {
        self.send_error_explain(code, None, None)
    }

    /// Python's `send_error(code, message)`.
    pub fn send_error_message(&mut self, code: u16, message: &str) -> Result<()> {
        self.send_error_explain(code, Some(message), None)
    }

    /// Python's `send_error(code, message, explain)`: logs `code N, message M`, sends
    /// the status line (the message is the reason phrase), `Server`, `Date`,
    /// `Connection: close` and — for codes of 200 and up other than 204, 205 and 304 —
    /// the HTML page of `error_message_format` with `Content-Type` and
    /// `Content-Length` (the body is left out for `HEAD`).
    pub fn send_error_explain(
        &mut self,
        code: u16,
        message: Option<&str>,
        explain: Option<&str>,
    ) -> Result<()> {
        let (short, long) = responses(code).unwrap_or(("???", "???"));
        let message = message.unwrap_or(short);
        let explain = explain.unwrap_or(long);
        self.class
            .log_error(self, format_args!("code {code}, message {message}"));
        self.send_response_message(code, Some(message))?;
        self.send_header("Connection", "close")?;
        let mut body = None;
        if code >= 200 && !matches!(code, 204 | 205 | 304) {
            let page = format_error_page(
                self.error_message_format,
                code,
                &html_escape(message, false),
                &html_escape(explain, false),
            );
            self.send_header("Content-Type", self.error_content_type)?;
            self.send_header("Content-Length", &page.len().to_string())?;
            body = Some(page);
        }
        self.end_headers()?;
        if let Some(page) = body {
            if self.command != "HEAD" && !page.is_empty() {
                self.wfile.write_all(page.as_bytes())?;
            }
        }
        Ok(())
    }

    /// The 501 Python sends for a command without a `do_*` method.
    pub fn send_unsupported(&mut self) -> Result<()> {
        let message = format!("Unsupported method ({})", py_repr(&self.command));
        self.send_error_message(501, &message)
    }

    /// Python's `log_request(code)`.
    pub fn log_request(&self, code: u16) {
        self.class.log_request(self, code, None);
    }

    /// Python's `log_error(format, *args)`: `h.log_error(format_args!("..."))`.
    pub fn log_error(&self, message: fmt::Arguments<'_>) {
        self.class.log_error(self, message);
    }

    /// Python's `log_message(format, *args)`: `h.log_message(format_args!("..."))`.
    pub fn log_message(&self, message: fmt::Arguments<'_>) {
        self.class.log_message(self, message);
    }

    /// Python's `version_string()`.
    pub fn version_string(&self) -> &str {
        &self.version_string
    }

    /// Python's `date_time_string(timestamp)`.
    pub fn date_time_string(&self, timestamp: Option<SystemTime>) -> String {
        super::date::date_time_string(timestamp)
    }

    /// Python's `log_date_time_string()`.
    pub fn log_date_time_string(&self) -> String {
        super::date::log_date_time_string()
    }

    /// Python's `address_string()`.
    pub fn address_string(&self) -> String {
        self.class.address_string(self)
    }

    /// The path and the query of `self.path`, as `urllib.parse.urlparse(self.path)`
    /// splits them (`/p?q=1#f` → `("/p", "q=1")`; an absolute URL loses its scheme and
    /// host).
    ///
    /// ```
    /// assert_eq!(socketserver::http::split_path("/x/y?a=1&b=2#top"), ("/x/y", "a=1&b=2"));
    /// ```
    pub fn path_and_query(&self) -> (&str, &str) {
        split_path(&self.path)
    }

    /// Reads the request body announced by `Content-Length`, refusing more than `limit`
    /// bytes.
    ///
    /// Errors carry the status to answer with: 400 for an invalid or conflicting
    /// `Content-Length`, 411 for a `Transfer-Encoding` body (not decoded here), 413 when
    /// the length is above `limit`. No header means an empty body. Memory grows with the
    /// bytes that arrive, never with the number the client announced.
    pub fn read_body(&mut self, limit: usize) -> Result<Vec<u8>> {
        let len = self.content_length(limit)?;
        let mut body = Vec::new();
        (&mut self.rfile).take(len).read_to_end(&mut body)?;
        if (body.len() as u64) < len {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection before sending the whole body",
            )));
        }
        Ok(body)
    }

    /// The request's `Content-Length`, checked: every copy of the header must be the same
    /// run of digits, at most `limit`.
    pub fn content_length(&self, limit: usize) -> Result<u64> {
        if self.headers.get("Transfer-Encoding").is_some() {
            return Err(Error::handler(
                411,
                "Transfer-Encoding is not supported; send Content-Length",
            ));
        }
        let mut found: Option<u64> = None;
        for value in self.headers.get_all("Content-Length") {
            let v = value.trim_matches(|c| c == ' ' || c == '\t');
            if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::handler(400, "Invalid Content-Length"));
            }
            let n: u64 = v
                .parse()
                .map_err(|_| Error::handler(400, "Invalid Content-Length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(Error::handler(400, "Conflicting Content-Length"));
            }
            found = Some(n);
        }
        let n = found.unwrap_or(0);
        if n > limit as u64 {
            return Err(Error::handler(413, "Content Too Large"));
        }
        Ok(n)
    }

    fn reset_for_request(&mut self) {
        self.headers_buffer.clear();
        self.connection_header_sent = false;
        self.wfile.discard();
    }
}

/// Python's `BaseHTTPRequestHandler.log_message` body: one line to stderr,
/// `<address> - - [<local time>] <message>`, control characters escaped.
pub fn default_log_message<H: BaseHttpRequestHandler + ?Sized>(
    class: &H,
    h: &HttpRequest<'_>,
    message: fmt::Arguments<'_>,
) {
    let message = message.to_string();
    let mut line = String::with_capacity(64 + message.len());
    line.push_str(&class.address_string(h));
    line.push_str(" - - [");
    line.push_str(&super::date::log_date_time_string());
    line.push_str("] ");
    escape_control_chars(&message, &mut line);
    line.push('\n');
    crate::logging::request_line(&line);
}

/// The path and query of a request target, as `urlparse` splits them.
pub fn split_path(target: &str) -> (&str, &str) {
    let mut rest = target;
    // scheme://netloc
    if let Some(colon) = rest.find(':') {
        let scheme = &rest[..colon];
        let is_scheme = !scheme.is_empty()
            && scheme.as_bytes()[0].is_ascii_alphabetic()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if is_scheme {
            rest = &rest[colon + 1..];
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        rest = &after[end..];
    }
    let rest = rest.split('#').next().unwrap_or("");
    match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    }
}

/// Appends the status line `VERSION CODE MESSAGE\r\n`; a CR or LF in the message is
/// refused.
pub(crate) fn push_status_line(
    buf: &mut Vec<u8>,
    version: &str,
    code: u16,
    message: &str,
) -> Result<()> {
    if !is_plain_header_text(message) {
        check_header_text(message)?;
    }
    push_latin1(buf, version)?;
    if (100..1000).contains(&code) {
        // The usual three-digit code, without the formatting machinery.
        let digit = |d: u16| b'0' + d as u8;
        buf.extend_from_slice(&[
            b' ',
            digit(code / 100),
            digit(code / 10 % 10),
            digit(code % 10),
            b' ',
        ]);
    } else {
        let _ = write!(ByteWriter(buf), " {code} ");
    }
    push_latin1(buf, message)?;
    buf.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends the header line `keyword: value\r\n`; a CR or LF in either is refused.
pub(crate) fn push_header_line(buf: &mut Vec<u8>, keyword: &str, value: &str) -> Result<()> {
    if is_plain_header_text(keyword) && is_plain_header_text(value) {
        buf.reserve(keyword.len() + value.len() + 4);
        buf.extend_from_slice(keyword.as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
        return Ok(());
    }
    check_header_text(keyword)?;
    check_header_text(value)?;
    push_latin1(buf, keyword)?;
    buf.extend_from_slice(b": ");
    push_latin1(buf, value)?;
    buf.extend_from_slice(b"\r\n");
    Ok(())
}

/// True for header text that needs neither refusing nor re-encoding: ASCII with no CR
/// or LF. The usual header line takes this path instead of a search for CR and LF
/// followed by a second pass to encode (measured with callgrind in
/// `docs/performance.md`). Eight bytes at a time, the last word overlapping the one
/// before: header names and values are too short for the compiler's vector loop to pay
/// for its set-up (callgrind: 243 instructions a `Content-Type` line with the byte-wise
/// fold, 146 with this).
fn is_plain_header_text(s: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let plain = |word: &[u8]| {
        let w = u64::from_ne_bytes(word.try_into().unwrap_or_default());
        // Some byte of `v` is zero (exact).
        let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
        w & HIGH == 0
            && !has_zero(w ^ (ONES * u64::from(b'\r')))
            && !has_zero(w ^ (ONES * u64::from(b'\n')))
    };
    let b = s.as_bytes();
    if b.len() < 8 {
        return b.iter().all(|&c| c < 0x80 && c != b'\r' && c != b'\n');
    }
    // Whole words, then the last eight bytes (overlapping the words already seen).
    b.chunks_exact(8).all(plain) && plain(&b[b.len() - 8..])
}

/// Refuses CR and LF in header text.
pub(crate) fn check_header_text(s: &str) -> Result<()> {
    if s.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing a CR or LF in header text {}", py_repr(s)),
        )));
    }
    Ok(())
}

/// Appends `s` encoded as Latin-1 (Python's `.encode('latin-1', 'strict')`).
pub(crate) fn push_latin1(buf: &mut Vec<u8>, s: &str) -> Result<()> {
    if s.is_ascii() {
        buf.extend_from_slice(s.as_bytes());
        return Ok(());
    }
    for c in s.chars() {
        let cp = c as u32;
        if cp > 0xff {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'latin-1' codec can't encode character {c:?} in header text"),
            )));
        }
        buf.push(cp as u8);
    }
    Ok(())
}

/// `fmt::Write` into a byte vector.
struct ByteWriter<'b>(&'b mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Python's `error_message_format % {'code': …, 'message': …, 'explain': …}` for the
/// forms a template uses: `%(name)s`, `%(name)d`, `%(name)r`, and `%%`.
pub fn format_error_page(template: &str, code: u16, message: &str, explain: &str) -> String {
    let mut out = String::with_capacity(template.len() + message.len() + explain.len());
    let mut rest = template;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('%') {
            out.push('%');
            rest = stripped;
            continue;
        }
        if let Some(key_and_rest) = after.strip_prefix('(') {
            if let Some(close) = key_and_rest.find(')') {
                let key = &key_and_rest[..close];
                let spec = key_and_rest[close + 1..].chars().next();
                let value = match key {
                    "code" => Some(code.to_string()),
                    "message" => Some(message.to_owned()),
                    "explain" => Some(explain.to_owned()),
                    _ => None,
                };
                if let (Some(v), Some(spec @ ('s' | 'd' | 'r'))) = (value, spec) {
                    if spec == 'r' {
                        out.push_str(&py_repr(&v));
                    } else {
                        out.push_str(&v);
                    }
                    rest = &key_and_rest[close + 2..];
                    continue;
                }
            }
        }
        out.push('%');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Python's `handle_one_request()`.
///
/// On a pool worker it first makes sure the request's head has arrived, reading only
/// what is there; if it has not, the connection is parked — `close_connection` is set
/// and nothing is answered — and the handler runs again when the client sends more.
pub fn handle_one_request<H: BaseHttpRequestHandler + ?Sized>(
    class: &H,
    h: &mut HttpRequest<'_>,
) -> Result<()> {
    h.reset_for_request();
    if h.served > 0 {
        // Between two requests of a kept-alive connection: a graceful stop ends it here,
        // and may wake it with end of file while it waits.
        if h.server.shutdown_handle().is_draining() {
            h.close_connection = true;
            return Ok(());
        }
        graceful::set_idle(true);
        if h.server.shutdown_handle().is_draining() {
            graceful::set_idle(false);
            h.close_connection = true;
            return Ok(());
        }
    }
    if head::gather(&mut h.rfile, &mut h.head_deadline, class.timeout())? == Head::Parked {
        h.close_connection = true;
        return Ok(());
    }
    match handle_one_request_inner(class, h) {
        Err(Error::Io(e))
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            class.log_error(
                h,
                format_args!("Request timed out: TimeoutError('timed out')"),
            );
            h.close_connection = true;
            Ok(())
        }
        other => other,
    }
}

fn handle_one_request_inner<H: BaseHttpRequestHandler + ?Sized>(
    class: &H,
    h: &mut HttpRequest<'_>,
) -> Result<()> {
    // On a pool worker the whole head must arrive within the pool's header timeout,
    // however slowly the client trickles it in (Python has no such limit).
    match h.head_deadline.take() {
        Some(deadline) => h.rfile.get_mut().set_deadline(Some(deadline)),
        None => h
            .rfile
            .get_mut()
            .set_deadline_after_first_read(park::header_timeout()),
    }
    let dispatch = read_and_parse_head(class, h);
    graceful::set_idle(false);
    h.rfile.get_mut().set_deadline(None);
    if dispatch? {
        let limit = match (
            class.max_requests_per_connection(),
            park::max_requests_per_connection(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        h.served += 1;
        park::set_requests_served(h.served);
        h.last_request =
            limit.is_some_and(|l| h.served >= l) || h.server.shutdown_handle().is_draining();
        if h.last_request {
            // What the handler sees, so that one that speaks of the connection says close.
            h.close_connection = true;
        }
        class.dispatch(h)?;
        if h.last_request || h.server.shutdown_handle().is_draining() {
            h.close_connection = true;
        }
    }
    h.wfile.flush()?;
    Ok(())
}

/// Reads the request line and calls `parse_request`: `true` when the request is to be
/// dispatched, `false` when it has been answered already or there is nothing to answer.
fn read_and_parse_head<H: BaseHttpRequestHandler + ?Sized>(
    class: &H,
    h: &mut HttpRequest<'_>,
) -> Result<bool> {
    h.raw_requestline.clear();
    parse::read_line(&mut h.rfile, MAXLINE + 1, &mut h.raw_requestline)?;
    if h.raw_requestline.len() > MAXLINE {
        h.requestline.clear();
        h.request_version.clear();
        h.command.clear();
        h.send_error(414)?;
        return Ok(false);
    }
    if h.raw_requestline.is_empty() {
        h.close_connection = true;
        return Ok(false);
    }
    class.parse_request(h)
}

/// Python's `parse_request()` (with the fixes of gh-54930 — only a valid HTTP/0.9
/// request gets an HTTP/0.9 answer — and gh-70765 — an HTTP/0.9 request has no
/// headers to wait for).
pub fn parse_request<H: BaseHttpRequestHandler + ?Sized>(
    class: &H,
    h: &mut HttpRequest<'_>,
) -> Result<bool> {
    h.command.clear();
    h.request_version.clear();
    h.request_version.push_str(h.default_request_version);
    h.close_connection = true;
    let mut line = std::mem::take(&mut h.requestline);
    line.clear();
    parse::decode_request_line(&h.raw_requestline, &mut line);
    let parsed = match parse::parse_request_line(&line) {
        Ok(req) => {
            h.command.push_str(req.command);
            h.path.clear();
            h.path.push_str(req.path);
            // An HTTP/0.9 request keeps `default_request_version` (Python's behaviour):
            // only with the stock "HTTP/0.9" does it get an HTTP/0.9 answer.
            if let Some(v) = req.version {
                h.request_version.clear();
                h.request_version.push_str(v);
                if req.version_number >= (1, 1) && h.protocol_version >= "HTTP/1.1" {
                    h.close_connection = false;
                }
            }
            Ok(req.version.is_none())
        }
        Err(e) => Err(e),
    };
    h.requestline = line;
    let is_http_09 = match parsed {
        Ok(is_http_09) => is_http_09,
        Err(RequestLineError::Empty) => return Ok(false),
        Err(e) => {
            h.request_version.clear();
            if let RequestLineError::UnsupportedVersion(number) = &e {
                // The version word was well formed: Python has already taken it.
                h.request_version.push_str("HTTP/");
                h.request_version.push_str(number);
            }
            h.send_error_message(e.code(), &e.message())?;
            return Ok(false);
        }
    };
    if is_http_09 {
        h.headers.clear();
        return Ok(true);
    }
    let read = class.read_headers(&mut h.rfile, &mut h.headers)?;
    if let Err(e) = read {
        h.send_error_explain(431, Some(e.message()), Some(e.explain()))?;
        return Ok(false);
    }
    let conntype = h.headers.get("Connection").unwrap_or("");
    if conntype.eq_ignore_ascii_case("close") {
        h.close_connection = true;
    } else if conntype.eq_ignore_ascii_case("keep-alive") && h.protocol_version >= "HTTP/1.1" {
        h.close_connection = false;
    }
    let expect = h.headers.get("Expect").unwrap_or("");
    if expect.eq_ignore_ascii_case("100-continue")
        && h.protocol_version >= "HTTP/1.1"
        && h.request_version.as_str() >= "HTTP/1.1"
        && !class.handle_expect_100(h)?
    {
        return Ok(false);
    }
    Ok(true)
}

impl<T: BaseHttpRequestHandler> RequestHandlerClass<Connection, marker::Http> for T {
    fn handle_request(
        &self,
        request: &Connection,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()> {
        let mut h = HttpRequest::new(self, request, client_address, server)?;
        // On a pool worker a connection is served in turns, between which it is
        // parked: `setup` runs on its first turn, `finish` on its last.
        let result = run_phases(
            &mut h,
            |h| match park::is_fresh() {
                true => self.setup(h),
                false => Ok(()),
            },
            |h| self.handle(h),
            |h| match park::is_parking() {
                true => Ok(()),
                false => self.finish(h),
            },
        );
        let _ = h.wfile.flush();
        result
    }

    fn wants_nodelay(&self) -> bool {
        self.disable_nagle_algorithm()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `"%s %d %s\r\n" % (protocol_version, code, message)` for any code.
    #[test]
    fn status_lines_as_python_writes_them() {
        for code in [0u16, 7, 99, 100, 200, 404, 599, 999, 1000, 65535] {
            let mut buf = Vec::new();
            push_status_line(&mut buf, "HTTP/1.1", code, "Msg").unwrap();
            assert_eq!(buf, format!("HTTP/1.1 {code} Msg\r\n").into_bytes());
        }
    }

    /// The word-at-a-time check agrees with a byte-wise one for every length up to three
    /// words, with each kind of byte that leaves the plain path at each position.
    #[test]
    fn plain_header_text_is_found_at_every_position() {
        let bytewise = |s: &str| s.bytes().all(|b| b < 0x80 && b != b'\r' && b != b'\n');
        for len in 0..=24 {
            let plain = "a~ Z0:/".chars().cycle().take(len).collect::<String>();
            assert!(is_plain_header_text(&plain), "{plain:?}");
            for at in 0..len {
                for odd in ["\r", "\n", "\u{e9}", "\u{263a}", "\u{7f}", "\u{0}"] {
                    let mut s = plain.clone();
                    s.replace_range(at..at + 1, odd);
                    assert_eq!(is_plain_header_text(&s), bytewise(&s), "{s:?}");
                }
            }
        }
    }

    /// Header lines on the plain path and off it: ASCII as is, Latin-1 as one byte each,
    /// CR or LF anywhere refused before anything is written, wider characters refused.
    #[test]
    fn header_lines_are_checked_and_latin1_encoded() {
        let line = |k: &str, v: &str| {
            let mut buf = b"HTTP/1.1 200 OK\r\n".to_vec();
            push_header_line(&mut buf, k, v).map(|()| buf[17..].to_vec())
        };
        assert_eq!(line("X-A", "b c").unwrap(), b"X-A: b c\r\n");
        assert_eq!(line("", "").unwrap(), b": \r\n");
        assert_eq!(line("X\u{e9}", "\u{ff}!").unwrap(), b"X\xe9: \xff!\r\n");
        for (k, v) in [
            ("X", "a\rb"),
            ("X\n", "a"),
            ("X", "\u{e9}\n"),
            ("\u{263a}", "\r"),
        ] {
            let err = line(k, v).unwrap_err().to_string();
            assert!(err.contains("CR or LF"), "{k:?}: {v:?} gave {err}");
        }
        let err = line("X", "\u{263a}").unwrap_err().to_string();
        assert!(err.contains("latin-1"), "{err}");
        let mut buf = Vec::new();
        assert!(push_status_line(&mut buf, "HTTP/1.1", 200, "O\nK").is_err());
        push_status_line(&mut buf, "HTTP/1.1", 200, "\u{e9}").unwrap();
        assert_eq!(buf, b"HTTP/1.1 200 \xe9\r\n");
    }
}
