//! The two multi-connection servers the HTTP, static-file and FastCGI suites run
//! against: `ThreadingMixIn` (a thread per connection) and `ThreadPoolMixIn` (workers
//! waiting for readiness, idle connections parked). A test written once with
//! [`each_kind!`](crate::each_kind) runs on both, as `name::threading` and `name::pool`.

use std::any::Any;

use socketserver::http::HttpServer;
use socketserver::{BaseServer, Connection, ThreadPoolMixIn, ThreadingMixIn};

use super::Running;

/// Which server a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ThreadingMixIn`: Python's `ThreadingHTTPServer`, `ThreadingUnixStreamServer`.
    Threading,
    /// `ThreadPoolMixIn`, with its defaults.
    Pool,
}

impl Kind {
    /// `--pool` for examples that take it, nothing for the threading server.
    pub fn example_args(self) -> &'static [&'static str] {
        match self {
            Kind::Threading => &[],
            Kind::Pool => &["--pool"],
        }
    }
}

/// A server of either kind, serving on a thread of its own; dropping it shuts the
/// server down and closes it.
pub struct Served {
    _running: Box<dyn Any>,
}

/// Serves `server` wrapped in the mix-in of `kind` (Python's `ThreadingMixIn`, as in
/// `ThreadingUnixStreamServer`, or `ThreadPoolMixIn` with its defaults).
pub fn serve<S>(kind: Kind, server: S) -> Served
where
    S: BaseServer<Request = Connection> + 'static,
{
    start(kind, server, false)
}

/// [`serve`] for an `HttpServer`: the threading kind is `ThreadingHttpServer`'s, with
/// `daemon_threads` on.
pub fn serve_http<H: Send + Sync + 'static>(kind: Kind, server: HttpServer<H>) -> Served
where
    HttpServer<H>: BaseServer<Request = Connection>,
{
    start(kind, server, true)
}

fn start<S>(kind: Kind, server: S, daemon_threads: bool) -> Served
where
    S: BaseServer<Request = Connection> + 'static,
{
    let running: Box<dyn Any> = match kind {
        Kind::Threading => {
            let mut server = ThreadingMixIn::from(server);
            server.daemon_threads = daemon_threads;
            Box::new(Running::start(server))
        }
        Kind::Pool => Box::new(Running::start(ThreadPoolMixIn::from(server))),
    };
    Served { _running: running }
}

/// Writes a test once for both kinds: each `fn name(kind) { body }` becomes a module
/// `name` with the tests `threading` and `pool`, each running `body` with `kind` set.
/// Attributes (doc comments, `#[ignore]`) go to both.
#[macro_export]
macro_rules! each_kind {
    ($($(#[$meta:meta])* fn $name:ident($kind:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($kind: $crate::common::kind::Kind) $body

            $(#[$meta])*
            #[test]
            fn threading() {
                body($crate::common::kind::Kind::Threading)
            }

            $(#[$meta])*
            #[test]
            fn pool() {
                body($crate::common::kind::Kind::Pool)
            }
        }
    )*};
}
