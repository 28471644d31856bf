//! FastCGI "Hello, world!" on a unix socket: what the benchmark runs behind nginx.
//!
//! Every request gets `Status: 200`, `Content-Length: 13` and `Hello, world!`. When
//! nginx sets `FCGI_KEEP_CONN` (`fastcgi_keep_conn on` with an upstream `keepalive`),
//! the connection serves request after request. Served by a
//! [`ThreadPoolUnixStreamServer`]: its workers wait for readiness of every connection, and
//! a kept connection between requests is parked, holding no worker. Listens with a
//! backlog of 1024; runs until SIGTERM.
//!
//! ```text
//! cargo run --release --example fcgi_hello -- /tmp/fcgi_hello.sock
//! cgi-fcgi -bind -connect /tmp/fcgi_hello.sock
//! ```
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use socketserver::fcgi::{remove_stale_socket, FcgiHandler, FcgiRequest};
use socketserver::{BaseServer, ThreadPoolUnixStreamServer};

/// The whole response, headers and body: one STDOUT record.
const RESPONSE: &[u8] =
    b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

struct Hello;

impl FcgiHandler for Hello {
    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        req.send(RESPONSE, false)?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/fcgi_hello.sock".into());
    // A socket file left by a killed run is removed; a live server's is not.
    remove_stale_socket(&path)?;
    let mut server = ThreadPoolUnixStreamServer::unbound(&path, Hello)?;
    // nginx opens connections in bursts; a full accept queue on a unix socket is an
    // immediate 502.
    server.request_queue_size = socketserver::fcgi::BACKLOG;
    server.server_bind()?;
    server.server_activate()?;
    // nginx's workers may run as another user: let them connect.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
    println!("Serving FastCGI on {path}");
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
