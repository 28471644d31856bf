//! Parking idle connections: how a pool server keeps kept-alive connections without
//! keeping a worker thread on each.
//!
//! A handler that serves several requests on one connection (HTTP keep-alive, FastCGI
//! `FCGI_KEEP_CONN`) waits between requests. On a [`ThreadPoolMixIn`] server that wait
//! would hold one of the few workers; instead, when the handler has nothing buffered, it
//! calls [`wait_for_more`]: that returns as soon as the client sends data — or as soon as
//! every worker is taken and other connections wait. In the second case the handler calls
//! [`park`] and returns: the server keeps the connection open, watches it with `poll`, and
//! runs the handler again (a fresh `setup`, `handle`, `finish`) when the client sends its
//! next request.
//!
//! Outside a pool worker [`can_park`] is false and [`wait_for_more`] returns at once, so
//! a handler can call them unconditionally.
//!
//! [`ThreadPoolMixIn`]: crate::ThreadPoolMixIn

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use crate::socket::Connection;

thread_local! {
    /// The pool's pressure descriptor while a pool worker runs a handler, and whether the
    /// handler asked to park.
    static PARKING: Cell<Option<(RawFd, bool)>> = const { Cell::new(None) };
    /// The pool's header timeout while a pool worker runs a handler.
    static HEADER_TIMEOUT: Cell<Option<Duration>> = const { Cell::new(None) };
    /// The pool's idle timeout (what it set on the connection) while a pool worker runs
    /// a handler.
    static IDLE_TIMEOUT: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// How long a request head may take to arrive, when the handler runs on a pool worker
/// (the pool's `header_timeout`); `None` elsewhere, as in Python.
pub fn header_timeout() -> Option<Duration> {
    HEADER_TIMEOUT.with(|t| t.get())
}

/// What [`wait_for_more`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// The client sent data (or closed): read the next request.
    Data,
    /// The server needs this worker: call [`park`] and return from the handler.
    Park,
    /// Nothing came within the connection's timeout.
    TimedOut,
}

/// True when the handler runs on a pool worker that can park its connection.
pub fn can_park() -> bool {
    PARKING.with(|p| p.get().is_some())
}

/// Between requests, with nothing buffered: waits until `connection` is readable
/// ([`Idle::Data`]), the pool needs the worker ([`Idle::Park`]), or the connection's
/// read timeout passes ([`Idle::TimedOut`]). Outside a pool worker it returns
/// [`Idle::Data`] at once.
pub fn wait_for_more(connection: &Connection) -> io::Result<Idle> {
    wait_within(connection, || connection.timeout())
}

/// [`wait_for_more`] for the crate's own handlers, which know the connection's read
/// timeout without asking the kernel for it: their `timeout()` when they set one, else
/// the pool's idle timeout.
pub(crate) fn wait_for_next_request(
    connection: &Connection,
    handler_timeout: Option<Duration>,
) -> io::Result<Idle> {
    wait_within(connection, || {
        Ok(handler_timeout.or(IDLE_TIMEOUT.with(|t| t.get())))
    })
}

/// The wait of [`wait_for_more`], with the connection's read timeout from `timeout`
/// (called only on a pool worker).
fn wait_within(
    connection: &Connection,
    timeout: impl FnOnce() -> io::Result<Option<Duration>>,
) -> io::Result<Idle> {
    let Some((pressure, _)) = PARKING.with(|p| p.get()) else {
        return Ok(Idle::Data);
    };
    if connection.has_buffered_input() {
        return Ok(Idle::Data);
    }
    let timeout = timeout()?;
    let [data, needed] = crate::sys::poll_read([connection.as_raw_fd(), pressure], timeout)?;
    Ok(if data {
        Idle::Data
    } else if needed {
        Idle::Park
    } else if timeout.is_some() {
        Idle::TimedOut
    } else {
        Idle::Data
    })
}

/// Asks the server to keep this connection and run the handler again when the client
/// sends more. Return from the handler right after; write nothing more. Does nothing
/// outside a pool worker.
pub fn park() {
    PARKING.with(|p| {
        if let Some((fd, _)) = p.get() {
            p.set(Some((fd, true)));
        }
    });
}

/// The pool's timeouts, as a worker's handler sees them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolTimeouts {
    /// The whole request head must arrive within this.
    pub(crate) header: Option<Duration>,
    /// The read/write timeout the pool set on the connection.
    pub(crate) idle: Option<Duration>,
}

/// Runs `f` (a handler) on a pool worker: parking enabled when `pressure` is given, and
/// the pool's timeouts set; returns what `f` returned and whether it parked.
pub(crate) fn on_pool_worker<T>(
    pressure: Option<RawFd>,
    timeouts: PoolTimeouts,
    f: impl FnOnce() -> T,
) -> (T, bool) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            PARKING.with(|p| p.set(None));
            HEADER_TIMEOUT.with(|t| t.set(None));
            IDLE_TIMEOUT.with(|t| t.set(None));
        }
    }
    PARKING.with(|p| p.set(pressure.map(|fd| (fd, false))));
    HEADER_TIMEOUT.with(|t| t.set(timeouts.header));
    IDLE_TIMEOUT.with(|t| t.set(timeouts.idle));
    let _reset = Reset;
    let out = f();
    let parked = PARKING.with(|p| p.get().is_some_and(|(_, parked)| parked));
    (out, parked)
}

/// How long a parked connection may stay idle when no timeout is set.
pub(crate) const DEFAULT_PARKED_IDLE: Duration = Duration::from_secs(300);
