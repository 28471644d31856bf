//! What a server hands to a handler: a connected stream ([`Connection`]) or a received
//! packet ([`Datagram`]).

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use crate::address::Address;

/// A connected stream socket: Python's `request` (and `connection`) in a stream handler.
///
/// `Read` and `Write` are implemented for `&Connection` too, so a handler's `rfile` and
/// `wfile` both borrow the one socket — no `dup`, no extra file descriptor.
///
/// ```no_run
/// # #[allow(dead_code)]
/// # fn f(conn: &socketserver::Connection) -> std::io::Result<()> {
/// let mut buf = [0; 1024];
/// let n = conn.recv(&mut buf)?;
/// conn.sendall(&buf[..n])?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Connection {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A unix-domain stream connection.
    Unix(UnixStream),
    /// A TLS connection over TCP (the `tls` feature).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    Tls(Box<crate::tls::TlsStream>),
}

impl Connection {
    /// `write_all` for several slices at once: `writev` until every byte is sent.
    pub(crate) fn write_all_vectored(&self, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        let mut w = self;
        // Empty slices in front would make a `writev` of nothing look like a closed peer.
        IoSlice::advance_slices(&mut bufs, 0);
        while !bufs.is_empty() {
            match w.write_vectored(bufs) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The TCP stream, if this is a plain TCP connection.
    pub fn as_tcp(&self) -> Option<&TcpStream> {
        match self {
            Connection::Tcp(s) => Some(s),
            _ => None,
        }
    }

    /// The unix stream, if this is one.
    pub fn as_unix(&self) -> Option<&UnixStream> {
        match self {
            Connection::Unix(s) => Some(s),
            _ => None,
        }
    }

    /// The socket carrying the bytes (under a TLS session, the TCP stream).
    fn transport(&self) -> Transport<'_> {
        match self {
            Connection::Tcp(s) => Transport::Tcp(s),
            Connection::Unix(s) => Transport::Unix(s),
            #[cfg(feature = "tls")]
            Connection::Tls(t) => Transport::Tcp(t.tcp()),
        }
    }

    /// True when bytes go through a TLS session (so the kernel cannot send a file
    /// directly).
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Connection::Tls(_) = self {
            return true;
        }
        false
    }

    /// True when a read would return data although the socket may not be readable (a TLS
    /// session holding decrypted bytes).
    pub fn has_buffered_input(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Connection::Tls(t) = self {
            return t.has_buffered_input();
        }
        false
    }

    /// The address of the other end (Python's `getpeername()`).
    #[doc(alias = "getpeername")]
    pub fn peer_address(&self) -> io::Result<Address> {
        Ok(match self.transport() {
            Transport::Tcp(s) => Address::Inet(s.peer_addr()?),
            Transport::Unix(s) => unix_address(&s.peer_addr()?),
        })
    }

    /// The local address (Python's `getsockname()`).
    #[doc(alias = "getsockname")]
    pub fn local_address(&self) -> io::Result<Address> {
        Ok(match self.transport() {
            Transport::Tcp(s) => Address::Inet(s.local_addr()?),
            Transport::Unix(s) => unix_address(&s.local_addr()?),
        })
    }

    /// Python's `settimeout`: every later read and write fails with a timeout error after
    /// `timeout` without progress; `None` blocks forever.
    #[doc(alias = "settimeout")]
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        crate::server::park::timeouts_replaced();
        self.set_socket_timeout(timeout)
    }

    /// Sets the pool's idle timeout in the socket if it is still pending: before a read
    /// or a write that may wait.
    pub(crate) fn ensure_timeouts(&self) -> io::Result<()> {
        let Some(t) = crate::server::park::take_pending_timeout() else {
            return Ok(());
        };
        if t.idle.is_some() {
            self.set_socket_timeout(t.idle)?;
        }
        match t.write {
            Some(w) if Some(w) != t.idle => self.set_write_timeout(Some(w)),
            _ => Ok(()),
        }
    }

    fn set_socket_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = timeout.map(|t| t.max(Duration::from_micros(1)));
        match self.transport() {
            Transport::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Transport::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }

    /// Python's `gettimeout` (the read timeout).
    #[doc(alias = "gettimeout")]
    pub fn timeout(&self) -> io::Result<Option<Duration>> {
        if let Some(pending) = crate::server::park::pending_timeout() {
            return Ok(pending);
        }
        match self.transport() {
            Transport::Tcp(s) => s.read_timeout(),
            Transport::Unix(s) => s.read_timeout(),
        }
    }

    /// Sets `TCP_NODELAY` (Python's `disable_nagle_algorithm`); nothing on a unix socket.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        match self.transport() {
            Transport::Tcp(s) => s.set_nodelay(nodelay),
            Transport::Unix(_) => Ok(()),
        }
    }

    /// Shuts down one or both halves of the connection (Python's `shutdown(how)`). On a
    /// TLS connection, shutting down the writing half sends `close_notify` first.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let (Connection::Tls(t), Shutdown::Write) = (self, how) {
            t.shutdown_write();
            return Ok(());
        }
        match self.transport() {
            Transport::Tcp(s) => s.shutdown(how),
            Transport::Unix(s) => s.shutdown(how),
        }
    }

    /// Python's `recv_into`: reads what is there, at most `buf.len()` bytes; 0 at EOF.
    #[doc(alias = "recv_into")]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    /// Reads what is there without waiting: `WouldBlock` when nothing is. On a TLS
    /// connection a read that finds no decrypted bytes checks the socket first, and may
    /// still wait for the rest of a record that has begun to arrive.
    pub(crate) fn recv_nowait(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.transport() {
            _ if self.is_tls() => {
                let ready = self.has_buffered_input()
                    || crate::sys::poll_read([self.as_raw_fd()], Some(Duration::ZERO))?[0];
                if !ready {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                self.recv(buf)
            }
            Transport::Tcp(s) => crate::sys::recv_nowait(s.as_raw_fd(), buf),
            Transport::Unix(s) => crate::sys::recv_nowait(s.as_raw_fd(), buf),
        }
    }

    /// Python's `sendall`: writes all of `data`.
    pub fn sendall(&self, data: &[u8]) -> io::Result<()> {
        (&*self).write_all(data)
    }
}

/// On a pool worker, a read first takes what is there without waiting; when it would
/// wait, the worker tells the pool (which may let another worker take over what this one
/// leaves waiting) and `None` sends the caller to the ordinary, waiting read — with its
/// timeout.
#[inline]
fn try_first(conn: &Connection, buf: &mut [u8]) -> Option<io::Result<usize>> {
    if !crate::server::park::reads_hint() {
        return None;
    }
    match crate::sys::recv_nowait(conn.as_raw_fd(), buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            if let Err(e) = conn.ensure_timeouts() {
                return Some(Err(e));
            }
            crate::server::park::before_wait();
            None
        }
        r => Some(r),
    }
}

/// On a pool connection whose timeouts are not set yet, a write first sends what fits
/// without waiting; when it would wait (the peer reads slowly), the timeouts are set and
/// `None` sends the caller to the ordinary, waiting write.
#[inline]
fn write_first(
    conn: &Connection,
    len: usize,
    send: impl FnOnce() -> io::Result<usize>,
) -> Option<io::Result<usize>> {
    crate::server::park::pending_timeout()?;
    match send() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => match conn.ensure_timeouts() {
            Ok(()) => None,
            Err(e) => Some(Err(e)),
        },
        Ok(n) if n < len => Some(conn.ensure_timeouts().map(|()| n)),
        r => Some(r),
    }
}

/// The socket under a connection.
enum Transport<'a> {
    Tcp(&'a TcpStream),
    Unix(&'a UnixStream),
}

fn unix_address(a: &std::os::unix::net::SocketAddr) -> Address {
    Address::Unix(a.as_pathname().map(Into::into).unwrap_or_default())
}

impl Read for &Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            Connection::Tcp(s) => try_first(self, buf).unwrap_or_else(|| (&*s).read(buf)),
            Connection::Unix(s) => try_first(self, buf).unwrap_or_else(|| (&*s).read(buf)),
            #[cfg(feature = "tls")]
            Connection::Tls(t) => (&**t).read(buf),
        }
    }
}

impl Write for &Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        let first = || crate::sys::send_nowait(fd, buf);
        match *self {
            Connection::Tcp(s) => {
                write_first(self, buf.len(), first).unwrap_or_else(|| (&*s).write(buf))
            }
            Connection::Unix(s) => {
                write_first(self, buf.len(), first).unwrap_or_else(|| (&*s).write(buf))
            }
            #[cfg(feature = "tls")]
            Connection::Tls(t) => (&**t).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        let len = bufs.iter().map(|b| b.len()).sum();
        let first = || crate::sys::send_vectored_nowait(fd, bufs);
        match *self {
            Connection::Tcp(s) => {
                write_first(self, len, first).unwrap_or_else(|| (&*s).write_vectored(bufs))
            }
            Connection::Unix(s) => {
                write_first(self, len, first).unwrap_or_else(|| (&*s).write_vectored(bufs))
            }
            #[cfg(feature = "tls")]
            Connection::Tls(t) => (&**t).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        match self.transport() {
            Transport::Tcp(s) => s.as_raw_fd(),
            Transport::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self.transport() {
            Transport::Tcp(s) => s.as_fd(),
            Transport::Unix(s) => s.as_fd(),
        }
    }
}

impl From<TcpStream> for Connection {
    fn from(s: TcpStream) -> Self {
        Connection::Tcp(s)
    }
}

impl From<UnixStream> for Connection {
    fn from(s: UnixStream) -> Self {
        Connection::Unix(s)
    }
}

/// Reads a connection, failing with a timeout once a deadline has passed: what bounds
/// the time a client may take to send a request head (the pool server's
/// `header_timeout`), however slowly it trickles bytes in.
///
/// On a pool worker it also serves the bytes an earlier turn received and left
/// unconsumed, can read without waiting (between requests, so that a connection with
/// nothing to say is parked rather than waited on), and remembers whether its last read
/// emptied the socket.
#[derive(Debug)]
pub struct ConnectionReader<'a> {
    connection: &'a Connection,
    deadline: Option<std::time::Instant>,
    /// A deadline not started yet: this long after the next read from the socket.
    deadline_after: Option<std::time::Duration>,
    /// Bytes received on an earlier turn, served before the socket's.
    prefix: Vec<u8>,
    prefix_pos: usize,
    /// Fail with `WouldBlock` instead of waiting.
    nowait: bool,
    /// The last read from the socket returned less than it asked for: nothing was left
    /// in the socket then (a plain stream socket returns all it holds, up to the ask).
    drained: bool,
}

impl<'a> ConnectionReader<'a> {
    /// A reader with no deadline.
    pub fn new(connection: &'a Connection) -> ConnectionReader<'a> {
        ConnectionReader {
            connection,
            deadline: None,
            deadline_after: None,
            prefix: Vec::new(),
            prefix_pos: 0,
            nowait: false,
            drained: false,
        }
    }

    /// The connection read.
    pub fn connection(&self) -> &'a Connection {
        self.connection
    }

    /// Sets (or clears) the deadline: a read that returns after it fails with
    /// [`io::ErrorKind::TimedOut`].
    pub fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.deadline = deadline;
        self.deadline_after = None;
    }

    /// Sets a deadline `timeout` after the next read that goes to the socket. Reads
    /// served from the prefix do not start it, and until one is made the clock is
    /// not read: a request head already received costs no `clock_gettime`.
    pub(crate) fn set_deadline_after_first_read(&mut self, timeout: Option<std::time::Duration>) {
        self.deadline = None;
        self.deadline_after = timeout;
    }

    /// Serves `bytes` before anything the socket holds.
    pub(crate) fn set_prefix(&mut self, bytes: Vec<u8>) {
        self.prefix = bytes;
        self.prefix_pos = 0;
    }

    /// Takes the prefix bytes not served yet.
    pub(crate) fn take_prefix(&mut self) -> Vec<u8> {
        let mut rest = std::mem::take(&mut self.prefix);
        rest.drain(..self.prefix_pos.min(rest.len()));
        self.prefix_pos = 0;
        rest
    }

    /// With `nowait`, a read that would wait fails with `WouldBlock` instead.
    pub(crate) fn set_nowait(&mut self, nowait: bool) {
        self.nowait = nowait;
    }

    /// True when the socket is known to hold nothing more: the last read from it
    /// emptied it, and no prefix or TLS-decrypted bytes are left.
    pub(crate) fn is_drained(&self) -> bool {
        self.drained
            && self.prefix_pos >= self.prefix.len()
            && !self.connection.has_buffered_input()
            && !self.connection.is_tls()
    }
}

impl Read for ConnectionReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix_pos < self.prefix.len() {
            let rest = &self.prefix[self.prefix_pos..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.prefix_pos += n;
            if self.prefix_pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.prefix_pos = 0;
            }
            return Ok(n);
        }
        if let Some(timeout) = self.deadline_after.take() {
            self.deadline = Some(std::time::Instant::now() + timeout);
        }
        let n = if self.nowait {
            self.connection.recv_nowait(buf)?
        } else {
            self.connection.recv(buf)?
        };
        self.drained = n < buf.len();
        check_deadline(self.deadline)?;
        Ok(n)
    }
}

/// `TimedOut` once `deadline` has passed: checked after each read of a request head,
/// so that a peer trickling bytes cannot hold a thread past it.
pub(crate) fn check_deadline(deadline: Option<std::time::Instant>) -> io::Result<()> {
    match deadline {
        Some(d) if std::time::Instant::now() > d => {
            Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
        }
        _ => Ok(()),
    }
}

/// A datagram socket shared by a datagram server and its handlers.
#[derive(Debug)]
#[non_exhaustive]
pub enum DatagramSocket {
    /// A UDP socket.
    Udp(UdpSocket),
    /// A unix-domain datagram socket.
    Unix(UnixDatagram),
}

impl DatagramSocket {
    /// Python's `sendto`: sends `data` as one datagram to `address`.
    #[doc(alias = "sendto")]
    pub fn send_to(&self, data: &[u8], address: &Address) -> io::Result<usize> {
        match (self, address) {
            (DatagramSocket::Udp(s), Address::Inet(a)) => s.send_to(data, a),
            (DatagramSocket::Unix(s), Address::Unix(p)) if !p.as_os_str().is_empty() => {
                s.send_to(data, p)
            }
            (DatagramSocket::Unix(_), Address::Unix(_)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the client's unix datagram socket is unnamed: it must bind an address to get a reply",
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "address family does not match the socket",
            )),
        }
    }
}

impl AsRawFd for DatagramSocket {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            DatagramSocket::Udp(s) => s.as_raw_fd(),
            DatagramSocket::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl AsFd for DatagramSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            DatagramSocket::Udp(s) => s.as_fd(),
            DatagramSocket::Unix(s) => s.as_fd(),
        }
    }
}

/// A received datagram: Python's `request`, the pair `(data, socket)` a datagram server
/// hands to its handler.
#[derive(Debug)]
pub struct Datagram {
    /// The bytes received (at most the server's `max_packet_size`; the rest of a longer
    /// datagram is dropped by the operating system, as in Python).
    pub packet: Vec<u8>,
    /// The server's socket, to answer with.
    pub socket: Arc<DatagramSocket>,
}

/// What a server needs from the requests it hands out, whatever their kind.
pub trait RequestSocket: Send + 'static {
    /// Python's `shutdown_request` step before closing: `shutdown(SHUT_WR)` on a stream
    /// (errors such as `ENOTCONN` ignored), nothing on a datagram.
    fn shutdown_write(&self) {}

    /// Sets a read/write timeout on a connection (used by the pool server's idle
    /// timeout); nothing on a datagram.
    fn set_idle_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    /// True when the pool may leave [`set_idle_timeout`](Self::set_idle_timeout) until a
    /// read or write is about to wait (the crate's own reads and writes ask for it then).
    #[doc(hidden)]
    fn timeouts_on_demand(&self) -> bool {
        false
    }

    /// Sets the write timeout alone (the pool server's `write_timeout`); nothing on a
    /// datagram.
    fn set_write_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    /// The descriptor to watch while the request is parked (a connection's); `None` for
    /// requests that cannot be parked.
    fn poll_fd(&self) -> Option<RawFd> {
        None
    }

    /// True for connections: requests a pool server accepts itself and parks between
    /// messages (its workers wait for readiness of the listener and of every
    /// connection); false for datagrams, which the serving loop receives and hands over.
    #[doc(hidden)]
    const CONNECTED: bool = false;
}

impl RequestSocket for Connection {
    const CONNECTED: bool = true;

    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }

    fn set_idle_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_socket_timeout(timeout)
    }

    fn timeouts_on_demand(&self) -> bool {
        // A TLS session reads and writes the socket itself.
        !self.is_tls()
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = timeout.map(|t| t.max(Duration::from_micros(1)));
        match self.transport() {
            Transport::Tcp(s) => s.set_write_timeout(timeout),
            Transport::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    fn poll_fd(&self) -> Option<RawFd> {
        Some(self.as_raw_fd())
    }
}

impl RequestSocket for Datagram {}
