//! One-call serving: fast.ai's `@fastcgi` decorator as [`fastcgi`], a handler made of
//! a closure ([`FnHandler`]), and stale socket files ([`remove_stale_socket`]).

use std::fmt;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;

use super::handler::{FcgiHandler, FcgiRequest};
use crate::error::{Error, Result};
use crate::mixin::{ThreadingMixIn, ThreadingTcpServer, ThreadingUnixStreamServer};
use crate::server::{BaseServer, Family, StreamServer, POLL_INTERVAL};

/// An [`FcgiHandler`] made of a closure: `handle` calls it.
///
/// ```no_run
/// use socketserver::fcgi::FnHandler;
/// use socketserver::{BaseServer, ThreadingTcpServer};
///
/// let hello = FnHandler(|req: &mut socketserver::fcgi::FcgiRequest| {
///     req.send("Content-Type: text/plain\r\n\r\nhi\n", false)?;
///     Ok(())
/// });
/// let server = std::sync::Arc::new(ThreadingTcpServer::new(("127.0.0.1", 9000), hello)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct FnHandler<F>(pub F);

impl<F> fmt::Debug for FnHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FnHandler").finish_non_exhaustive()
    }
}

impl<F> FcgiHandler for FnHandler<F>
where
    F: Fn(&mut FcgiRequest<'_>) -> Result<()> + Send + Sync + 'static,
{
    fn handle(&self, req: &mut FcgiRequest<'_>) -> Result<()> {
        (self.0)(req)
    }
}

/// Removes the unix socket file at `path` if it is stale: a socket that nothing listens
/// on any more (connecting to it is refused), left behind by a server that was killed.
///
/// Returns `Ok(true)` if it removed the file, `Ok(false)` if there was no file. It
/// refuses — [`io::ErrorKind::AddrInUse`] — when a server still answers on the socket,
/// and — [`io::ErrorKind::AlreadyExists`] — when the path is not a socket, so it never
/// deletes someone's file or steals a live server's address. (The servers themselves
/// keep Python's behaviour: binding to an existing path fails.)
///
/// ```no_run
/// use socketserver::fcgi::remove_stale_socket;
/// remove_stale_socket("/run/app/fcgi.sock")?;
/// // now bind: UnixStreamServer::new("/run/app/fcgi.sock", handler)
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_stale_socket(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a server is listening on {}", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path)?;
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// fast.ai's `@fastcgi` decorator as one call: serves `func` as a FastCGI Responder on
/// `address` until the process ends.
///
/// `address` is a unix socket path if it contains a `/` (a stale socket file there is
/// removed first, see [`remove_stale_socket`]; the file is removed again when the server
/// closes), else `HOST:PORT` (`127.0.0.1:9000`, `[::1]:9000`, `:9000` for every
/// interface). Each connection runs on its own thread ([`ThreadingUnixStreamServer`] or
/// [`ThreadingTcpServer`], listening with a backlog of [`BACKLOG`]); fast.ai forks a
/// process per connection, which a Rust program with other threads must not do.
///
/// Returns only if the server cannot start or its socket fails.
///
/// ```no_run
/// socketserver::fcgi::fastcgi("/tmp/app.sock", |req| {
///     let name = req.params.get("QUERY_STRING").unwrap_or("world").to_owned();
///     req.send(format!("Content-Type: text/plain\r\n\r\nHello, {name}!\n"), false)?;
///     Ok(())
/// })?;
/// # Ok::<(), socketserver::Error>(())
/// ```
#[doc(alias = "@fastcgi")]
pub fn fastcgi<F>(address: &str, func: F) -> Result<()>
where
    F: Fn(&mut FcgiRequest<'_>) -> Result<()> + Send + Sync + 'static,
{
    let server = fastcgi_server(address, func)?;
    let result = server.serve_forever(POLL_INTERVAL);
    server.server_close();
    result
}

/// The server [`fastcgi`] runs, bound and listening but not yet serving: call
/// `serve_forever` on it (and `shutdown` from another thread to stop it).
pub fn fastcgi_server<F>(address: &str, func: F) -> Result<FastcgiServer<F>>
where
    F: Fn(&mut FcgiRequest<'_>) -> Result<()> + Send + Sync + 'static,
{
    let handler = FnHandler(func);
    if address.contains('/') {
        remove_stale_socket(address).map_err(|source| Error::Bind {
            address: address.to_owned(),
            source,
        })?;
        let mut server = ThreadingUnixStreamServer::unbound(address, handler)?;
        server.request_queue_size = BACKLOG;
        bind_and_activate(&mut server, address)?;
        Ok(FastcgiServer::Unix(Arc::new(server)))
    } else {
        let (host, port) = split_host_port(address).ok_or_else(|| Error::Bind {
            address: address.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "expected a unix socket path (with a '/') or HOST:PORT",
            ),
        })?;
        let mut server = ThreadingTcpServer::unbound((host, port), handler)?;
        server.request_queue_size = BACKLOG;
        bind_and_activate(&mut server, address)?;
        Ok(FastcgiServer::Tcp(Arc::new(server)))
    }
}

/// The listen backlog of [`fastcgi_server`]: nginx opens upstream connections in
/// bursts, and on a unix socket a full accept queue makes it answer 502 at once
/// (`connect() ... failed (11: Resource temporarily unavailable)`), so the server
/// listens with more than the crate's default of 128. (The kernel caps it at
/// `net.core.somaxconn`.)
pub const BACKLOG: i32 = 1024;

fn bind_and_activate<F: Family, H: Send + Sync + 'static>(
    server: &mut ThreadingMixIn<StreamServer<F, H>>,
    address: &str,
) -> Result<()> {
    server.server_bind()?;
    server.server_activate().map_err(|e| match e {
        Error::Io(source) => Error::Bind {
            address: address.to_owned(),
            source,
        },
        other => other,
    })
}

/// `HOST:PORT`, `[V6]:PORT` or `:PORT`.
pub(crate) fn split_host_port(address: &str) -> Option<(&str, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host, port))
}

/// The server of [`fastcgi_server`]: a threading unix or TCP server around the closure.
#[non_exhaustive]
pub enum FastcgiServer<F> {
    /// On a unix socket.
    Unix(Arc<ThreadingUnixStreamServer<FnHandler<F>>>),
    /// On TCP.
    Tcp(Arc<ThreadingTcpServer<FnHandler<F>>>),
}

impl<F: Send + Sync + 'static> fmt::Debug for FastcgiServer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FastcgiServer::Unix(s) => f.debug_tuple("Unix").field(&s.server_address).finish(),
            FastcgiServer::Tcp(s) => f.debug_tuple("Tcp").field(&s.server_address).finish(),
        }
    }
}

impl<F> FastcgiServer<F>
where
    F: Fn(&mut FcgiRequest<'_>) -> Result<()> + Send + Sync + 'static,
{
    /// Serves until [`shutdown`](Self::shutdown).
    pub fn serve_forever(&self, poll_interval: std::time::Duration) -> Result<()> {
        match self {
            FastcgiServer::Unix(s) => s.serve_forever(poll_interval),
            FastcgiServer::Tcp(s) => s.serve_forever(poll_interval),
        }
    }

    /// Stops `serve_forever` (from another thread) and waits for it to return.
    pub fn shutdown(&self) {
        match self {
            FastcgiServer::Unix(s) => s.shutdown(),
            FastcgiServer::Tcp(s) => s.shutdown(),
        }
    }

    /// A handle that stops the server from any thread.
    pub fn shutdown_handle(&self) -> crate::ShutdownHandle {
        match self {
            FastcgiServer::Unix(s) => s.shutdown_handle(),
            FastcgiServer::Tcp(s) => s.shutdown_handle(),
        }
    }

    /// Closes the socket (removing the unix socket file) and waits for the request
    /// threads.
    pub fn server_close(&self) {
        match self {
            FastcgiServer::Unix(s) => s.server_close(),
            FastcgiServer::Tcp(s) => s.server_close(),
        }
    }

    /// The address the server listens on.
    pub fn server_address(&self) -> crate::Address {
        match self {
            FastcgiServer::Unix(s) => crate::Address::Unix(s.server_address.clone()),
            FastcgiServer::Tcp(s) => crate::Address::Inet(s.server_address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("127.0.0.1:9000"), Some(("127.0.0.1", 9000)));
        assert_eq!(split_host_port("[::1]:9000"), Some(("::1", 9000)));
        assert_eq!(split_host_port(":9000"), Some(("", 9000)));
        assert_eq!(split_host_port("localhost:x"), None);
        assert_eq!(split_host_port("localhost"), None);
    }
}
