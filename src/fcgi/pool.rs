//! [`FcgiPoolMixIn`]: a bounded worker pool for FastCGI where connections the web server
//! keeps open do not starve new ones — idle kept connections are parked, not closed.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use threadpool::ThreadPool;

use crate::address::Address;
use crate::error::Result;
use crate::mixin::{IDLE_TIMEOUT, MAX_WORKERS, QUEUE_DEPTH};
use crate::server::{
    lock, BaseServer, FromAddress, OuterServer, ProcessRequest, TcpServer, UnixStreamServer,
};
use crate::socket::{Connection, RequestSocket};
use crate::sys;

/// [`FcgiPoolMixIn`] around a unix stream server: the pool server for nginx's
/// `fastcgi_pass unix:…`.
pub type FcgiPoolUnixStreamServer<H> = FcgiPoolMixIn<UnixStreamServer<H>>;
/// [`FcgiPoolMixIn`] around a TCP server.
pub type FcgiPoolTcpServer<H> = FcgiPoolMixIn<TcpServer<H>>;

/// How many parked connections one parking thread watches (plus its wake-up pipe: one
/// `poll` of 64 descriptors).
const LOT_SIZE: usize = 63;

/// A bounded worker pool for FastCGI servers whose idle kept-open connections give
/// their worker back when new connections wait: they are *parked* — watched by a
/// parking thread, without a worker — and handed back to the pool when the web server
/// sends their next request.
///
/// # The problem
///
/// With `fastcgi_keep_conn on` and an upstream `keepalive` cache, nginx keeps FastCGI
/// connections open between requests. On a fixed pool
/// ([`ThreadPoolMixIn`](crate::ThreadPoolMixIn)) each such connection pins a worker
/// while it is idle, waiting for nginx's next request on it. When nginx opens more
/// connections than there are workers (a burst, several nginx workers, several front
/// ends), the new connections wait in the pool's queue behind idle ones — for as long
/// as nginx keeps reusing its cached connections — and nginx answers 504 when
/// `fastcgi_read_timeout` runs out. flup's pool fails exactly this way.
///
/// Closing idle kept connections when the pool is full would free the workers, but it
/// races with nginx: nginx may already have picked the connection from its cache for a
/// new request. It retries such a request on a fresh connection — unless it is a POST
/// (non-idempotent, already sent), which it answers with 502. (Measured: 0.4 % of
/// POSTs under a saturated pool.) Parking never closes a connection, so there is no
/// such race.
///
/// # What this mix-in does
///
/// The same bounded pool as [`ThreadPoolMixIn`](crate::ThreadPoolMixIn) — at most
/// [`max_workers`](Self::max_workers) threads (started as needed, then reused: no
/// thread is created per connection once the pool has grown), [`queue_depth`](Self::queue_depth) more
/// waiting, back-pressure when both are full, [`idle_timeout`](Self::idle_timeout) on
/// every connection — and one more rule. Between two requests on a kept connection
/// (nothing of a next request buffered), the FastCGI handler checks whether the pool is
/// saturated: connections waiting for a worker and every worker busy. If it is, the
/// connection is parked and the worker goes to a waiting connection. A connection that
/// is idle when the pool fills up is woken and parked too. Parked connections cost a
/// file descriptor each, no thread: one parking thread watches up to 63 of them with
/// `poll`, and submits each to the pool again as soon as it is readable (the next
/// request, or nginx closing it). A connection parked longer than `idle_timeout` is
/// closed.
///
/// While workers are free, kept connections stay on their worker, so the common case
/// costs nothing: one `poll` between requests.
///
/// A pool stops accepting when its workers and queue are full, so behind nginx give it a
/// listen queue as deep as nginx's bursts (set `request_queue_size` to
/// [`BACKLOG`](super::BACKLOG) before binding): on a unix socket a full queue is an
/// immediate 502.
///
/// ```no_run
/// use socketserver::fcgi::{FcgiHandler, FcgiPoolUnixStreamServer, FcgiRequest};
/// use socketserver::BaseServer;
///
/// struct Hello;
/// impl FcgiHandler for Hello {
///     fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
///         req.send("Content-Type: text/plain\r\n\r\nHello, world!", false)?;
///         Ok(())
///     }
/// }
///
/// let mut server = FcgiPoolUnixStreamServer::unbound("/tmp/fcgi.sock", Hello)?;
/// server.max_workers = 8;
/// server.request_queue_size = socketserver::fcgi::BACKLOG;
/// server.server_bind()?;
/// server.server_activate()?;
/// std::sync::Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct FcgiPoolMixIn<S> {
    server: S,
    /// How many requests run at once: the most worker threads. They start as
    /// connections need them (one per connection in the pool) and then stay, so a
    /// high limit costs nothing until it is used. Default 64. Read when the first
    /// request arrives.
    pub max_workers: usize,
    /// How many accepted (or unparked) connections may wait for a worker. Default 64.
    pub queue_depth: usize,
    /// Read/write timeout of every connection while a worker serves it, and how long a
    /// connection may stay parked. Default 30 s; `None`: no limit.
    pub idle_timeout: Option<Duration>,
    /// `server_close` waits for the requests in the pool. Default `true`.
    pub block_on_close: bool,
    shared: Arc<Shared>,
}

/// What the mix-in, its workers, its parking threads and its connections share.
struct Shared {
    pool: OnceLock<ThreadPool>,
    /// Worker threads started so far (they start as connections need them).
    spawned: Mutex<usize>,
    /// The outermost server, for jobs submitted by a parking thread (weak: the server
    /// owns this).
    this: OnceLock<Weak<dyn ProcessRequest<Connection>>>,
    state: Mutex<State>,
    /// Signalled when a pool place frees up or on shutdown.
    freed: Condvar,
    /// `state.pending`, readable without the lock.
    pending: AtomicUsize,
    /// Woken (one byte) when the pool becomes saturated: idle workers park.
    wake_rx: UnixStream,
    wake_tx: UnixStream,
    lots: Mutex<Vec<Arc<Lot>>>,
    closing: AtomicBool,
    /// Set when the first request arrives.
    config: OnceLock<Config>,
}

#[derive(Clone, Copy, Debug)]
struct Config {
    workers: usize,
    limit: usize,
    idle_timeout: Option<Duration>,
}

#[derive(Debug, Default)]
struct State {
    /// Jobs in the pool (queued or running) — the back-pressure count.
    in_pool: usize,
    /// Connections submitted (or waiting to be) and not yet started by a worker.
    pending: usize,
    /// Jobs running.
    running: usize,
    /// Submitters blocked because the pool is full.
    blocked: usize,
    shutting_down: bool,
}

impl State {
    fn saturated(&self, workers: usize) -> bool {
        self.pending > 0 && self.running >= workers
    }
}

/// Parked connections watched by one thread.
struct Lot {
    parked: Mutex<Vec<Parked>>,
    wake_rx: UnixStream,
    wake_tx: UnixStream,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Parked {
    conn: Connection,
    addr: Address,
    since: Instant,
}

thread_local! {
    /// The pool whose worker runs on this thread, while it runs a connection.
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
    /// Set by the FastCGI handler to ask that its connection be parked, not closed.
    static PARK: RefCell<Option<Address>> = const { RefCell::new(None) };
}

impl Shared {
    fn new() -> io::Result<Shared> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        Ok(Shared {
            pool: OnceLock::new(),
            spawned: Mutex::new(1),
            this: OnceLock::new(),
            state: Mutex::new(State::default()),
            freed: Condvar::new(),
            pending: AtomicUsize::new(0),
            wake_rx,
            wake_tx,
            lots: Mutex::new(Vec::new()),
            closing: AtomicBool::new(false),
            config: OnceLock::new(),
        })
    }

    fn workers(&self) -> usize {
        self.config.get().map_or(1, |c| c.workers)
    }

    fn saturated(&self) -> bool {
        if self.pending.load(Ordering::SeqCst) == 0 {
            return false;
        }
        lock(&self.state).saturated(self.workers())
    }

    fn set_pending(&self, st: &State) {
        self.pending.store(st.pending, Ordering::SeqCst);
    }

    /// Hands a connection to the pool, waiting for a place while the pool is full.
    /// Closes it instead when the server is shutting down.
    fn submit(self: &Arc<Self>, request: Connection, client_address: Address) {
        let (Some(this), Some(config), Some(pool)) = (
            self.this.get().and_then(Weak::upgrade),
            self.config.get(),
            self.pool.get(),
        ) else {
            // The server is gone: the connection just closes.
            return;
        };
        let want;
        {
            let mut st = lock(&self.state);
            st.pending += 1;
            self.set_pending(&st);
            if st.saturated(config.workers) {
                let _ = (&self.wake_tx).write(&[1]);
            }
            while st.in_pool >= config.limit && !st.shutting_down {
                st.blocked += 1;
                st = self.freed.wait(st).unwrap_or_else(|e| e.into_inner());
                st.blocked -= 1;
            }
            if st.in_pool >= config.limit || self.closing.load(Ordering::SeqCst) {
                st.pending -= 1;
                self.set_pending(&st);
                drop(st);
                this.shutdown_request(request);
                return;
            }
            st.in_pool += 1;
            want = st.in_pool.min(config.workers);
        }
        self.grow(want);
        if let Err(e) = request.set_idle_timeout(config.idle_timeout) {
            self.job_done(false);
            {
                let mut st = lock(&self.state);
                st.pending -= 1;
                self.set_pending(&st);
            }
            this.handle_error(&request, &client_address, &e.into());
            this.shutdown_request(request);
            return;
        }
        let shared = self.clone();
        pool.execute(move || {
            let _done = JobDone(&shared);
            this.finish_and_shutdown_request(request, client_address);
        });
    }

    /// Starts workers until there are `want` (one per job in the pool, up to
    /// `max_workers`): threads start as connections need them, and stay.
    fn grow(&self, want: usize) {
        let mut spawned = lock(&self.spawned);
        if want > *spawned {
            if let Some(pool) = self.pool.get() {
                // Clones of a pool share its threads: this grows the pool itself.
                pool.clone().set_num_threads(want);
                *spawned = want;
            }
        }
    }

    /// A job left the pool (`ran`: it had started).
    fn job_done(&self, ran: bool) {
        let mut st = lock(&self.state);
        st.in_pool = st.in_pool.saturating_sub(1);
        if ran {
            st.running = st.running.saturating_sub(1);
        }
        drop(st);
        self.freed.notify_one();
    }

    fn started(&self) {
        let mut st = lock(&self.state);
        st.pending = st.pending.saturating_sub(1);
        st.running += 1;
        self.set_pending(&st);
    }

    fn drain_wake(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Puts a connection in a lot with room (starting a parking thread if none has).
    fn park(self: &Arc<Self>, conn: Connection, addr: Address) {
        if self.closing.load(Ordering::SeqCst) {
            return;
        }
        // Under the lots lock, so that a lot never holds more than LOT_SIZE.
        let mut lots = lock(&self.lots);
        let found = lots
            .iter()
            .find(|l| lock(&l.parked).len() < LOT_SIZE)
            .cloned();
        let lot = match found {
            Some(l) => l,
            None => match Lot::start(self.clone()) {
                Ok(l) => {
                    lots.push(l.clone());
                    l
                }
                // No parking thread: the connection is closed.
                Err(_) => return,
            },
        };
        lock(&lot.parked).push(Parked {
            conn,
            addr,
            since: Instant::now(),
        });
        drop(lots);
        let _ = (&lot.wake_tx).write(&[1]);
    }
}

/// Ends a job's accounting however the job ends.
struct JobDone<'a>(&'a Shared);

impl Drop for JobDone<'_> {
    fn drop(&mut self) {
        self.0.job_done(true);
    }
}

impl Lot {
    fn start(shared: Arc<Shared>) -> io::Result<Arc<Lot>> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        let lot = Arc::new(Lot {
            parked: Mutex::new(Vec::new()),
            wake_rx,
            wake_tx,
            thread: Mutex::new(None),
        });
        let watched = lot.clone();
        let handle = std::thread::Builder::new()
            .name("socketserver-fcgi-parking".into())
            .spawn(move || watched.run(&shared))?;
        *lock(&lot.thread) = Some(handle);
        Ok(lot)
    }

    /// Watches the parked connections; resubmits the readable ones, closes those
    /// parked too long; ends (closing them all) when the server closes.
    fn run(&self, shared: &Arc<Shared>) {
        let idle_timeout = shared.config.get().and_then(|c| c.idle_timeout);
        loop {
            if shared.closing.load(Ordering::SeqCst) {
                lock(&self.parked).clear();
                return;
            }
            let mut fds: [RawFd; LOT_SIZE + 1] = [-1; LOT_SIZE + 1];
            fds[0] = self.wake_rx.as_raw_fd();
            let mut wait = None;
            {
                let parked = lock(&self.parked);
                let now = Instant::now();
                for (slot, p) in fds[1..].iter_mut().zip(parked.iter()) {
                    *slot = p.conn.as_raw_fd();
                    if let Some(t) = idle_timeout {
                        let left = (p.since + t).saturating_duration_since(now);
                        wait = Some(wait.map_or(left, |w: Duration| w.min(left)));
                    }
                }
            }
            let ready = match sys::poll_read(fds, wait) {
                Ok(r) => r,
                Err(_) => {
                    // Cannot happen with descriptors the lot owns; do not spin.
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            if ready[0] {
                let mut buf = [0u8; 64];
                while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
            }
            let now = Instant::now();
            let mut resume = Vec::new();
            {
                let mut parked = lock(&self.parked);
                let mut i = 0;
                while i < parked.len() {
                    let fd = parked[i].conn.as_raw_fd();
                    let readable = fds[1..]
                        .iter()
                        .position(|&f| f == fd)
                        .is_some_and(|k| ready[k + 1]);
                    let expired =
                        idle_timeout.is_some_and(|t| now.duration_since(parked[i].since) >= t);
                    if readable {
                        resume.push(parked.swap_remove(i));
                    } else if expired {
                        // Closed: the web server sees EOF on a connection it is not using.
                        drop(parked.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
            }
            for p in resume {
                shared.submit(p.conn, p.addr);
            }
        }
    }
}

/// The handle a FastCGI connection served by an [`FcgiPoolMixIn`] worker uses between
/// requests.
pub(crate) struct IdleWait(Arc<Shared>);

impl fmt::Debug for IdleWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleWait").finish_non_exhaustive()
    }
}

impl IdleWait {
    /// The pool's `idle_timeout` (the read timeout it gives connections).
    pub(crate) fn idle_timeout(&self) -> Option<Duration> {
        self.0.config.get().and_then(|c| c.idle_timeout)
    }

    /// The pool this thread is serving for, if any.
    pub(crate) fn current() -> Option<IdleWait> {
        CURRENT
            .try_with(|c| c.borrow().clone())
            .ok()
            .flatten()
            .map(IdleWait)
    }

    /// Asks the pool to park this connection when the handler returns.
    fn park(&self, client_address: &Address) {
        let _ = PARK.try_with(|p| *p.borrow_mut() = Some(client_address.clone()));
    }
}

/// What an idle kept connection does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idle {
    /// The next request is arriving: serve it.
    Serve,
    /// Return without closing: the pool parks the connection.
    Park,
    /// The idle timeout ran out: close quietly.
    Close,
}

/// Between two requests on a kept connection: waits until the next request's first
/// bytes arrive, or the pool needs this worker (the connection is then parked), or the
/// connection's timeout runs out.
///
/// `timeout` is the connection's read timeout (read once per connection by the caller:
/// asking the socket for it costs a system call per request).
pub(crate) fn idle_wait(
    idle: &IdleWait,
    conn: &Connection,
    client_address: &Address,
    timeout: Option<Duration>,
) -> io::Result<Idle> {
    let shared = &idle.0;
    loop {
        if shared.closing.load(Ordering::SeqCst) {
            return Ok(Idle::Close);
        }
        if shared.saturated() {
            idle.park(client_address);
            return Ok(Idle::Park);
        }
        let [readable, woken] =
            match sys::poll_read([conn.as_raw_fd(), shared.wake_rx.as_raw_fd()], timeout) {
                Ok(r) => r,
                // Interrupted polls are retried inside; anything else ends the
                // connection quietly, as a read error between requests would.
                Err(_) => return Ok(Idle::Close),
            };
        if readable {
            return Ok(Idle::Serve);
        }
        if !woken {
            return Ok(Idle::Close);
        }
        // On close the byte is left in the pipe, so that every idle worker sees it.
        if !shared.closing.load(Ordering::SeqCst) {
            shared.drain_wake();
        }
    }
}

impl<S: BaseServer<Request = Connection>> FcgiPoolMixIn<S> {
    /// Creates the server `S` from an address and a handler, binds and activates it.
    pub fn new<H, M>(server_address: impl Into<S::Address>, handler: H) -> Result<Self>
    where
        S: FromAddress<H, M>,
    {
        Self::from_server(S::from_address(server_address.into(), handler, true)?)
    }

    /// Creates the server without binding it (Python's `bind_and_activate=False`).
    #[doc(alias = "bind_and_activate")]
    pub fn unbound<H, M>(server_address: impl Into<S::Address>, handler: H) -> Result<Self>
    where
        S: FromAddress<H, M>,
    {
        Self::from_server(S::from_address(server_address.into(), handler, false)?)
    }

    /// Wraps an existing server.
    pub fn from_server(server: S) -> Result<Self> {
        let shared = Arc::new(Shared::new()?);
        let woken = shared.clone();
        // A shutdown() must wake a submitter blocked on a full pool.
        server.core().on_shutdown(move || {
            lock(&woken.state).shutting_down = true;
            woken.freed.notify_all();
        });
        Ok(FcgiPoolMixIn {
            server,
            max_workers: MAX_WORKERS,
            queue_depth: QUEUE_DEPTH,
            idle_timeout: Some(IDLE_TIMEOUT),
            block_on_close: true,
            shared,
        })
    }

    /// Connections waiting for a worker right now.
    pub fn waiting(&self) -> usize {
        self.shared.pending.load(Ordering::SeqCst)
    }

    /// Worker threads started so far (at most [`max_workers`](Self::max_workers)).
    pub fn workers(&self) -> usize {
        *lock(&self.shared.spawned)
    }

    /// Connections parked right now.
    pub fn parked(&self) -> usize {
        lock(&self.shared.lots)
            .iter()
            .map(|l| lock(&l.parked).len())
            .sum()
    }

    /// The wrapped server.
    pub fn get_ref(&self) -> &S {
        &self.server
    }

    fn init(&self, this: &OuterServer<Connection>) {
        self.shared.config.get_or_init(|| Config {
            workers: self.max_workers.max(1),
            limit: self.max_workers.max(1) + self.queue_depth,
            idle_timeout: self.idle_timeout,
        });
        self.shared.pool.get_or_init(|| {
            threadpool::Builder::new()
                .num_threads(1)
                .thread_name("socketserver-worker".into())
                .build()
        });
        let _ = self.shared.this.get_or_init(|| Arc::downgrade(this));
    }
}

impl<S: BaseServer<Request = Connection>, H, M> FromAddress<H, M> for FcgiPoolMixIn<S>
where
    S: FromAddress<H, M>,
{
    type Address = S::Address;
    fn from_address(
        server_address: S::Address,
        handler: H,
        bind_and_activate: bool,
    ) -> Result<Self> {
        Self::from_server(S::from_address(server_address, handler, bind_and_activate)?)
    }
}

/// Clears this thread's pool marker when a connection's handler returns (also on a
/// panic).
struct Serving;

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

impl<S: BaseServer<Request = Connection>> BaseServer for FcgiPoolMixIn<S> {
    type Request = Connection;

    crate::delegate_base_server!(server; core, fileno, get_request, server_activate,
        timeout, socket_timeout, verify_request, close_request, handle_error,
        handle_timeout, service_actions);

    /// Hands the connection to a worker, after waiting for a place if
    /// `max_workers + queue_depth` connections are already in the pool (idle kept
    /// connections are parked meanwhile to make room).
    fn process_request(
        &self,
        request: Connection,
        client_address: Address,
        this: &OuterServer<Connection>,
    ) {
        self.init(this);
        self.shared.submit(request, client_address);
    }

    /// Runs the handler on a worker, with the pool visible to it.
    fn finish_request(&self, request: &Connection, client_address: &Address) -> Result<()> {
        self.shared.started();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = Some(self.shared.clone()));
        let _serving = Serving;
        let _ = PARK.try_with(|p| p.borrow_mut().take());
        self.server.finish_request(request, client_address)
    }

    /// Parks the connection if its handler asked for it; otherwise shuts it down.
    fn shutdown_request(&self, request: Connection) {
        match PARK.try_with(|p| p.borrow_mut().take()).ok().flatten() {
            Some(addr) => self.shared.park(request, addr),
            None => self.server.shutdown_request(request),
        }
    }

    /// Closes the server and every parked connection, ends idle kept connections; with
    /// `block_on_close`, waits for the requests in the pool.
    fn server_close(&self) {
        self.server.server_close();
        self.shared.closing.store(true, Ordering::SeqCst);
        // Wake submitters blocked on a full pool, and idle kept connections.
        lock(&self.shared.state).shutting_down = true;
        self.shared.freed.notify_all();
        let _ = (&self.shared.wake_tx).write(&[1]);
        let lots: Vec<Arc<Lot>> = lock(&self.shared.lots).clone();
        for lot in &lots {
            let _ = (&lot.wake_tx).write(&[1]);
        }
        for lot in &lots {
            if let Some(t) = lock(&lot.thread).take() {
                let _ = t.join();
            }
        }
        if self.block_on_close {
            if let Some(pool) = self.shared.pool.get() {
                pool.join();
            }
        }
    }
}

impl<S> Deref for FcgiPoolMixIn<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.server
    }
}

impl<S> DerefMut for FcgiPoolMixIn<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.server
    }
}

impl<S: fmt::Debug> fmt::Debug for FcgiPoolMixIn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcgiPoolMixIn")
            .field("server", &self.server)
            .field("max_workers", &self.max_workers)
            .field("queue_depth", &self.queue_depth)
            .field("idle_timeout", &self.idle_timeout)
            .field("waiting", &self.shared.pending.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}
