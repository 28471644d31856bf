//! [`FcgiHandler`]: fast.ai's `FcgiHandler`, a FastCGI Responder, as a handler trait.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::conn::{reply, Event, Input, OutBuf, DRAIN_LIMIT};
use super::params::Params;
use super::record::{
    pack_end_request, PairDecoder, ProtocolError, Request, Role, Status, FCGI_KEEP_CONN,
    MAX_PARAMS_SIZE,
};
use crate::address::Address;
use crate::error::Result;
use crate::handler::{marker, run_phases, stream, RequestHandlerClass};
use crate::server::{graceful, park};
use crate::server::{lock, ServerRef};
use crate::socket::Connection;

/// The default [`FcgiHandler::max_conns`] (and `max_reqs`): what GET_VALUES answers
/// for `FCGI_MAX_CONNS` and `FCGI_MAX_REQS`.
pub const MAX_CONNS: usize = 1024;

/// Default [`FcgiHandler::max_stdin_size`]: 64 MiB.
pub const MAX_STDIN_SIZE: usize = 64 << 20;

/// A FastCGI Responder: fast.ai's `FcgiHandler`, whose `handle` you write.
///
/// Give a value of your type to any stream server — `UnixStreamServer::new(path,
/// MyHandler)`, `ThreadingUnixStreamServer`, `ThreadingTcpServer`,
/// `ForkingUnixStreamServer`, `ThreadPoolUnixStreamServer` — and the server speaks
/// FastCGI on every connection it accepts: the library reads BEGIN_REQUEST and PARAMS,
/// calls [`setup`](Self::setup), [`handle`](Self::handle) and [`finish`](Self::finish)
/// with a fresh [`FcgiRequest`], then sends the end of STDOUT and END_REQUEST
/// (`FCGI_REQUEST_COMPLETE`, with [`FcgiRequest::app_status`]). When the web server
/// sets `FCGI_KEEP_CONN`, the next request on the same connection follows, in the same
/// call of the server's handler — so `handle` runs once per FastCGI request, whatever the
/// connection does.
///
/// The request body is not read in advance: [`FcgiRequest::stdin`] reads it from the
/// connection as the handler asks (a small body is already in memory), and it ends at
/// the empty STDIN record, whatever `CONTENT_LENGTH` says. **Read the body before you
/// answer** when it may be large: nginx stops forwarding a request body once the
/// response starts (it closes its temporary file of the body in
/// `ngx_http_upstream_send_response`), so a handler that writes a large response while
/// part of the body is still unsent waits for ever. A handler that leaves the body unread
/// is fine: the library drops what is left after the response. Output sent with
/// [`FcgiRequest::send`] or written to [`FcgiRequest::stdout`] leaves in records of at
/// most 65,535 bytes once 64 KiB have gathered (or on `flush`), so memory stays bounded
/// however large the response.
///
/// The library also answers, without involving `handle`: GET_VALUES (requestId 0),
/// management records of unknown types (UNKNOWN_TYPE), roles other than Responder
/// (END_REQUEST `FCGI_UNKNOWN_ROLE`), a second BEGIN_REQUEST while a request is in
/// progress (`FCGI_CANT_MPX_CONN`), and ABORT_REQUEST (END_REQUEST at once if `handle`
/// has not started; otherwise reading `stdin` fails with
/// [`io::ErrorKind::ConnectionAborted`] and the request ends when `handle` returns,
/// with END_REQUEST `FCGI_REQUEST_COMPLETE` and nothing more written, whether `handle`
/// returned that error or not; a kept connection serves on, and the abort is logged in
/// one line by [`log_abort`](FcgiHandler::log_abort)).
///
/// If `setup`, `handle` or `finish` fails or panics, the request still ends properly: if
/// nothing was written to STDOUT, the responder answers `Status: 500 Internal Server
/// Error`; `appStatus` becomes 1 unless the handler set it; then the error goes to the
/// server's `handle_error` and the connection is closed.
///
/// ```no_run
/// use socketserver::fcgi::{FcgiHandler, FcgiRequest};
/// use socketserver::{BaseServer, ThreadingUnixStreamServer};
/// use std::sync::Arc;
///
/// /// fast.ai's TestHandler.
/// struct TestHandler;
///
/// impl FcgiHandler for TestHandler {
///     fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
///         println!("query: {}", req.params.get("QUERY_STRING").unwrap_or(""));
///         println!("content type: {:?}", req.params.get("HTTP_CONTENT_TYPE"));
///         println!("stdin: {}", String::from_utf8_lossy(req.read_stdin()?));
///         req.send("Content-type: text/html\r\n\r\n<html>foobar</html>\n", false)?;
///         Ok(())
///     }
/// }
///
/// let server = Arc::new(ThreadingUnixStreamServer::new("/tmp/fcgi.sock", TestHandler)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub trait FcgiHandler: Send + Sync + 'static {
    /// A read/write timeout for the connection, set before the first request (Python's
    /// `StreamRequestHandler.timeout`). Default `None`: block for ever — the web server
    /// owns kept-open connections and closes them itself. (The pool server sets its own
    /// `idle_timeout` on every connection; a value here replaces it.) A timeout between
    /// requests closes the connection quietly (as does the web server closing or
    /// resetting it there); one in the middle of a request is an error.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Python's `disable_nagle_algorithm`: set `TCP_NODELAY` on a TCP connection (no
    /// effect on a unix socket). Default **`true`** (Python's `StreamRequestHandler`
    /// says `False`): the responder already gathers a response into whole records and
    /// writes them at once, so Nagle's algorithm can only hold back the last piece of a
    /// large response while the web server delays its acknowledgement.
    fn disable_nagle_algorithm(&self) -> bool {
        true
    }

    /// Runs before `handle`, once PARAMS are read. Default: nothing.
    fn setup(&self, req: &mut FcgiRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }

    /// Answers one FastCGI request: read `req.params` and `req.stdin`, write the CGI
    /// response (headers, a blank line, the body) with `req.send` or to `req.stdout`.
    fn handle(&self, req: &mut FcgiRequest<'_>) -> Result<()>;

    /// Runs after `handle`, even when it failed, before the request is ended. Default:
    /// nothing.
    fn finish(&self, req: &mut FcgiRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }

    /// What GET_VALUES answers for `FCGI_MAX_CONNS`. Default [`MAX_CONNS`].
    fn max_conns(&self) -> usize {
        MAX_CONNS
    }

    /// What GET_VALUES answers for `FCGI_MAX_REQS`. Default: [`max_conns`](Self::max_conns)
    /// (one request per connection at a time; `FCGI_MPXS_CONNS` is always 0).
    fn max_reqs(&self) -> usize {
        self.max_conns()
    }

    /// The most PARAMS bytes one request may send. Default [`MAX_PARAMS_SIZE`] (1 MiB);
    /// more closes the connection with [`ProtocolError::ParamsTooLarge`].
    fn max_params_size(&self) -> usize {
        MAX_PARAMS_SIZE
    }

    /// The most body bytes [`FcgiRequest::read_stdin`] reads into memory. Default
    /// [`MAX_STDIN_SIZE`] (64 MiB); a larger body makes it fail with
    /// [`io::ErrorKind::InvalidData`] (the web server usually caps bodies first: nginx's
    /// `client_max_body_size`, 1 MiB). Reading [`FcgiRequest::stdin`] as a stream has
    /// no limit.
    fn max_stdin_size(&self) -> usize {
        MAX_STDIN_SIZE
    }

    /// Logs a request the web server aborted (`FCGI_ABORT_REQUEST`: its client went
    /// away). A normal event, so one line, not `handle_error`'s report. Default: one
    /// line to stderr, `<web server> - - [<local time>] FastCGI request <id> aborted by
    /// the web server`.
    fn log_abort(&self, request_id: u16, client_address: &Address) {
        let host = client_address.host();
        let line = format!(
            "{} - - [{}] FastCGI request {request_id} aborted by the web server\n",
            if host.is_empty() { "-" } else { &host },
            crate::http::log_date_time_string()
        );
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }
}

/// One FastCGI request, as `handle` sees it: fast.ai's `self` inside `handle`.
///
/// | fast.ai | here |
/// |---|---|
/// | `self.params` (a dict of str) | [`params`](Self::params): [`Params`], byte strings with `&str` accessors |
/// | `self['PARAMS']` | [`params`](Self::params) (already decoded) |
/// | `self.stdin` (the whole body, as str) | [`read_stdin`](Self::read_stdin) (bytes) |
/// | `self['stdin']` | [`stdin`](Self::stdin): a streaming `Read` + `BufRead` |
/// | `self.length` (`int(CONTENT_LENGTH)`) | [`length`](Self::length): `Option<u64>`, `None` when absent, empty or not a number |
/// | `self.send(c, err=False)` | [`send`](Self::send)`(c, err)` |
/// | `self.request` | [`connection`](Self::connection) |
#[non_exhaustive]
pub struct FcgiRequest<'a> {
    /// The request id the web server chose; every reply record carries it.
    pub request_id: u16,
    /// The role: always [`Role::Responder`] (other roles never reach `handle`).
    pub role: Role,
    /// Whether the web server asked to keep the connection open (`FCGI_KEEP_CONN`).
    pub keep_conn: bool,
    /// The CGI environment.
    pub params: &'a Params,
    /// The request body, read from the connection as you read it.
    pub stdin: Stdin<'a>,
    /// STDOUT: the CGI response.
    pub stdout: Stdout<'a>,
    /// The `appStatus` sent in END_REQUEST (a CGI program's exit status). Default 0.
    pub app_status: u32,
    /// The connection (Python's `self.request`).
    pub connection: &'a Connection,
    /// The web server's address (empty for a unix socket).
    pub client_address: &'a Address,
    /// The server.
    pub server: &'a ServerRef,
    body: &'a mut Vec<u8>,
    body_limit: usize,
}

impl fmt::Debug for FcgiRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcgiRequest")
            .field("request_id", &self.request_id)
            .field("role", &self.role)
            .field("keep_conn", &self.keep_conn)
            .field("params", &self.params)
            .field("app_status", &self.app_status)
            .field("client_address", &self.client_address)
            .finish_non_exhaustive()
    }
}

impl FcgiRequest<'_> {
    /// fast.ai's `send(c, err=False)`: writes `content` to STDOUT, or to STDERR when
    /// `err` (nginx logs STDERR lines as `FastCGI sent in stderr`). Text and bytes both
    /// work. An empty `content` writes nothing (it does not end the stream).
    pub fn send(&mut self, content: impl AsRef<[u8]>, err: bool) -> io::Result<()> {
        let typ = if err {
            Request::Stderr
        } else {
            Request::Stdout
        };
        self.stdout
            .out
            .write(self.stdout.conn, typ, content.as_ref())
    }

    /// A writer to STDERR.
    pub fn stderr(&mut self) -> Stderr<'_> {
        Stderr {
            conn: self.stdout.conn,
            out: self.stdout.out,
        }
    }

    /// fast.ai's `stdin` property: the rest of the request body, read into memory.
    ///
    /// Convenient for small bodies; for large ones, read [`stdin`](Self::stdin) as a
    /// stream instead. Calling it again returns the same bytes.
    ///
    /// At most [`FcgiHandler::max_stdin_size`] bytes (64 MiB): a larger body fails with
    /// [`io::ErrorKind::InvalidData`].
    pub fn read_stdin(&mut self) -> io::Result<&[u8]> {
        // Straight into the body's spare room: a large record is read from the socket
        // into place, not through a stack buffer.
        let room = (self.body_limit as u64 + 1).saturating_sub(self.body.len() as u64);
        (&mut self.stdin).take(room).read_to_end(self.body)?;
        if self.body.len() > self.body_limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the request body is larger than {} bytes", self.body_limit),
            ));
        }
        Ok(self.body)
    }

    /// fast.ai's `length`: `CONTENT_LENGTH` as a number — `None` when it is absent,
    /// empty (nginx sends it empty on a GET) or not a number. The body itself is read
    /// until the web server ends it, whatever this says.
    pub fn length(&self) -> Option<u64> {
        self.params.get("CONTENT_LENGTH")?.trim().parse().ok()
    }

    /// True once the web server sent ABORT_REQUEST for this request.
    pub fn aborted(&self) -> bool {
        self.stdin.input.aborted
    }

    /// The connection (Python's `self.request`).
    pub fn request(&self) -> &Connection {
        self.connection
    }
}

/// The request body (STDIN): `Read` and `BufRead` over the STDIN records, read from the
/// connection only as far as you read.
///
/// It ends (a read returns 0) at the empty STDIN record. Errors: the web server closing
/// the connection early ([`io::ErrorKind::UnexpectedEof`]) or aborting the request
/// ([`io::ErrorKind::ConnectionAborted`]).
pub struct Stdin<'a> {
    conn: &'a Connection,
    input: &'a mut Input,
}

impl Stdin<'_> {
    /// Body bytes read so far.
    pub fn received(&self) -> u64 {
        self.input.stdin_received
    }

    /// True once the end of the body was read.
    pub fn is_done(&self) -> bool {
        self.input.stdin_done
    }
}

impl fmt::Debug for Stdin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdin")
            .field("received", &self.input.stdin_received)
            .field("done", &self.input.stdin_done)
            .finish()
    }
}

impl Read for Stdin<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read_stdin(self.conn, buf)
    }
}

impl BufRead for Stdin<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.input.fill_stdin(self.conn)
    }

    fn consume(&mut self, amt: usize) {
        self.input.consume_stdin(amt)
    }
}

/// STDOUT: every write becomes STDOUT records for this request.
///
/// Writes gather in a buffer of 64 KiB and leave in records of at most 65,535 bytes
/// when it fills, on [`flush`](Write::flush) and at the end of the request; a write of
/// 16 KiB or more leaves at once without being copied.
pub struct Stdout<'a> {
    conn: &'a Connection,
    out: &'a mut OutBuf,
}

impl fmt::Debug for Stdout<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdout").finish_non_exhaustive()
    }
}

impl Write for Stdout<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(self.conn, Request::Stdout, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush(self.conn)
    }
}

/// STDERR, from [`FcgiRequest::stderr`]: the same buffering as [`Stdout`], in STDERR
/// records.
pub struct Stderr<'a> {
    conn: &'a Connection,
    out: &'a mut OutBuf,
}

impl fmt::Debug for Stderr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stderr").finish_non_exhaustive()
    }
}

impl Write for Stderr<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(self.conn, Request::Stderr, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush(self.conn)
    }
}

/// What is answered when a handler fails before writing anything.
const INTERNAL_ERROR: &[u8] =
    b"Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n";

/// Everything a connection needs. Kept for the next connection when this one ends:
/// a server with a thread per connection would otherwise allocate (and zero) it for
/// every connection.
#[derive(Debug)]
struct ConnState {
    input: Input,
    out: OutBuf,
    params: Params,
    decoder: PairDecoder,
    body: Vec<u8>,
}

/// Spare connection states, shared by every thread of the process.
static SPARES: Mutex<Vec<ConnState>> = Mutex::new(Vec::new());

/// How many spare states are kept (each holds about 12 KiB, at most ~400 KiB after
/// trimming).
const MAX_SPARES: usize = 16;

/// A buffer that grew past this while serving a request is given back to the
/// allocator rather than kept.
const KEEP_CAPACITY: usize = 64 * 1024;

impl ConnState {
    fn take() -> ConnState {
        lock(&SPARES).pop().unwrap_or_else(|| {
            ConnState {
                input: Input::new(),
                out: OutBuf::new(),
                // What nginx's fastcgi_params send: ~25 pairs, ~600 bytes.
                params: Params::with_capacity(2048, 48),
                decoder: PairDecoder::new(MAX_PARAMS_SIZE),
                body: Vec::new(),
            }
        })
    }

    fn give_back(mut st: ConnState) {
        st.trim();
        let mut spares = lock(&SPARES);
        if spares.len() < MAX_SPARES {
            spares.push(st);
        }
    }

    /// Drops buffers a large request grew, so memory stays flat.
    fn trim(&mut self) {
        if self.body.capacity() > KEEP_CAPACITY {
            self.body = Vec::new();
        }
        self.body.clear();
        if self.params.byte_len() > KEEP_CAPACITY {
            self.params = Params::with_capacity(2048, 48);
        }
        self.out.trim(2 * KEEP_CAPACITY);
        self.input.trim(KEEP_CAPACITY);
    }
}

impl<T: FcgiHandler> RequestHandlerClass<Connection, marker::Fcgi> for T {
    fn handle_request(
        &self,
        request: &Connection,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()> {
        serve_connection(self, request, client_address, server)
    }

    fn wants_nodelay(&self) -> bool {
        self.disable_nagle_algorithm()
    }
}

/// Serves every FastCGI request of one connection.
fn serve_connection<H: FcgiHandler>(
    handler: &H,
    conn: &Connection,
    client_address: &Address,
    server: &ServerRef,
) -> Result<()> {
    // On a later turn of a pool worker, the options are applied already.
    if park::is_fresh() {
        if let Some(t) = handler.timeout() {
            conn.set_timeout(Some(t))?;
        }
        // Best effort: a connection that fails here fails at its first read anyway.
        let _ = stream::set_nodelay(conn, server, handler.disable_nagle_algorithm());
    }
    let mut st = ConnState::take();
    st.input.reset();
    st.input.max_conns = handler.max_conns();
    st.input.max_reqs = handler.max_reqs();
    st.decoder.set_limit(handler.max_params_size());
    let result = serve_requests(handler, conn, client_address, server, &mut st);
    ConnState::give_back(st);
    result
}

/// Errors that end a kept connection quietly when they happen between requests: a
/// read timeout, or the web server resetting the connection (nginx does when a client
/// goes away while our answer to it is still unread in its socket).
fn ends_quietly(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

fn serve_requests<H: FcgiHandler>(
    handler: &H,
    conn: &Connection,
    client_address: &Address,
    server: &ServerRef,
    st: &mut ConnState,
) -> Result<()> {
    // A request was served on this connection: what comes next is between requests.
    let mut served = false;
    loop {
        if served && st.input.at_boundary() {
            // A graceful stop ends a kept connection between requests, and may wake it
            // with end of file while it waits for the next one.
            let draining = || server.shutdown_handle().is_draining();
            if draining() {
                return Ok(());
            }
            graceful::set_idle(true);
            if draining() {
                graceful::set_idle(false);
                return Ok(());
            }
        }
        // Between requests on a pool worker: read only what has arrived; with nothing
        // there, park the connection until its next request (a fresh turn serves it).
        if park::can_park() && st.input.at_boundary() {
            let arrived = match st.input.rbuf.is_drained(conn) {
                true => None,
                false => match st.input.rbuf.fill_nowait(conn) {
                    Ok(arrived) => arrived,
                    // A reset between requests ends the connection quietly, as below.
                    Err(e) if ends_quietly(&e) => return Ok(()),
                    Err(e) => return Err(e.into()),
                },
            };
            match arrived {
                None => {
                    park::park_with(park::Parking {
                        idle: handler.timeout(),
                        ..Default::default()
                    });
                    return Ok(());
                }
                Some(0) => return Ok(()),
                Some(_) => {}
            }
        }
        // On a pool worker the request's head (BEGIN_REQUEST and PARAMS) must arrive
        // within the pool's header timeout, however slowly it trickles in.
        let head_deadline = park::header_timeout().map(|t| Instant::now() + t);
        st.input.rbuf.set_deadline(head_deadline);
        let event = st.input.next_event(conn);
        graceful::set_idle(false);
        let event = match event {
            Ok(e) => e,
            Err(e) if ends_quietly(&e) && st.input.at_boundary() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let (id, role, flags) = match event {
            Event::Begin { id, role, flags } => {
                served = true;
                (id, role, flags)
            }
            Event::Eof => return Ok(()),
            // Nothing is active, so nothing else is reported.
            _ => continue,
        };
        let keep_conn = flags & FCGI_KEEP_CONN != 0;
        if Role::from_u16(role) != Some(Role::Responder) {
            st.input.rbuf.set_deadline(None);
            reply(
                conn,
                Request::EndRequest,
                id,
                &pack_end_request(0, Status::UnknownRole),
            )?;
            if keep_conn {
                continue;
            }
            // Read what the web server still sends for it before closing, so the close
            // does not reset the connection under the answer.
            st.input.start(id);
            st.input.drain_stdin(conn, DRAIN_LIMIT)?;
            st.input.active = None;
            return Ok(());
        }
        st.input.start(id);
        st.out.start(id);
        st.params.clear();
        st.decoder.reset();
        let mut aborted = false;
        loop {
            match st.input.next_event(conn)? {
                Event::Params { len: 0 } => break,
                Event::Params { .. } => {
                    st.input
                        .read_params(conn, &mut st.decoder, &mut st.params)?
                }
                // STDIN before the end of PARAMS: take PARAMS as complete.
                Event::Stdin { len } => {
                    if len == 0 {
                        st.input.stdin_done = true;
                    }
                    break;
                }
                Event::Abort => {
                    aborted = true;
                    break;
                }
                Event::Eof => {
                    return Err(super::conn::unexpected_eof("before the end of PARAMS").into())
                }
                Event::Begin { .. } => {
                    return Err(io::Error::from(ProtocolError::UnexpectedRecord(
                        Request::BeginRequest as u8,
                    ))
                    .into())
                }
            }
        }
        // The body may take as long as the handler lets it.
        st.input.rbuf.set_deadline(None);
        if aborted {
            // Aborted before `handle` started: the answer is END_REQUEST alone.
            st.input.active = None;
            reply(
                conn,
                Request::EndRequest,
                id,
                &pack_end_request(0, Status::RequestComplete),
            )?;
            if keep_conn {
                continue;
            }
            return Ok(());
        }
        st.decoder.finish().map_err(io::Error::from)?;

        let ConnState {
            input,
            out,
            params,
            body,
            ..
        } = st;
        body.clear();
        let mut req = FcgiRequest {
            request_id: id,
            role: Role::Responder,
            keep_conn,
            params,
            stdin: Stdin { conn, input },
            stdout: Stdout { conn, out },
            app_status: 0,
            connection: conn,
            client_address,
            server,
            body,
            body_limit: handler.max_stdin_size(),
        };
        let handled = run_phases(
            &mut req,
            |r| handler.setup(r),
            |r| handler.handle(r),
            |r| handler.finish(r),
        );
        let mut app_status = req.app_status;
        let handled = match handled {
            // The web server gave up on the request (§5.4): answer with END_REQUEST
            // (REQUEST_COMPLETE, the handler's appStatus), write nothing more for a
            // client that went away, and keep a kept connection.
            _ if st.input.aborted => {
                handler.log_abort(id, client_address);
                Ok(())
            }
            other => other,
        };
        if handled.is_err() {
            if !st.out.stdout_used {
                let _ = st.out.write(conn, Request::Stdout, INTERNAL_ERROR);
            }
            if app_status == 0 {
                app_status = 1;
            }
        }
        let ended = st.out.end_request(conn, app_status);
        // The rest of the body, unread by the handler: read and dropped, so that the
        // next request is found, and the close does not reset the connection.
        let drained = match &ended {
            Ok(()) => st.input.drain_stdin(conn, DRAIN_LIMIT),
            Err(_) => Ok(false),
        };
        st.input.active = None;
        st.trim();
        handled?;
        ended?;
        if !drained? || !keep_conn {
            return Ok(());
        }
    }
}
