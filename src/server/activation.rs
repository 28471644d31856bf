//! Socket activation: a server built from a listening socket it did not bind.
//!
//! Two ways in:
//!
//! * [`StreamServer::from_listener`] (or [`from_fd`](StreamServer::from_fd)): a socket
//!   the program already holds — a `std::net::TcpListener`, a
//!   `std::os::unix::net::UnixListener`, a `socket2::Socket` or an `OwnedFd` passed down
//!   by a supervisor. Python spells this `socket.fromfd(...)` and then
//!   `server.socket = sock` on a server made with `bind_and_activate=False`.
//! * [`listen_fds`]: the sockets systemd (or any launcher speaking its protocol, such as
//!   `systemd-socket-activate`) passed to the process — descriptors 3, 4, … announced by
//!   `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES` (`sd_listen_fds_with_names(3)`).
//!
//! ```no_run
//! use socketserver::server::activation::listen_fds;
//! use socketserver::{BaseServer, TcpServer};
//! # struct Echo; impl socketserver::StreamRequestHandler for Echo {
//! #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
//! let server = match listen_fds()?.into_iter().next() {
//!     // Started by systemd with a socket unit: serve the socket it made.
//!     Some(inherited) => TcpServer::from_listener(inherited.into_socket(), Echo)?,
//!     // Started by hand: bind as usual.
//!     None => TcpServer::new(("", 8000), Echo)?,
//! };
//! std::sync::Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
//! # Ok::<(), socketserver::Error>(())
//! ```
//!
//! Several processes may serve one inherited socket at once: they share its accept
//! queue, so stopping one loses no queued connection (`docs/deployment.md`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use socket2::{Socket, Type};

use super::family::Family;
use super::stream::StreamServer;
use crate::address::Address;
use crate::error::{Error, Result};
use crate::handler::RequestHandlerClass;
use crate::socket::Connection;
use crate::sys;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// The most descriptors [`listen_fds`] takes; a larger `LISTEN_FDS` is an error.
pub const MAX_LISTEN_FDS: usize = 1024;

/// One socket passed by systemd: the descriptor and the name its socket unit gave it
/// (`FileDescriptorName=`, or the unit's name; `"unknown"` when none was passed).
#[derive(Debug)]
pub struct ListenFd {
    socket: Socket,
    name: String,
}

impl ListenFd {
    /// The name from `LISTEN_FDNAMES`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The socket's local address: an internet address, or a unix path (empty for an
    /// abstract or unnamed socket). `None` for other families.
    pub fn local_addr(&self) -> Option<Address> {
        let local = self.socket.local_addr().ok()?;
        if local.is_unix() {
            return Some(Address::from_sockaddr(&local));
        }
        local.as_socket().map(Address::Inet)
    }

    /// Whether it is a unix-domain socket (serve it with a
    /// [`UnixStreamServer`](super::UnixStreamServer)); otherwise an internet one
    /// ([`TcpServer`](super::TcpServer)), or another kind the servers refuse.
    pub fn is_unix(&self) -> bool {
        matches!(self.local_addr(), Some(Address::Unix(_)))
    }

    /// The socket, to hand to [`StreamServer::from_listener`].
    pub fn into_socket(self) -> Socket {
        self.socket
    }
}

impl From<ListenFd> for OwnedFd {
    fn from(l: ListenFd) -> OwnedFd {
        l.socket.into()
    }
}

/// The listening sockets systemd passed to this process: `sd_listen_fds_with_names(1)`.
///
/// Reads `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES`. When `LISTEN_PID` is this
/// process's id, takes descriptors `3 .. 3 + LISTEN_FDS`, marks them close-on-exec (a
/// CGI script must not inherit them) and returns them with their names, in order. When
/// the variables are missing, or meant for another process (a parent's leaked into the
/// environment), returns an empty list.
///
/// In every case the three variables are then removed from the environment, as
/// `sd_listen_fds(unset_environment = 1)` does, so that no child process believes the
/// sockets are its own. The descriptors can be taken once per process; later calls
/// return an empty list.
///
/// Call it at the start of `main`, before starting threads (changing the environment
/// while another thread reads it is a data race in C's `getenv`) and before anything
/// else could open or wrap descriptor 3.
///
/// Errors: a `LISTEN_FDS` that is not a number or above [`MAX_LISTEN_FDS`], a
/// descriptor that is not open.
#[doc(alias = "sd_listen_fds")]
#[doc(alias = "sd_listen_fds_with_names")]
pub fn listen_fds() -> Result<Vec<ListenFd>> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    let names = std::env::var("LISTEN_FDNAMES").ok();
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(var);
    }
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(Vec::new());
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(Vec::new());
    }
    let count: usize = fds
        .trim()
        .parse()
        .ok()
        .filter(|n| *n <= MAX_LISTEN_FDS)
        .ok_or_else(|| invalid(format!("LISTEN_FDS={fds:?} is not a count of sockets")))?;
    let Some(owned) = sys::take_inherited(LISTEN_FDS_START, count)? else {
        return Ok(Vec::new());
    };
    // systemd passes one name per descriptor; a list of another length is ignored.
    let names: Vec<&str> = names
        .as_deref()
        .map(|n| n.split(':').collect())
        .filter(|n: &Vec<&str>| n.len() == count)
        .unwrap_or_else(|| vec!["unknown"; count]);
    Ok(owned
        .into_iter()
        .zip(names)
        .map(|(fd, name)| ListenFd {
            socket: Socket::from(fd),
            name: name.to_owned(),
        })
        .collect())
}

fn invalid(message: String) -> Error {
    Error::Io(io::Error::new(io::ErrorKind::InvalidInput, message))
}

impl<F: Family, H: Send + Sync + 'static> StreamServer<F, H> {
    /// A server on a socket that is already bound and listening: one systemd passed
    /// ([`listen_fds`]), one a supervisor handed down, or a `std` listener.
    ///
    /// Nothing is bound or re-listened: the socket keeps its address and backlog, and
    /// [`server_address`](Self::server_address) is read from it. It is made non-blocking
    /// and close-on-exec. Closing the server closes this process's descriptor only; a unix
    /// socket file is left in place (whoever bound it removes it). Do not call
    /// `server_bind` on it.
    ///
    /// Errors when the socket is not a stream socket, not listening, or of the other
    /// family (a unix socket given to a `TcpServer`).
    ///
    /// ```
    /// use socketserver::TcpServer;
    /// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
    /// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = listener.local_addr()?.port();
    /// let server = TcpServer::from_listener(listener, Echo)?;
    /// assert_eq!(server.server_address.port(), port);
    /// # Ok::<(), socketserver::Error>(())
    /// ```
    #[doc(alias = "fromfd")]
    pub fn from_listener<M>(listener: impl Into<Socket>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        let socket: Socket = listener.into();
        if socket.r#type()? != Type::STREAM {
            return Err(invalid(
                "the inherited socket is not a stream socket".into(),
            ));
        }
        if !sys::is_listening(socket.as_raw_fd())? {
            return Err(invalid("the inherited socket is not listening".into()));
        }
        let local = socket.local_addr()?;
        let (requested, bound, family) = F::from_local(&local).ok_or_else(|| {
            invalid("the inherited socket is of another address family than the server".into())
        })?;
        socket.set_cloexec(true)?;
        StreamServer::from_listening(socket, requested, bound, family, handler)
    }

    /// [`from_listener`](Self::from_listener) for a descriptor the program owns (one a
    /// supervisor passed and the program wrapped with `OwnedFd::from_raw_fd`, or one from
    /// [`listen_fds`]).
    pub fn from_fd<M>(fd: OwnedFd, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_listener(Socket::from(fd), handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{TcpServer, UnixStreamServer};
    use crate::{BaseServer, StreamRequest, StreamRequestHandler};
    use std::io::{Read, Write};

    struct Hello;
    impl StreamRequestHandler for Hello {
        fn handle(&self, req: &mut StreamRequest<'_>) -> Result<()> {
            req.wfile.write_all(b"hello\n")?;
            Ok(())
        }
    }

    #[test]
    fn tcp_listener_is_served_where_it_listens() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::sync::Arc::new(TcpServer::from_listener(l, Hello).unwrap());
        assert_eq!(server.server_address, addr);
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        server.handle_request().unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello\n");
    }

    #[test]
    fn unix_listener_keeps_its_file_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = UnixStreamServer::from_listener(l, Hello).unwrap();
        assert_eq!(server.server_address, path);
        server.server_close();
        assert!(path.exists(), "the socket file belongs to whoever bound it");
    }

    #[test]
    fn refuses_wrong_family_and_non_listening_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let l = std::os::unix::net::UnixListener::bind(dir.path().join("s")).unwrap();
        let e = TcpServer::from_listener(l, Hello).unwrap_err();
        assert!(e.to_string().contains("address family"), "{e}");

        let bound = Socket::new(socket2::Domain::IPV4, Type::STREAM, None).unwrap();
        bound
            .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let e = TcpServer::from_listener(bound, Hello).unwrap_err();
        assert!(e.to_string().contains("not listening"), "{e}");

        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = TcpServer::from_listener(udp, Hello).unwrap_err();
        assert!(e.to_string().contains("not a stream socket"), "{e}");
    }
}
