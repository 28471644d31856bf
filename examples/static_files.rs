//! The benchmark's static file server (DESIGN.md §5): `static_files PORT DIR` serves
//! `DIR/<file>` at `/<file>` on 127.0.0.1, HTTP/1.1 keep-alive, files sent with
//! `sendfile`, no request log, `Connection: close` answered in kind.
//!
//! ```text
//! cargo run --release --example static_files -- 8082 /srv/www
//! ```
use std::sync::Arc;

use socketserver::http::{SimpleHttpRequestHandler, ThreadPoolHttpServer};
use socketserver::BaseServer;

fn main() -> socketserver::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(8082);
    let dir = args.next().unwrap_or_else(|| ".".into());
    let mut handler = SimpleHttpRequestHandler::new(dir);
    handler.protocol_version = "HTTP/1.1".into();
    handler.log_requests = false;
    // Answer `Connection: close` with `Connection: close`, so that a client that asked
    // to close does not try a second request on the connection.
    handler.announce_close = true;
    let server = ThreadPoolHttpServer::new(("127.0.0.1", port), handler)?;
    println!("Serving HTTP on 127.0.0.1 port {}", server.server_port);
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
