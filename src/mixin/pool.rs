//! A bounded worker pool with back-pressure (no Python counterpart; users keep asking).

use std::fmt;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use threadpool::ThreadPool;

use crate::address::Address;
use crate::error::Result;
use crate::server::park::{self, DEFAULT_PARKED_IDLE};
use crate::server::{lock, BaseServer, FromAddress, OuterServer};
use crate::socket::RequestSocket;
use crate::sys::PollSet;

/// Default [`ThreadPoolMixIn::max_workers`].
pub const MAX_WORKERS: usize = 64;
/// Default [`ThreadPoolMixIn::queue_depth`].
pub const QUEUE_DEPTH: usize = 64;
/// Default [`ThreadPoolMixIn::idle_timeout`]: 30 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ThreadPoolMixIn::header_timeout`]: 30 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The most connections a pool server keeps parked; more are closed.
pub const MAX_PARKED: usize = 4096;

/// Handles requests on a fixed pool of worker threads, with back-pressure.
///
/// At most [`max_workers`](Self::max_workers) requests run at once and at most
/// [`queue_depth`](Self::queue_depth) more wait for a worker. When both are full,
/// `process_request` **blocks**: the server stops accepting, new clients wait in the
/// kernel's listen queue, and memory stays bounded — instead of a thread (Python's
/// `ThreadingMixIn`) or a queue entry per connection without limit. A `shutdown()` wakes
/// an acceptor blocked this way at once (the connection it held is closed).
///
/// Every accepted connection gets [`idle_timeout`](Self::idle_timeout) (30 s) as its read
/// and write timeout before the handler runs, so an idle client cannot pin a worker for
/// ever (a handler's own `timeout` replaces it). And a kept-alive connection that waits
/// for its next request gives its worker up as soon as other connections wait for one:
/// the HTTP and FastCGI handlers [park](crate::server::park) it, the server watches it,
/// and a worker picks it up again when the client sends more ([`park_idle`](Self::park_idle)).
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
pub struct ThreadPoolMixIn<S: BaseServer> {
    server: S,
    /// How many requests run at once (worker threads). Default 64. Workers start as
    /// requests need them — one more whenever a request would otherwise wait — up to
    /// this many, and then stay: a pool sized for bursts costs nothing until the burst.
    pub max_workers: usize,
    /// How many accepted requests may wait for a worker. Default 64.
    pub queue_depth: usize,
    /// Read/write timeout set on every accepted connection. Default 30 s; `None`
    /// removes it.
    pub idle_timeout: Option<Duration>,
    /// `server_close` waits for the requests in progress and in the queue. Default
    /// `true`.
    pub block_on_close: bool,
    /// Let handlers park idle kept-alive connections when workers are scarce (see
    /// [`park`](crate::server::park)). Default `true`.
    pub park_idle: bool,
    /// How long a client may take to send a whole request head (request line and
    /// headers), however slowly it sends it — the defence against clients that trickle
    /// a byte at a time. Default 30 s; handlers that read request heads apply it (HTTP:
    /// the request line and headers; FastCGI: BEGIN_REQUEST and PARAMS).
    pub header_timeout: Option<Duration>,
    pool: OnceLock<ThreadPool>,
    admission: Arc<Admission>,
    lot: OnceLock<Arc<Lot<S::Request>>>,
}

/// Counts requests admitted to the pool (running or queued) and acceptors waiting, and
/// signals "pressure" — someone waits for a worker — on a descriptor parked-to-be
/// handlers watch.
#[derive(Debug)]
struct Admission {
    state: Mutex<AdmissionState>,
    freed: Condvar,
    pressure_rx: UnixStream,
    pressure_tx: UnixStream,
}

#[derive(Debug, Default, Clone, Copy)]
struct AdmissionState {
    in_pool: usize,
    waiting: usize,
    workers: usize,
    shutting_down: bool,
    /// `server_close` runs: every waiting kept-alive connection parks (and is closed).
    closing: bool,
    pressure: bool,
}

impl Admission {
    fn new() -> std::io::Result<Admission> {
        let (pressure_rx, pressure_tx) = UnixStream::pair()?;
        pressure_rx.set_nonblocking(true)?;
        pressure_tx.set_nonblocking(true)?;
        Ok(Admission {
            state: Mutex::new(AdmissionState::default()),
            freed: Condvar::new(),
            pressure_rx,
            pressure_tx,
        })
    }

    /// Makes the pressure descriptor readable exactly while requests wait for a worker.
    fn update_pressure(&self, state: &mut AdmissionState) {
        let want = state.waiting > 0 || state.in_pool > state.workers || state.closing;
        if want == state.pressure {
            return;
        }
        state.pressure = want;
        if want {
            let _ = (&self.pressure_tx).write(&[1]);
        } else {
            let mut buf = [0u8; 16];
            while matches!((&self.pressure_rx).read(&mut buf), Ok(n) if n > 0) {}
        }
    }
}

/// A snapshot of a pool's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// The most worker threads.
    pub max_workers: usize,
    /// Worker threads started so far (they start as requests need them).
    pub started: usize,
    /// Queue places.
    pub queue_depth: usize,
    /// Requests being handled now.
    pub active: usize,
    /// Requests accepted and waiting for a worker.
    pub queued: usize,
    /// Acceptors blocked because workers and queue are full (0 or 1 with
    /// `serve_forever`).
    pub waiting: usize,
    /// Kept-alive connections parked: idle, watched, without a worker.
    pub parked: usize,
}

impl<S: BaseServer> ThreadPoolMixIn<S> {
    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        let state = *lock(&self.admission.state);
        let (active, queued) = match self.pool.get() {
            Some(p) => (p.active_count(), p.queued_count()),
            None => (0, 0),
        };
        PoolStats {
            max_workers: self.max_workers,
            started: self.pool.get().map_or(0, ThreadPool::max_count),
            queue_depth: self.queue_depth,
            active,
            queued,
            waiting: state.waiting,
            parked: self
                .lot
                .get()
                .map_or(0, |l| l.count.load(Ordering::Relaxed)),
        }
    }

    /// The parking lot, started on first use; `None` if its thread cannot start.
    fn lot(&self, this: &OuterServer<S::Request>) -> Option<Arc<Lot<S::Request>>> {
        if let Some(lot) = self.lot.get() {
            return Some(lot.clone());
        }
        let idle = self.idle_timeout.unwrap_or(DEFAULT_PARKED_IDLE);
        let lot = Lot::start(this.clone(), idle).ok()?;
        Some(self.lot.get_or_init(|| lot).clone())
    }

    fn pool(&self) -> &ThreadPool {
        self.pool.get_or_init(|| {
            threadpool::Builder::new()
                .num_threads(1)
                .thread_name("socketserver-worker".into())
                .build()
        })
    }
}

impl<S: BaseServer> From<S> for ThreadPoolMixIn<S> {
    /// Wraps an existing server.
    ///
    /// # Panics
    ///
    /// If the process is out of file descriptors for the pool's signalling socket pair.
    fn from(server: S) -> Self {
        let admission = Arc::new(Admission::new().expect("a socket pair for the pool"));
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
            park_idle: true,
            header_timeout: Some(HEADER_TIMEOUT),
            pool: OnceLock::new(),
            admission,
            lot: OnceLock::new(),
        }
    }
}

/// Gives a pool place back when a job ends, however it ends.
struct Place(Arc<Admission>);

impl Drop for Place {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.in_pool -= 1;
        self.0.update_pressure(&mut state);
        drop(state);
        self.0.freed.notify_one();
    }
}

/// Parked connections and the thread that watches them.
struct Lot<R> {
    incoming: Mutex<(Vec<(R, Address)>, bool)>,
    /// Connections handed over and not yet resumed or closed.
    count: AtomicUsize,
    wake_rx: UnixStream,
    wake_tx: UnixStream,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<R: RequestSocket> Lot<R> {
    fn start(this: OuterServer<R>, idle: Duration) -> std::io::Result<Arc<Lot<R>>> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        let lot = Arc::new(Lot {
            incoming: Mutex::new((Vec::new(), false)),
            count: AtomicUsize::new(0),
            wake_rx,
            wake_tx,
            thread: Mutex::new(None),
        });
        let theirs = lot.clone();
        let handle = std::thread::Builder::new()
            .name("socketserver-parking".into())
            .spawn(move || theirs.watch(this, idle))?;
        *lock(&lot.thread) = Some(handle);
        Ok(lot)
    }

    /// Hands a connection over; the watcher re-dispatches it when it becomes readable.
    /// Once the lot has stopped, gives it back (to be shut down).
    fn park(&self, request: R, client_address: Address) -> Option<R> {
        let mut incoming = lock(&self.incoming);
        if incoming.1 {
            return Some(request);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        incoming.0.push((request, client_address));
        drop(incoming);
        let _ = (&self.wake_tx).write(&[1]);
        None
    }

    fn stop(&self) {
        lock(&self.incoming).1 = true;
        let _ = (&self.wake_tx).write(&[1]);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }

    /// The watcher: polls the parked connections, sends readable ones back through
    /// `process_request`, closes those idle longer than `idle`.
    fn watch(&self, this: OuterServer<R>, idle: Duration) {
        let mut parked: Vec<(R, Address, Instant)> = Vec::new();
        let mut set = PollSet::default();
        loop {
            set.clear();
            set.push(self.wake_rx.as_raw_fd());
            for (r, _, _) in &parked {
                set.push(r.poll_fd().unwrap_or(-1));
            }
            let now = Instant::now();
            let timeout = parked
                .iter()
                .map(|p| p.2.saturating_duration_since(now))
                .min();
            if set.poll(timeout).is_err() {
                std::thread::sleep(Duration::from_millis(10));
            }
            let mut buf = [0u8; 64];
            while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
            let (incoming, stop) = {
                let mut guard = lock(&self.incoming);
                (std::mem::take(&mut guard.0), guard.1)
            };
            if stop {
                for (r, _, _) in parked.drain(..) {
                    this.shutdown_request(r);
                }
                for (r, _) in incoming {
                    this.shutdown_request(r);
                }
                self.count.store(0, Ordering::Relaxed);
                return;
            }
            let now = Instant::now();
            // Walk backwards so that removing keeps the indices of what is left.
            for i in (0..parked.len()).rev() {
                if set.ready(i + 1) {
                    let (r, a, _) = parked.swap_remove(i);
                    self.count.fetch_sub(1, Ordering::Relaxed);
                    this.process_request(r, a, &this);
                } else if parked[i].2 <= now {
                    let (r, _, _) = parked.swap_remove(i);
                    self.count.fetch_sub(1, Ordering::Relaxed);
                    this.shutdown_request(r);
                }
            }
            for (r, a) in incoming {
                if parked.len() >= MAX_PARKED {
                    self.count.fetch_sub(1, Ordering::Relaxed);
                    this.shutdown_request(r);
                } else {
                    parked.push((r, a, now + idle));
                }
            }
        }
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
        let workers = self.max_workers.max(1);
        let limit = workers + self.queue_depth;
        {
            let mut state = lock(&self.admission.state);
            state.workers = workers;
            state.shutting_down = self.core().shutdown_requested();
            while state.in_pool >= limit && !state.shutting_down {
                state.waiting += 1;
                self.admission.update_pressure(&mut state);
                state = self
                    .admission
                    .freed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
                state.waiting -= 1;
            }
            if state.in_pool >= limit {
                self.admission.update_pressure(&mut state);
                drop(state);
                // Shutting down with every worker busy: give the connection back.
                this.shutdown_request(request);
                return;
            }
            state.in_pool += 1;
            // Under the admission lock, so the count only grows, one at a time.
            let started = self.pool().max_count();
            if state.in_pool > started && started < workers {
                self.pool().clone().set_num_threads(started + 1);
            }
            self.admission.update_pressure(&mut state);
        }
        let place = Place(self.admission.clone());
        if let Err(e) = request.set_idle_timeout(self.idle_timeout) {
            drop(place);
            this.handle_error(&request, &client_address, &e.into());
            this.shutdown_request(request);
            return;
        }
        let lot = match self.park_idle && request.poll_fd().is_some() {
            true => self.lot(this),
            false => None,
        };
        let pressure = self.admission.pressure_rx.as_raw_fd();
        let timeouts = park::PoolTimeouts {
            header: self.header_timeout,
            idle: self.idle_timeout,
        };
        let this = this.clone();
        self.pool().execute(move || {
            let _place = place;
            let (result, parked) =
                park::on_pool_worker(lot.as_ref().map(|_| pressure), timeouts, || {
                    this.finish_request(&request, &client_address)
                });
            match result {
                Err(e) => {
                    this.handle_error(&request, &client_address, &e);
                    this.shutdown_request(request);
                }
                Ok(()) => match lot {
                    Some(lot) if parked => {
                        if let Some(request) = lot.park(request, client_address) {
                            this.shutdown_request(request);
                        }
                    }
                    _ => this.shutdown_request(request),
                },
            }
        });
    }

    /// Closes the server and the parked connections; with `block_on_close`, waits for
    /// the requests in the pool. Kept-alive connections waiting for their next request
    /// are closed at once rather than after their idle timeout.
    fn server_close(&self) {
        self.server.server_close();
        {
            let mut state = lock(&self.admission.state);
            state.closing = true;
            self.admission.update_pressure(&mut state);
        }
        if let Some(lot) = self.lot.get() {
            lot.stop();
        }
        if self.block_on_close {
            if let Some(pool) = self.pool.get() {
                pool.join();
            }
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
