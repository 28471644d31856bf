//! The benchmark's hello server written the way a Python user ports it: a plain
//! `ThreadingHttpServer` and a `BaseHttpRequestHandler` with `do_get` (DESIGN.md §5).
//!
//! ```text
//! cargo run --release --example hello_threading -- 8081
//! ```
use std::io::Write;
use std::sync::Arc;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest, ThreadingHttpServer};
use socketserver::BaseServer;

/// Python: `class Hello(BaseHTTPRequestHandler): protocol_version = "HTTP/1.1"`.
struct Hello;

impl BaseHttpRequestHandler for Hello {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }

    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}

    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        h.send_response(200)?;
        h.send_header("Content-Type", "text/plain")?;
        // The same handler as `hello`'s, so that the two differ only in the server.
        h.send_header("Content-Length", "13")?;
        if h.close_connection {
            h.send_header("Connection", "close")?;
        } else if h.request_version == "HTTP/1.0" {
            // An HTTP/1.0 client asked for keep-alive: say it is granted.
            h.send_header("Connection", "keep-alive")?;
        }
        h.end_headers()?;
        h.wfile.write_all(b"Hello, world!")?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8081);
    let server = ThreadingHttpServer::new(("127.0.0.1", port), Hello)?;
    println!("Serving HTTP on 127.0.0.1 port {}", server.server_port);
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
