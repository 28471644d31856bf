//! The blog post's server: a handler with `do_GET`, `do_HEAD` and `do_POST`, run either
//! with `serve_forever` (`run()`) or with a `while keep_running(): handle_request()` loop
//! (`run_while_true()`).
//!
//! ```text
//! cargo run --example blog_server -- 8000            # serve_forever
//! cargo run --example blog_server -- 8000 --requests 3   # handle_request 3 times
//! ```
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::BaseServer;

/// Python: `class S(BaseHTTPRequestHandler)`. Counts the requests it answered.
struct S {
    answered: AtomicUsize,
}

impl S {
    fn set_headers(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        self.answered.fetch_add(1, Ordering::SeqCst);
        h.send_response(200)?;
        h.send_header("Content-type", "text/html")?;
        h.end_headers()
    }
}

impl BaseHttpRequestHandler for S {
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        self.set_headers(h)?;
        h.wfile
            .write_all(b"<html><body><h1>hi!</h1></body></html>")?;
        Ok(())
    }

    fn do_head(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        self.set_headers(h)
    }

    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        // Doesn't do anything with posted data
        self.set_headers(h)?;
        h.wfile
            .write_all(b"<html><body><h1>POST!</h1></body></html>")?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args.first().and_then(|p| p.parse().ok()).unwrap_or(8000);
    let requests: Option<usize> = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    let httpd = Arc::new(HttpServer::new(
        ("", port),
        S {
            answered: AtomicUsize::new(0),
        },
    )?);
    println!("Serving HTTP on 0.0.0.0 port {}", httpd.server_port);
    match requests {
        None => httpd.serve_forever(socketserver::POLL_INTERVAL),
        Some(n) => {
            let keep_running = || httpd.handler().answered.load(Ordering::SeqCst) < n;
            while keep_running() {
                httpd.handle_request()?;
            }
            println!("answered {n} requests");
            Ok(())
        }
    }
}
