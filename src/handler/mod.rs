//! Request handlers: Python's `BaseRequestHandler`, `StreamRequestHandler` and
//! `DatagramRequestHandler`.
//!
//! # How Python's `self` maps to Rust
//!
//! In Python the server builds one handler object per request, and that object's `self`
//! holds two kinds of attributes: the *class* attributes (shared by every request:
//! `timeout`, `protocol_version`, `directory` passed with `functools.partial`, state you
//! hang on the class or the server) and the *instance* attributes (per request: `request`,
//! `client_address`, `server`, `rfile`, `wfile`).
//!
//! Here the two halves are two values:
//!
//! * **your handler type** is the class. You give the server one value of it
//!   (`TcpServer::new(addr, Echo)`, like `TCPServer(addr, Echo)`); every request borrows it
//!   as `&self`, so its fields are shared configuration and state (use atomics or a
//!   `Mutex` for state that changes);
//! * **the request value** (`req`: [`StreamRequest`], [`DatagramRequest`],
//!   [`BaseRequest`], and the HTTP and FastCGI ones) is the instance: the server builds a
//!   fresh one for every request and passes it to `setup`, `handle` and `finish`.
//!
//! So `self.wfile.write(...)` in Python is `req.wfile.write_all(...)` here, and
//! `self.server.my_setting` is `self.my_setting`.
//!
//! `setup` runs first; if it succeeds `handle` runs, then `finish` runs even when
//! `handle` failed or panicked — Python's `try: handle() finally: finish()`. The error
//! returned is `handle`'s if it failed, else `finish`'s.

mod buffered;
mod datagram;
pub(crate) mod stream;

pub use buffered::BufferedReader;
pub use datagram::{DatagramRequest, DatagramRequestHandler};
pub use stream::{SocketWriter, StreamRequest, StreamRequestHandler};

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::address::Address;
use crate::error::{Error, Result};
use crate::server::ServerRef;
use crate::socket::Connection;

/// Python's `RequestHandlerClass`: what a server calls once per request.
///
/// You do not implement this trait: it is implemented for every type that implements one
/// of the handler traits ([`BaseRequestHandler`], [`StreamRequestHandler`],
/// [`DatagramRequestHandler`], the HTTP and FastCGI handlers). `R` is the request type
/// ([`Connection`] or [`Datagram`](crate::Datagram)); `M` only says which of those
/// traits it came from, and is always inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not handle `{R}` requests",
    label = "not a request handler for this server",
    note = "implement `StreamRequestHandler` (or `BaseHttpRequestHandler`, `BaseRequestHandler`, …) for `{Self}` for a stream server, `DatagramRequestHandler` for a datagram server"
)]
pub trait RequestHandlerClass<R, M>: Send + Sync + 'static {
    /// Handles one request: Python's `RequestHandlerClass(request, client_address,
    /// server)`, which runs `setup`, `handle` and `finish`.
    fn handle_request(
        &self,
        request: &R,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()>;

    /// Whether every connection this handler serves gets `TCP_NODELAY` (its
    /// `disable_nagle_algorithm`). A TCP server on Linux then sets the option once on
    /// its listening socket, whose accepted connections inherit it, instead of once per
    /// connection. Default: `false`.
    fn wants_nodelay(&self) -> bool {
        false
    }
}

/// How a server calls its handler value, fixed when the server is built.
pub(crate) type Driver<H, R> = fn(&H, &R, &Address, &ServerRef) -> Result<()>;

/// Marker types that tell the blanket [`RequestHandlerClass`] implementations apart.
/// They only appear as the inferred `M` parameter.
pub mod marker {
    /// For [`BaseRequestHandler`](super::BaseRequestHandler).
    #[derive(Debug)]
    pub enum Base {}
    /// For [`StreamRequestHandler`](super::StreamRequestHandler).
    #[derive(Debug)]
    pub enum Stream {}
    /// For [`DatagramRequestHandler`](super::DatagramRequestHandler).
    #[derive(Debug)]
    pub enum Datagram {}
    /// For the HTTP handlers.
    #[derive(Debug)]
    pub enum Http {}
    /// For [`MinimalHttpHandler`](crate::MinimalHttpHandler).
    #[derive(Debug)]
    pub enum MinimalHttp {}
    /// For [`FcgiHandler`](crate::FcgiHandler).
    #[derive(Debug)]
    pub enum Fcgi {}
}

/// The per-request value of a [`BaseRequestHandler`]: Python's `self.request`,
/// `self.client_address`, `self.server`.
#[derive(Debug)]
#[non_exhaustive]
pub struct BaseRequest<'a, R = Connection> {
    /// The request: the [`Connection`] of a stream server, the
    /// [`Datagram`](crate::Datagram) of a datagram server.
    pub request: &'a R,
    /// The client's address.
    pub client_address: &'a Address,
    /// The server.
    pub server: &'a ServerRef,
}

/// Python's `socketserver.BaseRequestHandler`: a handler that works on the raw request.
///
/// ```
/// use socketserver::{BaseRequest, BaseRequestHandler};
///
/// /// Sends one greeting and hangs up (Python: `self.request.sendall(b"hi\n")`).
/// struct Greeter;
/// impl BaseRequestHandler for Greeter {
///     fn handle(&self, req: &mut BaseRequest) -> socketserver::Result<()> {
///         req.request.sendall(b"hi\n")?;
///         Ok(())
///     }
/// }
///
/// # use socketserver::{BaseServer, TcpServer};
/// # use std::io::Read;
/// let server = std::sync::Arc::new(TcpServer::new(("127.0.0.1", 0), Greeter)?);
/// let mut client = std::net::TcpStream::connect(server.server_address)?;
/// server.handle_request()?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer)?;
/// assert_eq!(answer, "hi\n");
/// # Ok::<(), socketserver::Error>(())
/// ```
pub trait BaseRequestHandler<R = Connection>: Send + Sync + 'static {
    /// Runs before `handle`. Default: nothing.
    fn setup(&self, req: &mut BaseRequest<'_, R>) -> Result<()> {
        let _ = req;
        Ok(())
    }

    /// Does the work of the request.
    fn handle(&self, req: &mut BaseRequest<'_, R>) -> Result<()>;

    /// Runs after `handle`, even when it failed. Default: nothing.
    fn finish(&self, req: &mut BaseRequest<'_, R>) -> Result<()> {
        let _ = req;
        Ok(())
    }
}

impl<R: 'static, T: BaseRequestHandler<R>> RequestHandlerClass<R, marker::Base> for T {
    fn handle_request(
        &self,
        request: &R,
        client_address: &Address,
        server: &ServerRef,
    ) -> Result<()> {
        let mut req = BaseRequest {
            request,
            client_address,
            server,
        };
        run_phases(
            &mut req,
            |r| self.setup(r),
            |r| self.handle(r),
            |r| self.finish(r),
        )
    }
}

/// Python's `__init__` of a request handler: `setup()`, then `handle()` inside
/// `try … finally: finish()`. A panic in any phase becomes [`Error::Panic`], returned
/// to the caller (which may still answer on the connection); one in `handle` still
/// runs `finish`.
pub(crate) fn run_phases<T>(
    req: &mut T,
    setup: impl FnOnce(&mut T) -> Result<()>,
    handle: impl FnOnce(&mut T) -> Result<()>,
    finish: impl FnOnce(&mut T) -> Result<()>,
) -> Result<()> {
    guarded(req, setup)?;
    let handled = guarded(req, handle);
    let finished = guarded(req, finish);
    handled.and(finished)
}

/// Runs one phase, a panic turned into [`Error::Panic`].
fn guarded<T>(req: &mut T, phase: impl FnOnce(&mut T) -> Result<()>) -> Result<()> {
    catch_unwind(AssertUnwindSafe(|| phase(req)))
        .unwrap_or_else(|payload| Err(Error::from_panic(payload)))
}
