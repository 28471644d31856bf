//! PyMOTW's threaded HTTP server: `class ThreadedHTTPServer(ThreadingMixIn, HTTPServer)`,
//! whose handler answers with the name of the thread that served it.
//!
//! ```text
//! cargo run --example pymotw_threading -- 8080
//! curl http://localhost:8080/      # Thread-1 (process_request_thread)
//! ```
use std::io::Write;
use std::sync::Arc;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::{BaseServer, ThreadingMixIn};

/// Python: `class Handler(BaseHTTPRequestHandler)`.
struct Handler;

impl BaseHttpRequestHandler for Handler {
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        h.send_response(200)?;
        h.end_headers()?;
        let message = std::thread::current().name().unwrap_or("").to_owned();
        h.wfile.write_all(message.as_bytes())?;
        h.wfile.write_all(b"\n")?;
        Ok(())
    }
}

/// Python: `class ThreadedHTTPServer(ThreadingMixIn, HTTPServer)`.
type ThreadedHttpServer = ThreadingMixIn<HttpServer<Handler>>;

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = ThreadedHttpServer::new(("localhost", port), Handler)?;
    println!(
        "Starting server on port {}, use <Ctrl-C> to stop",
        server.server_port
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
