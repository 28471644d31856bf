//! Datagram servers: Python's `UDPServer` and `UnixDatagramServer`.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use socket2::{SockRef, Socket, Type};

use super::family::{self, Family, Inet, Unix};
use super::{lock, BaseServer, FromAddress, ServerCore, ServerRef};
use crate::address::{Address, AddressFamily};
use crate::error::{Error, Result};
use crate::handler::{Driver, RequestHandlerClass};
use crate::socket::{Datagram, DatagramSocket};

/// Python's `UDPServer.max_packet_size`: 8192.
pub const MAX_PACKET_SIZE: usize = 8192;

/// A datagram server for address family `F`: [`UdpServer`] or [`UnixDatagramServer`].
///
/// Each datagram is one request: the handler gets the packet and the server's socket to
/// answer with (see [`DatagramRequestHandler`](crate::DatagramRequestHandler)).
///
/// ```no_run
/// use socketserver::{BaseServer, DatagramRequest, DatagramRequestHandler, UdpServer};
/// use std::io::{Read, Write};
/// use std::sync::Arc;
///
/// struct Echo;
/// impl DatagramRequestHandler for Echo {
///     fn handle(&self, req: &mut DatagramRequest) -> socketserver::Result<()> {
///         let mut data = Vec::new();
///         req.rfile.read_to_end(&mut data)?;
///         req.wfile.write_all(&data)?;
///         Ok(())
///     }
/// }
///
/// let server = Arc::new(UdpServer::new(("127.0.0.1", 9999), Echo)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct DatagramServer<F: Family, H> {
    /// The address, resolved by [`server_bind`](Self::server_bind) (port 0 included).
    pub server_address: F::Bound,
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`.
    pub address_family: AddressFamily,
    /// Set `SO_REUSEADDR` before binding (Python: `False`).
    pub allow_reuse_address: bool,
    /// Set `SO_REUSEPORT` before binding, internet servers only (Python: `False`).
    pub allow_reuse_port: bool,
    /// The most bytes read from one datagram (Python: 8192); the rest of a longer one is
    /// dropped by the operating system.
    pub max_packet_size: usize,
    /// [`BaseServer::timeout`]: `None`.
    pub timeout: Option<Duration>,
    requested: F::Requested,
    socket_family: AddressFamily,
    socket: RwLock<Option<Arc<DatagramSocket>>>,
    bind_state: Mutex<F::BindState>,
    handler: H,
    driver: Driver<H, Datagram>,
    core: ServerCore,
    server_ref: ServerRef,
}

/// Python's `socketserver.UDPServer`.
#[doc(alias = "UDPServer")]
pub type UdpServer<H> = DatagramServer<Inet, H>;

/// Python's `socketserver.UnixDatagramServer`.
pub type UnixDatagramServer<H> = DatagramServer<Unix, H>;

impl<F: Family, H: Send + Sync + 'static> DatagramServer<F, H> {
    /// Creates and binds the server (Python's constructor, `bind_and_activate=True`).
    pub fn new<M>(server_address: impl Into<F::Requested>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Datagram, M>,
    {
        Self::from_address(server_address.into(), handler, true)
    }

    /// Creates the server without binding it (Python's `bind_and_activate=False`).
    #[doc(alias = "bind_and_activate")]
    pub fn unbound<M>(server_address: impl Into<F::Requested>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Datagram, M>,
    {
        Self::from_address(server_address.into(), handler, false)
    }

    /// Binds the socket and reads the bound address back into `server_address`.
    pub fn server_bind(&mut self) -> Result<()> {
        let family = self.address_family;
        if family != self.socket_family {
            let fresh = Socket::new(family.domain(), Type::DGRAM, None)?;
            *self.socket.get_mut().unwrap_or_else(|e| e.into_inner()) =
                Some(Arc::new(F::datagram(fresh)));
            self.socket_family = family;
        }
        let slot = self.socket.get_mut().unwrap_or_else(|e| e.into_inner());
        let sock = slot.as_ref().ok_or(Error::Closed)?;
        self.server_address = family::bind::<F>(
            SockRef::from(&**sock),
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

    /// The server's socket (Python's `server.socket`); `None` once closed.
    pub fn socket(&self) -> Option<Arc<DatagramSocket>> {
        self.socket
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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

impl<F: Family, H: Send + Sync + 'static, M> FromAddress<H, M> for DatagramServer<F, H>
where
    H: RequestHandlerClass<Datagram, M>,
{
    type Address = F::Requested;

    fn from_address(requested: F::Requested, handler: H, bind_and_activate: bool) -> Result<Self> {
        let address_family = F::default_family(&requested);
        let socket = Socket::new(address_family.domain(), Type::DGRAM, None)?;
        let server_address = F::unbound(&requested);
        let core = ServerCore::new()?;
        let server_ref = ServerRef::new(F::to_address(&server_address), &core);
        let mut server = DatagramServer {
            server_address,
            address_family,
            allow_reuse_address: false,
            allow_reuse_port: false,
            max_packet_size: MAX_PACKET_SIZE,
            timeout: None,
            requested,
            socket_family: address_family,
            socket: RwLock::new(Some(Arc::new(F::datagram(socket)))),
            bind_state: Mutex::new(F::BindState::default()),
            handler,
            driver: <H as RequestHandlerClass<Datagram, M>>::handle_request,
            core,
            server_ref,
        };
        if bind_and_activate {
            let r = server.server_bind().and_then(|()| server.server_activate());
            if let Err(e) = r {
                server.close_socket();
                return Err(e);
            }
        }
        Ok(server)
    }
}

impl<F: Family, H: Send + Sync + 'static> BaseServer for DatagramServer<F, H> {
    type Request = Datagram;

    fn core(&self) -> &ServerCore {
        &self.core
    }

    fn fileno(&self) -> RawFd {
        self.socket().map(|s| s.as_raw_fd()).unwrap_or(-1)
    }

    /// Nothing: a datagram socket does not listen.
    fn server_activate(&self) -> Result<()> {
        Ok(())
    }

    /// Python's `recvfrom(max_packet_size)`: the request is the pair (data, socket).
    fn get_request(&self) -> io::Result<(Datagram, Address)> {
        let socket = self
            .socket()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let mut packet = vec![0u8; self.max_packet_size];
        let (n, from) = match &*socket {
            DatagramSocket::Udp(s) => {
                let (n, a) = s.recv_from(&mut packet)?;
                (n, Address::Inet(a))
            }
            DatagramSocket::Unix(s) => {
                let (n, a) = s.recv_from(&mut packet)?;
                (
                    n,
                    Address::Unix(a.as_pathname().map(Into::into).unwrap_or_default()),
                )
            }
        };
        packet.truncate(n);
        Ok((Datagram { packet, socket }, from))
    }

    fn finish_request(&self, request: &Datagram, client_address: &Address) -> Result<()> {
        (self.driver)(&self.handler, request, client_address, &self.server_ref)
    }

    /// Drops the server's reference to the socket (handlers still answering keep theirs)
    /// and removes a unix socket file this server created.
    fn server_close(&self) {
        self.close_socket();
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn socket_timeout(&self) -> Option<Duration> {
        self.socket()
            .and_then(|s| SockRef::from(&*s).read_timeout().ok().flatten())
    }

    /// Nothing to shut down: the socket is the server's.
    fn shutdown_request(&self, request: Datagram) {
        self.close_request(request);
    }
}

impl<F: Family, H> Drop for DatagramServer<F, H> {
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

impl<F: Family, H> fmt::Debug for DatagramServer<F, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServer")
            .field("server_address", &self.server_address)
            .field("address_family", &self.address_family)
            .field("max_packet_size", &self.max_packet_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
