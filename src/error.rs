//! The crate's error type.

use std::io;

/// Everything that can go wrong in a server or a handler.
///
/// Handlers return `Result<(), Error>`; `?` converts an [`io::Error`] into
/// [`Error::Io`]. Whatever a handler returns (or a panic it raises) reaches
/// [`BaseServer::handle_error`](crate::BaseServer::handle_error), and the server keeps
/// serving, as Python's does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a socket or a file.
    #[error(transparent)]
    Io(#[from] io::Error),

    /// The server could not bind its address (Python's `OSError` from `server_bind`).
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address as it was asked for.
        address: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// A handler panicked. The panic was caught where `finish_request` was called; the
    /// connection was closed and the server went on serving.
    #[error("the request handler panicked: {0}")]
    Panic(String),

    /// `ForkingMixIn` refused to fork because the process has more than one thread.
    ///
    /// A child forked from a multi-threaded process may find a lock (the allocator's, a
    /// `Mutex`) held forever by a thread that does not exist in the child. Serve from a
    /// single-threaded process, or see
    /// [`ForkingMixIn::allow_fork_with_threads`](crate::ForkingMixIn::allow_fork_with_threads).
    #[error(
        "refusing to fork: this process has {threads} threads, and a forked child of a \
         multi-threaded process may deadlock (serve from a single-threaded process)"
    )]
    ForkWithThreads {
        /// How many threads the process had.
        threads: usize,
    },

    /// An operation needed the server's socket after `server_close()`.
    #[error("the server socket is closed")]
    Closed,

    /// A handler error that carries an HTTP status: fast.ai's `HandlerException(code, err)`.
    #[error("{code} {message}")]
    #[doc(alias = "HandlerException")]
    Http {
        /// The HTTP status code to answer with.
        code: u16,
        /// What went wrong (may be empty).
        message: String,
    },
}

impl Error {
    /// fast.ai's `HandlerException(code, err)`.
    ///
    /// ```
    /// let e = socketserver::Error::handler(414, "");
    /// assert_eq!(e.to_string(), "414 ");
    /// ```
    #[doc(alias = "HandlerException")]
    pub fn handler(code: u16, message: impl Into<String>) -> Error {
        Error::Http {
            code,
            message: message.into(),
        }
    }

    /// Builds [`Error::Panic`] from what `catch_unwind` returned.
    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Error {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a non-string panic payload".to_owned()
        };
        Error::Panic(msg)
    }

    /// True when this is a read or write timeout on the connection.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

/// `Result<T, socketserver::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
