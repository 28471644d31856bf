//! PyMOTW's `ErrorHandler`: every GET is answered with `send_error(404)`.
//!
//! ```text
//! cargo run --example pymotw_error -- 8080
//! curl -i http://localhost:8080/
//! ```
use std::sync::Arc;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::BaseServer;

/// Python: `class ErrorHandler(BaseHTTPRequestHandler)`.
struct ErrorHandler;

impl BaseHttpRequestHandler for ErrorHandler {
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        h.send_error(404)
    }
}

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(("localhost", port), ErrorHandler)?;
    println!(
        "Starting server on port {}, use <Ctrl-C> to stop",
        server.server_port
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
