//! [`FcgiPoolMixIn`]: a worker pool where connections the web server keeps open do not
//! starve new ones.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::address::Address;
use crate::error::Result;
use crate::mixin::ThreadPoolMixIn;
use crate::server::{lock, BaseServer, FromAddress, OuterServer, TcpServer, UnixStreamServer};
use crate::socket::Connection;
use crate::sys;

/// [`FcgiPoolMixIn`] around a unix stream server: the FastCGI pool server nginx's
/// `fastcgi_pass unix:…` talks to.
pub type FcgiPoolUnixStreamServer<H> = FcgiPoolMixIn<UnixStreamServer<H>>;
/// [`FcgiPoolMixIn`] around a TCP server.
pub type FcgiPoolTcpServer<H> = FcgiPoolMixIn<TcpServer<H>>;

/// A [`ThreadPoolMixIn`] whose idle kept-open FastCGI connections give their worker
/// back when new connections wait.
///
///
/// # The problem
///
/// With `fastcgi_keep_conn on` and an upstream `keepalive` cache, nginx keeps FastCGI
/// connections open between requests. On a fixed pool ([`ThreadPoolMixIn`]) each such
/// connection pins a worker while it is idle, waiting for nginx's next request on it.
/// When nginx opens more connections than there are workers (a burst, several nginx
/// workers, several front ends), the new connections wait in the pool's queue behind
/// idle ones — for ever if nginx keeps reusing its cached connections — and nginx
/// answers 504 when `fastcgi_read_timeout` runs out. flup's pool has exactly this
/// failure.
///
/// # What this mix-in does
///
/// It is [`ThreadPoolMixIn`] (same `max_workers`, `queue_depth`, back-pressure and
/// `idle_timeout`; it derefs to one) plus a count of accepted connections that wait for
/// a worker. Between two requests on a kept connection, the FastCGI handler checks it:
/// when connections are waiting and every worker is taken, the idle connection is
/// closed, which gives its worker to a waiting one. An idle connection also waits for
/// that signal while it waits for nginx's next request, so it is released at once when
/// the pool fills up — not only after its next request.
///
/// Closing an idle kept connection is allowed: the web server owns the connection, but
/// the application may close it between requests, and nginx handles it: it drops a
/// cached connection whose peer closed it, and if it had just picked that connection
/// for a request, it retries the request once on a new connection (nginx's
/// `ngx_http_upstream_next` gives a cached connection's failure an extra try). The one
/// case it does not retry is a non-idempotent request (POST) already sent when the
/// close lands — a narrow race that exists only while the pool is saturated, instead
/// of a 504 for every queued request.
///
/// Only connections at a request boundary, with no byte of a next request buffered,
/// are released; a request in progress is never cut.
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
    pool: ThreadPoolMixIn<S>,
    load: Arc<Load>,
}

/// What the mix-in and its connections share.
#[derive(Debug)]
struct Load {
    state: Mutex<LoadState>,
    /// `state.waiting.len()`, readable without the lock.
    waiting: AtomicUsize,
    wake_rx: UnixStream,
    wake_tx: UnixStream,
}

#[derive(Debug, Default)]
struct LoadState {
    /// Connections accepted and not yet started by a worker (by descriptor).
    waiting: Vec<RawFd>,
    /// Connections inside the handler, each holding a worker.
    running: usize,
    /// Idle connections already closing to make room, not yet matched by a start.
    claims: usize,
    /// The pool's `max_workers`.
    workers: usize,
}

impl LoadState {
    fn saturated(&self) -> bool {
        self.waiting.len() > self.claims && self.running >= self.workers
    }
}

impl Load {
    fn new() -> io::Result<Load> {
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        Ok(Load {
            state: Mutex::new(LoadState::default()),
            waiting: AtomicUsize::new(0),
            wake_rx,
            wake_tx,
        })
    }

    /// A connection was accepted: it waits until a worker starts it.
    fn arrived(&self, fd: RawFd, workers: usize) {
        let mut st = lock(&self.state);
        st.workers = workers.max(1);
        st.waiting.push(fd);
        self.waiting.store(st.waiting.len(), Ordering::SeqCst);
        if st.saturated() {
            // Wake the idle connections; the byte is only a nudge (the state decides).
            let _ = (&self.wake_tx).write(&[1]);
        }
    }

    /// Removes `fd` from the waiting list; true if it was there.
    fn leave(&self, fd: RawFd, st: &mut LoadState) -> bool {
        match st.waiting.iter().position(|&w| w == fd) {
            Some(i) => {
                st.waiting.swap_remove(i);
                self.waiting.store(st.waiting.len(), Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// A worker starts `fd`.
    fn started(&self, fd: RawFd) {
        let mut st = lock(&self.state);
        if self.leave(fd, &mut st) {
            st.claims = st.claims.saturating_sub(1);
        }
        st.running += 1;
    }

    fn stopped(&self) {
        let mut st = lock(&self.state);
        st.running = st.running.saturating_sub(1);
    }

    /// An idle connection asks whether it should give its worker up; at most one idle
    /// connection is released per waiting connection.
    fn claim(&self) -> bool {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let mut st = lock(&self.state);
        if st.saturated() {
            st.claims += 1;
            return true;
        }
        false
    }

    fn drain_wake(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
    }
}

thread_local! {
    /// The load of the `FcgiPoolMixIn` whose worker runs on this thread, while it runs a
    /// connection.
    static CURRENT: RefCell<Option<Arc<Load>>> = const { RefCell::new(None) };
}

/// The handle a FastCGI connection served by an [`FcgiPoolMixIn`] worker uses to
/// release itself when idle.
#[derive(Debug)]
pub(crate) struct IdleWait(Arc<Load>);

impl IdleWait {
    /// The pool this thread is serving for, if any.
    pub(crate) fn current() -> Option<IdleWait> {
        CURRENT
            .try_with(|c| c.borrow().clone())
            .ok()
            .flatten()
            .map(IdleWait)
    }
}

/// Between two requests on a kept connection: waits until the next request's first
/// bytes arrive (false: serve it) or the pool needs this worker (true: close the
/// connection). The connection's read timeout, if any, bounds the wait (true).
pub(crate) fn idle_release(idle: &IdleWait, conn: &Connection) -> io::Result<bool> {
    let load = &idle.0;
    let timeout = conn.timeout()?;
    loop {
        if load.claim() {
            return Ok(true);
        }
        let [readable, woken] =
            sys::poll_read([conn.as_raw_fd(), load.wake_rx.as_raw_fd()], timeout)?;
        if readable {
            return Ok(false);
        }
        if !woken {
            return Ok(true);
        }
        load.drain_wake();
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
        Ok(FcgiPoolMixIn {
            pool: ThreadPoolMixIn::from(server),
            load: Arc::new(Load::new()?),
        })
    }

    /// Connections accepted and waiting for a worker right now.
    pub fn waiting(&self) -> usize {
        self.load.waiting.load(Ordering::SeqCst)
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

/// Marks a connection as running on this thread until dropped (also on a panic).
struct Running<'a>(&'a Load);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
        self.0.stopped();
    }
}

impl<S: BaseServer<Request = Connection>> BaseServer for FcgiPoolMixIn<S> {
    type Request = Connection;

    crate::delegate_base_server!(pool; core, fileno, get_request, server_activate,
        server_close, timeout, socket_timeout, verify_request, close_request, handle_error,
        handle_timeout, service_actions);

    /// Counts the connection as waiting, then hands it to the pool (which may block
    /// while the pool is full — the idle connections are told to make room).
    fn process_request(
        &self,
        request: Connection,
        client_address: Address,
        this: &OuterServer<Connection>,
    ) {
        self.load
            .arrived(request.as_raw_fd(), self.pool.max_workers);
        self.pool.process_request(request, client_address, this);
    }

    /// Runs the handler on a worker, with the pool's load visible to it.
    fn finish_request(&self, request: &Connection, client_address: &Address) -> Result<()> {
        self.load.started(request.as_raw_fd());
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = Some(self.load.clone()));
        let _running = Running(&self.load);
        self.pool.finish_request(request, client_address)
    }

    /// A connection the pool refused (shutting down) never started: it stops waiting.
    fn shutdown_request(&self, request: Connection) {
        {
            let mut st = lock(&self.load.state);
            self.load.leave(request.as_raw_fd(), &mut st);
        }
        self.pool.shutdown_request(request);
    }
}

impl<S> Deref for FcgiPoolMixIn<S> {
    type Target = ThreadPoolMixIn<S>;
    fn deref(&self) -> &ThreadPoolMixIn<S> {
        &self.pool
    }
}

impl<S> DerefMut for FcgiPoolMixIn<S> {
    fn deref_mut(&mut self) -> &mut ThreadPoolMixIn<S> {
        &mut self.pool
    }
}

impl<S: BaseServer + fmt::Debug> fmt::Debug for FcgiPoolMixIn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcgiPoolMixIn")
            .field("pool", &self.pool)
            .field("waiting", &self.load.waiting.load(Ordering::SeqCst))
            .finish()
    }
}
