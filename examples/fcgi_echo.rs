//! A FastCGI echo server, for testing a web server's FastCGI side (and this crate's).
//!
//! `ADDRESS` is a unix socket path if it contains a `/`, else `HOST:PORT`. Every
//! request gets `200 text/plain` with a `Content-Length`, and as body:
//!
//! * the request body, if there is one (streamed back as it arrives when
//!   `CONTENT_LENGTH` announces it, so memory stays flat for large uploads);
//! * else `REQUEST_METHOD QUERY_STRING\n`, then one `NAME=VALUE\n` line per `HTTP_*`
//!   parameter, sorted by name.
//!
//! Paths (`SCRIPT_NAME`, matched exactly): `/stderr` also writes `stderr test\n` to
//! FCGI_STDERR; `/slow` waits 2 s first; `/big` answers 1 MiB of bytes `i % 251`
//! (generated as it is sent); `/status418` answers `Status: 418 I'm a teapot`.
//!
//! Honours `FCGI_KEEP_CONN`, listens with a backlog of 128, runs until SIGTERM.
//!
//! ```text
//! cargo run --release --example fcgi_echo -- /tmp/echo.sock
//! cargo run --release --example fcgi_echo -- 127.0.0.1:9000
//! ```
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use socketserver::fcgi::{fastcgi_server, FcgiRequest};

/// `/big`'s size.
const BIG: usize = 1 << 20;

fn echo(req: &mut FcgiRequest) -> socketserver::Result<()> {
    let script = req.params.get_bytes("SCRIPT_NAME").unwrap_or(b"");
    let status = match script {
        b"/status418" => "418 I'm a teapot",
        _ => "200 OK",
    };
    match script {
        b"/stderr" => req.send("stderr test\n", true)?,
        b"/slow" => std::thread::sleep(Duration::from_secs(2)),
        b"/big" => return big(req),
        _ => {}
    }
    // A body the web server announced: stream it back.
    if let Some(len) = req.length().filter(|&n| n > 0) {
        write!(
            req.stdout,
            "Status: {status}\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\r\n"
        )?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut copied = 0u64;
        loop {
            let n = req.stdin.read(&mut buf)?;
            if n == 0 {
                break;
            }
            req.stdout.write_all(&buf[..n])?;
            copied += n as u64;
        }
        if copied != len {
            let note = format!("fcgi_echo: CONTENT_LENGTH {len} but {copied} body bytes\n");
            req.send(note, true)?;
            req.app_status = 1;
        }
        return Ok(());
    }
    // No announced length: read what comes (nothing, for a GET).
    let mut body = req.read_stdin()?.to_vec();
    if body.is_empty() {
        body = listing(req).into_bytes();
    }
    write!(
        req.stdout,
        "Status: {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    req.stdout.write_all(&body)?;
    Ok(())
}

/// `REQUEST_METHOD QUERY_STRING`, then the `HTTP_*` parameters sorted by name.
fn listing(req: &FcgiRequest) -> String {
    let p = |name| req.params.get_lossy(name).unwrap_or_default();
    let mut out = format!("{} {}\n", p("REQUEST_METHOD"), p("QUERY_STRING"));
    let mut headers: Vec<(String, String)> = req
        .params
        .iter()
        .filter(|(n, _)| n.starts_with(b"HTTP_"))
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    headers.sort();
    for (n, v) in headers {
        out.push_str(&format!("{n}={v}\n"));
    }
    out
}

/// 1 MiB of `i % 251`, generated 64 KiB at a time.
fn big(req: &mut FcgiRequest) -> socketserver::Result<()> {
    write!(
        req.stdout,
        "Status: 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {BIG}\r\n\r\n"
    )?;
    // 261 periods of 251 bytes: every chunk starts at i % 251 == 0.
    let chunk: Vec<u8> = (0..251 * 261).map(|i| (i % 251) as u8).collect();
    let mut left = BIG;
    while left > 0 {
        let n = left.min(chunk.len());
        req.stdout.write_all(&chunk[..n])?;
        left -= n;
    }
    Ok(())
}

fn main() -> socketserver::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/fcgi_echo.sock".into());
    let server = fastcgi_server(&address, echo)?;
    if address.contains('/') {
        std::fs::set_permissions(&address, std::fs::Permissions::from_mode(0o666))?;
    }
    println!("Serving FastCGI on {}", server.server_address());
    server.serve_forever(socketserver::POLL_INTERVAL)
}
