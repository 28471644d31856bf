//! Python's `ThreadingMixIn`: a new thread for every request.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::address::Address;
use crate::error::{Error, Result};
use crate::server::graceful::{self, LiveSet};
use crate::server::{lock, BaseServer, FromAddress, OuterServer};
use crate::socket::RequestSocket;
use std::sync::Arc;
use std::time::Instant;

/// Python numbers the threads it starts `Thread-1`, `Thread-2`, … across the process.
static THREAD_COUNTER: AtomicUsize = AtomicUsize::new(1);

/// Python's `socketserver.ThreadingMixIn`: handles each request in a new thread.
///
/// Wraps any server `S` and replaces only its `process_request`; everything else is
/// `S`'s (the wrapper derefs to it, so `server.allow_reuse_address` still works). Threads
/// are named as Python names them: `Thread-N (process_request_thread)`.
///
/// There is no limit on the number of threads, as in Python; for a bounded server use
/// [`ThreadPoolMixIn`](crate::ThreadPoolMixIn).
///
/// ```no_run
/// use socketserver::{BaseServer, ThreadingTcpServer};
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let mut server = ThreadingTcpServer::new(("", 8000), Echo)?;
/// server.daemon_threads = true;
/// std::sync::Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct ThreadingMixIn<S> {
    server: S,
    /// Python's `daemon_threads`: when `true`, request threads are not tracked and
    /// `server_close` does not wait for them. Default `false`.
    pub daemon_threads: bool,
    /// Python's `block_on_close`: `server_close` joins the non-daemon request threads.
    /// Default `true`.
    pub block_on_close: bool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The connections being served, for a graceful stop.
    live: Arc<LiveSet>,
}

impl<S> ThreadingMixIn<S> {
    /// The wrapped server.
    pub fn into_inner(self) -> S {
        self.server
    }

    /// How many request threads are tracked (live non-daemon threads, plus finished ones
    /// not yet reaped).
    pub fn thread_count(&self) -> usize {
        lock(&self.threads).len()
    }
}

impl<S> From<S> for ThreadingMixIn<S> {
    /// Wraps an existing server.
    fn from(server: S) -> Self {
        ThreadingMixIn {
            server,
            daemon_threads: false,
            block_on_close: true,
            threads: Mutex::new(Vec::new()),
            live: Arc::default(),
        }
    }
}

impl<S: BaseServer> BaseServer for ThreadingMixIn<S> {
    type Request = S::Request;

    crate::delegate_base_server!(server; core, fileno, get_request, finish_request,
        server_activate, timeout, socket_timeout, verify_request, shutdown_request,
        close_request, handle_error, handle_timeout, service_actions);

    /// Starts a thread that runs `finish_request` and `shutdown_request` (with
    /// `handle_error` on failure) on the outermost server.
    fn process_request(
        &self,
        request: S::Request,
        client_address: Address,
        this: &OuterServer<S::Request>,
    ) {
        let n = THREAD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let this = this.clone();
        // The request travels to the thread in a slot, so that it can be shut down here
        // if the thread cannot be started.
        let slot = std::sync::Arc::new(Mutex::new(Some((request, client_address))));
        let theirs = slot.clone();
        let live = self.live.clone();
        let name = format!("Thread-{n} (process_request_thread)");
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let Some((request, client_address)) = lock(&theirs).take() else {
                return;
            };
            let Some(fd) = request.poll_fd() else {
                return this.finish_and_shutdown_request(request, client_address);
            };
            // Known to a graceful stop while it is served.
            let conn = live.begin(fd);
            if let Err(e) = this.finish_request(&request, &client_address) {
                this.handle_error(&request, &client_address, &e);
            }
            live.end(&conn);
            this.shutdown_request(request);
        });
        match spawned {
            Ok(handle) => {
                if !self.daemon_threads && self.block_on_close {
                    let mut threads = lock(&self.threads);
                    // Reap finished threads so the list stays short (bpo-37193).
                    threads.retain(|t| !t.is_finished());
                    threads.push(handle);
                }
            }
            Err(e) => {
                if let Some((request, client_address)) = lock(&slot).take() {
                    let err = Error::Io(e);
                    self.handle_error(&request, &client_address, &err);
                    self.shutdown_request(request);
                }
            }
        }
    }

    /// Wakes the connections waiting for their next request, waits for the others until
    /// `deadline`, then shuts down what is left.
    fn drain(&self, deadline: Instant) -> bool {
        self.server.drain(deadline);
        self.live.close_idle();
        let live = &self.live;
        if graceful::wait_until(deadline, || live.len() == 0) {
            return true;
        }
        live.abort_all() == 0
    }

    /// Closes the server, then, with `block_on_close`, waits for every non-daemon
    /// request thread.
    fn server_close(&self) {
        self.server.server_close();
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

super::mix_in!(ThreadingMixIn);

impl<S: fmt::Debug> fmt::Debug for ThreadingMixIn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadingMixIn")
            .field("server", &self.server)
            .field("daemon_threads", &self.daemon_threads)
            .field("block_on_close", &self.block_on_close)
            .field("threads", &self.thread_count())
            .finish()
    }
}
