//! Python's `HTTPServer` and `ThreadingHTTPServer`.

use std::fmt;
use std::net::{IpAddr, ToSocketAddrs};
use std::ops::{Deref, DerefMut};

use crate::error::Result;
use crate::handler::RequestHandlerClass;
use crate::mixin::{ThreadPoolMixIn, ThreadingMixIn};
use crate::server::{BaseServer, FromAddress, TcpServer};
use crate::socket::Connection;
use crate::{sys, InetAddress};

/// Python's `http.server.HTTPServer`: a [`TcpServer`] with `allow_reuse_address` on that
/// records its host name and port when it binds.
///
/// It serves any stream handler; an HTTP one is the point.
#[doc(alias = "HTTPServer")]
pub struct HttpServer<H> {
    server: TcpServer<H>,
    /// Python's `server_name`: `socket.getfqdn()` of the bound host.
    pub server_name: String,
    /// Python's `server_port`: the bound port.
    pub server_port: u16,
}

impl<H: Send + Sync + 'static> HttpServer<H> {
    /// Creates the server, binds and activates it.
    pub fn new<M>(server_address: impl Into<InetAddress>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_address(server_address.into(), handler, true)
    }

    /// Creates the server without binding it (Python's `bind_and_activate=False`).
    #[doc(alias = "bind_and_activate")]
    pub fn unbound<M>(server_address: impl Into<InetAddress>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_address(server_address.into(), handler, false)
    }

    /// Python's `HTTPServer.server_bind`: binds, then sets `server_name` and
    /// `server_port`.
    pub fn server_bind(&mut self) -> Result<()> {
        self.server.server_bind()?;
        self.record_name();
        Ok(())
    }

    /// A server on a socket that is already bound and listening (socket activation; see
    /// [`StreamServer::from_listener`](crate::server::StreamServer::from_listener)), with
    /// `server_name` and `server_port` read from it.
    #[doc(alias = "fromfd")]
    pub fn from_listener<M>(listener: impl Into<socket2::Socket>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        let mut server = HttpServer {
            server: TcpServer::from_listener(listener, handler)?,
            server_name: String::new(),
            server_port: 0,
        };
        server.record_name();
        Ok(server)
    }

    fn record_name(&mut self) {
        let addr = self.server.server_address;
        self.server_name = getfqdn(&addr.ip().to_string());
        self.server_port = addr.port();
        self.server.set_server_name(self.server_name.clone());
    }
}

/// Python's `socket.getfqdn(name)`: the host name of `name` by reverse lookup; this
/// machine's name for an empty or unspecified address; `name` itself when nothing is
/// found.
pub fn getfqdn(name: &str) -> String {
    let name = name.trim();
    let name = if name.is_empty() || name == "0.0.0.0" || name == "::" {
        sys::gethostname().unwrap_or_else(|_| name.to_owned())
    } else {
        name.to_owned()
    };
    let addr = match name.parse::<IpAddr>() {
        Ok(ip) => Some((ip, 0).into()),
        Err(_) => (name.as_str(), 0)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next()),
    };
    addr.and_then(sys::name_of).unwrap_or(name)
}

/// Python's `http.server._get_best_family(bind, port)`: the first address
/// `getaddrinfo(bind, port, SOCK_STREAM, AI_PASSIVE)` gives. `None` means every
/// interface, in the family the system prefers; an IPv6 literal gives IPv6.
pub fn get_best_family(bind: Option<&str>, port: u16) -> std::io::Result<std::net::SocketAddr> {
    sys::passive_address(bind, port)
}

impl<H: Send + Sync + 'static, M> FromAddress<H, M> for HttpServer<H>
where
    H: RequestHandlerClass<Connection, M>,
{
    type Address = InetAddress;

    fn from_address(
        server_address: InetAddress,
        handler: H,
        bind_and_activate: bool,
    ) -> Result<Self> {
        let mut server = TcpServer::from_address(server_address, handler, false)?;
        server.allow_reuse_address = true;
        let mut server = HttpServer {
            server,
            server_name: String::new(),
            server_port: 0,
        };
        if bind_and_activate {
            let r = server.server_bind().and_then(|()| server.server_activate());
            if let Err(e) = r {
                server.server_close();
                return Err(e);
            }
        }
        Ok(server)
    }
}

impl<H: Send + Sync + 'static> BaseServer for HttpServer<H> {
    type Request = Connection;
    crate::delegate_base_server!(server; all);
}

impl<H> Deref for HttpServer<H> {
    type Target = TcpServer<H>;
    fn deref(&self) -> &TcpServer<H> {
        &self.server
    }
}

impl<H> DerefMut for HttpServer<H> {
    fn deref_mut(&mut self) -> &mut TcpServer<H> {
        &mut self.server
    }
}

impl<H> fmt::Debug for HttpServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("server", &self.server)
            .field("server_name", &self.server_name)
            .field("server_port", &self.server_port)
            .finish()
    }
}

/// Python's `http.server.ThreadingHTTPServer`: an [`HttpServer`] with a thread per
/// connection and `daemon_threads` on (so `server_close` does not wait for clients that
/// keep connections open).
#[doc(alias = "ThreadingHTTPServer")]
pub struct ThreadingHttpServer<H>(ThreadingMixIn<HttpServer<H>>);

impl<H: Send + Sync + 'static> ThreadingHttpServer<H> {
    /// Creates the server, binds and activates it.
    pub fn new<M>(server_address: impl Into<InetAddress>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_address(server_address.into(), handler, true)
    }

    /// Creates the server without binding it (Python's `bind_and_activate=False`).
    #[doc(alias = "bind_and_activate")]
    pub fn unbound<M>(server_address: impl Into<InetAddress>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        Self::from_address(server_address.into(), handler, false)
    }

    /// A threading HTTP server on a socket that is already bound and listening
    /// ([`HttpServer::from_listener`]).
    #[doc(alias = "fromfd")]
    pub fn from_listener<M>(listener: impl Into<socket2::Socket>, handler: H) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        let mut server = ThreadingMixIn::from(HttpServer::from_listener(listener, handler)?);
        server.daemon_threads = true;
        Ok(ThreadingHttpServer(server))
    }
}

impl<H: Send + Sync + 'static, M> FromAddress<H, M> for ThreadingHttpServer<H>
where
    H: RequestHandlerClass<Connection, M>,
{
    type Address = InetAddress;

    fn from_address(
        server_address: InetAddress,
        handler: H,
        bind_and_activate: bool,
    ) -> Result<Self> {
        let mut server = ThreadingMixIn::from(HttpServer::from_address(
            server_address,
            handler,
            bind_and_activate,
        )?);
        server.daemon_threads = true;
        Ok(ThreadingHttpServer(server))
    }
}

impl<H: Send + Sync + 'static> BaseServer for ThreadingHttpServer<H> {
    type Request = Connection;
    crate::delegate_base_server!(0; all);
}

impl<H> Deref for ThreadingHttpServer<H> {
    type Target = ThreadingMixIn<HttpServer<H>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<H> DerefMut for ThreadingHttpServer<H> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<H> fmt::Debug for ThreadingHttpServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ThreadingHttpServer").field(&self.0).finish()
    }
}

/// An [`HttpServer`] on a bounded worker pool ([`ThreadPoolMixIn`]): the server for
/// production use. Idle connections are dropped after the pool's `idle_timeout`.
pub type ThreadPoolHttpServer<H> = ThreadPoolMixIn<HttpServer<H>>;

/// Python 3.14's `http.server.HTTPSServer`: an [`HttpServer`] whose connections speak
/// TLS (the `tls` feature). The handshake runs on the thread that handles the
/// connection, on its first read, not on the accepting thread.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[doc(alias = "HTTPSServer")]
pub struct HttpsServer<H> {
    server: HttpServer<H>,
    tls: std::sync::Arc<rustls::ServerConfig>,
}

#[cfg(feature = "tls")]
impl<H: Send + Sync + 'static> HttpsServer<H> {
    /// Creates, binds and activates the server with the certificate chain in
    /// `certfile`, the key in `keyfile` (or in `certfile`), decrypted with `password` if
    /// it is encrypted — Python's `HTTPSServer(addr, Handler, certfile=…, keyfile=…,
    /// password=…)`. A bad certificate, key or password is an error here, as Python
    /// raises `ssl.SSLError` at construction.
    pub fn new<M>(
        server_address: impl Into<InetAddress>,
        handler: H,
        certfile: impl AsRef<std::path::Path>,
        keyfile: Option<&std::path::Path>,
        password: Option<&[u8]>,
    ) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        let tls = crate::tls::server_config(certfile.as_ref(), keyfile, password)?;
        Self::with_config(server_address, handler, tls, true)
    }

    /// With a ready TLS configuration; `bind_and_activate` as in Python.
    pub fn with_config<M>(
        server_address: impl Into<InetAddress>,
        handler: H,
        tls: std::sync::Arc<rustls::ServerConfig>,
        bind_and_activate: bool,
    ) -> Result<Self>
    where
        H: RequestHandlerClass<Connection, M>,
    {
        let server = HttpServer::from_address(server_address.into(), handler, bind_and_activate)?;
        Ok(HttpsServer { server, tls })
    }

    /// TLS on an [`HttpServer`] built some other way: from an inherited socket
    /// ([`HttpServer::from_listener`]), say.
    pub fn from_server(server: HttpServer<H>, tls: std::sync::Arc<rustls::ServerConfig>) -> Self {
        HttpsServer { server, tls }
    }
}

#[cfg(feature = "tls")]
impl<H: Send + Sync + 'static> BaseServer for HttpsServer<H> {
    type Request = Connection;
    crate::delegate_base_server!(server; core, fileno, finish_request, server_activate,
        server_close, timeout, socket_timeout, verify_request, process_request,
        shutdown_request, close_request, handle_error, handle_timeout, service_actions);

    /// Accepts a TCP connection and starts a TLS session on it.
    fn get_request(&self) -> std::io::Result<(Connection, crate::Address)> {
        let (conn, addr) = self.server.get_request()?;
        match conn {
            Connection::Tcp(tcp) => {
                let tls = crate::tls::TlsStream::accept(tcp, self.tls.clone())?;
                Ok((Connection::Tls(Box::new(tls)), addr))
            }
            other => Ok((other, addr)),
        }
    }
}

#[cfg(feature = "tls")]
impl<H> Deref for HttpsServer<H> {
    type Target = HttpServer<H>;
    fn deref(&self) -> &HttpServer<H> {
        &self.server
    }
}

#[cfg(feature = "tls")]
impl<H> DerefMut for HttpsServer<H> {
    fn deref_mut(&mut self) -> &mut HttpServer<H> {
        &mut self.server
    }
}

#[cfg(feature = "tls")]
impl<H> fmt::Debug for HttpsServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsServer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Python 3.14's `ThreadingHTTPSServer`: an [`HttpsServer`] with a thread per
/// connection and `daemon_threads` on.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
#[doc(alias = "ThreadingHTTPSServer")]
pub type ThreadingHttpsServer<H> = ThreadingMixIn<HttpsServer<H>>;

#[cfg(feature = "tls")]
impl<H: Send + Sync + 'static> ThreadingMixIn<HttpsServer<H>> {
    /// Wraps an HTTPS server with threads, `daemon_threads` on as in Python.
    pub fn https(server: HttpsServer<H>) -> Self {
        let mut s = ThreadingMixIn::from(server);
        s.daemon_threads = true;
        s
    }
}
