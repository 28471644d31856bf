//! An echo server that handles every connection in its own thread
//! (Python: `socketserver.ThreadingTCPServer` with a `StreamRequestHandler`).
//!
//! ```text
//! cargo run --example echo_threading -- 9999
//! ```
use std::io::{BufRead, Write};
use std::sync::Arc;

use socketserver::{BaseServer, StreamRequest, StreamRequestHandler, ThreadingTcpServer};

/// Sends every line back until the client hangs up.
struct Echo;

impl StreamRequestHandler for Echo {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let mut line = Vec::new();
        while req.rfile.read_until(b'\n', &mut line)? > 0 {
            req.wfile.write_all(&line)?;
            line.clear();
        }
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9999);
    let mut server = ThreadingTcpServer::new(("127.0.0.1", port), Echo)?;
    server.daemon_threads = true;
    println!("Serving on 127.0.0.1 port {}", server.server_address.port());
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
