//! Python's `socketserver` and `http.server`, in Rust: the same classes, hooks and
//! bytes on the wire.
//!
//! A server listens on an address and, for every request, runs a *handler* you write —
//! exactly as in Python, where you pass a `BaseRequestHandler` subclass to a
//! `TCPServer`. Mix-ins add threads, processes or a bounded pool.
//!
//! ```no_run
//! use socketserver::{BaseServer, StreamRequest, StreamRequestHandler, ThreadingTcpServer};
//! use std::io::{BufRead, Write};
//! use std::sync::Arc;
//!
//! /// Echoes every line back (Python: a StreamRequestHandler subclass).
//! struct Echo;
//!
//! impl StreamRequestHandler for Echo {
//!     fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
//!         let mut line = Vec::new();
//!         while req.rfile.read_until(b'\n', &mut line)? > 0 {
//!             req.wfile.write_all(&line)?;
//!             line.clear();
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let server = Arc::new(ThreadingTcpServer::new(("", 9999), Echo)?);
//! server.serve_forever(socketserver::POLL_INTERVAL)?;
//! # Ok::<(), socketserver::Error>(())
//! ```
//!
//! # Python's names
//!
//! Every name in Python's `socketserver.__all__` has a counterpart:
//!
//! | Python `socketserver` | This crate |
//! |---|---|
//! | `BaseServer` | trait [`BaseServer`] |
//! | `TCPServer`, `UDPServer` | [`TcpServer<H>`], [`UdpServer<H>`] |
//! | `UnixStreamServer`, `UnixDatagramServer` | [`UnixStreamServer<H>`], [`UnixDatagramServer<H>`] |
//! | `ThreadingMixIn`, `ForkingMixIn` | [`ThreadingMixIn<S>`], [`ForkingMixIn<S>`] (generic wrappers) |
//! | `ThreadingTCPServer`, `ThreadingUDPServer` | [`ThreadingTcpServer<H>`], [`ThreadingUdpServer<H>`] |
//! | `ForkingTCPServer`, `ForkingUDPServer` | [`ForkingTcpServer<H>`], [`ForkingUdpServer<H>`] |
//! | `ThreadingUnixStreamServer`, `ThreadingUnixDatagramServer` | [`ThreadingUnixStreamServer<H>`], [`ThreadingUnixDatagramServer<H>`] |
//! | `ForkingUnixStreamServer`, `ForkingUnixDatagramServer` | [`ForkingUnixStreamServer<H>`], [`ForkingUnixDatagramServer<H>`] |
//! | `BaseRequestHandler` | trait [`BaseRequestHandler`] |
//! | `StreamRequestHandler` | trait [`StreamRequestHandler`] |
//! | `DatagramRequestHandler` | trait [`DatagramRequestHandler`] |
//! | (fast.ai) `ReuseThreadingServer` | [`ReuseThreadingServer<H>`] |
//! | (none) | [`ThreadPoolMixIn<S>`]: a bounded pool with back-pressure |
//!
//! Methods keep Python's names: `serve_forever`, `handle_request`, `shutdown`,
//! `server_close`, `verify_request`, `process_request`, `finish_request`, …
//!
//! # Python's `self`, split in two
//!
//! Python builds one handler object per request. Here your handler *type* plays the
//! class — one value, given to the server, shared by every request as `&self` (its
//! fields are Python's class attributes, `functools.partial` arguments and the state
//! Python code hangs on the server) — and a fresh *request value* (`req`) plays the
//! instance: `req.rfile`, `req.wfile`, `req.client_address`, `req.server`. See
//! [`handler`] for the details, and [`BaseServer`] for the server's side.
//!
//! # Where this crate differs from Python
//!
//! On purpose, and listed with reasons in `docs/python-differences.md`: `shutdown()`
//! wakes `serve_forever` at once; the listen backlog defaults to 128 instead of 5;
//! `ForkingMixIn` refuses to fork a multi-threaded process; handler panics are caught
//! and reported like exceptions.
//!
//! # Platforms
//!
//! Linux and macOS (anything Unix). Windows is not supported.

#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unsafe_code
)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(unix))]
compile_error!("socketserver supports Unix platforms (Linux, macOS) only");

#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;
mod address;
mod error;
pub mod fcgi;
pub mod handler;
pub mod http;
mod logging;
pub mod mixin;
pub mod server;
mod socket;
mod sys;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;

pub use address::{Address, AddressFamily, InetAddress};
pub use error::{Error, Result};
pub use fcgi::{FcgiHandler, FcgiRequest};
pub use handler::{
    BaseRequest, BaseRequestHandler, DatagramRequest, DatagramRequestHandler, SocketWriter,
    StreamRequest, StreamRequestHandler,
};
pub use http::{
    BaseHttpRequestHandler, CgiHttpRequestHandler, HttpRequest, HttpServer, MinimalHttpHandler,
    MinimalHttpRequest, SimpleHttpRequestHandler, ThreadPoolHttpServer, ThreadingHttpServer,
};
pub use mixin::{
    ForkingMixIn, ForkingTcpServer, ForkingUdpServer, ForkingUnixDatagramServer,
    ForkingUnixStreamServer, ReuseThreadingServer, ThreadPoolMixIn, ThreadPoolTcpServer,
    ThreadPoolUnixStreamServer, ThreadingMixIn, ThreadingTcpServer, ThreadingUdpServer,
    ThreadingUnixDatagramServer, ThreadingUnixStreamServer,
};
pub use server::{
    BaseServer, DatagramServer, ServerGuard, ServerRef, ShutdownHandle, StreamServer, TcpServer,
    UdpServer, UnixDatagramServer, UnixStreamServer, POLL_INTERVAL,
};
pub use socket::{Connection, ConnectionReader, Datagram, DatagramSocket, RequestSocket};

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
