//! PyMOTW's `BaseHTTPServer_GET.py`: a GET handler that answers with the values the
//! handler and the server expose.
//!
//! ```text
//! cargo run --example pymotw_get -- 8080
//! curl -i 'http://localhost:8080/?foo=bar'
//! ```
use std::io::Write;
use std::sync::Arc;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::BaseServer;

/// Python: `class GetHandler(BaseHTTPRequestHandler)`.
struct GetHandler;

impl BaseHttpRequestHandler for GetHandler {
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let (real_path, query) = h.path_and_query();
        let message = [
            "CLIENT VALUES:".to_owned(),
            format!(
                "client_address={} ({})",
                h.client_address.repr(),
                h.address_string()
            ),
            format!("command={}", h.command),
            format!("path={}", h.path),
            format!("real path={real_path}"),
            format!("query={query}"),
            format!("request_version={}", h.request_version),
            String::new(),
            "SERVER VALUES:".to_owned(),
            format!("server_version={}", h.server_version),
            format!("sys_version={}", h.sys_version),
            format!("protocol_version={}", h.protocol_version),
            String::new(),
        ]
        .join("\n");
        h.send_response(200)?;
        h.end_headers()?;
        h.wfile.write_all(message.as_bytes())?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(("localhost", port), GetHandler)?;
    println!(
        "Starting server on port {}, use <Ctrl-C> to stop",
        server.server_port
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
