//! fast.ai's ping/pong exchange: a `ReuseThreadingServer` whose handler reads one line
//! and answers `pong <client ip>`.
//!
//! The notebook serves one request (`with ReuseThreadingServer(...) as srv:
//! srv.handle_request()`); so does this example, unless `--forever` is given.
//!
//! ```text
//! cargo run --example pingpong -- 8000 &
//! printf 'ping\r\n' | nc localhost 8000      # -> pong 127.0.0.1
//! ```
use std::io::{BufRead, Write};

use socketserver::{
    BaseServer, ReuseThreadingServer, ServerGuard, StreamRequest, StreamRequestHandler,
};

/// The notebook's `_TestHandler`.
struct TestHandler;

impl StreamRequestHandler for TestHandler {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let mut line = Vec::new();
        req.rfile.read_until(b'\n', &mut line)?;
        println!("received {}", bytes_repr(&line));
        write!(req.wfile, "pong {}\r\n", req.client_address.host())?;
        Ok(())
    }
}

/// Python's `repr()` of a bytes object, e.g. `b'ping\r\n'`.
fn bytes_repr(data: &[u8]) -> String {
    let mut s = String::from("b'");
    for &b in data {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('\'');
    s
}

fn main() -> socketserver::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args.iter().find_map(|a| a.parse().ok()).unwrap_or(8000);
    let forever = args.iter().any(|a| a == "--forever");
    let srv = ServerGuard::new(ReuseThreadingServer::new(("localhost", port), TestHandler)?);
    println!("Serving on localhost port {}", srv.server_address.port());
    if forever {
        srv.serve_forever(socketserver::POLL_INTERVAL)
    } else {
        srv.handle_request()
    }
}
