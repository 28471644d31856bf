//! A bounded worker pool that waits for readiness (no Python counterpart; users keep
//! asking): Python's blocking handlers at an event-driven server's cost.

mod table;
mod workers;

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::address::Address;
use crate::error::{Error, Result};
use crate::server::park::PoolTimeouts;
use crate::server::{lock, BaseServer, FromAddress, OuterServer};
use crate::socket::RequestSocket;
use workers::{Config, Pool};

/// Default [`ThreadPoolMixIn::max_workers`].
pub const MAX_WORKERS: usize = 64;
/// Default [`ThreadPoolMixIn::idle_timeout`]: 30 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ThreadPoolMixIn::header_timeout`]: 30 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ThreadPoolMixIn::max_connections`].
pub const MAX_CONNECTIONS: usize = 10_000;
/// Default [`ThreadPoolMixIn::write_timeout`]: 30 s.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ThreadPoolMixIn::max_requests_per_connection`]: 1000, nginx's
/// `keepalive_requests`.
pub const MAX_REQUESTS_PER_CONNECTION: usize = 1000;

/// Handles requests on a bounded pool of worker threads that wait for readiness.
///
/// Your handler is written as for any other server — blocking `rfile`/`wfile`, Python's
/// `handle` and `do_get` — but a connection only holds a thread while its handler runs.
/// The workers share one readiness set (`epoll` on Linux, `kqueue` on macOS) holding the
/// listening socket and every open connection; the worker that learns a connection is
/// readable runs its handler itself, and a kept-alive connection waiting for its next
/// request (HTTP keep-alive, FastCGI `FCGI_KEEP_CONN`) is [parked](crate::server::park):
/// back in the set, costing its descriptor and a small record. So a server with
/// thousands of idle clients has a handful of threads, and while the load fits one
/// thread, no request is handed from one thread to another.
///
/// A handler that blocks (sleeps, computes, waits for a slow client) stalls only itself:
/// another worker takes over the rest (see `docs/performance.md`). At most
/// [`max_workers`](Self::max_workers) handlers run at once; when all are busy nobody
/// accepts, and new clients wait in the kernel's listen queue — back-pressure instead of
/// a thread per connection.
///
/// Every accepted connection gets [`idle_timeout`](Self::idle_timeout) (30 s) as its
/// read timeout, and as the time it may stay parked; [`write_timeout`](Self::write_timeout)
/// (30 s) as its write timeout; a request head must arrive within
/// [`header_timeout`](Self::header_timeout), however slowly the client sends it; an HTTP
/// connection carries at most [`max_requests_per_connection`](Self::max_requests_per_connection)
/// (1000) requests. `docs/security.md` has every limit. The fields are read when the pool
/// starts (the first `serve_forever` or request).
///
/// ```no_run
/// use socketserver::{BaseServer, ThreadPoolTcpServer};
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let mut server = ThreadPoolTcpServer::new(("", 8000), Echo)?;
/// server.max_workers = 16;
/// std::sync::Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct ThreadPoolMixIn<S: BaseServer> {
    server: S,
    /// The most handlers that run at once (worker threads). Default 64. Two start with
    /// the pool; more start only when a handler blocks while other work waits, and then
    /// stay.
    pub max_workers: usize,
    /// The most connections open at once. Default 10,000. At the limit the pool stops
    /// accepting (clients wait in the listen queue) until one closes — rather than
    /// accepting and answering 503, which would spend a descriptor and a write on each
    /// refused client just when the server is short of them (`docs/security.md`).
    pub max_connections: usize,
    /// Read timeout set on every accepted connection (and its write timeout when
    /// [`write_timeout`](Self::write_timeout) is `None`), and how long a kept-alive
    /// connection may stay parked (a handler's own `timeout` replaces both). Default
    /// 30 s; `None` removes it.
    pub idle_timeout: Option<Duration>,
    /// `server_close` waits for the handlers running. Default `true`.
    pub block_on_close: bool,
    /// Let handlers park idle kept-alive connections. Default `true`; with `false` a
    /// kept-alive connection keeps its worker between requests, as on a threading
    /// server.
    pub park_idle: bool,
    /// How long a client may take to send a whole request head (request line and
    /// headers), however slowly it sends it — the defence against clients that trickle
    /// a byte at a time. Default 30 s; handlers that read request heads apply it (HTTP:
    /// the request line and headers; FastCGI: BEGIN_REQUEST and PARAMS).
    pub header_timeout: Option<Duration>,
    /// How long one write to a connection may wait for the client to take bytes — the
    /// defence against a client that stops reading a large response (the connection is
    /// closed). Default 30 s; `None` leaves [`idle_timeout`](Self::idle_timeout) as the
    /// write timeout. A handler's own `timeout` replaces it.
    pub write_timeout: Option<Duration>,
    /// The most HTTP requests one kept-alive connection may carry; the last one is
    /// answered with `Connection: close` and the connection is closed after it (nginx's
    /// `keepalive_requests`). Default 1000; `None` for no limit. A handler's
    /// `max_requests_per_connection` may lower it.
    pub max_requests_per_connection: Option<usize>,
    pool: OnceLock<Arc<Pool<S::Request>>>,
    starting: Mutex<()>,
}

/// A snapshot of a pool's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// The most worker threads.
    pub max_workers: usize,
    /// Worker threads running now (they start as handlers block).
    pub started: usize,
    /// Handlers running now (and other work: accepting, closing).
    pub active: usize,
    /// Ready events and handed-over requests waiting for a worker.
    pub queued: usize,
    /// Kept-alive connections parked: idle, watched, without a worker.
    pub parked: usize,
    /// Connections open.
    pub connections: usize,
}

impl<S: BaseServer> ThreadPoolMixIn<S> {
    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        let c = self.pool.get().map(|p| p.counts()).unwrap_or_default();
        PoolStats {
            max_workers: self.max_workers,
            started: c.started,
            active: c.running,
            queued: c.queued,
            parked: c.parked,
            connections: c.open,
        }
    }

    /// The pool, started on first use.
    fn pool(&self, this: &OuterServer<S::Request>) -> Result<&Arc<Pool<S::Request>>> {
        if let Some(p) = self.pool.get() {
            return Ok(p);
        }
        let _starting = lock(&self.starting);
        if let Some(p) = self.pool.get() {
            return Ok(p);
        }
        let cfg = Config {
            max_workers: self.max_workers.max(1),
            max_connections: self.max_connections.max(1),
            timeouts: PoolTimeouts {
                header: self.header_timeout,
                idle: self.idle_timeout,
                max_requests: self.max_requests_per_connection,
                // Unset (`None`), the idle timeout stays the write timeout too.
                write: self.write_timeout,
            },
            park_idle: self.park_idle,
        };
        let pool = Pool::start(cfg, this)?;
        Ok(self.pool.get_or_init(|| pool))
    }
}

impl<S: BaseServer> From<S> for ThreadPoolMixIn<S> {
    /// Wraps an existing server.
    fn from(server: S) -> Self {
        ThreadPoolMixIn {
            server,
            max_workers: MAX_WORKERS,
            max_connections: MAX_CONNECTIONS,
            idle_timeout: Some(IDLE_TIMEOUT),
            block_on_close: true,
            park_idle: true,
            header_timeout: Some(HEADER_TIMEOUT),
            write_timeout: Some(WRITE_TIMEOUT),
            max_requests_per_connection: Some(MAX_REQUESTS_PER_CONNECTION),
            pool: OnceLock::new(),
            starting: Mutex::new(()),
        }
    }
}

impl<S: BaseServer> BaseServer for ThreadPoolMixIn<S> {
    type Request = S::Request;

    crate::delegate_base_server!(server; core, fileno, get_request, finish_request,
        server_activate, timeout, socket_timeout, verify_request, shutdown_request,
        close_request, handle_error, handle_timeout, service_actions);

    /// The workers accept and serve; this thread waits for `shutdown()`, calling
    /// `service_actions` every `poll_interval`. (Datagram servers keep Python's loop,
    /// which hands each request to a worker.)
    fn serve_loop(
        &self,
        this: &OuterServer<S::Request>,
        poll_interval: Duration,
    ) -> Option<Result<()>> {
        if !S::Request::CONNECTED {
            return None;
        }
        let core = self.core();
        let fd = self.fileno();
        if fd < 0 {
            return Some(Err(Error::Closed));
        }
        let pool = match self.pool(this) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        if let Err(e) = pool.listen(fd) {
            return Some(Err(e.into()));
        }
        while !core.shutdown_requested() {
            core.sleep_unless_woken(poll_interval);
            if core.shutdown_requested() {
                break;
            }
            this.service_actions();
        }
        pool.unlisten();
        Some(Ok(()))
    }

    /// Hands the request to a worker (for requests the workers did not accept
    /// themselves: `handle_request`, datagrams). Waits while 256 such requests wait.
    fn process_request(
        &self,
        request: S::Request,
        client_address: Address,
        this: &OuterServer<S::Request>,
    ) {
        match self.pool(this) {
            Ok(pool) => pool.adopt(request, client_address),
            Err(e) => {
                this.handle_error(&request, &client_address, &e);
                this.shutdown_request(request);
            }
        }
    }

    /// Closes the parked connections, lets the running handlers finish their request
    /// until `deadline` (none parks again), then shuts down what is left.
    fn drain(&self, deadline: std::time::Instant) -> bool {
        self.server.drain(deadline);
        match self.pool.get() {
            Some(pool) => pool.drain(deadline),
            None => true,
        }
    }

    /// Closes the server and every parked connection; with `block_on_close`, waits for
    /// the handlers running.
    fn server_close(&self) {
        self.server.server_close();
        if let Some(pool) = self.pool.get() {
            pool.stop();
            pool.close_parked();
            if self.block_on_close {
                pool.join();
            }
            pool.close_parked();
        }
    }
}

super::mix_in!(ThreadPoolMixIn);

impl<S: BaseServer + fmt::Debug> fmt::Debug for ThreadPoolMixIn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolMixIn")
            .field("server", &self.server)
            .field("stats", &self.stats())
            .field("idle_timeout", &self.idle_timeout)
            .field("block_on_close", &self.block_on_close)
            .finish()
    }
}
