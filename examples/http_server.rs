//! `python -m http.server`, in Rust: serves a directory over HTTP with the same command
//! line, the same start-up line, the same log lines and the same bytes on the wire.
//!
//! ```text
//! cargo run --release --example http_server            # the current directory on port 8000
//! cargo run --release --example http_server -- -d /srv -b 127.0.0.1 -p HTTP/1.1 8080
//! cargo run --release --example http_server -- -H 'Cache-Control: no-cache'
//! cargo run --release --example http_server -- --cgi -d examples   # runs examples/cgi-bin/*
//! ```
//!
//! Options (Python's, plus Python 3.15's `--header`):
//!
//! * `port` — bind to this port (default: 8000)
//! * `--cgi` — run as CGI server: `CgiHttpRequestHandler` instead of
//!   `SimpleHttpRequestHandler` (scripts under `/cgi-bin` and `/htbin`)
//! * `-b, --bind ADDRESS` — bind to this address (default: all interfaces)
//! * `-d, --directory DIRECTORY` — serve this directory (default: current directory)
//! * `-p, --protocol VERSION` — conform to this HTTP version (default: HTTP/1.0)
//! * `-H, --header 'NAME: VALUE'` (or `--header NAME VALUE`) — add a response header;
//!   repeatable
//! * `--pool` — serve on [`ThreadPoolHttpServer`](socketserver::http::ThreadPoolHttpServer)
//!   instead of `ThreadingHttpServer`: a bounded pool of workers waiting for readiness,
//!   where an idle keep-alive connection holds no thread (not Python's; HTTP only)
//! * `--tls-cert PATH`, `--tls-key PATH`, `--tls-password-file PATH` — serve HTTPS
//!   (Python 3.14's flags; needs the `tls` feature:
//!   `cargo run --features tls --example http_server -- --tls-cert cert.pem`)
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use socketserver::http::{
    get_best_family, BaseHttpRequestHandler, CgiHttpRequestHandler, SimpleHttpRequestHandler,
    ThreadPoolHttpServer, ThreadingHttpServer,
};
use socketserver::server::{shutdown_on_signals, SIGINT};
use socketserver::BaseServer;

const USAGE: &str =
    "usage: http_server [-h] [--cgi] [--pool] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [-H HEADER] [port]";

const HELP: &str = "
positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  --cgi                 run as CGI server
  --pool                serve on a pool of workers waiting for readiness
  -b, --bind ADDRESS    bind to this address (default: all interfaces)
  -d, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p, --protocol VERSION
                        conform to this HTTP version (default: HTTP/1.0)
  -H, --header HEADER   add a response header, 'NAME: VALUE' (repeatable)
  --tls-cert PATH       path to the TLS certificate chain file
  --tls-key PATH        path to the TLS key file
  --tls-password-file PATH
                        path to the password file for the TLS key";

struct Args {
    cgi: bool,
    pool: bool,
    port: u16,
    bind: Option<String>,
    directory: PathBuf,
    protocol: String,
    headers: Vec<(String, String)>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_password_file: Option<PathBuf>,
}

/// argparse's error: usage and message on stderr, exit status 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!("{USAGE}\nhttp_server: error: {message}");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, ExitCode> {
    let mut args = Args {
        cgi: false,
        pool: false,
        port: 8000,
        bind: None,
        directory: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        protocol: "HTTP/1.0".into(),
        headers: Vec::new(),
        tls_cert: None,
        tls_key: None,
        tls_password_file: None,
    };
    let mut port_seen = false;
    let mut it = std::env::args().skip(1).peekable();
    while let Some(arg) = it.next() {
        // --opt=value spellings.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, ExitCode> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| usage_error(&format!("argument {flag}: expected one argument")))
        };
        match name.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}\n{HELP}");
                return Err(ExitCode::SUCCESS);
            }
            "--cgi" => args.cgi = true,
            "--pool" => args.pool = true,
            "-b" | "--bind" => args.bind = Some(value("-b/--bind")?),
            "-d" | "--directory" => args.directory = value("-d/--directory")?.into(),
            "-p" | "--protocol" => args.protocol = value("-p/--protocol")?,
            "-H" | "--header" => {
                let first = value("-H/--header")?;
                let (n, v) = match first.split_once(':') {
                    Some((n, v)) => (n.trim().to_owned(), v.trim().to_owned()),
                    None => match it.next() {
                        Some(v) => (first, v),
                        None => {
                            return Err(usage_error("argument -H/--header: expected NAME: VALUE"))
                        }
                    },
                };
                args.headers.push((n, v));
            }
            "--tls-cert" => args.tls_cert = Some(value("--tls-cert")?.into()),
            "--tls-key" => args.tls_key = Some(value("--tls-key")?.into()),
            "--tls-password-file" => {
                args.tls_password_file = Some(value("--tls-password-file")?.into())
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(usage_error(&format!("unrecognized arguments: {other}")));
            }
            other => {
                if port_seen {
                    return Err(usage_error(&format!("unrecognized arguments: {other}")));
                }
                args.port = other.parse().map_err(|_| {
                    usage_error(&format!("argument port: invalid int value: '{other}'"))
                })?;
                port_seen = true;
            }
        }
    }
    if args.pool && args.tls_cert.is_some() {
        return Err(usage_error("--pool serves HTTP only, not --tls-cert"));
    }
    if args.tls_cert.is_none() && (args.tls_key.is_some() || args.tls_password_file.is_some()) {
        return Err(usage_error(
            "--tls-key and --tls-password-file require --tls-cert",
        ));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(code) => return code,
    };
    match serve(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("http_server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> socketserver::Result<ExitCode> {
    let mut handler = SimpleHttpRequestHandler::new(&args.directory);
    handler.protocol_version = args.protocol.clone();
    handler.response_headers = args.headers.clone();

    // Python's test(): the first passive address for -b (all interfaces if none), and
    // a DualStackServer that clears IPV6_V6ONLY so "::" also takes IPv4.
    let addr = get_best_family(args.bind.as_deref(), args.port)?;
    if args.cgi {
        return serve_with(&args, addr, CgiHttpRequestHandler::from(handler));
    }
    serve_with(&args, addr, handler)
}

/// Binds and serves with `handler` (Python's `SimpleHTTPRequestHandler`, or
/// `CGIHTTPRequestHandler` for `--cgi`).
fn serve_with<H: BaseHttpRequestHandler>(
    args: &Args,
    addr: std::net::SocketAddr,
    handler: H,
) -> socketserver::Result<ExitCode> {
    if let Some(cert) = &args.tls_cert {
        return serve_https(args, addr, handler, cert);
    }
    // Binds as Python's test() does: "::" also takes IPv4.
    macro_rules! bind {
        ($server:expr) => {{
            let mut server = $server;
            if addr.is_ipv6() {
                if let Some(sock) = server.socket_mut() {
                    let _ = sock.set_only_v6(false);
                }
            }
            server.server_bind()?;
            server.server_activate()?;
            let bound = server.server_address;
            run(server, "HTTP", bound)
        }};
    }
    if args.pool {
        bind!(ThreadPoolHttpServer::unbound(addr, handler)?)
    } else {
        bind!(ThreadingHttpServer::unbound(addr, handler)?)
    }
}

#[cfg(feature = "tls")]
fn serve_https<H: BaseHttpRequestHandler>(
    args: &Args,
    addr: std::net::SocketAddr,
    handler: H,
    cert: &std::path::Path,
) -> socketserver::Result<ExitCode> {
    use socketserver::http::{HttpsServer, ThreadingHttpsServer};
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
    let mut server = HttpsServer::with_config(addr, handler, config, false)?;
    if addr.is_ipv6() {
        if let Some(sock) = server.socket_mut() {
            let _ = sock.set_only_v6(false);
        }
    }
    server.server_bind()?;
    server.server_activate()?;
    let bound = server.server_address;
    run(ThreadingHttpsServer::https(server), "HTTPS", bound)
}

#[cfg(not(feature = "tls"))]
fn serve_https<H>(
    _: &Args,
    _: std::net::SocketAddr,
    _: H,
    _: &std::path::Path,
) -> socketserver::Result<ExitCode> {
    eprintln!("http_server: TLS is not built in; rebuild with `--features tls`");
    Ok(ExitCode::from(2))
}

/// Prints Python's start-up line, serves until Ctrl-C or SIGTERM, closes.
fn run<S: BaseServer>(
    server: S,
    scheme: &str,
    bound: std::net::SocketAddr,
) -> socketserver::Result<ExitCode> {
    let server = Arc::new(server);
    let host = bound.ip().to_string();
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let port = bound.port();
    let url_scheme = scheme.to_ascii_lowercase();
    println!("Serving {scheme} on {host} port {port} ({url_scheme}://{url_host}:{port}/) ...");

    let watch = shutdown_on_signals(server.shutdown_handle())?;
    server.serve_forever(socketserver::POLL_INTERVAL)?;
    if watch.received() == Some(SIGINT) {
        println!("\nKeyboard interrupt received, exiting.");
    }
    server.server_close();
    Ok(ExitCode::SUCCESS)
}
