//! The blog post's custom loop: instead of `serve_forever`, call `handle_request` while
//! `keep_running()` says so — here, for a given number of requests.
//!
//! ```text
//! cargo run --example handle_request_loop -- 8000 3
//! ```
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use socketserver::{BaseServer, StreamRequest, StreamRequestHandler, TcpServer};

/// Answers each connection with its number.
struct Numbered(AtomicUsize);

impl StreamRequestHandler for Numbered {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        writeln!(req.wfile, "request {n}")?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(8000);
    let requests: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let httpd = Arc::new(TcpServer::new(("", port), Numbered(AtomicUsize::new(0)))?);
    println!("Serving on 0.0.0.0 port {}", httpd.server_address.port());
    let keep_running = || httpd.handler().0.load(Ordering::SeqCst) < requests;
    while keep_running() {
        httpd.handle_request()?;
    }
    httpd.server_close();
    println!("handled {requests} requests");
    Ok(())
}
