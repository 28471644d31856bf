//! Servers: the [`BaseServer`] trait (Python's `socketserver.BaseServer`), the stream and
//! datagram servers built on it, and the pieces every server shares.
//!
//! Python's class tree, and where each piece lives here:
//!
//! ```text
//! BaseServer ............................ trait BaseServer (this module)
//!  +-- TCPServer ........................ TcpServer<H>          = StreamServer<Inet, H>
//!  |    +-- UnixStreamServer ............ UnixStreamServer<H>   = StreamServer<Unix, H>
//!  |    +-- UDPServer ................... UdpServer<H>          = DatagramServer<Inet, H>
//!  |         +-- UnixDatagramServer ..... UnixDatagramServer<H> = DatagramServer<Unix, H>
//!  +-- ThreadingMixIn, ForkingMixIn ..... generic wrappers in crate::mixin
//! ```

pub mod activation;
mod datagram;
mod family;
pub mod graceful;
pub mod park;
mod signals;
mod stream;

pub use datagram::{DatagramServer, UdpServer, UnixDatagramServer, MAX_PACKET_SIZE};
pub use family::{Family, Inet, Unix};
pub use signals::{shutdown_on_signals, SignalWatch, SIGINT, SIGTERM};
pub use stream::{ReuseTcpServer, StreamServer, TcpServer, UnixStreamServer, REQUEST_QUEUE_SIZE};

use std::fmt;
use std::io::{self, Read, Write};
use std::ops::Deref;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::address::Address;
use crate::error::{Error, Result};
use crate::socket::RequestSocket;
use crate::sys;

/// Python's `serve_forever()` default `poll_interval` (0.5 s).
///
/// `serve_forever` wakes this often to run [`BaseServer::service_actions`]; it does not
/// delay [`shutdown`](BaseServer::shutdown), which wakes it at once.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Python's `socketserver.BaseServer`: the template every server follows.
///
/// The *hooks* (`get_request`, `verify_request`, `process_request`, `finish_request`,
/// `shutdown_request`, `close_request`, `handle_error`, `handle_timeout`,
/// `service_actions`, `server_activate`, `server_close`) are what a server type
/// implements or overrides. The *template* methods — [`serve_forever`](Self::serve_forever),
/// [`handle_request`](Self::handle_request), [`shutdown`](Self::shutdown) and
/// [`finish_and_shutdown_request`](Self::finish_and_shutdown_request) — are provided and
/// call the hooks of the outermost server, as Python's methods call `self.hook()`.
///
/// A server that wraps another (a mix-in, or your own type overriding a hook, as a Python
/// subclass would) forwards every hook it does not replace with [`delegate_base_server!`](crate::delegate_base_server),
/// and never forwards the template methods.
///
/// Calling order, as in Python: `serve_forever` → `get_request` → `verify_request` →
/// `process_request` → `finish_request` (builds the handler: `setup`, `handle`,
/// `finish`) → `shutdown_request` → `close_request`; a failure or a panic in between goes
/// to `handle_error` first. `service_actions` runs on every turn of the loop.
///
/// ```no_run
/// use socketserver::{BaseServer, StreamRequest, StreamRequestHandler, TcpServer};
/// use std::io::Write;
/// use std::sync::Arc;
///
/// struct Hello;
/// impl StreamRequestHandler for Hello {
///     fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
///         req.wfile.write_all(b"hello\n")?;
///         Ok(())
///     }
/// }
///
/// let server = Arc::new(TcpServer::new(("127.0.0.1", 0), Hello)?);
/// let stop = server.shutdown_handle();
/// std::thread::spawn(move || { /* later: */ stop.shutdown() });
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// server.server_close();
/// # Ok::<(), socketserver::Error>(())
/// ```
pub trait BaseServer: Send + Sync + Sized + 'static {
    /// What [`get_request`](Self::get_request) returns besides the client address: a
    /// [`Connection`](crate::Connection) for stream servers, a
    /// [`Datagram`](crate::Datagram) for datagram servers.
    type Request: RequestSocket;

    /// The state every server keeps for `serve_forever` and `shutdown`.
    fn core(&self) -> &ServerCore;

    /// The listening socket's descriptor (Python's `fileno()`); -1 once closed.
    fn fileno(&self) -> RawFd;

    /// Accepts a connection or receives a datagram.
    fn get_request(&self) -> io::Result<(Self::Request, Address)>;

    /// Runs the request handler for one request (Python: instantiate
    /// `RequestHandlerClass(request, client_address, self)`).
    fn finish_request(&self, request: &Self::Request, client_address: &Address) -> Result<()>;

    /// Called by the constructor to activate the server (Python: `listen()` for stream
    /// servers, nothing for datagram servers).
    fn server_activate(&self) -> Result<()>;

    /// Cleans up the server: closes the socket; mix-ins also join their threads or reap
    /// their children. Safe to call more than once.
    fn server_close(&self);

    /// Python's `timeout` attribute: how long [`handle_request`](Self::handle_request)
    /// waits before calling [`handle_timeout`](Self::handle_timeout); `None` waits for
    /// ever. `serve_forever` ignores it.
    fn timeout(&self) -> Option<Duration>;

    /// The listening socket's own timeout (Python's `self.socket.gettimeout()`), which
    /// `handle_request` combines with [`timeout`](Self::timeout) by taking the smaller.
    fn socket_timeout(&self) -> Option<Duration> {
        None
    }

    /// Return `false` to refuse a request; it is then shut down unprocessed.
    fn verify_request(&self, request: &Self::Request, client_address: &Address) -> bool {
        let _ = (request, client_address);
        true
    }

    /// Processes one request. The default calls `finish_request` then `shutdown_request`
    /// on this thread ([`finish_and_shutdown_request`](Self::finish_and_shutdown_request));
    /// the mix-ins replace it with a thread, a child process or a pool.
    ///
    /// `this` is the outermost server — what Python's `self` is inside a mix-in: a
    /// mix-in that finishes the request later or elsewhere calls
    /// `this.finish_and_shutdown_request(...)`, so that the hooks of every wrapper around
    /// it run.
    fn process_request(
        &self,
        request: Self::Request,
        client_address: Address,
        this: &OuterServer<Self::Request>,
    ) {
        this.finish_and_shutdown_request(request, client_address);
    }

    /// Ends a request: Python shuts down the writing half of a stream
    /// (`shutdown(SHUT_WR)`), then calls [`close_request`](Self::close_request).
    fn shutdown_request(&self, request: Self::Request) {
        request.shutdown_write();
        self.close_request(request);
    }

    /// Closes a request (drops the connection; nothing for a datagram).
    fn close_request(&self, request: Self::Request) {
        drop(request);
    }

    /// Called when `finish_request` fails or panics. Prints Python's block to stderr —
    /// 40 dashes, `Exception occurred during processing of request from <address>`, the
    /// error and its causes, 40 dashes — and the server goes on serving.
    fn handle_error(&self, request: &Self::Request, client_address: &Address, error: &Error) {
        let _ = request;
        print_error_block(client_address, error);
    }

    /// Called when [`handle_request`](Self::handle_request) waited `timeout` for nothing.
    fn handle_timeout(&self) {}

    /// Called on every turn of the `serve_forever` loop (`ForkingMixIn` reaps its
    /// children here).
    fn service_actions(&self) {}

    /// Replaces the loop of [`serve_forever`](Self::serve_forever), for a server that
    /// waits for and dispatches requests itself: [`ThreadPoolMixIn`](crate::ThreadPoolMixIn)'s
    /// workers wait for readiness of the listener and of every connection. `None` (the
    /// default) runs Python's loop: wait for the listener, `get_request`,
    /// `verify_request`, `process_request`. `this` is the outermost server, whose hooks
    /// a replacement calls; it returns once a `shutdown()` is asked for.
    ///
    /// A wrapper forwards it like the other hooks ([`delegate_base_server!`](crate::delegate_base_server));
    /// one that does not gets Python's loop, which still works with a pool (each
    /// connection is handed to it through `process_request`).
    fn serve_loop(
        &self,
        this: &OuterServer<Self::Request>,
        poll_interval: Duration,
    ) -> Option<Result<()>> {
        let _ = (this, poll_interval);
        None
    }

    /// Handles requests until [`shutdown`](Self::shutdown) is called.
    ///
    /// Waits on the listening socket and on the server's wake-up pipe; `poll_interval`
    /// only says how often [`service_actions`](Self::service_actions) runs when nothing
    /// happens — a `shutdown()` from another thread wakes the loop at once (Python waits
    /// up to `poll_interval`).
    ///
    /// Returns an error only if the server socket cannot be waited on (for example after
    /// `server_close()`); errors of single requests go to `handle_error`.
    fn serve_forever(self: &Arc<Self>, poll_interval: Duration) -> Result<()> {
        let core = self.core();
        core.begin_serving();
        let this: OuterServer<Self::Request> = self.clone();
        if let Some(result) = self.serve_loop(&this, poll_interval) {
            core.end_serving();
            return result;
        }
        let result = (|| {
            while !core.shutdown_requested() {
                let fd = self.fileno();
                if fd < 0 {
                    return Err(Error::Closed);
                }
                // One `accept` per readiness, as Python's loop does: on Linux an `accept`
                // that finds the queue empty costs several times a `poll` (it makes a
                // socket and a file, then frees them), so a queue is not drained blind.
                let ready = sys::poll_read([fd, core.wake_fd()], Some(poll_interval))?[0];
                // A shutdown during the wait must not accept one more request (bpo-35017).
                if core.shutdown_requested() {
                    break;
                }
                if ready {
                    handle_request_noblock(&**self, &this);
                }
                self.service_actions();
            }
            Ok(())
        })();
        core.end_serving();
        result
    }

    /// Handles one request, waiting at most the smaller of [`timeout`](Self::timeout) and
    /// [`socket_timeout`](Self::socket_timeout) for it; calls
    /// [`handle_timeout`](Self::handle_timeout) if none came.
    ///
    /// ```no_run
    /// # use socketserver::{BaseServer, TcpServer};
    /// # use std::sync::Arc;
    /// # fn keep_running() -> bool { false }
    /// # struct H; impl socketserver::StreamRequestHandler for H {
    /// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
    /// let server = Arc::new(TcpServer::new(("", 8000), H)?);
    /// while keep_running() {
    ///     server.handle_request()?;
    /// }
    /// # Ok::<(), socketserver::Error>(())
    /// ```
    fn handle_request(self: &Arc<Self>) -> Result<()> {
        let timeout = match (self.socket_timeout(), self.timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let fd = self.fileno();
            if fd < 0 {
                return Err(Error::Closed);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let [ready] = sys::poll_read([fd], left)?;
            if ready {
                let this: OuterServer<Self::Request> = self.clone();
                handle_request_noblock(&**self, &this);
                return Ok(());
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    self.handle_timeout();
                    return Ok(());
                }
            }
        }
    }

    /// Stops [`serve_forever`](Self::serve_forever) and waits until it has returned.
    ///
    /// Must be called from another thread than the one running `serve_forever` (it would
    /// wait for itself, as in Python); a handler can use
    /// [`ShutdownHandle::shutdown_nowait`] instead.
    fn shutdown(&self) {
        self.core().handle().shutdown();
    }

    /// A cloneable handle that can stop the server from any thread.
    fn shutdown_handle(&self) -> ShutdownHandle {
        self.core().handle()
    }

    /// Stops gracefully: stops accepting (as [`shutdown`](Self::shutdown), so call it
    /// from another thread than `serve_forever`'s, while that runs), lets the requests
    /// in flight finish within `grace` — idle kept-alive connections are closed at once,
    /// busy ones after their current response — then cuts off what is left. Returns
    /// `true` when everything finished within `grace`. Call
    /// [`server_close`](Self::server_close) after it has returned, not while it runs
    /// (`serve_forever` returns as soon as accepting stops, before the requests in flight
    /// are done; [`graceful::Stopped::wait`](crate::server::graceful::Stopped::wait)
    /// waits for the end). See
    /// [`graceful`](crate::server::graceful) for the wiring to `SIGTERM`.
    fn graceful_shutdown(&self, grace: Duration) -> bool {
        let handle = self.core().handle();
        handle.begin_draining();
        handle.shutdown();
        self.drain(Instant::now() + grace)
    }

    /// The middle of [`graceful_shutdown`](Self::graceful_shutdown), after accepting has
    /// stopped: waits until the requests in flight are done or `deadline` passes, then
    /// cuts off the connections still open; `true` when none had to be. A mix-in that
    /// runs requests elsewhere overrides it; the default (requests run on the serving
    /// thread, which has returned) has nothing to wait for.
    fn drain(&self, deadline: Instant) -> bool {
        let _ = deadline;
        true
    }

    /// `finish_request`, then `shutdown_request`; an error or a panic goes to
    /// `handle_error` in between (Python's `process_request_thread`, and the body of the
    /// default `process_request`).
    #[doc(alias = "process_request_thread")]
    fn finish_and_shutdown_request(&self, request: Self::Request, client_address: Address) {
        if let Err(e) = self.finish_request_catching(&request, &client_address) {
            self.handle_error(&request, &client_address, &e);
        }
        self.shutdown_request(request);
    }

    /// `finish_request` with a panic turned into [`Error::Panic`].
    fn finish_request_catching(
        &self,
        request: &Self::Request,
        client_address: &Address,
    ) -> Result<()> {
        catch_unwind(AssertUnwindSafe(|| {
            self.finish_request(request, client_address)
        }))
        .unwrap_or_else(|payload| Err(Error::from_panic(payload)))
    }
}

/// Python's private `_handle_request_noblock`: one request from `get_request` to
/// `process_request`. An error from `get_request` is ignored, as in Python; when the
/// process is out of file descriptors the loop backs off for a moment instead of spinning
/// on a listener that stays readable.
fn handle_request_noblock<S: BaseServer>(server: &S, this: &OuterServer<S::Request>) {
    let (request, client_address) = match server.get_request() {
        Ok(r) => r,
        Err(e) => {
            if sys::is_fd_exhaustion(&e) {
                server.core().sleep_unless_woken(Duration::from_millis(50));
            }
            return;
        }
    };
    if server.verify_request(&request, &client_address) {
        server.process_request(request, client_address, this);
    } else {
        server.shutdown_request(request);
    }
}

/// Reports `error` as Python's `handle_error` does: its block on stderr (or, with the
/// `log` feature, an `Error` record; see [`crate::logging`]).
pub(crate) fn print_error_block(client_address: &Address, error: &Error) {
    let headline = format!(
        "Exception occurred during processing of request from {}",
        client_address.repr()
    );
    crate::logging::error_report(&headline, error);
}

/// The outermost server with its type erased: Python's `self` as a mix-in sees it.
///
/// [`BaseServer::process_request`] gets one, so that a mix-in finishing a request on
/// another thread calls the hooks of every server wrapped around it.
pub type OuterServer<R> = Arc<dyn ProcessRequest<R>>;

/// The hooks a mix-in calls on the outermost server; implemented for every
/// [`BaseServer`].
pub trait ProcessRequest<R>: Send + Sync {
    /// [`BaseServer::get_request`].
    fn get_request(&self) -> io::Result<(R, Address)>;
    /// [`BaseServer::verify_request`].
    fn verify_request(&self, request: &R, client_address: &Address) -> bool;
    /// [`BaseServer::service_actions`].
    fn service_actions(&self);
    /// [`BaseServer::finish_request`] with panics caught.
    fn finish_request(&self, request: &R, client_address: &Address) -> Result<()>;
    /// [`BaseServer::shutdown_request`].
    fn shutdown_request(&self, request: R);
    /// [`BaseServer::close_request`].
    fn close_request(&self, request: R);
    /// [`BaseServer::handle_error`].
    fn handle_error(&self, request: &R, client_address: &Address, error: &Error);
    /// [`BaseServer::finish_and_shutdown_request`].
    fn finish_and_shutdown_request(&self, request: R, client_address: Address);
    /// [`BaseServer::process_request`], with this server as `this`.
    fn process_request(&self, request: R, client_address: Address, this: &OuterServer<R>);
}

impl<S: BaseServer> ProcessRequest<S::Request> for S {
    fn get_request(&self) -> io::Result<(S::Request, Address)> {
        BaseServer::get_request(self)
    }
    fn verify_request(&self, request: &S::Request, client_address: &Address) -> bool {
        BaseServer::verify_request(self, request, client_address)
    }
    fn service_actions(&self) {
        BaseServer::service_actions(self)
    }
    fn finish_request(&self, request: &S::Request, client_address: &Address) -> Result<()> {
        self.finish_request_catching(request, client_address)
    }
    fn shutdown_request(&self, request: S::Request) {
        BaseServer::shutdown_request(self, request)
    }
    fn close_request(&self, request: S::Request) {
        BaseServer::close_request(self, request)
    }
    fn handle_error(&self, request: &S::Request, client_address: &Address, error: &Error) {
        BaseServer::handle_error(self, request, client_address, error)
    }
    fn finish_and_shutdown_request(&self, request: S::Request, client_address: Address) {
        BaseServer::finish_and_shutdown_request(self, request, client_address)
    }
    fn process_request(
        &self,
        request: S::Request,
        client_address: Address,
        this: &OuterServer<S::Request>,
    ) {
        BaseServer::process_request(self, request, client_address, this)
    }
}

/// Forwards [`BaseServer`] hooks to a field, for a server that wraps another.
///
/// Use it inside `impl BaseServer for YourWrapper`, listing the hooks you do not write
/// yourself; write the ones you replace. The template methods (`serve_forever`,
/// `handle_request`, `shutdown`, …) are never forwarded: they must run on the outer
/// server so that its hooks are the ones called. `all` forwards every hook.
///
/// ```
/// use socketserver::{delegate_base_server, Address, BaseServer, Connection, TcpServer};
///
/// /// A TCP server that only serves the loopback interface (Python: a TCPServer
/// /// subclass overriding verify_request).
/// struct LocalOnly<H>(TcpServer<H>);
///
/// impl<H: Send + Sync + 'static> BaseServer for LocalOnly<H> {
///     type Request = Connection;
///     delegate_base_server!(0; core, fileno, get_request, finish_request, server_activate,
///         server_close, timeout, socket_timeout, process_request, shutdown_request,
///         close_request, handle_error, handle_timeout, service_actions);
///
///     fn verify_request(&self, _request: &Connection, client: &Address) -> bool {
///         matches!(client, Address::Inet(a) if a.ip().is_loopback())
///     }
/// }
///
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let server = LocalOnly(TcpServer::new(("127.0.0.1", 0), Echo)?);
/// assert!(server.fileno() >= 0);
/// # Ok::<(), socketserver::Error>(())
/// ```
#[macro_export]
macro_rules! delegate_base_server {
    ($field:tt; all) => {
        $crate::delegate_base_server!($field; core, fileno, get_request, finish_request,
            server_activate, server_close, timeout, socket_timeout, verify_request,
            process_request, shutdown_request, close_request, handle_error, handle_timeout,
            service_actions, serve_loop, drain);
    };
    ($field:tt; $($hook:ident),+ $(,)?) => {
        $( $crate::delegate_base_server!(@hook $field $hook); )+
    };
    (@hook $f:tt core) => {
        fn core(&self) -> &$crate::server::ServerCore {
            $crate::BaseServer::core(&self.$f)
        }
    };
    (@hook $f:tt fileno) => {
        fn fileno(&self) -> ::std::os::fd::RawFd {
            $crate::BaseServer::fileno(&self.$f)
        }
    };
    (@hook $f:tt get_request) => {
        fn get_request(&self) -> ::std::io::Result<(Self::Request, $crate::Address)> {
            $crate::BaseServer::get_request(&self.$f)
        }
    };
    (@hook $f:tt finish_request) => {
        fn finish_request(
            &self,
            request: &Self::Request,
            client_address: &$crate::Address,
        ) -> $crate::Result<()> {
            $crate::BaseServer::finish_request(&self.$f, request, client_address)
        }
    };
    (@hook $f:tt server_activate) => {
        fn server_activate(&self) -> $crate::Result<()> {
            $crate::BaseServer::server_activate(&self.$f)
        }
    };
    (@hook $f:tt drain) => {
        fn drain(&self, deadline: ::std::time::Instant) -> bool {
            $crate::BaseServer::drain(&self.$f, deadline)
        }
    };
    (@hook $f:tt server_close) => {
        fn server_close(&self) {
            $crate::BaseServer::server_close(&self.$f)
        }
    };
    (@hook $f:tt timeout) => {
        fn timeout(&self) -> ::std::option::Option<::std::time::Duration> {
            $crate::BaseServer::timeout(&self.$f)
        }
    };
    (@hook $f:tt socket_timeout) => {
        fn socket_timeout(&self) -> ::std::option::Option<::std::time::Duration> {
            $crate::BaseServer::socket_timeout(&self.$f)
        }
    };
    (@hook $f:tt verify_request) => {
        fn verify_request(&self, request: &Self::Request, client_address: &$crate::Address) -> bool {
            $crate::BaseServer::verify_request(&self.$f, request, client_address)
        }
    };
    (@hook $f:tt process_request) => {
        fn process_request(
            &self,
            request: Self::Request,
            client_address: $crate::Address,
            this: &$crate::server::OuterServer<Self::Request>,
        ) {
            $crate::BaseServer::process_request(&self.$f, request, client_address, this)
        }
    };
    (@hook $f:tt shutdown_request) => {
        fn shutdown_request(&self, request: Self::Request) {
            $crate::BaseServer::shutdown_request(&self.$f, request)
        }
    };
    (@hook $f:tt close_request) => {
        fn close_request(&self, request: Self::Request) {
            $crate::BaseServer::close_request(&self.$f, request)
        }
    };
    (@hook $f:tt handle_error) => {
        fn handle_error(
            &self,
            request: &Self::Request,
            client_address: &$crate::Address,
            error: &$crate::Error,
        ) {
            $crate::BaseServer::handle_error(&self.$f, request, client_address, error)
        }
    };
    (@hook $f:tt handle_timeout) => {
        fn handle_timeout(&self) {
            $crate::BaseServer::handle_timeout(&self.$f)
        }
    };
    (@hook $f:tt service_actions) => {
        fn service_actions(&self) {
            $crate::BaseServer::service_actions(&self.$f)
        }
    };
    (@hook $f:tt serve_loop) => {
        fn serve_loop(
            &self,
            this: &$crate::server::OuterServer<Self::Request>,
            poll_interval: ::std::time::Duration,
        ) -> ::std::option::Option<$crate::Result<()>> {
            $crate::BaseServer::serve_loop(&self.$f, this, poll_interval)
        }
    };
}

/// Builds a server from an address and a handler: Python's
/// `ServerClass(server_address, RequestHandlerClass, bind_and_activate)`.
///
/// Implemented by every server type, so that the mix-ins can offer the same `new`:
/// `ThreadingTcpServer::new(("", 8000), Echo)`. `M` is inferred; it only tells which
/// handler trait `H` implements.
pub trait FromAddress<H, M>: Sized {
    /// What the address is written as: `(host, port)` for internet servers, a path for
    /// unix servers.
    type Address;

    /// Creates the server; with `bind_and_activate`, also binds and activates it (and
    /// closes it again if either fails, leaking nothing).
    fn from_address(
        server_address: Self::Address,
        handler: H,
        bind_and_activate: bool,
    ) -> Result<Self>;
}

/// What a handler sees of its server (Python's `self.server`): its address and a way to
/// stop it. Cheap to clone.
///
/// Handler attributes and shared user state live in the handler value given to the
/// server (reachable as `self` in every handler method), not here; see the crate
/// documentation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerRef {
    /// The server's address after binding (Python's `server.server_address`).
    pub server_address: Address,
    /// The server's host name (Python's `HTTPServer.server_name`, `socket.getfqdn` of
    /// the bound host); empty for servers that are not HTTP servers.
    pub server_name: String,
    shutdown: ShutdownHandle,
}

impl ServerRef {
    pub(crate) fn new(server_address: Address, core: &ServerCore) -> ServerRef {
        ServerRef {
            server_address,
            server_name: String::new(),
            shutdown: core.handle(),
        }
    }

    /// The port the server listens on (Python's `server.server_port`); 0 for a unix
    /// socket.
    pub fn server_port(&self) -> u16 {
        self.server_address.port().unwrap_or(0)
    }

    /// A handle that stops the server from any thread.
    pub fn shutdown_handle(&self) -> &ShutdownHandle {
        &self.shutdown
    }

    /// True when connections are accepted with `TCP_NODELAY` already set, from a
    /// listening socket that has it.
    pub(crate) fn accepted_nodelay(&self) -> bool {
        self.shutdown
            .shared
            .accepted_nodelay
            .load(Ordering::Relaxed)
    }
}

/// Stops a server's [`serve_forever`](BaseServer::serve_forever) from any thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field(
                "shutdown_requested",
                &self.shared.flag.load(Ordering::SeqCst),
            )
            .finish()
    }
}

impl ShutdownHandle {
    /// Python's `shutdown()`: asks `serve_forever` to stop, wakes it at once (even when it
    /// waits for a free worker of a full pool), and waits until it has returned.
    pub fn shutdown(&self) {
        self.shutdown_nowait();
        let mut done = lock(&self.shared.is_shut_down);
        while !*done {
            done = self
                .shared
                .cond
                .wait(done)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Asks `serve_forever` to stop and returns without waiting: what a handler running
    /// on the serving thread itself can call.
    pub fn shutdown_nowait(&self) {
        self.shared.flag.store(true, Ordering::SeqCst);
        let _ = (&self.shared.wake_tx).write(&[1]);
        for waker in lock(&self.shared.wakers).iter() {
            waker();
        }
    }

    /// True once a shutdown was asked for and `serve_forever` has not yet returned.
    pub fn is_shutdown_requested(&self) -> bool {
        self.shared.flag.load(Ordering::SeqCst)
    }

    /// True once a [`graceful_shutdown`](BaseServer::graceful_shutdown) began (until
    /// `serve_forever` runs again): handlers should end their connection after the
    /// request in flight. The crate's HTTP handlers answer it with `Connection: close`.
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn begin_draining(&self) {
        self.shared.draining.store(true, Ordering::SeqCst);
    }
}

/// The state behind `serve_forever` and `shutdown` that every server owns one of: the
/// shutdown flag, the "is shut down" event and the wake-up pipe.
pub struct ServerCore {
    shared: Arc<Shared>,
}

type Waker = Box<dyn Fn() + Send + Sync>;

struct Shared {
    /// Python's `__shutdown_request`.
    flag: AtomicBool,
    /// A graceful shutdown is under way: connections end after their current request.
    draining: AtomicBool,
    /// Python's `__is_shut_down` event.
    is_shut_down: Mutex<bool>,
    cond: Condvar,
    wake_rx: UnixStream,
    wake_tx: UnixStream,
    /// Called by `shutdown()` to wake whatever else waits (a full pool's acceptor).
    wakers: Mutex<Vec<Waker>>,
    /// The listening socket has `TCP_NODELAY`, so every accepted connection starts with
    /// it (Linux copies the option to accepted sockets).
    accepted_nodelay: AtomicBool,
}

impl fmt::Debug for ServerCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCore")
            .field("shutdown_requested", &self.shutdown_requested())
            .field("wake_fd", &self.wake_fd())
            .finish()
    }
}

impl ServerCore {
    /// A fresh core: not serving, no shutdown requested.
    pub fn new() -> io::Result<ServerCore> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        Ok(ServerCore {
            shared: Arc::new(Shared {
                flag: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                is_shut_down: Mutex::new(false),
                cond: Condvar::new(),
                wake_rx,
                wake_tx,
                wakers: Mutex::new(Vec::new()),
                accepted_nodelay: AtomicBool::new(false),
            }),
        })
    }

    /// A shutdown handle for this server.
    pub fn handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// True when `shutdown()` was called and `serve_forever` has not yet returned.
    pub fn shutdown_requested(&self) -> bool {
        self.shared.flag.load(Ordering::SeqCst)
    }

    /// Registers `waker` to be called by every `shutdown()`: for code that blocks on
    /// something other than the server socket (the pool's wait for a free worker).
    pub fn on_shutdown(&self, waker: impl Fn() + Send + Sync + 'static) {
        lock(&self.shared.wakers).push(Box::new(waker));
    }

    /// Says that the listening socket has `TCP_NODELAY`, so connections accepted from it
    /// have it already and a handler need not set it again.
    pub(crate) fn set_accepted_nodelay(&self) {
        self.shared.accepted_nodelay.store(true, Ordering::Relaxed);
    }

    /// The read end of the wake-up pipe, readable after a `shutdown()`.
    pub(crate) fn wake_fd(&self) -> RawFd {
        self.shared.wake_rx.as_raw_fd()
    }

    fn drain_wake(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.shared.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
    }

    fn begin_serving(&self) {
        self.shared.draining.store(false, Ordering::SeqCst);
        *lock(&self.shared.is_shut_down) = false;
    }

    fn end_serving(&self) {
        self.shared.flag.store(false, Ordering::SeqCst);
        self.drain_wake();
        *lock(&self.shared.is_shut_down) = true;
        self.shared.cond.notify_all();
    }

    /// Waits `pause`, or less if `shutdown()` is called meanwhile.
    pub(crate) fn sleep_unless_woken(&self, pause: Duration) {
        let _ = sys::poll_read([self.wake_fd()], Some(pause));
    }
}

/// Locks a mutex, ignoring poisoning: the data behind the crate's mutexes stays
/// consistent even if a thread panicked while holding one.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Python's `with server:` block: derefs to the shared server and calls
/// [`server_close`](BaseServer::server_close) when dropped.
///
/// ```no_run
/// use socketserver::{BaseServer, ServerGuard, TcpServer};
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// {
///     let server = ServerGuard::new(TcpServer::new(("", 8000), Echo)?);
///     server.handle_request()?;
/// } // server_close() runs here
/// # Ok::<(), socketserver::Error>(())
/// ```
#[derive(Debug)]
pub struct ServerGuard<S: BaseServer>(Arc<S>);

impl<S: BaseServer> ServerGuard<S> {
    /// Takes ownership of `server` (Python's `__enter__`).
    pub fn new(server: S) -> ServerGuard<S> {
        ServerGuard(Arc::new(server))
    }

    /// Guards a server that is already shared.
    pub fn from_arc(server: Arc<S>) -> ServerGuard<S> {
        ServerGuard(server)
    }
}

impl<S: BaseServer> Deref for ServerGuard<S> {
    type Target = Arc<S>;
    fn deref(&self) -> &Arc<S> {
        &self.0
    }
}

impl<S: BaseServer> Drop for ServerGuard<S> {
    /// Python's `__exit__`: `server_close()`.
    fn drop(&mut self) {
        self.0.server_close();
    }
}
