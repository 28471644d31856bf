//! A FastCGI echo server, for testing a web server's FastCGI side (and this crate's).
//!
//! `ADDRESS` is a unix socket path if it contains a `/`, else `HOST:PORT`. Every
//! request gets `200 text/plain` with a `Content-Length`, and as body:
//!
//! * the request body, if there is one (read to its end first — nginx stops
//!   forwarding a body once the response starts — in memory up to 64 KiB, in an
//!   unlinked temporary file beyond, so memory stays flat for large uploads);
//! * else `REQUEST_METHOD QUERY_STRING\n`, then one `NAME=VALUE\n` line per `HTTP_*`
//!   parameter, sorted by name.
//!
//! Paths (`SCRIPT_NAME`, matched exactly): `/stderr` also writes `stderr test\n` to
//! FCGI_STDERR; `/slow` waits 2 s first; `/big` answers 1 MiB of bytes `i % 251`
//! (generated as it is sent); `/status418` answers `Status: 418 I'm a teapot`.
//!
//! Honours `FCGI_KEEP_CONN`, listens with a backlog of 1024 ([`fastcgi_server`]'s),
//! runs until SIGTERM. A `CONTENT_LENGTH` that differs from the body received is
//! noted on STDERR and makes `appStatus` 1.
//!
//! Served by a thread per connection ([`fastcgi_server`]); with `--pool`, by a
//! [`ThreadPoolMixIn`](socketserver::ThreadPoolMixIn) server, whose kept connections
//! hold no thread between requests.
//!
//! ```text
//! cargo run --release --example fcgi_echo -- /tmp/echo.sock
//! cargo run --release --example fcgi_echo -- 127.0.0.1:9000 --pool
//! ```
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU64, Ordering};
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
    // The whole body is read before the answer starts: nginx stops forwarding a
    // request body once the response begins. Large bodies go to a temporary file,
    // so memory stays flat.
    let mut body = Body::read(req)?;
    if let Some(announced) = req.length() {
        if announced != body.len {
            let note = format!(
                "fcgi_echo: CONTENT_LENGTH {announced} but {} body bytes\n",
                body.len
            );
            req.send(note, true)?;
            req.app_status = 1;
        }
    }
    if body.len == 0 {
        let text = listing(req);
        write!(
            req.stdout,
            "Status: {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        )?;
        return Ok(());
    }
    write!(
        req.stdout,
        "Status: {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len
    )?;
    body.copy_to(&mut req.stdout)?;
    Ok(())
}

/// Bodies up to this size stay in memory; larger ones are spooled to a file.
const IN_MEMORY: usize = 64 * 1024;

/// A request body read to its end: in memory, or in an unlinked temporary file.
struct Body {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
}

impl Body {
    fn read(req: &mut FcgiRequest) -> io::Result<Body> {
        let mut body = Body {
            memory: Vec::new(),
            file: None,
            len: 0,
        };
        let mut buf = vec![0u8; IN_MEMORY];
        loop {
            let n = req.stdin.read(&mut buf)?;
            if n == 0 {
                return Ok(body);
            }
            body.len += n as u64;
            if body.file.is_none() && body.memory.len() + n > IN_MEMORY {
                let mut f = spool_file()?;
                f.write_all(&body.memory)?;
                body.memory = Vec::new();
                body.file = Some(f);
            }
            match &mut body.file {
                Some(f) => f.write_all(&buf[..n])?,
                None => body.memory.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn copy_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        match &mut self.file {
            None => out.write_all(&self.memory),
            Some(f) => {
                f.seek(SeekFrom::Start(0))?;
                io::copy(&mut f.take(self.len), out)?;
                Ok(())
            }
        }
    }
}

/// A temporary file that disappears when closed (unlinked at once).
fn spool_file() -> io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("fcgi_echo-{}-{n}", std::process::id()));
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
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
    let mut address = "/tmp/fcgi_echo.sock".to_owned();
    let mut pool = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--pool" => pool = true,
            _ => address = arg,
        }
    }
    if pool {
        return serve_on_a_pool(&address);
    }
    let server = fastcgi_server(&address, echo)?;
    if address.contains('/') {
        std::fs::set_permissions(&address, std::fs::Permissions::from_mode(0o666))?;
    }
    println!("Serving FastCGI on {}", server.server_address());
    server.serve_forever(socketserver::POLL_INTERVAL)
}

/// `--pool`: the same handler, listening the same way, on a pool server.
fn serve_on_a_pool(address: &str) -> socketserver::Result<()> {
    use socketserver::fcgi::{remove_stale_socket, FnHandler, BACKLOG};
    use socketserver::{BaseServer, ThreadPoolTcpServer, ThreadPoolUnixStreamServer};
    use std::sync::Arc;
    if address.contains('/') {
        remove_stale_socket(address)?;
        let mut server = ThreadPoolUnixStreamServer::unbound(address, FnHandler(echo))?;
        server.request_queue_size = BACKLOG;
        server.server_bind()?;
        server.server_activate()?;
        std::fs::set_permissions(address, std::fs::Permissions::from_mode(0o666))?;
        println!("Serving FastCGI on {address}");
        return Arc::new(server).serve_forever(socketserver::POLL_INTERVAL);
    }
    let (host, port) = address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| socketserver::Error::handler(2, "expected a path or HOST:PORT"))?;
    let mut server = ThreadPoolTcpServer::unbound((host.as_str(), port), FnHandler(echo))?;
    server.request_queue_size = BACKLOG;
    server.server_bind()?;
    server.server_activate()?;
    println!("Serving FastCGI on {}", server.server_address);
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
