//! Addresses as Python writes them: `("", 8000)`, `("localhost", 8000)`, `("::1", 0)`, or a
//! path for a unix socket.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr};

/// The address of a client or of a server socket, once known.
///
/// Python keeps these as a tuple (`('127.0.0.1', 8000)`) for internet sockets and as a
/// string for unix sockets. [`Address::repr`] prints Python's spelling, which is what
/// [`BaseServer::handle_error`](crate::BaseServer::handle_error) shows.
///
/// ```
/// use socketserver::Address;
/// let a = Address::Inet("127.0.0.1:8000".parse().unwrap());
/// assert_eq!(a.host(), "127.0.0.1");
/// assert_eq!(a.port(), Some(8000));
/// assert_eq!(a.repr(), "('127.0.0.1', 8000)");
/// assert_eq!(a.to_string(), "127.0.0.1:8000");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A unix socket path; empty for an unnamed socket (what a connecting client usually
    /// is, and what Python reports as `''`).
    Unix(PathBuf),
}

impl Address {
    /// Python's `client_address[0]`: the IP address as text, or the socket path.
    #[doc(alias = "address_string")]
    pub fn host(&self) -> String {
        match self {
            Address::Inet(sa) => sa.ip().to_string(),
            Address::Unix(p) => p.to_string_lossy().into_owned(),
        }
    }

    /// The port of an internet address; `None` for a unix socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Inet(sa) => Some(sa.port()),
            Address::Unix(_) => None,
        }
    }

    /// The address the way Python's `repr()` prints it: `('127.0.0.1', 8000)`,
    /// `('::1', 8000, 0, 0)`, `'/tmp/sock'`.
    pub fn repr(&self) -> String {
        match self {
            Address::Inet(SocketAddr::V4(a)) => format!("('{}', {})", a.ip(), a.port()),
            Address::Inet(SocketAddr::V6(a)) => format!(
                "('{}', {}, {}, {})",
                a.ip(),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
            Address::Unix(p) => format!("'{}'", p.to_string_lossy()),
        }
    }

    /// Converts a socket address from the operating system.
    pub(crate) fn from_sockaddr(sa: &SockAddr) -> Address {
        if let Some(inet) = sa.as_socket() {
            return Address::Inet(inet);
        }
        Address::Unix(sa.as_pathname().map(Path::to_path_buf).unwrap_or_default())
    }
}

impl fmt::Display for Address {
    /// Rust's spelling: `127.0.0.1:8000`, `[::1]:8000`, or the path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet(sa) => sa.fmt(f),
            Address::Unix(p) => p.display().fmt(f),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(sa: SocketAddr) -> Self {
        Address::Inet(sa)
    }
}

impl From<PathBuf> for Address {
    fn from(p: PathBuf) -> Self {
        Address::Unix(p)
    }
}

/// Python's socket address families (`socket.AF_INET`, `AF_INET6`, `AF_UNIX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (`AF_INET`).
    #[doc(alias = "AF_INET")]
    Inet,
    /// IPv6 (`AF_INET6`).
    #[doc(alias = "AF_INET6")]
    Inet6,
    /// Unix domain sockets (`AF_UNIX`).
    #[doc(alias = "AF_UNIX")]
    Unix,
}

impl AddressFamily {
    pub(crate) fn domain(self) -> Domain {
        match self {
            AddressFamily::Inet => Domain::IPV4,
            AddressFamily::Inet6 => Domain::IPV6,
            AddressFamily::Unix => Domain::UNIX,
        }
    }
}

/// An internet server address before it is bound: Python's `(host, port)` pair.
///
/// The host is kept as written and resolved when the server binds, as Python does:
/// `""` means every interface (`0.0.0.0`, or `::` for IPv6), `"<broadcast>"` is
/// `255.255.255.255`, an IP literal is used as is, and a name such as `"localhost"` is
/// looked up for the server's [`AddressFamily`].
///
/// ```
/// use socketserver::InetAddress;
/// let all = InetAddress::from(("", 8000));
/// assert_eq!(all.resolve(None).unwrap().to_string(), "0.0.0.0:8000");
/// let v6 = InetAddress::from(("::1", 0));
/// assert!(v6.resolve(None).unwrap().is_ipv6());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InetAddress {
    /// The host part, as written.
    pub host: String,
    /// The port; 0 asks the system for a free one.
    pub port: u16,
}

impl InetAddress {
    /// The family an address written like this needs when none is set: IPv6 for an IPv6
    /// literal (`"::"`, `"::1"`), IPv4 otherwise (Python's `AF_INET` default).
    pub fn default_family(&self) -> AddressFamily {
        if self.host.parse::<Ipv6Addr>().is_ok() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        }
    }

    /// Resolves the host for `family` (the address's [default family](Self::default_family)
    /// when `None`).
    pub fn resolve(&self, family: Option<AddressFamily>) -> io::Result<SocketAddr> {
        let family = family.unwrap_or_else(|| self.default_family());
        let want_v6 = match family {
            AddressFamily::Inet => false,
            AddressFamily::Inet6 => true,
            AddressFamily::Unix => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an (host, port) address needs AF_INET or AF_INET6",
                ))
            }
        };
        let port = self.port;
        let host = self.host.as_str();
        if host.is_empty() {
            return Ok(if want_v6 {
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0))
            } else {
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
            });
        }
        if host == "<broadcast>" && !want_v6 {
            return Ok(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, port)));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return match (ip, want_v6) {
                (IpAddr::V4(v4), false) => Ok(SocketAddr::V4(SocketAddrV4::new(v4, port))),
                (IpAddr::V6(v6), true) => Ok(SocketAddr::V6(SocketAddrV6::new(v6, port, 0, 0))),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("address family mismatch for {host:?}"),
                )),
            };
        }
        (host, port)
            .to_socket_addrs()?
            .find(|sa| sa.is_ipv6() == want_v6)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host:?} has no address for this address family"),
                )
            })
    }
}

impl fmt::Display for InetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:?}, {})", self.host, self.port)
    }
}

impl From<(&str, u16)> for InetAddress {
    fn from((host, port): (&str, u16)) -> Self {
        InetAddress {
            host: host.to_owned(),
            port,
        }
    }
}

impl From<(String, u16)> for InetAddress {
    fn from((host, port): (String, u16)) -> Self {
        InetAddress { host, port }
    }
}

impl From<(&String, u16)> for InetAddress {
    fn from((host, port): (&String, u16)) -> Self {
        InetAddress {
            host: host.clone(),
            port,
        }
    }
}

impl From<SocketAddr> for InetAddress {
    fn from(sa: SocketAddr) -> Self {
        InetAddress {
            host: sa.ip().to_string(),
            port: sa.port(),
        }
    }
}

impl From<(IpAddr, u16)> for InetAddress {
    fn from((ip, port): (IpAddr, u16)) -> Self {
        SocketAddr::new(ip, port).into()
    }
}

impl From<(Ipv4Addr, u16)> for InetAddress {
    fn from((ip, port): (Ipv4Addr, u16)) -> Self {
        SocketAddr::new(ip.into(), port).into()
    }
}

impl From<(Ipv6Addr, u16)> for InetAddress {
    fn from((ip, port): (Ipv6Addr, u16)) -> Self {
        SocketAddr::new(ip.into(), port).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_spellings_resolve() {
        let r = |h: &str, f| InetAddress::from((h, 80)).resolve(f).unwrap().to_string();
        assert_eq!(r("", None), "0.0.0.0:80");
        assert_eq!(r("", Some(AddressFamily::Inet6)), "[::]:80");
        assert_eq!(r("<broadcast>", None), "255.255.255.255:80");
        assert_eq!(r("127.0.0.1", None), "127.0.0.1:80");
        assert_eq!(r("::1", None), "[::1]:80");
        assert_eq!(r("localhost", Some(AddressFamily::Inet)), "127.0.0.1:80");
    }

    #[test]
    fn family_mismatch_is_an_error() {
        let a = InetAddress::from(("::1", 80));
        assert!(a.resolve(Some(AddressFamily::Inet)).is_err());
        assert!(a.resolve(Some(AddressFamily::Unix)).is_err());
    }

    #[test]
    fn repr_matches_python() {
        let v6 = Address::Inet("[::1]:9".parse().unwrap());
        assert_eq!(v6.repr(), "('::1', 9, 0, 0)");
        assert_eq!(Address::Unix(PathBuf::new()).repr(), "''");
        assert_eq!(Address::Unix("/tmp/s".into()).repr(), "'/tmp/s'");
    }
}
