//! FastCGI: fast.ai's `fastcgi` package — a Responder that runs behind nginx (or
//! Apache, lighttpd, `cgi-fcgi`) — on this crate's servers, without its bugs.
//!
//! A FastCGI application is a server the *web server* connects to: nginx turns each
//! HTTP request into FastCGI records (the CGI environment as PARAMS, the body as
//! STDIN) on a unix socket or a TCP connection, and your handler answers with a CGI
//! response (headers, blank line, body) as STDOUT.
//!
//! ```no_run
//! use socketserver::fcgi::{FcgiHandler, FcgiRequest};
//! use socketserver::{BaseServer, ThreadingUnixStreamServer};
//! use std::sync::Arc;
//!
//! struct Hello;
//!
//! impl FcgiHandler for Hello {
//!     fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
//!         let who = req.params.get("QUERY_STRING").unwrap_or("");
//!         let body = format!("Hello, {who}!\n");
//!         req.send(
//!             format!("Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
//!             false,
//!         )?;
//!         Ok(())
//!     }
//! }
//!
//! socketserver::fcgi::remove_stale_socket("/tmp/hello.sock")?;
//! let server = Arc::new(ThreadingUnixStreamServer::new("/tmp/hello.sock", Hello)?);
//! server.serve_forever(socketserver::POLL_INTERVAL)?;
//! # Ok::<(), socketserver::Error>(())
//! ```
//!
//! and in nginx:
//!
//! ```nginx
//! location / {
//!     include fastcgi_params;
//!     fastcgi_pass unix:/tmp/hello.sock;
//! }
//! ```
//!
//! For many small requests, keep the connections open — each handler call then
//! serves request after request on its connection:
//!
//! ```nginx
//! upstream app { server unix:/tmp/hello.sock; keepalive 16; }
//! location / { include fastcgi_params; fastcgi_keep_conn on; fastcgi_pass app; }
//! ```
//!
//! # fast.ai's names
//!
//! | fast.ai `fastcgi` | here |
//! |---|---|
//! | `Request`, `Role`, `Status` (enums) | [`Request`], [`Role`], [`Status`] — with the spec's values (`Status.REQUEST_COMPLETE` is 0) |
//! | `pack_rec`, `unpack_rec`, `unpack_content`, `_param_sz`, `_params` | [`record::pack_rec`], [`record::unpack_rec`], [`record::unpack_content`], [`record::unpack_len`], [`record::unpack_pairs`] / [`record::PairDecoder`] |
//! | `class FcgiHandler(BaseRequestHandler)` with `handle` | trait [`FcgiHandler`] with `handle(&self, req)` |
//! | `self.params`, `self.stdin`, `self['stdin']`, `self.length` | [`FcgiRequest::params`], [`FcgiRequest::read_stdin`], [`FcgiRequest::stdin`], [`FcgiRequest::length`] |
//! | `self.send(c, err=False)` | [`FcgiRequest::send`] |
//! | `@fastcgi('sock')` | [`fastcgi`]`("path/or/host:port", closure)` |
//!
//! Every defect of the original that `docs/fastcgi.md` lists is fixed here, each with
//! the test that shows it: `CONTENT_LENGTH` may be empty or absent (the body ends at the
//! empty STDIN record), records may be split across reads, lengths of 128 bytes and more
//! use the 4-byte form, `FCGI_KEEP_CONN` is honoured, END_REQUEST carries
//! `FCGI_REQUEST_COMPLETE` (0) and the request's own id, output streams instead of
//! waiting for the end, and a web server that hangs up costs only its connection.
//!
//! # Servers
//!
//! [`FcgiHandler`] works with every stream server and mix-in of the crate:
//! `UnixStreamServer`, `TcpServer`, `ThreadingUnixStreamServer`, `ThreadingTcpServer`,
//! `ForkingUnixStreamServer`, `ThreadPoolUnixStreamServer`. On the bounded pool
//! ([`ThreadPoolMixIn`](crate::ThreadPoolMixIn)) an idle kept-open connection is
//! [parked](crate::server::park) — no worker, no thread — as soon as new connections
//! wait for a worker, so nginx's kept connections cannot starve new ones (flup's pool
//! can: nginx answers 504). [`fastcgi`] and the examples listen with a backlog of
//! [`BACKLOG`] (1024): nginx opens connections in bursts.

mod conn;
mod handler;
mod params;
pub mod record;
mod serve;

pub use handler::{FcgiHandler, FcgiRequest, Stderr, Stdin, Stdout, MAX_CONNS, MAX_STDIN_SIZE};
pub use params::{Params, ParamsIter};
pub use record::{Header, ProtocolError, Request, Role, Status};
pub use serve::{fastcgi, fastcgi_server, remove_stale_socket, FastcgiServer, FnHandler, BACKLOG};
