//! An echo server that handles every connection in a child process
//! (Python: `socketserver.ForkingTCPServer`). Each answer line starts with the pid of
//! the child that served it.
//!
//! The server must run on the main thread of a process that started no other threads:
//! `ForkingMixIn` refuses to fork otherwise.
//!
//! ```text
//! cargo run --example echo_forking -- 9998
//! ```
use std::io::{BufRead, Write};
use std::sync::Arc;

use socketserver::{BaseServer, ForkingTcpServer, StreamRequest, StreamRequestHandler};

/// Sends every line back, prefixed with this process's pid.
struct Echo;

impl StreamRequestHandler for Echo {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let pid = std::process::id();
        let mut line = Vec::new();
        while req.rfile.read_until(b'\n', &mut line)? > 0 {
            write!(req.wfile, "{pid} ")?;
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
        .unwrap_or(9998);
    let server = ForkingTcpServer::new(("127.0.0.1", port), Echo)?;
    println!(
        "Serving on 127.0.0.1 port {} (pid {})",
        server.server_address.port(),
        std::process::id()
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
