//! Stopping a server on Ctrl-C or `kill`: what Python's `KeyboardInterrupt` gives a
//! `serve_forever` loop for free.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use super::ShutdownHandle;
use crate::sys::SignalSet;

/// `SIGINT` (Ctrl-C).
pub const SIGINT: i32 = libc::SIGINT;
/// `SIGTERM` (`kill`).
pub const SIGTERM: i32 = libc::SIGTERM;

/// Which signal stopped the server, once one has; see [`shutdown_on_signals`].
#[derive(Clone, Debug, Default)]
pub struct SignalWatch(Arc<AtomicI32>);

impl SignalWatch {
    /// The signal that arrived (`SIGINT`, `SIGTERM`), or `None`.
    pub fn received(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }
}

/// Makes SIGINT and SIGTERM stop the server: `serve_forever` returns, and the program
/// can print Python's `Keyboard interrupt received, exiting.` and close the server.
///
/// Call it from `main` **before starting any other thread** (the signals are blocked in
/// the calling thread and the threads it starts, and taken by one watcher thread). Not
/// for a forking server: the watcher thread would make `ForkingMixIn` refuse to fork.
///
/// ```no_run
/// use socketserver::server::{shutdown_on_signals, SIGINT};
/// use socketserver::{BaseServer, ThreadingTcpServer};
/// # struct Echo; impl socketserver::StreamRequestHandler for Echo {
/// #   fn handle(&self, _: &mut socketserver::StreamRequest) -> socketserver::Result<()> { Ok(()) } }
/// let server = std::sync::Arc::new(ThreadingTcpServer::new(("", 8000), Echo)?);
/// let watch = shutdown_on_signals(server.shutdown_handle())?;
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// if watch.received() == Some(SIGINT) {
///     println!("\nKeyboard interrupt received, exiting.");
/// }
/// server.server_close();
/// # Ok::<(), socketserver::Error>(())
/// ```
pub fn shutdown_on_signals(handle: ShutdownHandle) -> io::Result<SignalWatch> {
    let set = SignalSet::block(&[SIGINT, SIGTERM])?;
    let watch = SignalWatch::default();
    let seen = watch.0.clone();
    std::thread::Builder::new()
        .name("signal-watch".into())
        .spawn(move || {
            if let Ok(sig) = set.wait() {
                seen.store(sig, Ordering::SeqCst);
                handle.shutdown_nowait();
            }
        })?;
    Ok(watch)
}
