//! Address families as type parameters: [`Inet`] makes a `StreamServer` a `TcpServer`,
//! [`Unix`] makes it a `UnixStreamServer` (Python's `address_family` class attribute).

use std::fmt::Debug;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use socket2::{SockAddr, Socket};

use crate::address::{Address, AddressFamily, InetAddress};
use crate::socket::{Connection, DatagramSocket};

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Inet {}
    impl Sealed for super::Unix {}
}

/// An address family a server can be built for: [`Inet`] or [`Unix`].
pub trait Family: sealed::Sealed + Send + Sync + Sized + 'static {
    /// The address as a caller writes it: `(host, port)` or a path.
    type Requested: Clone + Debug + Send + Sync + 'static;
    /// The address once bound: a `SocketAddr` or a path.
    type Bound: Clone + Debug + Send + Sync + 'static;
    /// What the family remembers between binding and closing.
    #[doc(hidden)]
    type BindState: Default + Debug + Send + Sync + 'static;

    /// The family used when the caller sets none.
    #[doc(hidden)]
    fn default_family(requested: &Self::Requested) -> AddressFamily;
    /// Resolves the requested address for binding.
    #[doc(hidden)]
    fn resolve(requested: &Self::Requested, family: AddressFamily) -> io::Result<SockAddr>;
    /// The address to show before binding.
    #[doc(hidden)]
    fn unbound(requested: &Self::Requested) -> Self::Bound;
    /// The bound address, from `getsockname()`.
    #[doc(hidden)]
    fn bound(local: &SockAddr, requested: &Self::Requested) -> Self::Bound;
    /// The bound address as a generic [`Address`].
    #[doc(hidden)]
    fn to_address(bound: &Self::Bound) -> Address;
    /// Wraps an accepted socket.
    #[doc(hidden)]
    fn connection(socket: Socket) -> Connection;
    /// Wraps a bound datagram socket.
    #[doc(hidden)]
    fn datagram(socket: Socket) -> DatagramSocket;
    /// Whether `SO_REUSEPORT` applies (Python 3.14 sets it only for AF_INET/AF_INET6;
    /// Linux 6.12.9 and later reject it on unix sockets).
    #[doc(hidden)]
    const REUSE_PORT: bool;
    /// The requested and bound address of a socket that is already bound (an inherited
    /// listener), from its `getsockname()`; `None` when it is of another family.
    #[doc(hidden)]
    fn from_local(local: &SockAddr) -> Option<(Self::Requested, Self::Bound, AddressFamily)>;
    /// Called right after a successful bind.
    #[doc(hidden)]
    fn after_bind(bound: &Self::Bound) -> Self::BindState;
    /// Called when the socket is closed.
    #[doc(hidden)]
    fn on_close(bound: &Self::Bound, state: &mut Self::BindState);
}

/// Python's `server_bind` for any family: `SO_REUSEADDR`/`SO_REUSEPORT` as asked, bind
/// to the resolved address, and the bound address read back (port 0 resolved).
pub(crate) fn bind<F: Family>(
    sock: socket2::SockRef<'_>,
    requested: &F::Requested,
    family: AddressFamily,
    reuse_address: bool,
    reuse_port: bool,
) -> crate::Result<F::Bound> {
    if reuse_address {
        sock.set_reuse_address(true)?;
    }
    if reuse_port && F::REUSE_PORT {
        sock.set_reuse_port(true)?;
    }
    let bind_error = |source| crate::Error::Bind {
        address: format!("{requested:?}"),
        source,
    };
    let addr = F::resolve(requested, family).map_err(bind_error)?;
    sock.bind(&addr).map_err(bind_error)?;
    Ok(F::bound(&sock.local_addr()?, requested))
}

/// Internet sockets (`AF_INET` / `AF_INET6`), addressed as `(host, port)`.
#[derive(Debug, Clone, Copy)]
pub struct Inet;

/// Unix-domain sockets (`AF_UNIX`), addressed by a path.
///
/// A unix server removes its socket file when closed — but only the file its own `bind`
/// created (same device and inode), never one that replaced it meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Unix;

impl Family for Inet {
    type Requested = InetAddress;
    type Bound = SocketAddr;
    type BindState = ();

    fn default_family(requested: &InetAddress) -> AddressFamily {
        requested.default_family()
    }

    fn resolve(requested: &InetAddress, family: AddressFamily) -> io::Result<SockAddr> {
        requested.resolve(Some(family)).map(SockAddr::from)
    }

    fn unbound(requested: &InetAddress) -> SocketAddr {
        requested
            .resolve(None)
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], requested.port)))
    }

    fn bound(local: &SockAddr, requested: &InetAddress) -> SocketAddr {
        local
            .as_socket()
            .unwrap_or_else(|| Self::unbound(requested))
    }

    fn to_address(bound: &SocketAddr) -> Address {
        Address::Inet(*bound)
    }

    fn connection(socket: Socket) -> Connection {
        Connection::Tcp(socket.into())
    }

    fn datagram(socket: Socket) -> DatagramSocket {
        DatagramSocket::Udp(socket.into())
    }

    const REUSE_PORT: bool = true;

    fn from_local(local: &SockAddr) -> Option<(InetAddress, SocketAddr, AddressFamily)> {
        let addr = local.as_socket()?;
        let family = if addr.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        Some((InetAddress::from(addr), addr, family))
    }

    fn after_bind(_: &SocketAddr) {}

    fn on_close(_: &SocketAddr, _: &mut ()) {}
}

/// The identity of the socket file a unix server created.
#[derive(Debug, Default)]
pub struct CreatedFile(Option<(u64, u64)>);

impl Family for Unix {
    type Requested = PathBuf;
    type Bound = PathBuf;
    type BindState = CreatedFile;

    fn default_family(_: &PathBuf) -> AddressFamily {
        AddressFamily::Unix
    }

    fn resolve(requested: &PathBuf, family: AddressFamily) -> io::Result<SockAddr> {
        if family != AddressFamily::Unix {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a unix server needs AF_UNIX",
            ));
        }
        SockAddr::unix(requested)
    }

    fn unbound(requested: &PathBuf) -> PathBuf {
        requested.clone()
    }

    fn bound(_: &SockAddr, requested: &PathBuf) -> PathBuf {
        requested.clone()
    }

    fn to_address(bound: &PathBuf) -> Address {
        Address::Unix(bound.clone())
    }

    fn connection(socket: Socket) -> Connection {
        Connection::Unix(socket.into())
    }

    fn datagram(socket: Socket) -> DatagramSocket {
        DatagramSocket::Unix(socket.into())
    }

    const REUSE_PORT: bool = false;

    /// An abstract or unnamed socket has no path: its address is the empty path.
    fn from_local(local: &SockAddr) -> Option<(PathBuf, PathBuf, AddressFamily)> {
        if !local.is_unix() {
            return None;
        }
        let path = local.as_pathname().map(PathBuf::from).unwrap_or_default();
        Some((path.clone(), path, AddressFamily::Unix))
    }

    fn after_bind(bound: &PathBuf) -> CreatedFile {
        CreatedFile(
            std::fs::symlink_metadata(bound)
                .ok()
                .map(|m| (m.dev(), m.ino())),
        )
    }

    fn on_close(bound: &PathBuf, state: &mut CreatedFile) {
        if let Some(id) = state.0.take() {
            let same = std::fs::symlink_metadata(bound)
                .map(|m| (m.dev(), m.ino()) == id)
                .unwrap_or(false);
            if same {
                let _ = std::fs::remove_file(bound);
            }
        }
    }
}
