//! Graceful stop: stop accepting, let the requests in flight finish within a grace
//! period, then close — what `SIGTERM` should mean to a server behind a load balancer
//! or under systemd, Kubernetes or Docker.
//!
//! [`BaseServer::graceful_shutdown`](crate::BaseServer::graceful_shutdown)`(grace)`
//! does the three steps; [`on_signals`] wires it to `SIGTERM` and `SIGINT`:
//!
//! ```no_run
//! use socketserver::server::graceful;
//! use socketserver::{BaseServer, ThreadPoolTcpServer};
//! use std::time::Duration;
//! # struct Echo; impl socketserver::StreamRequestHandler for Echo {
//! #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
//! let server = std::sync::Arc::new(ThreadPoolTcpServer::new(("", 8000), Echo)?);
//! // Before any other thread starts: SIGTERM/SIGINT → graceful_shutdown(10 s).
//! let stopped = graceful::on_signals(&server, Duration::from_secs(10))?;
//! server.serve_forever(socketserver::POLL_INTERVAL)?;
//! let in_time = stopped.wait();
//! server.server_close();
//! eprintln!("stopped{}", if in_time { "" } else { " (some requests were cut off)" });
//! # Ok::<(), socketserver::Error>(())
//! ```
//!
//! What each server does while draining:
//!
//! | server | idle kept-alive connections | busy connections | at the deadline |
//! |---|---|---|---|
//! | [`ThreadPoolMixIn`](crate::ThreadPoolMixIn) | closed at once (parked ones have no worker) | end after the current request (HTTP answers `Connection: close`) | shut down (`SHUT_RDWR`) |
//! | [`ThreadingMixIn`](crate::ThreadingMixIn) | an HTTP or FastCGI handler waiting for its next request has its read side shut down at once (other handlers run on until the deadline) | as above | shut down (`SHUT_RDWR`) |
//! | [`ForkingMixIn`](crate::ForkingMixIn) | the children run on | the children run on | `SIGTERM` to each child left, then reaped |
//! | a plain server | — (it serves on the serving thread, which has returned) | — | — |
//!
//! An idle connection is closed without an answer, as nginx does on its graceful stop:
//! a request that was on its way at that very moment sees the connection close, and
//! HTTP clients retry it on a new one (RFC 9112 §9.3.1 allows it for idempotent
//! requests).

use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{lock, BaseServer};
use crate::sys::SignalSet;

/// How often draining looks at what is left.
pub(crate) const DRAIN_POLL: Duration = Duration::from_millis(10);

/// A connection served on a thread of its own, as a graceful stop sees it.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) fd: RawFd,
    /// Between requests: waiting for the next one.
    pub(crate) idle: AtomicBool,
}

thread_local! {
    /// The connection this thread serves (on a threading server).
    static CURRENT: RefCell<Option<Arc<Live>>> = const { RefCell::new(None) };
}

/// The connections of a server that runs each on a thread of its own.
#[derive(Debug, Default)]
pub(crate) struct LiveSet {
    live: Mutex<Vec<Arc<Live>>>,
}

impl LiveSet {
    /// Registers the connection `fd` served on this thread, until `end`.
    pub(crate) fn begin(&self, fd: RawFd) -> Arc<Live> {
        let conn = Arc::new(Live {
            fd,
            idle: AtomicBool::new(false),
        });
        lock(&self.live).push(conn.clone());
        CURRENT.with(|c| *c.borrow_mut() = Some(conn.clone()));
        conn
    }

    /// The connection is about to be closed: forget it first, so that its descriptor
    /// is never shut down after it was reused.
    pub(crate) fn end(&self, conn: &Arc<Live>) {
        CURRENT.with(|c| c.borrow_mut().take());
        lock(&self.live).retain(|c| !Arc::ptr_eq(c, conn));
    }

    /// Draining begins: the idle connections are woken with end of file.
    pub(crate) fn close_idle(&self) {
        for c in lock(&self.live).iter() {
            if c.idle.load(Ordering::SeqCst) {
                crate::sys::shutdown_fd(c.fd, false);
            }
        }
    }

    /// The deadline passed: every connection left is shut down.
    pub(crate) fn abort_all(&self) -> usize {
        let live = lock(&self.live);
        for c in live.iter() {
            crate::sys::shutdown_fd(c.fd, true);
        }
        live.len()
    }

    /// Connections open.
    pub(crate) fn len(&self) -> usize {
        lock(&self.live).len()
    }
}

/// Said by a handler between two requests (`true`, before waiting for the next one) and
/// when one has begun (`false`), so that a graceful stop closes only idle connections
/// early. Does nothing outside a threading server's connection thread.
pub(crate) fn set_idle(idle: bool) {
    CURRENT.with(|c| {
        if let Some(c) = c.borrow().as_ref() {
            c.idle.store(idle, Ordering::SeqCst);
        }
    });
}

/// Waits until `done()` or `deadline`; `true` if `done()`.
pub(crate) fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(DRAIN_POLL.min(deadline - now));
    }
}

/// The end of a graceful stop started by a signal; see [`on_signals`].
#[derive(Debug, Clone, Default)]
pub struct Stopped(Arc<(Mutex<Option<Outcome>>, Condvar)>);

/// The signal, and whether every request finished in time.
type Outcome = (i32, bool);

impl Stopped {
    /// Waits until the graceful stop has finished (call it after `serve_forever`
    /// returned); `true` when every request finished within the grace period.
    pub fn wait(&self) -> bool {
        let (m, cv) = &*self.0;
        let mut g = lock(m);
        while g.is_none() {
            g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.is_some_and(|(_, in_time)| in_time)
    }

    /// The signal that started the stop, once one has.
    pub fn signal(&self) -> Option<i32> {
        lock(&self.0 .0).map(|(sig, _)| sig)
    }
}

/// Makes `SIGTERM` and `SIGINT` stop `server` gracefully with
/// [`graceful_shutdown`](BaseServer::graceful_shutdown)`(grace)`.
///
/// Call it from `main` **before starting any other thread** (the signals are blocked in
/// the calling thread and the threads it starts, and taken by one watcher thread). Not
/// for a forking server: the watcher thread would make `ForkingMixIn` refuse to fork
/// (call `graceful_shutdown` from your own signal handling there).
pub fn on_signals<S: BaseServer>(server: &Arc<S>, grace: Duration) -> io::Result<Stopped> {
    let set = SignalSet::block(&[super::SIGINT, super::SIGTERM])?;
    let stopped = Stopped::default();
    let theirs = stopped.clone();
    let server = server.clone();
    std::thread::Builder::new()
        .name("signal-watch".into())
        .spawn(move || {
            if let Ok(sig) = set.wait() {
                let in_time = server.graceful_shutdown(grace);
                let (m, cv) = &*theirs.0;
                *lock(m) = Some((sig, in_time));
                cv.notify_all();
            }
        })?;
    Ok(stopped)
}
