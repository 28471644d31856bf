//! The `pyhttp` package (the seed's API docs): a threaded HTTP server on
//! `localhost:8888` whose handler serves a static file, lists a directory, or runs a CGI
//! script, from a directory that defaults to the current one.
//!
//! ```text
//! cargo run --example pyhttp                      # the current directory on localhost:8888
//! cargo run --example pyhttp -- 8080 examples     # examples/ (with its cgi-bin/) on :8080
//! curl http://localhost:8080/cgi-bin/hello.sh
//! ```
//!
//! pyhttp's classes and where they went:
//!
//! | pyhttp | here |
//! |---|---|
//! | `BaseServer(host='localhost', port=8888, request_handler=BaseHttpRequestHandler)`, `serve_forever()` | `HttpServer::new((host, port), handler)`, `serve_forever` |
//! | `ThreadingMixin` (`process_request` starts a thread, `close()` joins them), `ThreadedServer` | `ThreadingHttpServer` (`ThreadingMixIn<HttpServer>`; `server_close` joins) |
//! | `Request(conn)`: command, path, version, headers | `HttpRequest`: `h.command`, `h.path`, `h.request_version`, `h.headers` |
//! | `BaseHttpRequestHandler(conn, addr, server, directory=None)`, `handle()` | `PyHttpHandler` (its `directory` defaults to the current directory); `do_get`/`do_head`/`do_post` |
//! | `get_path(path)`: the absolute path, no `.`/`..` | `SimpleHttpRequestHandler::translate_path` (`.` and `..` are dropped) |
//! | `list_dir(path)`: the listing's HTML | `SimpleHttpRequestHandler::list_directory` |
//! | `do_file(path)`: the file, or run it as CGI | `PyHttpHandler::do_file` |
//! | `run_cgi(path)`: the script's output into the response | `PyHttpHandler::run_cgi` (`CgiHttpRequestHandler::run_cgi`) |
//! | `SocketWriter(sock)`: `write(b)` unbuffered, `close()` | `h.wfile` (`SocketWriter`: each write sent at once) |
//!
//! pyhttp does not say which files are scripts; this port runs those under `/cgi-bin`
//! and `/htbin`, as Python's `CGIHTTPRequestHandler` does.
use std::path::PathBuf;
use std::sync::Arc;

use socketserver::http::{
    BaseHttpRequestHandler, CgiHttpRequestHandler, HttpRequest, ThreadingHttpServer,
};
use socketserver::server::shutdown_on_signals;
use socketserver::BaseServer;

/// pyhttp's `BaseHttpRequestHandler`: its own names over the crate's CGI handler.
struct PyHttpHandler {
    cgi: CgiHttpRequestHandler,
}

impl PyHttpHandler {
    /// pyhttp's `BaseHttpRequestHandler(..., directory=None)`.
    fn new(directory: PathBuf) -> PyHttpHandler {
        PyHttpHandler {
            cgi: CgiHttpRequestHandler::new(directory),
        }
    }

    /// pyhttp's `do_file(path)`: a CGI script is run; anything else is sent — a file, a
    /// directory's index page or listing (`get_path` and `list_dir` are the simple
    /// handler's `translate_path` and `list_directory`, which `send_head` calls).
    fn do_file(&self, h: &mut HttpRequest<'_>, send_body: bool) -> socketserver::Result<()> {
        if let Some(cgi_info) = self.cgi.is_cgi(&h.path)? {
            return self.run_cgi(h, cgi_info);
        }
        match self.cgi.simple.send_head(h)? {
            Some(body) if send_body => self.cgi.simple.copyfile(body, h),
            _ => Ok(()),
        }
    }

    /// pyhttp's `run_cgi(path)`: runs the script and sends what it prints.
    fn run_cgi(
        &self,
        h: &mut HttpRequest<'_>,
        cgi_info: (String, String),
    ) -> socketserver::Result<()> {
        self.cgi.run_cgi(h, cgi_info)
    }
}

/// pyhttp's `handle()`: dispatches to a static file, a listing or a CGI script.
impl BaseHttpRequestHandler for PyHttpHandler {
    fn server_version(&self) -> &str {
        self.cgi.server_version()
    }

    fn do_get(&self, h: &mut HttpRequest<'_>) -> socketserver::Result<()> {
        self.do_file(h, true)
    }

    fn do_head(&self, h: &mut HttpRequest<'_>) -> socketserver::Result<()> {
        self.do_file(h, false)
    }

    fn do_post(&self, h: &mut HttpRequest<'_>) -> socketserver::Result<()> {
        self.cgi.do_post(h)
    }
}

fn main() -> socketserver::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(8888);
    let directory = match args.next() {
        Some(d) => PathBuf::from(d),
        None => std::env::current_dir()?,
    };
    // pyhttp's ThreadedServer(host='localhost', port=8888).
    let server = ThreadingHttpServer::new(("localhost", port), PyHttpHandler::new(directory))?;
    let server = Arc::new(server);
    let port = server.server_port;
    println!("Serving HTTP on localhost port {port} (http://localhost:{port}/) ...");
    let _signals = shutdown_on_signals(server.shutdown_handle())?;
    server.serve_forever(socketserver::POLL_INTERVAL)?;
    // pyhttp's ThreadingMixin.close(): joins the request threads.
    server.server_close();
    Ok(())
}
