//! fast.ai's `MinimalHTTPHandler`: a stripped-down HTTP handler for applications behind a
//! reverse proxy — one request per connection, `Connection: close`, no `do_*` dispatch.

use std::io::{BufReader, Write};
use std::time::Duration;

use super::handler::{push_header_line, push_status_line};
use super::headers::HttpMessage;
use super::parse::{self, MAXLINE};
use super::status::responses;
use crate::address::Address;
use crate::error::{Error, Result};
use crate::handler::stream::{reader, StreamOptions};
use crate::handler::{marker, run_phases, RequestHandlerClass, SocketWriter};
use crate::server::ServerRef;
use crate::socket::Connection;

/// fast.ai's `MinimalHTTPHandler`: the request line and headers are parsed in `setup`;
/// you write [`handle`](Self::handle) and answer with `send_response`, `send_header`,
/// `end_headers` and `wfile`.
///
/// A request that cannot be parsed makes `setup` fail with an [`Error::Http`] carrying a
/// status (fast.ai's `HandlerException(code, err)`): 414 for a line over 64 KiB, 400 for
/// no request line or not exactly three words, 505 for a version not starting with
/// `HTTP/`, 431 for oversized headers. That error goes to
/// [`setup_ex`](Self::setup_ex), which by default re-raises it: the connection is
/// closed and the server's `handle_error` reports it. Override `setup_ex` to answer.
///
/// ```
/// use socketserver::http::{MinimalHttpHandler, MinimalHttpRequest};
/// use std::io::Write;
///
/// /// The notebook's test handler: prints the request, answers `ok`.
/// struct TestHandler;
///
/// impl MinimalHttpHandler for TestHandler {
///     fn handle(&self, req: &mut MinimalHttpRequest) -> socketserver::Result<()> {
///         println!("Command/path/version: {} {} {}", req.command, req.path, req.request_version);
///         println!("{}", req.headers);
///         req.send_response(200)?;
///         req.send_header("Content-Type", "text/plain")?;
///         req.send_header("Content-Length", "2")?;
///         req.end_headers()?;
///         req.wfile.write_all(b"ok")?;
///         Ok(())
///     }
/// }
/// # let _ = TestHandler;
/// ```
pub trait MinimalHttpHandler: Send + Sync + 'static {
    /// The version written in the status line: `HTTP/1.0`.
    fn protocol_version(&self) -> &str {
        "HTTP/1.0"
    }

    /// `StreamRequestHandler.timeout`. Default `None`.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// `StreamRequestHandler.disable_nagle_algorithm`. Default `false`.
    fn disable_nagle_algorithm(&self) -> bool {
        false
    }

    /// fast.ai's `MessageClass`: how a header block becomes `headers`.
    #[doc(alias = "MessageClass")]
    fn parse_headers(&self, block: &[u8], headers: &mut HttpMessage) {
        headers.parse_into(block);
    }

    /// Called with the error when parsing the request fails. Default: re-raise it
    /// (fast.ai: `raise e from None`). Returning `Ok` lets `handle` run anyway, as in
    /// fast.ai.
    fn setup_ex(&self, req: &mut MinimalHttpRequest<'_>, error: Error) -> Result<()> {
        let _ = req;
        Err(error)
    }

    /// Answers the request. Required.
    fn handle(&self, req: &mut MinimalHttpRequest<'_>) -> Result<()>;

    /// Runs after `handle`, even when it failed. Default: nothing.
    fn finish(&self, req: &mut MinimalHttpRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }
}

/// The per-request value of a [`MinimalHttpHandler`].
#[non_exhaustive]
pub struct MinimalHttpRequest<'a> {
    /// The connection.
    pub request: &'a Connection,
    /// The same connection.
    pub connection: &'a Connection,
    /// The client's address.
    pub client_address: &'a Address,
    /// The server.
    pub server: &'a ServerRef,
    /// Buffered reader over the connection.
    pub rfile: BufReader<&'a Connection>,
    /// The response stream (the header block leaves with the first body write).
    pub wfile: SocketWriter<'a>,
    /// The request line as received.
    pub raw_requestline: Vec<u8>,
    /// The method.
    pub command: String,
    /// The request target.
    pub path: String,
    /// The version number, without `HTTP/` (`1.1`), as fast.ai keeps it.
    pub request_version: String,
    /// The request headers.
    pub headers: HttpMessage,
    /// The version written in the status line.
    pub protocol_version: &'a str,
    headers_buffer: Vec<u8>,
}

impl std::fmt::Debug for MinimalHttpRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinimalHttpRequest")
            .field("command", &self.command)
            .field("path", &self.path)
            .field("request_version", &self.request_version)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl MinimalHttpRequest<'_> {
    /// fast.ai's `send_response(code)`: starts the header block with the status line
    /// and `Connection: close`.
    pub fn send_response(&mut self, code: u16) -> Result<()> {
        self.send_response_message(code, "")
    }

    /// fast.ai's `send_response(code, message)`; an empty message means the standard
    /// phrase.
    pub fn send_response_message(&mut self, code: u16, message: &str) -> Result<()> {
        let message = if message.is_empty() {
            responses(code).map(|r| r.0).unwrap_or("")
        } else {
            message
        };
        self.headers_buffer.clear();
        push_status_line(
            &mut self.headers_buffer,
            self.protocol_version,
            code,
            message,
        )?;
        self.send_header("Connection", "close")
    }

    /// fast.ai's `send_header(keyword, value)`. CR and LF are refused.
    pub fn send_header(&mut self, keyword: &str, value: &str) -> Result<()> {
        push_header_line(&mut self.headers_buffer, keyword, value)
    }

    /// fast.ai's `end_headers()`: ends the block; it leaves with the first body write.
    pub fn end_headers(&mut self) -> Result<()> {
        self.headers_buffer.extend_from_slice(b"\r\n");
        self.wfile.hold(&self.headers_buffer);
        self.headers_buffer.clear();
        Ok(())
    }
}

/// fast.ai's `_setup`.
fn parse_minimal<H: MinimalHttpHandler + ?Sized>(
    class: &H,
    req: &mut MinimalHttpRequest<'_>,
) -> Result<()> {
    req.raw_requestline.clear();
    parse::read_line(&mut req.rfile, MAXLINE + 1, &mut req.raw_requestline)?;
    if req.raw_requestline.len() > MAXLINE {
        return Err(Error::handler(414, ""));
    }
    if req.raw_requestline.is_empty() {
        return Err(Error::handler(400, "No request line"));
    }
    let mut line = String::new();
    parse::decode_request_line(&req.raw_requestline, &mut line);
    let words: Vec<&str> = parse::split_words(&line).collect();
    if words.len() != 3 {
        let list: Vec<String> = words.iter().map(|w| super::pyrepr::py_repr(w)).collect();
        return Err(Error::handler(
            400,
            format!("Invalid request: [{}]", list.join(", ")),
        ));
    }
    let version = words[2];
    if !version.starts_with("HTTP/") {
        return Err(Error::handler(505, version));
    }
    req.command = words[0].to_owned();
    req.path = words[1].to_owned();
    req.request_version = version["HTTP/".len()..].to_owned();
    let mut block = Vec::new();
    if let Err(e) = parse::read_header_block(&mut req.rfile, &mut block)? {
        return Err(Error::handler(431, e.explain()));
    }
    class.parse_headers(&block, &mut req.headers);
    Ok(())
}

impl<T: MinimalHttpHandler> RequestHandlerClass<Connection, marker::MinimalHttp> for T {
    fn handle_request(
        &self,
        request: &Connection,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()> {
        let options = StreamOptions {
            timeout: self.timeout(),
            disable_nagle_algorithm: self.disable_nagle_algorithm(),
            rbufsize: -1,
            wbufsize: 0,
        };
        options.apply(request, server)?;
        let mut req = MinimalHttpRequest {
            request,
            connection: request,
            client_address,
            server,
            rfile: reader(request, -1),
            wfile: SocketWriter::new(request, 0),
            raw_requestline: Vec::new(),
            command: String::new(),
            path: String::new(),
            request_version: String::new(),
            headers: HttpMessage::new(),
            protocol_version: self.protocol_version(),
            headers_buffer: Vec::new(),
        };
        let result = run_phases(
            &mut req,
            |r| match parse_minimal(self, r) {
                Ok(()) => Ok(()),
                Err(e) => self.setup_ex(r, e),
            },
            |r| self.handle(r),
            |r| self.finish(r),
        );
        let _ = req.wfile.flush();
        result
    }

    fn wants_nodelay(&self) -> bool {
        self.disable_nagle_algorithm()
    }
}
