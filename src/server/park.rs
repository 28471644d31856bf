//! Parking: how a pool server keeps kept-alive connections without a thread on each.
//!
//! A [`ThreadPoolMixIn`] server runs a handler on a connection only while the connection
//! has something to say. A handler that serves several requests on one connection (HTTP
//! keep-alive, FastCGI `FCGI_KEEP_CONN`) *parks* the connection when the next request has
//! not arrived yet: it calls [`park`] and returns. The server puts the connection back in
//! its readiness set — a descriptor and a small record, no thread, no stack, no read
//! buffer — and runs the handler again (on whichever worker learns that the connection is
//! readable) when the client sends more.
//!
//! The crate's HTTP and FastCGI handlers do this by themselves. A handler for your own
//! protocol can do the same between two messages:
//!
//! ```
//! use socketserver::server::park::{self, Idle};
//! use socketserver::{StreamRequest, StreamRequestHandler};
//! use std::io::{BufRead, Write};
//!
//! /// Echoes lines; between lines the connection holds no worker.
//! struct Echo;
//! impl StreamRequestHandler for Echo {
//!     fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
//!         loop {
//!             // Park only with nothing buffered: a parked connection's buffer is gone.
//!             if req.rfile.buffer().is_empty() && park::wait_for_more(req.connection)? == Idle::Park {
//!                 park::park();
//!                 return Ok(());
//!             }
//!             let mut line = Vec::new();
//!             if req.rfile.read_until(b'\n', &mut line)? == 0 {
//!                 return Ok(());
//!             }
//!             req.wfile.write_all(&line)?;
//!         }
//!     }
//! }
//!
//! let server = socketserver::ThreadPoolTcpServer::new(("127.0.0.1", 0), Echo)?;
//! # drop(server);
//! # Ok::<(), socketserver::Error>(())
//! ```
//!
//! Outside a pool worker [`can_park`] is false and [`wait_for_more`] returns
//! [`Idle::Data`] at once, so a handler can call them unconditionally.
//!
//! [`ThreadPoolMixIn`]: crate::ThreadPoolMixIn

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::socket::Connection;

thread_local! {
    /// The turn a pool worker is running, while its handler runs.
    static TURN: RefCell<Option<Turn>> = const { RefCell::new(None) };
    /// Called by a pool worker's handler just before a read that will wait: the pool may
    /// want another worker to take over what this one leaves waiting.
    static BEFORE_WAIT: RefCell<Option<Rc<dyn Fn()>>> = const { RefCell::new(None) };
    /// True while `TURN` holds a turn. Plain data, so that a thread that is not a pool
    /// worker (one per connection on a threading server) asks it without touching
    /// `TURN`, whose first use registers a destructor for the thread's exit.
    static ON_POOL: Cell<bool> = const { Cell::new(false) };
}

/// What [`wait_for_more`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// The client sent data (or closed): read the next request.
    Data,
    /// Nothing has arrived: call [`park`] and return from the handler.
    Park,
    /// Nothing came within the connection's timeout (not returned by the current pool,
    /// which keeps the time of parked connections itself).
    TimedOut,
}

/// The pool's timeouts, as a worker's handler sees them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PoolTimeouts {
    /// The whole request head must arrive within this.
    pub(crate) header: Option<Duration>,
    /// The read/write timeout the pool set on the connection.
    pub(crate) idle: Option<Duration>,
    /// The most requests one connection may carry.
    pub(crate) max_requests: Option<usize>,
    /// The write timeout, when it is not the idle timeout.
    pub(crate) write: Option<Duration>,
}

/// One run of a handler on a pool worker: what the pool tells the handler, and what the
/// handler answers.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    /// The connection is new: apply its socket options, run `setup`.
    pub(crate) fresh: bool,
    /// The handler may park the connection.
    pub(crate) parkable: bool,
    pub(crate) timeouts: PoolTimeouts,
    /// Bytes received on an earlier turn and not consumed: the start of a request head
    /// that had not fully arrived.
    pub(crate) leftover: Vec<u8>,
    /// When that head must be complete.
    pub(crate) head_deadline: Option<Instant>,
    /// Requests served on this connection so far (kept across turns).
    pub(crate) served: usize,
    /// Set by the handler: keep the connection, with these bytes, until it is readable.
    pub(crate) parking: Option<Parking>,
    /// The connection's read/write timeouts are in the socket (or it has none). The pool
    /// sets them only when a read or write is about to wait: most connections never
    /// wait, and the two `setsockopt` calls are a measurable part of a short
    /// connection's cost.
    pub(crate) timeouts_set: bool,
}

/// What a handler leaves with a parked connection.
#[derive(Debug, Default)]
pub(crate) struct Parking {
    /// Received bytes not consumed yet.
    pub(crate) leftover: Vec<u8>,
    /// When an incomplete request head in `leftover` must be complete.
    pub(crate) head_deadline: Option<Instant>,
    /// How long the connection may stay parked; `None` for the pool's idle timeout.
    pub(crate) idle: Option<Duration>,
}

fn with_turn<T>(f: impl FnOnce(&mut Turn) -> T) -> Option<T> {
    if !ON_POOL.with(Cell::get) {
        return None;
    }
    TURN.with(|t| t.borrow_mut().as_mut().map(f))
}

/// True when the handler runs on a pool worker (in one of a connection's turns).
pub(crate) fn on_pool_worker() -> bool {
    with_turn(|_| ()).is_some()
}

/// True when the handler runs on a pool worker that can park its connection.
pub fn can_park() -> bool {
    with_turn(|t| t.parkable).unwrap_or(false)
}

/// How long a request head may take to arrive, when the handler runs on a pool worker
/// (the pool's `header_timeout`); `None` elsewhere, as in Python.
pub fn header_timeout() -> Option<Duration> {
    with_turn(|t| t.timeouts.header).flatten()
}

/// The most requests one connection may carry on a pool worker (the pool's
/// `max_requests_per_connection`); `None` elsewhere, as in Python.
pub fn max_requests_per_connection() -> Option<usize> {
    with_turn(|t| t.timeouts.max_requests).flatten()
}

/// Requests a pool worker's handlers served on this connection on earlier turns; 0
/// elsewhere.
pub(crate) fn requests_served() -> usize {
    with_turn(|t| t.served).unwrap_or(0)
}

/// Records that this connection has served `n` requests, for its next turn.
pub(crate) fn set_requests_served(n: usize) {
    with_turn(|t| t.served = n);
}

/// True unless this is a later turn on a connection a pool worker already ran the
/// handler on (so socket options are applied and `setup` ran once).
pub(crate) fn is_fresh() -> bool {
    with_turn(|t| t.fresh).unwrap_or(true)
}

/// The bytes an earlier turn left unconsumed, and the deadline of the head they start.
pub(crate) fn take_leftover() -> (Vec<u8>, Option<Instant>) {
    with_turn(|t| (std::mem::take(&mut t.leftover), t.head_deadline.take())).unwrap_or_default()
}

/// Between requests, with nothing buffered: [`Idle::Data`] when the client has sent
/// something (or closed), [`Idle::Park`] when nothing is there yet on a pool worker.
/// Never waits. Outside a pool worker it returns [`Idle::Data`] at once (the handler's
/// next read waits, as in Python).
pub fn wait_for_more(connection: &Connection) -> io::Result<Idle> {
    if !can_park() || connection.has_buffered_input() {
        return Ok(Idle::Data);
    }
    let [ready] = crate::sys::poll_read([connection.as_raw_fd()], Some(Duration::ZERO))?;
    Ok(if ready { Idle::Data } else { Idle::Park })
}

/// Asks the server to keep this connection and run the handler again when the client
/// sends more. Return from the handler right after; write nothing more. Does nothing
/// outside a pool worker.
pub fn park() {
    park_with(Parking::default());
}

/// [`park`] with the bytes to give back on the next turn.
pub(crate) fn park_with(parking: Parking) {
    with_turn(|t| {
        if t.parkable {
            t.parking = Some(parking);
        }
    });
}

/// The pool's idle timeout when it is still to be set on this turn's connection (and
/// marks it set): `Some` exactly once per connection, on a pool worker.
pub(crate) fn take_pending_timeout() -> Option<PoolTimeouts> {
    with_turn(|t| {
        let pending = !t.timeouts_set;
        t.timeouts_set = true;
        pending.then_some(t.timeouts)
    })
    .flatten()
}

/// The timeout that [`take_pending_timeout`] would set, without setting it.
pub(crate) fn pending_timeout() -> Option<Option<Duration>> {
    with_turn(|t| (!t.timeouts_set).then_some(t.timeouts.idle)).flatten()
}

/// The handler set the connection's timeout itself: the pool's is not applied later.
pub(crate) fn timeouts_replaced() {
    with_turn(|t| t.timeouts_set = true);
}

/// True when the handler has asked to park.
pub(crate) fn is_parking() -> bool {
    with_turn(|t| t.parking.is_some()).unwrap_or(false)
}

/// Runs `f` (a handler) as `turn`; returns what `f` returned and the turn, with the
/// handler's answer in `parking`.
pub(crate) fn run_turn<T>(turn: Turn, f: impl FnOnce() -> T) -> (T, Turn) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ON_POOL.with(|p| p.set(false));
            TURN.with(|t| t.borrow_mut().take());
        }
    }
    TURN.with(|t| *t.borrow_mut() = Some(turn));
    ON_POOL.with(|p| p.set(true));
    let reset = Reset;
    let out = f();
    let turn = TURN.with(|t| t.borrow_mut().take()).unwrap_or_default();
    drop(reset);
    (out, turn)
}

/// Makes `hint` the function this thread calls before a read that will wait (a pool
/// worker's).
pub(crate) fn set_before_wait(hint: Rc<dyn Fn()>) {
    BEFORE_WAIT.with(|h| *h.borrow_mut() = Some(hint));
}

/// True on a pool worker, whose reads first try without waiting.
#[inline]
pub(crate) fn reads_hint() -> bool {
    ON_POOL.with(Cell::get)
}

/// Tells the pool this worker is about to wait in a read.
pub(crate) fn before_wait() {
    let hint = BEFORE_WAIT.with(|h| h.borrow().clone());
    if let Some(hint) = hint {
        hint();
    }
}
