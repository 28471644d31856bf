//! fast.ai's `MinimalHTTPHandler` test: a `ReuseThreadingServer` handles one request;
//! the handler prints the command, path, version and headers, and answers `ok`.
//!
//! ```text
//! cargo run --example fastai_minimal -- 8000 &
//! curl http://localhost:8000/     # ok
//! ```
use std::io::Write;

use socketserver::http::{MinimalHttpHandler, MinimalHttpRequest};
use socketserver::{BaseServer, ReuseThreadingServer, ServerGuard};

/// The notebook's `_TestHandler(MinimalHTTPHandler)`.
struct TestHandler;

impl MinimalHttpHandler for TestHandler {
    fn handle(&self, req: &mut MinimalHttpRequest) -> socketserver::Result<()> {
        println!(
            "Command/path/version: {} {} {}",
            req.command, req.path, req.request_version
        );
        println!("{}", req.headers);
        req.send_response(200)?;
        req.send_header("Content-Type", "text/plain")?;
        req.send_header("Content-Length", "2")?;
        req.end_headers()?;
        req.wfile.write_all(b"ok")?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let httpd = ServerGuard::new(ReuseThreadingServer::new(("localhost", port), TestHandler)?);
    println!("Serving on localhost port {}", httpd.server_address.port());
    httpd.handle_request()
}
