//! A CGI directory: `CgiHttpRequestHandler` serving `examples/` on 127.0.0.1, so the
//! scripts of `examples/cgi-bin/` run — `hello.sh` (a shell script), `echo.py` (a Python
//! script echoing its CGI variables and form fields), `redirect.sh` (`Status: 302` and
//! `Location:`) — and every other file is served as `SimpleHTTPRequestHandler` serves
//! it.
//!
//! ```text
//! cargo run --example cgi_server                      # http://127.0.0.1:8000/cgi-bin/hello.sh
//! curl 'http://127.0.0.1:8000/cgi-bin/echo.py?a=1' -d 'name=x&foo=bar'
//! cargo run --example cgi_server -- --rfc3875 --timeout 5 -d DIR 8080
//! ```
//!
//! The Python it ports:
//!
//! ```python
//! import functools
//! from http.server import CGIHTTPRequestHandler, ThreadingHTTPServer
//!
//! handler = functools.partial(CGIHTTPRequestHandler, directory="examples")
//! ThreadingHTTPServer(("127.0.0.1", 8000), handler).serve_forever()
//! ```
//!
//! Options: `-d DIR` (default: this crate's `examples/`), `--timeout SECS` (kill a
//! script after that long without progress; `0` never; default 60), `--time-limit SECS`
//! (kill a script after that long in all), `--rfc3875` (parse the scripts' `Status:` and
//! `Location:`), `port` (default 8000; `0` picks one).
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use socketserver::http::{CgiHttpRequestHandler, ThreadingHttpServer};
use socketserver::server::shutdown_on_signals;
use socketserver::BaseServer;

fn seconds(value: Option<String>, flag: &str) -> Result<Option<Duration>, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a number of seconds"))?;
    let secs: f64 = value
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| format!("{flag}: not a number of seconds: {value:?}"))?;
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

fn handler_from_args() -> Result<(CgiHttpRequestHandler, u16), String> {
    let mut directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut port = 8000;
    let mut timeout = Some(socketserver::http::cgi::DEFAULT_CGI_TIMEOUT);
    let mut time_limit = None;
    let mut rfc3875 = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-d" | "--directory" => {
                directory = args.next().ok_or("-d needs a directory")?.into();
            }
            "--timeout" => timeout = seconds(args.next(), "--timeout")?,
            "--time-limit" => time_limit = seconds(args.next(), "--time-limit")?,
            "--rfc3875" => rfc3875 = true,
            p => port = p.parse().map_err(|_| format!("not a port: {p:?}"))?,
        }
    }
    let mut handler = CgiHttpRequestHandler::new(directory);
    handler.cgi_timeout = timeout;
    handler.cgi_time_limit = time_limit;
    handler.rfc3875 = rfc3875;
    Ok((handler, port))
}

fn main() -> ExitCode {
    let (handler, port) = match handler_from_args() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("usage: cgi_server [-d DIR] [--timeout SECS] [--time-limit SECS] [--rfc3875] [port]\ncgi_server: {e}");
            return ExitCode::from(2);
        }
    };
    let run = || -> socketserver::Result<()> {
        let server = Arc::new(ThreadingHttpServer::new(("127.0.0.1", port), handler)?);
        let port = server.server_port;
        println!("Serving HTTP on 127.0.0.1 port {port} (http://127.0.0.1:{port}/) ...");
        let _signals = shutdown_on_signals(server.shutdown_handle())?;
        server.serve_forever(socketserver::POLL_INTERVAL)?;
        server.server_close();
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cgi_server: {e}");
            ExitCode::FAILURE
        }
    }
}
