//! Python's `ForkingMixIn`: a child process for every request.

use std::fmt;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Duration;

use crate::address::Address;
use crate::error::{Error, Result};
use crate::server::{lock, BaseServer, FromAddress, OuterServer};
use crate::sys::{self, Pid, ThreadsHoldNoLocks};

/// Python's `ForkingMixIn.max_children`.
pub const MAX_CHILDREN: usize = 40;

/// Python's `ForkingMixIn.timeout`: 300 s, so that `handle_request` wakes to reap.
pub const FORKING_TIMEOUT: Duration = Duration::from_secs(300);

/// Python's `socketserver.ForkingMixIn`: handles each request in a child process.
///
/// The child runs the handler and leaves with `_exit`, never returning into the serve
/// loop; the parent closes its copy of the connection and reaps finished children with
/// `waitpid(WNOHANG)` on every turn of `serve_forever` (and in `handle_timeout`), blocking
/// while `max_children` are alive.
///
/// **Forking refuses to run in a multi-threaded process**: a child may otherwise find a
/// lock (the allocator's, a `Mutex`) held for ever by a thread that was not copied.
/// `process_request` then reports [`Error::ForkWithThreads`] through `handle_error` and
/// closes the connection. Serve from the main thread of a process that started no other
/// threads, or see [`allow_fork_with_threads`](Self::allow_fork_with_threads).
///
/// ```no_run
/// use socketserver::{BaseServer, ForkingTcpServer};
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let server = std::sync::Arc::new(ForkingTcpServer::new(("", 8000), Echo)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?; // from the main thread
/// # Ok::<(), socketserver::Error>(())
/// ```
pub struct ForkingMixIn<S> {
    server: S,
    /// Python's `max_children`: at most this many children are left running before the
    /// server waits for one to exit. Default 40.
    pub max_children: usize,
    /// Python's `timeout` for this mix-in: 300 s.
    pub timeout: Option<Duration>,
    /// Python's `block_on_close`: `server_close` waits for every child. Default `true`.
    pub block_on_close: bool,
    active_children: Mutex<Vec<Pid>>,
    allow_threads: bool,
}

impl<S> ForkingMixIn<S> {
    /// Lets the server fork although the process has other threads, on the caller's
    /// promise (made with `unsafe`) that they hold no locks.
    ///
    /// ```no_run
    /// use socketserver::mixin::ThreadsHoldNoLocks;
    /// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
    /// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
    /// let mut server = socketserver::ForkingTcpServer::new(("", 8000), Echo)?;
    /// // SAFETY: the only other thread sleeps and never takes a lock.
    /// server.allow_fork_with_threads(unsafe { ThreadsHoldNoLocks::promise() });
    /// # Ok::<(), socketserver::Error>(())
    /// ```
    pub fn allow_fork_with_threads(&mut self, promise: ThreadsHoldNoLocks) {
        let _ = promise;
        self.allow_threads = true;
    }

    /// Python's `active_children`: the pids of the children not yet reaped.
    pub fn active_children(&self) -> Vec<i32> {
        lock(&self.active_children).clone()
    }

    /// Python's `collect_children(blocking=False)`: waits while `max_children` or more
    /// children are alive, then reaps every child that has exited (all of them, waiting,
    /// when `blocking`).
    pub fn collect_children(&self, blocking: bool) {
        let mut children = lock(&self.active_children);
        while !children.is_empty() && children.len() >= self.max_children {
            match sys::waitpid(-1, false) {
                Ok(Some(pid)) => children.retain(|&p| p != pid),
                Ok(None) => break,
                Err(e) if sys::is_no_child(&e) => children.clear(),
                Err(_) => break,
            }
        }
        let pids = children.clone();
        for pid in pids {
            match sys::waitpid(pid, !blocking) {
                Ok(Some(reaped)) => children.retain(|&p| p != reaped),
                Ok(None) => {}
                Err(e) if sys::is_no_child(&e) => children.retain(|&p| p != pid),
                Err(_) => {}
            }
        }
    }

    fn check_single_threaded(&self) -> Result<()> {
        if self.allow_threads {
            return Ok(());
        }
        match sys::thread_count() {
            Ok(1) => Ok(()),
            Ok(threads) => Err(Error::ForkWithThreads { threads }),
            Err(_) => Err(Error::ForkWithThreads { threads: 0 }),
        }
    }
}

impl<S> From<S> for ForkingMixIn<S> {
    /// Wraps an existing server.
    fn from(server: S) -> Self {
        ForkingMixIn {
            server,
            max_children: MAX_CHILDREN,
            timeout: Some(FORKING_TIMEOUT),
            block_on_close: true,
            active_children: Mutex::new(Vec::new()),
            allow_threads: false,
        }
    }
}

impl<S: BaseServer> BaseServer for ForkingMixIn<S> {
    type Request = S::Request;

    crate::delegate_base_server!(server; core, fileno, get_request, finish_request,
        server_activate, socket_timeout, verify_request, shutdown_request, close_request,
        handle_error);

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Reaps children (Python: `collect_children()`).
    fn handle_timeout(&self) {
        self.server.handle_timeout();
        self.collect_children(false);
    }

    /// Reaps children (Python: `collect_children()`).
    fn service_actions(&self) {
        self.server.service_actions();
        self.collect_children(false);
    }

    /// Forks. The parent records the child and closes its copy of the connection; the
    /// child runs `finish_request` and `shutdown_request` and leaves with `_exit` —
    /// status 0, or 1 after `handle_error` if the handler failed.
    fn process_request(
        &self,
        request: S::Request,
        client_address: Address,
        this: &OuterServer<S::Request>,
    ) {
        let forked = self.check_single_threaded().and_then(|()| Ok(sys::fork()?));
        match forked {
            Err(e) => {
                this.handle_error(&request, &client_address, &e);
                this.shutdown_request(request);
            }
            Ok(Some(pid)) => {
                lock(&self.active_children).push(pid);
                this.close_request(request);
            }
            Ok(None) => {
                let status = catch_unwind(AssertUnwindSafe(|| {
                    let status = match this.finish_request(&request, &client_address) {
                        Ok(()) => 0,
                        Err(e) => {
                            this.handle_error(&request, &client_address, &e);
                            1
                        }
                    };
                    this.shutdown_request(request);
                    status
                }))
                .unwrap_or(1);
                let _ = std::io::stdout().flush();
                let _ = std::io::stderr().flush();
                sys::exit_now(status);
            }
        }
    }

    /// Closes the server, then reaps the children — waiting for all of them with
    /// `block_on_close`.
    /// Waits for the children until `deadline`, then sends each one left `SIGTERM` and
    /// reaps it.
    fn drain(&self, deadline: std::time::Instant) -> bool {
        self.server.drain(deadline);
        if crate::server::graceful::wait_until(deadline, || {
            self.collect_children(false);
            lock(&self.active_children).is_empty()
        }) {
            return true;
        }
        for &pid in lock(&self.active_children).iter() {
            sys::terminate(pid);
        }
        self.collect_children(true);
        false
    }

    fn server_close(&self) {
        self.server.server_close();
        self.collect_children(self.block_on_close);
    }
}

super::mix_in!(ForkingMixIn);

impl<S: fmt::Debug> fmt::Debug for ForkingMixIn<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForkingMixIn")
            .field("server", &self.server)
            .field("max_children", &self.max_children)
            .field("timeout", &self.timeout)
            .field("block_on_close", &self.block_on_close)
            .field("active_children", &self.active_children())
            .finish()
    }
}
