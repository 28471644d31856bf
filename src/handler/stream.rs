//! Python's `StreamRequestHandler`: `rfile` and `wfile` over a connected socket.

use std::fmt;
use std::io::{self, BufReader, IoSlice, Write};
use std::time::Duration;

use super::{marker, run_phases, RequestHandlerClass};
use crate::address::Address;
use crate::error::Result;
use crate::server::ServerRef;
use crate::socket::Connection;

/// Python's `io.DEFAULT_BUFFER_SIZE`, the `rfile` buffer when `rbufsize` is -1.
pub(crate) const DEFAULT_BUFFER_SIZE: usize = 8192;

/// The per-request value of a [`StreamRequestHandler`]: Python's `self` in `handle`.
///
/// `rfile` and `wfile` borrow the one socket: reading and writing need no second file
/// descriptor.
#[non_exhaustive]
pub struct StreamRequest<'a> {
    /// The connection (Python's `self.request`).
    pub request: &'a Connection,
    /// The same connection (Python's `self.connection`).
    pub connection: &'a Connection,
    /// The client's address.
    pub client_address: &'a Address,
    /// The server.
    pub server: &'a ServerRef,
    /// Buffered reader over the connection (Python's `rfile`): `read_line`,
    /// `read_until`, `read_exact` and friends.
    pub rfile: BufReader<&'a Connection>,
    /// Writer to the connection (Python's `wfile`); see [`SocketWriter`].
    pub wfile: SocketWriter<'a>,
}

impl fmt::Debug for StreamRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRequest")
            .field("connection", &self.connection)
            .field("client_address", &self.client_address)
            .field("wfile", &self.wfile)
            .finish_non_exhaustive()
    }
}

impl<'a> StreamRequest<'a> {
    /// Python's `StreamRequestHandler.setup()`: applies the timeout and `TCP_NODELAY`,
    /// makes `rfile` and `wfile`.
    pub(crate) fn new(
        connection: &'a Connection,
        client_address: &'a Address,
        server: &'a ServerRef,
        options: StreamOptions,
    ) -> io::Result<StreamRequest<'a>> {
        options.apply(connection, server)?;
        Ok(StreamRequest {
            request: connection,
            connection,
            client_address,
            server,
            rfile: reader(connection, options.rbufsize),
            wfile: SocketWriter::new(connection, options.wbufsize),
        })
    }
}

/// A buffered reader with Python's `rbufsize` meaning: -1 (or any negative) the default
/// 8 KiB buffer, 0 unbuffered — never reads past what was asked, so a child process can
/// read the rest from the socket — and n a buffer of n bytes.
pub(crate) fn reader(connection: &Connection, rbufsize: isize) -> BufReader<&Connection> {
    BufReader::with_capacity(rbuf_capacity(rbufsize), connection)
}

/// The read buffer's size for Python's `rbufsize`.
pub(crate) fn rbuf_capacity(rbufsize: isize) -> usize {
    match rbufsize {
        n if n < 0 => DEFAULT_BUFFER_SIZE,
        // A one-byte buffer: `read_line` takes one byte per call, and larger reads
        // bypass the buffer, so nothing beyond the request is consumed.
        0 => 1,
        n => n as usize,
    }
}

/// The stream handler's class attributes, read once per request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) disable_nagle_algorithm: bool,
    pub(crate) rbufsize: isize,
    pub(crate) wbufsize: usize,
}

impl StreamOptions {
    /// Applies the timeout and `TCP_NODELAY` to a new connection of `server`.
    pub(crate) fn apply(&self, connection: &Connection, server: &ServerRef) -> io::Result<()> {
        if let Some(t) = self.timeout {
            connection.set_timeout(Some(t))?;
        }
        set_nodelay(connection, server, self.disable_nagle_algorithm)
    }
}

/// Gives a new connection of `server` the `TCP_NODELAY` a handler's
/// `disable_nagle_algorithm` asks for. A connection accepted from a listening socket
/// with the option has it already: setting it again is skipped, and a handler that
/// wants Nagle's algorithm clears it.
pub(crate) fn set_nodelay(
    connection: &Connection,
    server: &ServerRef,
    nodelay: bool,
) -> io::Result<()> {
    if nodelay != server.accepted_nodelay() {
        connection.set_nodelay(nodelay)?;
    }
    Ok(())
}

/// Python's `wfile`: with `wbufsize` 0 (the default) every `write` is sent at once in
/// full (Python's `_SocketWriter`), so a protocol that writes and then reads never
/// deadlocks on a buffer; with a larger `wbufsize` writes are collected and sent when the
/// buffer fills, on `flush`, and when the request ends.
///
/// Whatever is buffered leaves together with the next write that sends, in one
/// `writev`: the HTTP handlers hold their header block here so that a small response is a
/// single system call, and a large body is not copied to join it.
pub struct SocketWriter<'a> {
    connection: &'a Connection,
    buf: Vec<u8>,
    bufsize: usize,
}

impl fmt::Debug for SocketWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketWriter")
            .field("buffered", &self.buf.len())
            .field("bufsize", &self.bufsize)
            .finish()
    }
}

impl<'a> SocketWriter<'a> {
    /// A writer with Python's `wbufsize` semantics.
    pub fn new(connection: &'a Connection, wbufsize: usize) -> SocketWriter<'a> {
        SocketWriter::with_buffer(connection, wbufsize, Vec::new())
    }

    /// A writer whose buffer uses `buf`'s storage (from [`take_buffer`](Self::take_buffer)).
    pub(crate) fn with_buffer(
        connection: &'a Connection,
        wbufsize: usize,
        mut buf: Vec<u8>,
    ) -> SocketWriter<'a> {
        buf.clear();
        SocketWriter {
            connection,
            buf,
            bufsize: wbufsize,
        }
    }

    /// Takes the buffer's storage, dropping what it holds unsent.
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The connection written to.
    pub fn connection(&self) -> &'a Connection {
        self.connection
    }

    /// Bytes written but not yet sent.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Keeps `data` to go out in front of the next write that sends (or at `flush`),
    /// whatever `wbufsize` is.
    pub(crate) fn hold(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Drops what is buffered without sending it.
    pub(crate) fn discard(&mut self) {
        self.buf.clear();
    }

    /// Sends `len` bytes of `file` starting at `offset`, after whatever is buffered.
    ///
    /// A small file (up to 16 KiB) is read behind the buffered bytes (an HTTP header
    /// block) and leaves with them in one `send`: cheaper than `sendfile` at that size
    /// (measured: 12.3 against 13.2 µs of server CPU per 4 KiB response). For a larger
    /// one the buffered bytes go first, flagged so that the kernel packs them with the
    /// start of the file (`MSG_MORE`), and the file is copied by the kernel
    /// (`sendfile`), never through this process's memory. Where `sendfile` is not
    /// available, or on TLS, it falls back to a copy through a 64 KiB buffer.
    pub fn send_file(&mut self, file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::FileExt;
        if len <= SMALL_FILE as u64 {
            // A small file costs less copied behind the header block and sent in one
            // `send` than spliced by `sendfile` after a corked header.
            let start = self.buf.len();
            self.buf.resize(start + len as usize, 0);
            if let Err(e) = file.read_exact_at(&mut self.buf[start..], offset) {
                self.buf.truncate(start);
                return Err(e);
            }
            return self.flush();
        }
        if self.connection.is_tls() {
            // The bytes must go through the TLS session: no kernel shortcut.
            self.flush()?;
            return copy_file(self.connection, file, offset, len);
        }
        self.connection.ensure_timeouts()?;
        let fd = self.connection.as_raw_fd();
        let mut head = 0;
        while head < self.buf.len() {
            match crate::sys::send_more(fd, &self.buf[head..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => head += n,
                Err(e) => {
                    self.buf.clear();
                    return Err(timeout_kind(e));
                }
            }
        }
        self.buf.clear();
        let mut sent = 0u64;
        while sent < len {
            let chunk = (len - sent).min(1 << 30) as usize;
            match crate::sys::sendfile(fd, file.as_raw_fd(), offset + sent, chunk) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file is shorter than its announced length",
                    ))
                }
                Ok(n) => sent += n as u64,
                Err(e) if sent == 0 && is_unsupported(&e) => {
                    return copy_file(self.connection, file, offset, len);
                }
                Err(e) => return Err(timeout_kind(e)),
            }
        }
        Ok(())
    }

    /// Sends the buffer followed by `data` in one system call when the kernel takes it
    /// all: a plain `send` when one of them is empty or `data` is small enough to copy
    /// behind the buffer (a header block and a short body), else a `writev`.
    fn send_with(&mut self, data: &[u8]) -> io::Result<()> {
        let mut conn = self.connection;
        let r = if self.buf.is_empty() {
            conn.write_all(data)
        } else if data.len() <= COPY_BEHIND {
            self.buf.extend_from_slice(data);
            conn.write_all(&self.buf)
        } else {
            send_both(conn, &self.buf, data)
        };
        self.buf.clear();
        r
    }
}

/// A body write up to this size is copied behind the buffered header block and both
/// leave in one `send`: cheaper than the `sendmsg`/`writev` of two pieces, whose
/// message header the kernel copies in and walks (measured on `hello`: see
/// docs/performance.md).
const COPY_BEHIND: usize = 1024;

/// A send timeout on a blocking socket shows as `EAGAIN`; call it a timeout.
fn timeout_kind(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out")
    } else {
        e
    }
}

/// `sendfile` cannot do this pair of descriptors: copy instead.
fn is_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
        )
}

/// Copies `len` bytes of `file` from `offset` to the connection through a buffer.
/// Files up to this size are sent from memory behind the header block (one `send`);
/// larger ones with `sendfile`.
const SMALL_FILE: usize = 16 * 1024;

fn copy_file(mut conn: &Connection, file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..want], offset + done)?;
        conn.write_all(&buf[..want])?;
        done += want as u64;
    }
    Ok(())
}

/// Writes all of `a` then all of `b` with as few system calls as the kernel allows.
pub(crate) fn send_both(conn: &Connection, a: &[u8], b: &[u8]) -> io::Result<()> {
    conn.write_all_vectored(&mut [IoSlice::new(a), IoSlice::new(b)])
}

impl Write for SocketWriter<'_> {
    /// Sends or buffers all of `data` and returns its length (a short count never
    /// happens, as with Python's `sendall`).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.bufsize > 0 && self.buf.len() + data.len() <= self.bufsize {
            self.buf.extend_from_slice(data);
        } else {
            self.send_with(data)?;
        }
        Ok(data.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut n = 0;
        for b in bufs {
            n += self.write(b)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send_with(&[])
    }
}

/// Python's `socketserver.StreamRequestHandler`: a handler for stream servers with
/// `rfile` and `wfile`.
///
/// Implement [`handle`](Self::handle); the other methods are Python's class attributes
/// and hooks, with Python's defaults.
///
/// ```
/// use socketserver::{StreamRequest, StreamRequestHandler};
/// use std::io::{BufRead, Write};
///
/// /// fast.ai's ping/pong handler: reads a line, answers `pong <client ip>`.
/// struct Pong;
/// impl StreamRequestHandler for Pong {
///     fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
///         let mut line = String::new();
///         req.rfile.read_line(&mut line)?;
///         write!(req.wfile, "pong {}\r\n", req.client_address.host())?;
///         Ok(())
///     }
/// }
///
/// # use socketserver::{BaseServer, TcpServer};
/// # use std::io::Read;
/// let server = std::sync::Arc::new(TcpServer::new(("127.0.0.1", 0), Pong)?);
/// let mut client = std::net::TcpStream::connect(server.server_address)?;
/// client.write_all(b"ping\r\n")?;
/// server.handle_request()?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer)?;
/// assert_eq!(answer, "pong 127.0.0.1\r\n");
/// # Ok::<(), socketserver::Error>(())
/// ```
pub trait StreamRequestHandler: Send + Sync + 'static {
    /// Python's `timeout`: applied to the connection before `setup`, so that every read
    /// and write fails after this long without progress. Default `None` (block forever).
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Python's `disable_nagle_algorithm`: set `TCP_NODELAY`. Default `false`.
    fn disable_nagle_algorithm(&self) -> bool {
        false
    }

    /// Python's `rbufsize`: -1 buffered (default), 0 unbuffered, n a buffer of n bytes.
    fn rbufsize(&self) -> isize {
        -1
    }

    /// Python's `wbufsize`: 0 sends every write at once (default), n buffers n bytes.
    fn wbufsize(&self) -> usize {
        0
    }

    /// Runs after `rfile` and `wfile` are made, before `handle`. Default: nothing.
    fn setup(&self, req: &mut StreamRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }

    /// Does the work of the request.
    fn handle(&self, req: &mut StreamRequest<'_>) -> Result<()>;

    /// Runs after `handle`, even when it failed; `wfile` is flushed after it. Default:
    /// nothing.
    fn finish(&self, req: &mut StreamRequest<'_>) -> Result<()> {
        let _ = req;
        Ok(())
    }
}

impl<T: StreamRequestHandler> RequestHandlerClass<Connection, marker::Stream> for T {
    fn handle_request(
        &self,
        request: &Connection,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()> {
        let options = StreamOptions {
            timeout: self.timeout(),
            disable_nagle_algorithm: self.disable_nagle_algorithm(),
            rbufsize: self.rbufsize(),
            wbufsize: self.wbufsize(),
        };
        let mut req = StreamRequest::new(request, client_address, server, options)?;
        let result = run_phases(
            &mut req,
            |r| self.setup(r),
            |r| self.handle(r),
            |r| self.finish(r),
        );
        // Python's StreamRequestHandler.finish: flush, ignoring a final socket error.
        let _ = req.wfile.flush();
        result
    }

    fn wants_nodelay(&self) -> bool {
        self.disable_nagle_algorithm()
    }
}
