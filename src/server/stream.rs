//! Stream servers: Python's `TCPServer` and `UnixStreamServer`.

use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use socket2::{SockRef, Socket, Type};

use super::family::{self, Family, Inet, Unix};
use super::{lock, BaseServer, FromAddress, ServerCore, ServerRef};
use crate::address::{Address, AddressFamily};
use crate::error::{Error, Result};
use crate::handler::{Driver, RequestHandlerClass};
use crate::socket::Connection;

/// Python's `request_queue_size` default in this crate: 128 (Python's is 5).
///
/// A backlog of 5 makes clients that connect in a burst wait for a SYN retransmission
/// (about 1 s) and makes nginx answer 502 on a unix socket; see
/// `docs/python-differences.md`.
pub const REQUEST_QUEUE_SIZE: i32 = 128;

/// A stream server for address family `F`: [`TcpServer`] or [`UnixStreamServer`].
///
/// Python's attributes are public fields; set them between
/// [`unbound`](Self::unbound) and [`server_bind`](Self::server_bind) (Python's
/// `bind_and_activate=False`), or use [`new`](Self::new), which binds and activates at
/// once.
///
/// ```no_run
/// use socketserver::{BaseServer, StreamRequest, StreamRequestHandler, TcpServer};
/// use std::io::{BufRead, Write};
/// use std::sync::Arc;
///
/// struct Echo;
/// impl StreamRequestHandler for Echo {
///     fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
///         let mut line = Vec::new();
///         req.rfile.read_until(b'\n', &mut line)?;
///         req.wfile.write_all(&line)?;
///         Ok(())
///     }
/// }
///
/// let mut server = TcpServer::unbound(("", 8000), Echo)?;
/// server.allow_reuse_address = true;
/// server.server_bind()?;
/// server.server_activate()?;
/// Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct StreamServer<F: Family, H> {
    /// The address: as asked for until [`server_bind`](Self::server_bind), then the one
    /// actually bound (port 0 resolved), as Python's `server_address`.
    pub server_address: F::Bound,
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`. For internet servers it starts as IPv6 when
    /// the host is an IPv6 literal, IPv4 otherwise.
    pub address_family: AddressFamily,
    /// Set `SO_REUSEADDR` before binding (Python: `False`).
    pub allow_reuse_address: bool,
    /// Set `SO_REUSEPORT` before binding, internet servers only (Python: `False`).
    pub allow_reuse_port: bool,
    /// The listen backlog: [`REQUEST_QUEUE_SIZE`] (128; Python: 5).
    pub request_queue_size: i32,
    /// [`BaseServer::timeout`]: `None`.
    pub timeout: Option<Duration>,
    requested: F::Requested,
    /// The family the socket was created with.
    socket_family: AddressFamily,
    socket: RwLock<Option<Socket>>,
    bind_state: Mutex<F::BindState>,
    handler: H,
    driver: Driver<H, Connection>,
    wants_nodelay: fn(&H) -> bool,
    core: ServerCore,
    server_ref: ServerRef,
}

/// Python's `socketserver.TCPServer`.
#[doc(alias = "TCPServer")]
pub type TcpServer<H> = StreamServer<Inet, H>;

/// Python's `socketserver.UnixStreamServer`.
pub type UnixStreamServer<H> = StreamServer<Unix, H>;

impl<F: Family, H: Send + Sync + 'static> StreamServer<F, H> {
    /// Creates the server, binds it to `server_address` and starts listening (Python's
    /// constructor with `bind_and_activate=True`).
    ///
    /// `handler` is Python's `RequestHandlerClass`: a value implementing one of the
    /// handler traits ([`StreamRequestHandler`](crate::StreamRequestHandler),
    /// [`BaseRequestHandler`](crate::BaseRequestHandler), the HTTP and FastCGI handlers).
    /// It is shared by every request, and its fields play Python's class attributes.
    pub fn new<M>(server_address: impl Into<F::Requested>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_address(server_address.into(), handler, true)
    }

    /// Creates the server without binding it (Python's `bind_and_activate=False`): set
    /// attributes, then call [`server_bind`](Self::server_bind) and
    /// [`server_activate`](BaseServer::server_activate).
    #[doc(alias = "bind_and_activate")]
    pub fn unbound<M>(server_address: impl Into<F::Requested>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_address(server_address.into(), handler, false)
    }

    /// Binds the socket to the address: sets `SO_REUSEADDR` / `SO_REUSEPORT` as asked,
    /// binds, then reads the bound address back into
    /// [`server_address`](Self::server_address).
    pub fn server_bind(&mut self) -> Result<()> {
        let family = self.address_family;
        if family != self.socket_family {
            *self.socket.get_mut().unwrap_or_else(|e| e.into_inner()) =
                Some(Socket::new(family.domain(), Type::STREAM, None)?);
            self.socket_family = family;
        }
        let slot = self.socket.get_mut().unwrap_or_else(|e| e.into_inner());
        let sock = slot.as_ref().ok_or(Error::Closed)?;
        self.server_address = family::bind::<F>(
            SockRef::from(sock),
            &self.requested,
            family,
            self.allow_reuse_address,
            self.allow_reuse_port,
        )?;
        *self.bind_state.get_mut().unwrap_or_else(|e| e.into_inner()) =
            F::after_bind(&self.server_address);
        self.server_ref = ServerRef::new(F::to_address(&self.server_address), &self.core);
        Ok(())
    }

    /// The handler value the server was built with (Python's `RequestHandlerClass`).
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// What handlers see as `server`.
    pub fn server_ref(&self) -> &ServerRef {
        &self.server_ref
    }

    /// Sets the host name handlers see (`HttpServer` does, after binding).
    pub(crate) fn set_server_name(&mut self, name: String) {
        self.server_ref.server_name = name;
    }

    /// Runs `f` on the listening socket (Python's `server.socket`); `None` once closed.
    pub fn with_socket<R>(&self, f: impl FnOnce(&Socket) -> R) -> Option<R> {
        self.socket
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(f)
    }

    /// The listening socket, before the server is shared (to set options before
    /// binding, such as `IPV6_V6ONLY`).
    pub fn socket_mut(&mut self) -> Option<&mut Socket> {
        self.socket
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
    }

    fn close_socket(&self) {
        let old = self
            .socket
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if old.is_some() {
            drop(old);
            F::on_close(&self.server_address, &mut lock(&self.bind_state));
        }
    }
}

impl<F: Family, H: Send + Sync + 'static, M> FromAddress<H, M> for StreamServer<F, H>
where
    H: RequestHandlerClass<Connection, M>,
{
    type Address = F::Requested;

    fn from_address(requested: F::Requested, handler: H, bind_and_activate: bool) -> Result<Self> {
        let address_family = F::default_family(&requested);
        let socket = Socket::new(address_family.domain(), Type::STREAM, None)?;
        let server_address = F::unbound(&requested);
        let core = ServerCore::new()?;
        let mut server = Self::assemble(
            socket,
            requested,
            server_address,
            address_family,
            handler,
            core,
        );
        if bind_and_activate {
            server.bind_and_activate()?;
        }
        Ok(server)
    }
}

impl<F: Family, H: Send + Sync + 'static> StreamServer<F, H> {
    /// A server on a socket that is already bound and listening (see
    /// [`activation`](super::activation), which checks it first): nothing is bound, the
    /// backlog the socket was given stays, and closing the server never removes a unix
    /// socket file (whoever bound it owns it).
    pub(super) fn from_listening<M>(
        socket: Socket,
        requested: F::Requested,
        bound: F::Bound,
        family: AddressFamily,
        handler: H,
    ) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        socket.set_nonblocking(true)?;
        let core = ServerCore::new()?;
        let server = Self::assemble(socket, requested, bound, family, handler, core);
        server.with_socket(|s| server.set_listener_nodelay(s));
        Ok(server)
    }

    /// Sets `TCP_NODELAY` on a TCP listening socket when the handler wants it on every
    /// connection: Linux copies it to each accepted socket, which saves a `setsockopt`
    /// per connection. Elsewhere, and if it fails, handlers set it per connection.
    fn set_listener_nodelay(&self, socket: &Socket) {
        let tcp = matches!(
            self.address_family,
            AddressFamily::Inet | AddressFamily::Inet6
        );
        if cfg!(any(target_os = "linux", target_os = "android"))
            && tcp
            && (self.wants_nodelay)(&self.handler)
            && socket.set_tcp_nodelay(true).is_ok()
        {
            self.core.set_accepted_nodelay();
        }
    }

    /// The server's fields, Python's defaults, for a socket in any state.
    fn assemble<M>(
        socket: Socket,
        requested: F::Requested,
        server_address: F::Bound,
        family: AddressFamily,
        handler: H,
        core: ServerCore,
    ) -> Self
    where
        H: RequestHandlerClass<Connection, M>,
    {
        let server_ref = ServerRef::new(F::to_address(&server_address), &core);
        StreamServer {
            server_address,
            address_family: family,
            allow_reuse_address: false,
            allow_reuse_port: false,
            request_queue_size: REQUEST_QUEUE_SIZE,
            timeout: None,
            requested,
            socket_family: family,
            socket: RwLock::new(Some(socket)),
            bind_state: Mutex::new(F::BindState::default()),
            handler,
            driver: <H as RequestHandlerClass<Connection, M>>::handle_request,
            wants_nodelay: <H as RequestHandlerClass<Connection, M>>::wants_nodelay,
            core,
            server_ref,
        }
    }

    /// `server_bind` then `server_activate`; on failure closes the socket (bpo-22435).
    pub(crate) fn bind_and_activate(&mut self) -> Result<()> {
        let r = self.server_bind().and_then(|()| self.server_activate());
        if r.is_err() {
            self.close_socket();
        }
        r
    }
}

impl<F: Family, H: Send + Sync + 'static> BaseServer for StreamServer<F, H> {
    type Request = Connection;

    fn core(&self) -> &ServerCore {
        &self.core
    }

    fn fileno(&self) -> RawFd {
        self.with_socket(|s| s.as_raw_fd()).unwrap_or(-1)
    }

    /// Starts listening with a backlog of [`request_queue_size`](Self::request_queue_size).
    /// The listening socket is made non-blocking, so an `accept` that lost a race to
    /// another process returns an error (ignored) instead of blocking the loop.
    fn server_activate(&self) -> Result<()> {
        self.with_socket(|s| {
            s.listen(self.request_queue_size)?;
            self.set_listener_nodelay(s);
            s.set_nonblocking(true)
        })
        .ok_or(Error::Closed)??;
        Ok(())
    }

    fn get_request(&self) -> io::Result<(Connection, Address)> {
        let (socket, addr) = self
            .with_socket(|s| s.accept())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))??;
        // BSDs hand out accepted sockets with the listener's O_NONBLOCK.
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        socket.set_nonblocking(false)?;
        Ok((F::connection(socket), Address::from_sockaddr(&addr)))
    }

    fn finish_request(&self, request: &Connection, client_address: &Address) -> Result<()> {
        (self.driver)(&self.handler, request, client_address, &self.server_ref)
    }

    /// Closes the listening socket (and removes a unix socket file this server
    /// created). Requests in progress keep their own connections.
    fn server_close(&self) {
        self.close_socket();
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn socket_timeout(&self) -> Option<Duration> {
        self.with_socket(|s| s.read_timeout().ok().flatten())
            .flatten()
    }
}

impl<F: Family, H> Drop for StreamServer<F, H> {
    /// Closes the socket; does not join or reap anything.
    fn drop(&mut self) {
        let slot = self.socket.get_mut().unwrap_or_else(|e| e.into_inner());
        if slot.take().is_some() {
            F::on_close(
                &self.server_address,
                self.bind_state.get_mut().unwrap_or_else(|e| e.into_inner()),
            );
        }
    }
}

impl<F: Family, H> fmt::Debug for StreamServer<F, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("server_address", &self.server_address)
            .field("address_family", &self.address_family)
            .field("allow_reuse_address", &self.allow_reuse_address)
            .field("allow_reuse_port", &self.allow_reuse_port)
            .field("request_queue_size", &self.request_queue_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A TCP server with `allow_reuse_address` on: the server inside fast.ai's
/// [`ReuseThreadingServer`](crate::ReuseThreadingServer) (`allow_reuse_address = 1`).
///
/// Everything else is [`TcpServer`]'s (it derefs to one).
pub struct ReuseTcpServer<H>(TcpServer<H>);

impl<H: Send + Sync + 'static, M> FromAddress<H, M> for ReuseTcpServer<H>
where
    H: RequestHandlerClass<Connection, M>,
{
    type Address = crate::InetAddress;

    fn from_address(
        server_address: crate::InetAddress,
        handler: H,
        bind_and_activate: bool,
    ) -> Result<Self> {
        let mut server = TcpServer::from_address(server_address, handler, false)?;
        server.allow_reuse_address = true;
        if bind_and_activate {
            server.bind_and_activate()?;
        }
        Ok(ReuseTcpServer(server))
    }
}

impl<H: Send + Sync + 'static> BaseServer for ReuseTcpServer<H> {
    type Request = Connection;
    crate::delegate_base_server!(0; all);
}

impl<H> Deref for ReuseTcpServer<H> {
    type Target = TcpServer<H>;
    fn deref(&self) -> &TcpServer<H> {
        &self.0
    }
}

impl<H> DerefMut for ReuseTcpServer<H> {
    fn deref_mut(&mut self) -> &mut TcpServer<H> {
        &mut self.0
    }
}

impl<H> fmt::Debug for ReuseTcpServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuseTcpServer").field(&self.0).finish()
    }
}
