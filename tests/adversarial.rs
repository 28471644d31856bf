//! Adversarial requests against the HTTP servers: request smuggling shapes (duplicate
//! and conflicting `Content-Length`, `Transfer-Encoding` with `Content-Length`, obs-fold,
//! bare CR), NUL and control bytes, a 1 MB header line, 10⁴ headers, huge and negative
//! numbers, invalid versions.
//!
//! Every case runs on `ThreadingHttpServer` and `ThreadPoolHttpServer`, with
//! `SimpleHttpRequestHandler` and with a `BaseHttpRequestHandler` whose `do_POST` reads
//! the body with `read_body`. Each answer must be the status in the table below (the one
//! docs/security.md lists under "Adversarial requests"), and the server must answer a
//! plain `GET` afterwards; the process's memory must not grow with the numbers sent.
//!
//! `cpython_agrees_where_documented` sends the same cases to CPython 3.13's
//! `http.server` (tests/oracle/adversarial_oracle.py) and checks its column of the table,
//! so every difference is one the table states (and docs/python-differences.md explains).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::Running;
use socketserver::{
    BaseHttpRequestHandler, Error, HttpRequest, SimpleHttpRequestHandler, ThreadPoolHttpServer,
    ThreadingHttpServer,
};

/// What a case must get back: a status line with this code, or the connection closed
/// without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    /// An error page with this code but no status line: the HTTP/0.9-style answer to a
    /// request line whose version was not understood (CPython's, kept by the crate).
    Bare(u16),
    Close,
}
use Outcome::{Bare, Close, Status};

impl Outcome {
    fn text(self) -> String {
        match self {
            Status(c) => c.to_string(),
            Bare(c) => format!("bare{c}"),
            Close => "close".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `SimpleHttpRequestHandler` on an empty directory (HTTP/1.0).
    Simple,
    /// A `BaseHttpRequestHandler` with `do_GET` and a `do_POST` that reads the body
    /// (HTTP/1.1).
    Post,
}

struct Case {
    name: &'static str,
    target: Target,
    request: Vec<u8>,
    /// The crate's answer.
    crate_: Outcome,
    /// CPython 3.13's answer (a `do_POST` that reads `int(Content-Length)` bytes).
    python: Outcome,
}

fn post(headers: &str, body: &str) -> Vec<u8> {
    format!("POST /echo HTTP/1.1\r\nHost: x\r\n{headers}\r\n{body}").into_bytes()
}

fn cases() -> Vec<Case> {
    use Target::{Post, Simple};
    let c = |name, target, request: Vec<u8>, crate_, python| Case {
        name,
        target,
        request,
        crate_,
        python,
    };
    let big_line = {
        let mut r = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        r.resize(r.len() + (1 << 20), b'a');
        r.extend_from_slice(b"\r\n\r\n");
        r
    };
    let many_headers = {
        let mut r = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..10_000 {
            r.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    let long_target = {
        let mut r = b"GET /".to_vec();
        r.resize(70_000, b'a');
        r.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        r
    };
    // (name, handler, request, the crate's answer, CPython 3.13's answer)
    #[rustfmt::skip]
    let table = vec![
        // Smuggling shapes.
        c("duplicate Content-Length, same value", Post, post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), Status(200), Status(200)),
        c("conflicting Content-Length", Post, post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), Status(400), Status(200)),
        c("Content-Length list", Post, post("Content-Length: 5, 5\r\n", "hello"), Status(400), Close),
        c("Content-Length with a sign", Post, post("Content-Length: +5\r\n", "hello"), Status(400), Status(200)),
        c("Transfer-Encoding with Content-Length", Post, post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), Status(411), Status(200)),
        c("Transfer-Encoding: chunked alone", Post, post("Transfer-Encoding: chunked\r\n", "0\r\n\r\n"), Status(411), Status(200)),
        c("obs-fold continuing Content-Length", Post, post("Content-Length:\r\n 5\r\n", "hello"), Status(400), Status(200)),
        c("obs-fold in another header", Post, post("X-A: a\r\n b\r\nContent-Length: 5\r\n", "hello"), Status(200), Status(200)),
        c("bare CR inside a header line", Post, post("X-A: a\rContent-Length: 5\r\n", "hello"), Status(200), Status(200)),
        c("space before the colon", Post, post("Content-Length : 5\r\n", "hello"), Status(200), Status(200)),
        // NUL and control bytes.
        c("NUL in the target", Simple, b"GET /a\0b HTTP/1.0\r\n\r\n".to_vec(), Close, Close),
        c("%00 in the target", Simple, b"GET /%00 HTTP/1.0\r\n\r\n".to_vec(), Close, Close),
        c("NUL in a header value", Post, post("X-A: a\0b\r\nContent-Length: 2\r\n", "hi"), Status(200), Status(200)),
        c("control bytes in the method", Simple, b"G\x01T / HTTP/1.0\r\n\r\n".to_vec(), Status(501), Status(501)),
        c("escape sequence in the target", Simple, b"GET /\x1b[2J HTTP/1.0\r\n\r\n".to_vec(), Status(404), Status(404)),
        // Sizes.
        c("1 MB header line", Simple, big_line.clone(), Status(431), Status(431)),
        c("1 MB header line, POST handler", Post, big_line, Status(431), Status(431)),
        c("10^4 headers", Simple, many_headers.clone(), Status(431), Status(431)),
        c("10^4 headers, POST handler", Post, many_headers, Status(431), Status(431)),
        c("70 kB request line", Simple, long_target, Status(414), Status(414)),
        // Numbers.
        c("Content-Length: 99999999999999999999", Post, post("Content-Length: 99999999999999999999\r\n", ""), Status(400), Close),
        c("Content-Length: 10^12 (above the limit)", Post, post("Content-Length: 1000000000000\r\n", ""), Status(413), Close),
        c("Content-Length: -1", Post, post("Content-Length: -1\r\n", ""), Status(400), Status(200)),
        c("Content-Length: 0x10", Post, post("Content-Length: 0x10\r\n", ""), Status(400), Close),
        c("Content-Length longer than the body", Post, post("Content-Length: 10\r\n", "abc"), Close, Status(200)),
        // Versions.
        c("HTTP/2.0", Simple, b"GET / HTTP/2.0\r\n\r\n".to_vec(), Status(505), Bare(505)),
        c("HTTP/1.1.1", Simple, b"GET / HTTP/1.1.1\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("HTTP/", Simple, b"GET / HTTP/\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("http/1.1 (lower case)", Simple, b"GET / http/1.1\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("HTTP/-1.1", Simple, b"GET / HTTP/-1.1\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("HTTP/1.99999999999 (11 digits)", Simple, b"GET / HTTP/1.99999999999\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("HTTP/99999999999999999999.0", Simple, b"GET / HTTP/99999999999999999999.0\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("four words", Simple, b"GET / HTTP/1.1 extra\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("HTTP/0.9 with a POST", Simple, b"POST /\r\n\r\n".to_vec(), Status(400), Bare(400)),
        c("empty request line", Simple, b"\r\n".to_vec(), Close, Close),
    ];
    table
}

/// The status of the first answer, or `Close`. The request is written from a second
/// thread while the answer is read, so an early answer (431) is seen even while the
/// rest is still being sent.
fn send(addr: SocketAddr, request: &[u8]) -> Outcome {
    send_once(addr, request).0
}

/// [`send`], and whether the connection was reset. A server that answers early (431,
/// 414, 400) and closes with unread input makes the kernel send a reset, which may
/// discard the answer before it is read — a race of TCP, not of the server — so
/// [`run_all`] retries a reset: the documented answer must still be seen.
fn send_once(addr: SocketAddr, request: &[u8]) -> (Outcome, bool) {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let request = request.to_vec();
    let writer = std::thread::spawn(move || {
        // The server may answer and close before reading everything: that is allowed.
        let _ = w.write_all(&request);
        let _ = w.shutdown(std::net::Shutdown::Write);
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut r = &s;
    let mut reset = false;
    while !(out.starts_with(b"HTTP/") && out.contains(&b'\n')) {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => panic!("no answer within 20 s"),
            Err(e) => {
                reset = e.kind() == std::io::ErrorKind::ConnectionReset;
                break;
            }
        }
    }
    let _ = writer.join();
    if !out.starts_with(b"HTTP/") {
        let text = String::from_utf8_lossy(&out);
        let outcome = match text.split_once("Error code: ") {
            Some((_, rest)) => Bare(rest[..3].parse().unwrap()),
            None => Close,
        };
        return (outcome, reset);
    }
    let code = std::str::from_utf8(&out[9..12]).unwrap();
    (Status(code.parse().unwrap()), reset)
}

struct Post;

impl BaseHttpRequestHandler for Post {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        common::QuietOk.do_get(h)
    }
    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        // read_body's errors carry the status to answer with (400, 411, 413); an I/O
        // error (the client went away mid-body) ends the connection.
        let body = match h.read_body(1 << 20) {
            Ok(body) => body,
            Err(Error::Http { code, message }) => return h.send_error_message(code, &message),
            Err(e) => return Err(e),
        };
        h.send_response(200)?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(&body)?;
        Ok(())
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Runs every case against one server pair and returns the mismatches.
fn run_all(simple: SocketAddr, post: SocketAddr) -> Vec<String> {
    let mut wrong = Vec::new();
    for case in cases() {
        let addr = match case.target {
            Target::Simple => simple,
            Target::Post => post,
        };
        let mut got = send_once(addr, &case.request);
        for _ in 0..5 {
            if got != (Close, true) || case.crate_ == Close {
                break;
            }
            got = send_once(addr, &case.request);
        }
        let got = got.0;
        if got != case.crate_ {
            wrong.push(format!(
                "{}: got {}, want {}",
                case.name,
                got.text(),
                case.crate_.text()
            ));
        }
        let after = send(addr, b"GET / HTTP/1.0\r\n\r\n");
        if after != Status(200) {
            wrong.push(format!(
                "{}: the server answered {} afterwards",
                case.name,
                after.text()
            ));
        }
    }
    wrong
}

/// Every row against `$server` (the file server and the POST handler each on one).
macro_rules! answers_as_documented {
    ($name:ident, $server:ident) => {
        #[test]
        fn $name() {
            let dir = tempfile::tempdir().unwrap();
            let files = SimpleHttpRequestHandler::new(dir.path());
            let simple = $server::new(("127.0.0.1", 0), files).unwrap();
            let post = $server::new(("127.0.0.1", 0), Post).unwrap();
            let (sa, pa) = (simple.server_address, post.server_address);
            let (_s, _p) = (Running::start(simple), Running::start(post));
            let before = rss_kib();
            let wrong = run_all(sa, pa);
            assert!(wrong.is_empty(), "{}", wrong.join("\n"));
            let grown = rss_kib().saturating_sub(before);
            assert!(grown < 64 * 1024, "RSS grew by {grown} KiB");
        }
    };
}

answers_as_documented!(threading_server_answers_as_documented, ThreadingHttpServer);
answers_as_documented!(pool_server_answers_as_documented, ThreadPoolHttpServer);

/// CPython 3.13 gives the table's `python` column (and stays up after each case).
#[test]
fn cpython_agrees_where_documented() {
    let cases = cases();
    let input: String = cases
        .iter()
        .map(|c| {
            let which = match c.target {
                Target::Simple => "simple",
                Target::Post => "post",
            };
            let hex: String = c.request.iter().map(|b| format!("{b:02x}")).collect();
            format!("{which} {hex}\n")
        })
        .collect();
    let Some(answers) = common::diff::run_oracle(
        "cpython_agrees_where_documented",
        "adversarial_oracle.py",
        &input,
    ) else {
        return;
    };
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), cases.len());
    let mut wrong = Vec::new();
    for (case, answer) in cases.iter().zip(answers) {
        let want = format!("{} alive", case.python.text());
        if answer != want {
            wrong.push(format!(
                "{}: CPython gave {answer:?}, the table says {want:?}",
                case.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
