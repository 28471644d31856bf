//! A bounded worker pool with back-pressure (no Python counterpart; users keep asking).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use threadpool::ThreadPool;

use crate::address::Address;
use crate::error::Result;
use crate::server::{lock, BaseServer, FromAddress, OuterServer};
use crate::socket::RequestSocket;

/// Default [`ThreadPoolMixIn::max_workers`].
pub const MAX_WORKERS: usize = 64;
/// Default [`ThreadPoolMixIn::queue_depth`].
pub const QUEUE_DEPTH: usize = 64;
/// Default [`ThreadPoolMixIn::idle_timeout`]: 30 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Handles requests on a fixed pool of worker threads, with back-pressure.
///
/// At most [`max_workers`](Self::max_workers) requests run at once and at most
/// [`queue_depth`](Self::queue_depth) more wait for a worker. When both are full,
/// `process_request` **blocks**: the server stops accepting, new clients wait in the
/// kernel's listen queue, and memory stays bounded — instead of a thread (Python's
/// `ThreadingMixIn`) or a queue entry per connection without limit. A `shutdown()` wakes
/// an acceptor blocked this way at once (the connection it held is closed).
///
/// A keep-alive connection holds its worker until it closes, so every accepted
/// connection gets [`idle_timeout`](Self::idle_timeout) (30 s) as its read and write
/// timeout before the handler runs: an idle client cannot pin a worker for ever. (A
/// handler's own `timeout` replaces it.)
///
/// ```no_run
/// use socketserver::{BaseServer, ThreadPoolTcpServer};
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let mut server = ThreadPoolTcpServer::new(("", 8000), Echo)?;
/// server.max_workers = 16;
/// server.queue_depth = 32;
/// std::sync::Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct ThreadPoolMixIn<S> {
    server: S,
    /// How many requests run at once (worker threads). Default 64. Read when the first
    /// request arrives.
    pub max_workers: usize,
    /// How many accepted requests may wait for a worker. Default 64.
    pub queue_depth: usize,
    /// Read/write timeout set on every accepted connection. Default 30 s; `None`
    /// removes it.
    pub idle_timeout: Option<Duration>,
    /// `server_close` waits for the requests in progress and in the queue. Default
    /// `true`.
    pub block_on_close: bool,
    pool: OnceLock<ThreadPool>,
    admission: Arc<Admission>,
}

/// Counts requests admitted to the pool (running or queued) and acceptors waiting.
#[derive(Debug, Default)]
struct Admission {
    state: Mutex<AdmissionState>,
    freed: Condvar,
}

#[derive(Debug, Default, Clone, Copy)]
struct AdmissionState {
    in_pool: usize,
    waiting: usize,
    shutting_down: bool,
}

/// A snapshot of a pool's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Worker threads.
    pub max_workers: usize,
    /// Queue places.
    pub queue_depth: usize,
    /// Requests being handled now.
    pub active: usize,
    /// Requests accepted and waiting for a worker.
    pub queued: usize,
    /// Acceptors blocked because workers and queue are full (0 or 1 with
    /// `serve_forever`).
    pub waiting: usize,
}

impl<S: BaseServer> ThreadPoolMixIn<S> {
    /// Creates the server `S` from an address and a handler, binds and activates it.
    pub fn new<H, M>(server_address: impl Into<S::Address>, handler: H) -> Result<Self>
    where
        S: FromAddress<H, M>,
    {
        Ok(Self::from(S::from_address(
            server_address.into(),
            handler,
            true,
        )?))
    }

    /// Creates the server without binding it (Python's `bind_and_activate=False`).
    #[doc(alias = "bind_and_activate")]
    pub fn unbound<H, M>(server_address: impl Into<S::Address>, handler: H) -> Result<Self>
    where
        S: FromAddress<H, M>,
    {
        Ok(Self::from(S::from_address(
            server_address.into(),
            handler,
            false,
        )?))
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        let state = *lock(&self.admission.state);
        let (active, queued) = match self.pool.get() {
            Some(p) => (p.active_count(), p.queued_count()),
            None => (0, 0),
        };
        PoolStats {
            max_workers: self.max_workers,
            queue_depth: self.queue_depth,
            active,
            queued,
            waiting: state.waiting,
        }
    }

    fn pool(&self) -> &ThreadPool {
        self.pool.get_or_init(|| {
            threadpool::Builder::new()
                .num_threads(self.max_workers.max(1))
                .thread_name("socketserver-worker".into())
                .build()
        })
    }
}

impl<S: BaseServer> From<S> for ThreadPoolMixIn<S> {
    /// Wraps an existing server.
    fn from(server: S) -> Self {
        let admission = Arc::new(Admission::default());
        let woken = admission.clone();
        // A shutdown() must wake an acceptor blocked on a full pool.
        server.core().on_shutdown(move || {
            lock(&woken.state).shutting_down = true;
            woken.freed.notify_all();
        });
        ThreadPoolMixIn {
            server,
            max_workers: MAX_WORKERS,
            queue_depth: QUEUE_DEPTH,
            idle_timeout: Some(IDLE_TIMEOUT),
            block_on_close: true,
            pool: OnceLock::new(),
            admission,
        }
    }
}

impl<S: BaseServer, H, M> FromAddress<H, M> for ThreadPoolMixIn<S>
where
    S: FromAddress<H, M>,
{
    type Address = S::Address;
    fn from_address(
        server_address: S::Address,
        handler: H,
        bind_and_activate: bool,
    ) -> Result<Self> {
        Ok(Self::from(S::from_address(
            server_address,
            handler,
            bind_and_activate,
        )?))
    }
}

/// Gives a pool place back when a job ends, however it ends.
struct Place(Arc<Admission>);

impl Drop for Place {
    fn drop(&mut self) {
        lock(&self.0.state).in_pool -= 1;
        self.0.freed.notify_one();
    }
}

impl<S: BaseServer> BaseServer for ThreadPoolMixIn<S> {
    type Request = S::Request;

    crate::delegate_base_server!(server; core, fileno, get_request, finish_request,
        server_activate, timeout, socket_timeout, verify_request, shutdown_request,
        close_request, handle_error, handle_timeout, service_actions);

    /// Hands the request to a worker, after waiting for a place if
    /// `max_workers + queue_depth` requests are already in the pool.
    fn process_request(
        &self,
        request: S::Request,
        client_address: Address,
        this: &OuterServer<S::Request>,
    ) {
        let limit = self.max_workers.max(1) + self.queue_depth;
        {
            let mut state = lock(&self.admission.state);
            state.shutting_down = self.core().shutdown_requested();
            while state.in_pool >= limit && !state.shutting_down {
                state.waiting += 1;
                state = self
                    .admission
                    .freed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
                state.waiting -= 1;
            }
            if state.in_pool >= limit {
                drop(state);
                // Shutting down with every worker busy: give the connection back.
                this.shutdown_request(request);
                return;
            }
            state.in_pool += 1;
        }
        let place = Place(self.admission.clone());
        if let Err(e) = request.set_idle_timeout(self.idle_timeout) {
            drop(place);
            this.handle_error(&request, &client_address, &e.into());
            this.shutdown_request(request);
            return;
        }
        let this = this.clone();
        self.pool().execute(move || {
            let _place = place;
            this.finish_and_shutdown_request(request, client_address);
        });
    }

    /// Closes the server; with `block_on_close`, waits for the requests in the pool.
    fn server_close(&self) {
        self.server.server_close();
        if self.block_on_close {
            if let Some(pool) = self.pool.get() {
                pool.join();
            }
        }
    }
}

impl<S> Deref for ThreadPoolMixIn<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.server
    }
}

impl<S> DerefMut for ThreadPoolMixIn<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.server
    }
}

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
