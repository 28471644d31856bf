//! A server that stops gracefully on `SIGTERM` or Ctrl-C: it stops accepting, lets the
//! requests in flight finish within a grace period, closes idle kept-alive connections,
//! then exits. `GET /slow?MS` answers after MS milliseconds (to have requests in
//! flight); any other GET answers `Hello, world!`.
//!
//! ```text
//! cargo run --example graceful -- [--threading] [--grace SECS] [PORT]
//! kill -TERM <pid>
//! ```
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use socketserver::http::{
    BaseHttpRequestHandler, HttpRequest, ThreadPoolHttpServer, ThreadingHttpServer,
};
use socketserver::server::graceful;
use socketserver::BaseServer;

struct App;

impl BaseHttpRequestHandler for App {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }

    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let (path, query) = h.path_and_query();
        if path == "/slow" {
            let ms = query.parse().unwrap_or(1000);
            std::thread::sleep(Duration::from_millis(ms));
        }
        h.send_response(200)?;
        h.send_header("Content-Type", "text/plain")?;
        h.send_header("Content-Length", "13")?;
        h.end_headers()?;
        h.wfile.write_all(b"Hello, world!")?;
        Ok(())
    }
}

/// Serves until a signal, then stops gracefully; returns whether every request
/// finished within the grace period.
fn run<S: BaseServer>(server: S, grace: Duration) -> socketserver::Result<bool> {
    let server = Arc::new(server);
    // First, before any other thread: SIGTERM/SIGINT → graceful_shutdown(grace).
    let stopped = graceful::on_signals(&server, grace)?;
    server.serve_forever(socketserver::POLL_INTERVAL)?;
    // serve_forever returned: accepting has stopped; wait for the drain to end.
    let in_time = stopped.wait();
    server.server_close();
    Ok(in_time)
}

fn main() -> socketserver::Result<()> {
    let mut threading = false;
    let mut grace = Duration::from_secs(10);
    let mut port = 8000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threading" => threading = true,
            "--grace" => {
                let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
                grace = Duration::from_secs_f64(secs);
            }
            p => port = p.parse().unwrap_or(8000),
        }
    }
    let in_time = if threading {
        let server = ThreadingHttpServer::new(("127.0.0.1", port), App)?;
        println!(
            "Serving HTTP on 127.0.0.1 port {} (threading)",
            server.server_port
        );
        run(server, grace)?
    } else {
        let server = ThreadPoolHttpServer::new(("127.0.0.1", port), App)?;
        println!(
            "Serving HTTP on 127.0.0.1 port {} (pool)",
            server.server_port
        );
        run(server, grace)?
    };
    if in_time {
        eprintln!("Stopped: every request finished.");
    } else {
        eprintln!("Stopped: the grace period ended; the requests left were cut off.");
    }
    Ok(())
}
