//! `http-server`: `python -m http.server`, in Rust. Serves a directory over HTTP with the
//! same command line, the same start-up line, the same log lines and the same bytes on
//! the wire. `cargo install socketserver` installs it.
//!
//! ```text
//! http-server                                   # the current directory on port 8000
//! http-server -d /srv -b 127.0.0.1 -p HTTP/1.1 8080
//! http-server -H 'Cache-Control: no-cache'
//! http-server --cgi -d examples                 # runs examples/cgi-bin/*
//! ```
//!
//! Options (Python's, plus Python 3.15's `--header` and two for deployment):
//!
//! * `port` — bind to this port (default: 8000)
//! * `--cgi` — run as CGI server: `CgiHttpRequestHandler` instead of
//!   `SimpleHttpRequestHandler` (scripts under `/cgi-bin` and `/htbin`)
//! * `--pool` — serve on [`ThreadPoolMixIn`](socketserver::ThreadPoolMixIn)
//!   (`ThreadPoolHttpServer`) instead of `ThreadingMixIn`: a bounded pool of workers
//!   waiting for readiness, where an idle keep-alive connection holds no thread, with the
//!   pool's timeouts and limits (not Python's; HTTP only)
//! * `-b, --bind ADDRESS` — bind to this address (default: all interfaces)
//! * `-d, --directory DIRECTORY` — serve this directory (default: current directory)
//! * `-p, --protocol VERSION` — conform to this HTTP version (default: HTTP/1.0)
//! * `-H, --header 'NAME: VALUE'` (or `--header NAME VALUE`) — add a response header;
//!   repeatable
//! * `--tls-cert PATH`, `--tls-key PATH`, `--tls-password-file PATH` — serve HTTPS
//!   (Python 3.14's flags; needs the `tls` feature:
//!   `cargo install socketserver --features tls`)
//! * `--reuse-port` — `SO_REUSEPORT`, so several processes can bind one port
//! * `--shutdown-timeout SECONDS` — how long SIGTERM waits for requests in progress
//!
//! Started by systemd with a socket unit (`LISTEN_FDS`), it serves the socket it was
//! given, TCP or unix, and ignores `-b`, `port` and `--reuse-port`. SIGTERM stops it
//! gracefully: it stops accepting, closes its listening descriptor, closes idle
//! kept-alive connections, lets the requests in progress finish (their responses say
//! `Connection: close`), and exits 0. Ctrl-C (SIGINT) exits at once with Python's message.
//! See `docs/deployment.md`.
mod args;

use std::net::SocketAddr;
use std::ops::Deref;
use std::process::ExitCode;
use std::sync::Arc;

use socketserver::http::{
    get_best_family, BaseHttpRequestHandler, CgiHttpRequestHandler, HttpServer,
    SimpleHttpRequestHandler,
};
use socketserver::server::activation::{listen_fds, ListenFd};
use socketserver::server::{shutdown_on_signals, UnixStreamServer, SIGINT};
use socketserver::{BaseServer, ThreadPoolMixIn, ThreadingMixIn};

use args::{parse_args, Args};

/// Where the server's socket comes from.
enum Listener {
    /// Bind this address (Python's way).
    Bind(SocketAddr),
    /// Serve the socket systemd passed.
    Inherited(ListenFd),
}

/// The program's `main` (the `http_server` example runs it too).
pub fn main() -> ExitCode {
    // First, before any thread exists: the sockets systemd passed, if any (this also
    // removes LISTEN_* from the environment, so CGI scripts do not see them).
    let inherited = listen_fds();
    let args = match parse_args() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let listener = match inherited {
        Ok(mut fds) if fds.len() == 1 => Listener::Inherited(fds.remove(0)),
        Ok(fds) if fds.is_empty() => {
            // Python's test(): the first passive address for -b (all interfaces if none).
            match get_best_family(args.bind.as_deref(), args.port) {
                Ok(addr) => Listener::Bind(addr),
                Err(e) => return fail(&args, &e),
            }
        }
        Ok(fds) => {
            let message = format!(
                "systemd passed {} sockets (LISTEN_FDS); this program serves one",
                fds.len()
            );
            return fail(&args, &message);
        }
        Err(e) => return fail(&args, &e),
    };
    match serve(&args, listener) {
        Ok(code) => code,
        Err(e) => fail(&args, &e),
    }
}

fn fail(args: &Args, e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{}: {e}", args.prog);
    ExitCode::FAILURE
}

fn serve(args: &Args, listener: Listener) -> socketserver::Result<ExitCode> {
    let mut handler = SimpleHttpRequestHandler::new(&args.directory);
    handler.protocol_version = args.protocol.clone();
    handler.response_headers = args.headers.clone();
    if args.cgi {
        return serve_with(args, listener, CgiHttpRequestHandler::from(handler));
    }
    serve_with(args, listener, handler)
}

/// Builds the server on its socket and serves with `handler` (Python's
/// `SimpleHTTPRequestHandler`, or `CGIHTTPRequestHandler` for `--cgi`).
fn serve_with<H: BaseHttpRequestHandler>(
    args: &Args,
    listener: Listener,
    handler: H,
) -> socketserver::Result<ExitCode> {
    let server = match listener {
        Listener::Inherited(fd) if fd.is_unix() => {
            if args.tls_cert.is_some() {
                eprintln!("{}: TLS is for TCP sockets; the inherited one is a unix socket (terminate TLS in the proxy in front)", args.prog);
                return Ok(ExitCode::from(2));
            }
            let server = UnixStreamServer::from_listener(fd.into_socket(), handler)?;
            let line = format!(
                "Serving HTTP on unix:{} ...",
                server.server_address.display()
            );
            return run(server, line, args);
        }
        Listener::Inherited(fd) => HttpServer::from_listener(fd.into_socket(), handler)?,
        Listener::Bind(addr) => {
            let mut server = HttpServer::unbound(addr, handler)?;
            // Python's DualStackServer: "::" also takes IPv4.
            if addr.is_ipv6() {
                if let Some(sock) = server.socket_mut() {
                    let _ = sock.set_only_v6(false);
                }
            }
            server.allow_reuse_port = args.reuse_port;
            server.server_bind()?;
            server.server_activate()?;
            server
        }
    };
    let bound = server.server_address;
    if let Some(cert) = &args.tls_cert {
        return serve_https(args, server, bound, cert);
    }
    run(server, serving_line("HTTP", bound), args)
}

/// Python's start-up line: `Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...`.
fn serving_line(scheme: &str, bound: SocketAddr) -> String {
    let host = bound.ip().to_string();
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let port = bound.port();
    let url_scheme = scheme.to_ascii_lowercase();
    format!("Serving {scheme} on {host} port {port} ({url_scheme}://{url_host}:{port}/) ...")
}

#[cfg(feature = "tls")]
fn serve_https<H: BaseHttpRequestHandler>(
    args: &Args,
    server: HttpServer<H>,
    bound: SocketAddr,
    cert: &std::path::Path,
) -> socketserver::Result<ExitCode> {
    use socketserver::http::HttpsServer;
    let password = match &args.tls_password_file {
        Some(p) => {
            let mut text = std::fs::read(p)?;
            // A password file ends with a newline that is not part of the password.
            while text.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                text.pop();
            }
            Some(text)
        }
        None => None,
    };
    let config =
        socketserver::tls::server_config(cert, args.tls_key.as_deref(), password.as_deref())?;
    let server = HttpsServer::from_server(server, config);
    run(server, serving_line("HTTPS", bound), args)
}

#[cfg(not(feature = "tls"))]
fn serve_https<H>(
    args: &Args,
    _: HttpServer<H>,
    _: SocketAddr,
    _: &std::path::Path,
) -> socketserver::Result<ExitCode> {
    eprintln!(
        "{}: TLS is not built in; rebuild with `--features tls`",
        args.prog
    );
    Ok(ExitCode::from(2))
}

/// Serves `server` on a thread per connection (Python's `ThreadingHTTPServer`), or on
/// the pool with `--pool`.
fn run<S: BaseServer>(server: S, line: String, args: &Args) -> socketserver::Result<ExitCode> {
    if args.pool {
        return run_on(ThreadPoolMixIn::from(server), line, args);
    }
    let mut server = ThreadingMixIn::from(server);
    // Track request threads, so that SIGTERM can wait for them.
    server.daemon_threads = false;
    run_on(server, line, args)
}

/// Prints the start-up line, serves until SIGINT or SIGTERM, and stops.
///
/// Ctrl-C (SIGINT) is Python's `KeyboardInterrupt`: its message, and exit at once
/// (Python's request threads are daemon threads). SIGTERM is a graceful stop: stop
/// accepting, close this process's listening descriptor (another process sharing the
/// socket goes on accepting from the same queue), then
/// [`graceful_shutdown`](BaseServer::graceful_shutdown) for up to `--shutdown-timeout`,
/// exit 0.
fn run_on<M, S>(server: M, line: String, args: &Args) -> socketserver::Result<ExitCode>
where
    M: BaseServer + Deref<Target = S> + Send + Sync + 'static,
    S: BaseServer,
{
    let server = Arc::new(server);
    println!("{line}");

    let watch = shutdown_on_signals(server.shutdown_handle())?;
    server.serve_forever(socketserver::POLL_INTERVAL)?;
    if watch.received() == Some(SIGINT) {
        println!("\nKeyboard interrupt received, exiting.");
        return Ok(ExitCode::SUCCESS);
    }
    // Stop listening: the inner server's close closes the socket and nothing else.
    S::server_close(&server);
    if !server.graceful_shutdown(args.shutdown_timeout) {
        eprintln!(
            "{}: requests still in progress after {:?}; exiting",
            args.prog, args.shutdown_timeout
        );
    }
    server.server_close();
    Ok(ExitCode::SUCCESS)
}
