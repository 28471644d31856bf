//! A UDP echo server (Python: `socketserver.UDPServer` with a `DatagramRequestHandler`).
//!
//! ```text
//! cargo run --example echo_udp -- 9997
//! echo hello | nc -u -w1 127.0.0.1 9997
//! ```
use std::io::{Read, Write};
use std::sync::Arc;

use socketserver::{BaseServer, DatagramRequest, DatagramRequestHandler, UdpServer};

/// Sends the datagram back.
struct Echo;

impl DatagramRequestHandler for Echo {
    fn handle(&self, req: &mut DatagramRequest) -> socketserver::Result<()> {
        let mut data = Vec::new();
        req.rfile.read_to_end(&mut data)?;
        req.wfile.write_all(&data)?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9997);
    let server = UdpServer::new(("127.0.0.1", port), Echo)?;
    println!(
        "Serving UDP on 127.0.0.1 port {}",
        server.server_address.port()
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
