//! An echo server on a unix socket (Python: `socketserver.ThreadingUnixStreamServer`).
//! The socket file is removed when the server closes.
//!
//! ```text
//! cargo run --example echo_unix -- /tmp/echo.sock
//! echo hello | nc -U /tmp/echo.sock
//! ```
use std::io::{BufRead, Write};

use socketserver::{
    BaseServer, ServerGuard, StreamRequest, StreamRequestHandler, ThreadingUnixStreamServer,
};

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
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/echo.sock".into());
    let server = ServerGuard::new(ThreadingUnixStreamServer::new(&path, Echo)?);
    println!("Serving on {path}");
    server.serve_forever(socketserver::POLL_INTERVAL)
}
