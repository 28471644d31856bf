//! PyMOTW's forking variant: `ForkingMixIn` in place of `ThreadingMixIn`. Each request is
//! handled in a child process, which answers with its pid.
//!
//! ```text
//! cargo run --example pymotw_forking -- 8080
//! curl http://localhost:8080/
//! ```
use std::io::Write;
use std::sync::Arc;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::{BaseServer, ForkingMixIn};

/// Answers with the pid of the process that served the request.
struct Handler;

impl BaseHttpRequestHandler for Handler {
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        h.send_response(200)?;
        h.end_headers()?;
        writeln!(h.wfile, "pid {}", std::process::id())?;
        Ok(())
    }
}

/// Python: `class ForkingHTTPServer(ForkingMixIn, HTTPServer)`.
type ForkingHttpServer = ForkingMixIn<HttpServer<Handler>>;

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = ForkingHttpServer::new(("localhost", port), Handler)?;
    println!(
        "Starting server on port {} (pid {}), use <Ctrl-C> to stop",
        server.server_port,
        std::process::id()
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
