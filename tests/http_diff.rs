//! `BaseHttpRequestHandler` against CPython 3.13.0 byte for byte: the same raw request
//! bytes go to four handlers written in Python (`tests/oracle/http_oracle.py`, on
//! CPython 3.13.0 with the later fixes gh-54930 and gh-70765, see
//! `tests/oracle/cpython_fixes.py`) and to the same four written with the crate; the
//! complete answers (read until the server closes) must be equal once the `Date` value
//! and the `sys_version` token of `Server` are normalised.
//!
//! Every exchange ends because the server closes: the client half-closes after its
//! request (so a kept-alive connection ends at the server's next read), except in the
//! HTTP/0.9 cases that check the server answers without waiting for more input.
//! Keep-alive and pipelining show as the number of answers in the stream.
//!
//! Without CPython 3.13.0 the test prints `SKIP:` and passes, unless `CI` is set.
//! `DIFF_DUMP=1 cargo test --test http_diff -- --nocapture` prints every exchange, both
//! sides, escaped.

mod common;

use std::fmt;
use std::io::{Read, Write};
use std::net::SocketAddr;

use common::diff::{exchange_with, named_port, normalise, oracle_script, python313, report};
use common::diff::{python_command, ServerProcess};
use common::{serve_http, Kind, Served};
use socketserver::http::pyrepr::py_repr;
use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::Result;

// ---- The four handlers, as in tests/oracle/http_oracle.py ----------------------------

/// CPython's stock `BaseHTTPRequestHandler` (HTTP/1.0, default_request_version
/// HTTP/0.9, no `do_*` methods), logging switched off.
struct Stock;

impl BaseHttpRequestHandler for Stock {
    fn log_message(&self, _: &HttpRequest<'_>, _: fmt::Arguments<'_>) {}
}

/// `test_httpservers.BaseHTTPServerTestCase.request_handler`.
struct Ths;

fn code_in_path(h: &HttpRequest<'_>) -> u16 {
    h.path[1..].parse().expect("a status code in the path")
}

impl BaseHttpRequestHandler for Ths {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn default_request_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest<'_>, _: fmt::Arguments<'_>) {}
    fn do_head(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        h.send_error(code_in_path(h))
    }
    fn do_method(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        match h.command.as_str() {
            "TEST" | "KEEP" => {
                let connection = if h.command == "TEST" {
                    "close"
                } else {
                    "keep-alive"
                };
                h.send_response(204)?;
                h.send_header("Content-Type", "text/html")?;
                h.send_header("Connection", connection)?;
                h.end_headers()
            }
            "KEYERROR" => h.send_error(999),
            "NOTFOUND" => h.send_error(404),
            "EXPLAINERROR" => h.send_error_explain(
                999,
                Some("Short Message"),
                Some("This is a long \n explanation"),
            ),
            "CUSTOM" => {
                h.send_response(999)?;
                h.send_header("Content-Type", "text/html")?;
                h.send_header("Connection", "close")?;
                h.end_headers()
            }
            "LATINONEHEADER" => {
                h.send_response(999)?;
                h.send_header("X-Special", "Dängerous Mind")?;
                h.send_header("Connection", "close")?;
                h.end_headers()?;
                let body = h
                    .headers
                    .get("x-special-incoming")
                    .expect("the test sends X-Special-Incoming")
                    .to_owned();
                h.wfile.write_all(body.as_bytes())?;
                Ok(())
            }
            "SEND_ERROR" => h.send_error(code_in_path(h)),
            _ => h.send_unsupported(),
        }
    }
}

/// Echoes what it parsed; HTTP/1.1 keep-alive with a Content-Length body.
struct Echo;

impl BaseHttpRequestHandler for Echo {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest<'_>, _: fmt::Arguments<'_>) {}
    fn do_get(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        let mut text = format!(
            "{} {} {} {}\n",
            py_repr(&h.command),
            py_repr(&h.path),
            py_repr(&h.request_version),
            py_repr(&h.requestline)
        );
        for (k, v) in h.headers.iter() {
            text.push_str(&format!("{}: {}\n", py_repr(k), py_repr(v)));
        }
        if h.path.starts_with("/str") {
            text.push_str(&h.headers.to_string());
        }
        h.send_response(200)?;
        h.send_header("Content-Type", "text/plain; charset=utf-8")?;
        h.send_header("Content-Length", &text.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(text.as_bytes())?;
        Ok(())
    }
    fn do_method(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        if h.command != "INJECT" {
            return h.send_unsupported();
        }
        let reflected = h.headers.get("X-In").unwrap_or("").to_owned();
        h.send_response(200)?;
        h.send_header("X-Reflected", &reflected)?;
        h.send_header("Content-Length", "0")?;
        h.end_headers()
    }
}

/// `do_POST` reading a Content-Length body; refuses 100-continue for `/refuse`.
struct Post;

impl BaseHttpRequestHandler for Post {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest<'_>, _: fmt::Arguments<'_>) {}
    fn handle_expect_100(&self, h: &mut HttpRequest<'_>) -> Result<bool> {
        if h.path == "/refuse" {
            h.send_error(417)?;
            return Ok(false);
        }
        // The default's body (Python's super().handle_expect_100()).
        h.send_response_only(100, None)?;
        h.end_headers()?;
        h.wfile.flush()?;
        Ok(true)
    }
    fn do_post(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        let n: u64 = match h.headers.get("Content-Length") {
            Some(v) => v.trim().parse().expect("a number in Content-Length"),
            None => 0,
        };
        let mut body = Vec::new();
        (&mut h.rfile).take(n).read_to_end(&mut body)?;
        let mut reply = format!("{} of {} bytes to ", body.len(), n).into_bytes();
        reply.extend(h.path.chars().map(|c| c as u8)); // Latin-1, as Python encodes it
        reply.extend_from_slice(b": ");
        reply.extend_from_slice(&body);
        h.send_response(200)?;
        h.send_header("Content-Type", "application/octet-stream")?;
        h.send_header("Content-Length", &reply.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(&reply)?;
        Ok(())
    }
}

// ---- The cases ------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Srv {
    Stock,
    Ths,
    Echo,
    Post,
}

struct Case {
    name: String,
    srv: Srv,
    request: Vec<u8>,
    /// Half-close after sending. Off only where the server must answer on its own.
    half_close: bool,
    /// Send one byte per write (the server sees the request in pieces).
    drip: bool,
}

struct Cases(Vec<Case>);

impl Cases {
    fn add(&mut self, srv: Srv, name: &str, request: impl AsRef<[u8]>) {
        self.0.push(Case {
            name: name.to_owned(),
            srv,
            request: request.as_ref().to_vec(),
            half_close: true,
            drip: false,
        });
    }
    /// One byte per write.
    fn add_drip(&mut self, srv: Srv, name: &str, request: impl AsRef<[u8]>) {
        self.add(srv, name, request);
        self.0.last_mut().unwrap().drip = true;
    }
    /// The connection stays open from the client's side: the server must answer and
    /// close without waiting for more.
    fn add_open(&mut self, srv: Srv, name: &str, request: impl AsRef<[u8]>) {
        self.add(srv, name, request);
        self.0.last_mut().unwrap().half_close = false;
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn headers(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("X-Foo-{i}: bar\r\n").into_bytes())
        .collect()
}

fn cases() -> Vec<Case> {
    use Srv::*;
    let mut c = Cases(Vec::new());
    let x = |n: usize| vec![b'x'; n];

    // Stock BaseHTTPRequestHandler: §2.9.1, the error paths, the request line.
    c.add(Stock, "GET HTTP/1.0 (501)", b"GET / HTTP/1.0\r\n\r\n");
    c.add(
        Stock,
        "GET HTTP/1.1 to an HTTP/1.0 handler",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    c.add(Stock, "leading-zero version", b"GET / HTTP/01.1\r\n\r\n");
    c.add(Stock, "leading zeros both", b"GET / HTTP/0001.0000\r\n\r\n");
    c.add(Stock, "lower-case method", b"get / HTTP/1.0\r\n\r\n");
    c.add(Stock, "LF-only line endings", b"GET / HTTP/1.0\n\n");
    c.add(Stock, "bad version FUBAR", b"GET / FUBAR\r\n\r\n");
    c.add(Stock, "bad version 9.9.9", b"GET / HTTP/9.9.9\r\n\r\n");
    c.add(Stock, "bad version -1.1", b"GET / HTTP/-1.1\r\n\r\n");
    c.add(Stock, "lower-case http/1.1", b"GET / http/1.1\r\n\r\n");
    c.add(Stock, "version HTTP/1.", b"GET / HTTP/1.\r\n\r\n");
    c.add(
        Stock,
        "version 11-digit major",
        b"GET / HTTP/12345678901.0\r\n\r\n",
    );
    c.add(
        Stock,
        "version superscript digit",
        b"GET / HTTP/1.\xb2\r\n\r\n",
    );
    c.add(Stock, "version with quote", b"GET / HTTP/1'1\r\n\r\n");
    c.add(Stock, "version with both quotes", b"GET / HTTP/\"'\r\n\r\n");
    c.add(Stock, "HTTP/2.0 (505)", b"GET / HTTP/2.0\r\n\r\n");
    c.add(
        Stock,
        "HTTP/1000000000.0 (505)",
        b"GET / HTTP/1000000000.0\r\n\r\n",
    );
    c.add(Stock, "HTTP/0.9 three words", b"GET / HTTP/0.9\r\n\r\n");
    c.add(Stock, "0.9 POST (400)", b"POST /\r\n\r\n");
    c.add(Stock, "0.9 GET (body-only 501)", b"GET /\r\n\r\n");
    c.add_open(Stock, "0.9 GET, no blank line (gh-70765)", b"GET /\r\n");
    c.add(Stock, "one word", b"GET\r\n\r\n");
    c.add(
        Stock,
        "four words",
        b"GET /spaced out HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    c.add(
        Stock,
        "four words ending HTTP/0.9",
        b"GET /a b HTTP/0.9\r\n\r\n",
    );
    c.add(
        Stock,
        "bare CR splits a word",
        b"GET /a\rb HTTP/1.0\r\n\r\n",
    );
    c.add(Stock, "blank line only", b"\r\n");
    c.add(Stock, "connect and close", b"");
    c.add(Stock, "trailing CRs", b"GET / HTTP/1.0\r\r\r\n\r\n");
    c.add(
        Stock,
        "tabs and spaces",
        b"\t GET\t\t/  HTTP/1.0 \t\r\n\r\n",
    );
    c.add(Stock, "form feed and VT", b"GET\x0b/\x0cHTTP/1.0\r\n\r\n");
    c.add(Stock, "NEL and NBSP split", b"GET\x85/\xa0HTTP/1.0\r\n\r\n");
    c.add(
        Stock,
        "unit separator splits",
        b"GET\x1f/\x1cHTTP/1.0\r\n\r\n",
    );
    c.add(
        Stock,
        "<script> in the method",
        b"<script>alert(\"hello\")</script> / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Stock,
        "control char in method",
        b"G\x01E\x7fT / HTTP/1.0\r\n\r\n",
    );
    c.add(Stock, "NUL in method", b"GE\x00T / HTTP/1.0\r\n\r\n");
    c.add(Stock, "Latin-1 method", b"G\xc9T / HTTP/1.0\r\n\r\n");
    c.add(Stock, "UTF-8 method", b"G\xc3\xa9T / HTTP/1.0\r\n\r\n");
    c.add(Stock, "C1 control in method", b"G\x9bT / HTTP/1.0\r\n\r\n");
    c.add(
        Stock,
        "backslash and quote in method",
        b"G\\'T / HTTP/1.0\r\n\r\n",
    );
    c.add(
        Stock,
        "request line too long (414)",
        cat(&[b"GET ", &x(65537)]),
    );
    c.add(
        Stock,
        "request line of 65536 bytes",
        cat(&[b"GET /", &x(65520), b" HTTP/1.0\r\n\r\n"]),
    );
    c.add(
        Stock,
        "request line of 65537 bytes (414)",
        cat(&[b"GET /", &x(65521), b" HTTP/1.0\r\n\r\n"]),
    );
    c.add(
        Stock,
        "header line of 65536 bytes",
        cat(&[b"GET / HTTP/1.0\r\nX: ", &x(65531), b"\r\n\r\n"]),
    );
    c.add(
        Stock,
        "header line too long (431)",
        cat(&[b"GET / HTTP/1.0\r\nX-Foo: bar", &x(65537), b"\r\n\r\n"]),
    );
    for n in [99, 100, 101] {
        c.add(
            Stock,
            &format!("{n} headers"),
            cat(&[b"GET / HTTP/1.0\r\n", &headers(n), b"\r\n"]),
        );
    }
    c.add(
        Stock,
        "keep-alive to an HTTP/1.0 handler",
        b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Stock,
        "100-continue to an HTTP/1.0 handler",
        b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
    );

    // test_httpservers.BaseHTTPServerTestCase (§2.2), raw.
    c.add(Ths, "test_command", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.add(
        Ths,
        "test_request_line_trimming",
        b"XYZBOGUS / HTTP/1.1\n\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n",
    );
    c.add(Ths, "test_version_bogus", b"GET / FUBAR\r\n\r\n");
    c.add(Ths, "test_version_digits", b"GET / HTTP/9.9.9\r\n\r\n");
    c.add(
        Ths,
        "test_version_signs_and_underscores",
        b"GET / HTTP/-9_9_9.+9_9_9\r\n\r\n",
    );
    c.add(
        Ths,
        "test_major_version_number_too_long",
        b"GET / HTTP/909876543210.0\r\n\r\n",
    );
    c.add(
        Ths,
        "test_minor_version_number_too_long",
        b"GET / HTTP/1.909876543210\r\n\r\n",
    );
    c.add(Ths, "test_version_none_get", b"GET / \r\nHost: x\r\n\r\n");
    c.add_open(Ths, "0.9 GET, no blank line (gh-70765)", b"GET /\r\n");
    c.add(Ths, "test_version_none", b"CUSTOM / \r\n\r\n");
    c.add(Ths, "test_version_invalid", b"GET / HTTP/9.9\r\n\r\n");
    c.add(Ths, "test_send_blank", b" / \r\n\r\n");
    c.add(
        Ths,
        "test_header_close",
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    c.add(
        Ths,
        "test_header_keep_alive",
        b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\nTEST / HTTP/1.1\r\n\r\n",
    );
    c.add(Ths, "test_handler", b"TEST / HTTP/1.1\r\n\r\n");
    c.add(
        Ths,
        "test_return_header_keep_alive",
        b"KEEP / HTTP/1.1\r\n\r\nTEST / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "KEEP KEEP TEST pipelined",
        b"KEEP / HTTP/1.1\r\n\r\nKEEP / HTTP/1.1\r\n\r\nTEST / HTTP/1.1\r\n\r\nKEEP / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "KEEP from an HTTP/1.0 client",
        b"KEEP / HTTP/1.0\r\n\r\nTEST / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "KEEP overrides Connection: close",
        b"KEEP / HTTP/1.1\r\nConnection: close\r\n\r\nTEST / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "TEST closes before the next",
        b"TEST / HTTP/1.1\r\n\r\nKEEP / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "test_internal_key_error",
        b"KEYERROR / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "test_return_custom_status",
        b"CUSTOM / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "test_return_explain_error",
        b"EXPLAINERROR / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Ths,
        "test_latin1_header",
        b"LATINONEHEADER / HTTP/1.1\r\nX-Special-Incoming: \xc4rger mit Unicode\r\n\r\n",
    );
    c.add(
        Ths,
        "test_error_content_length",
        b"NOTFOUND / HTTP/1.1\r\n\r\n",
    );
    for code in ["204", "304", "102", "205", "101", "200", "418", "42", "0"] {
        c.add(
            Ths,
            &format!("test_send_error {code}"),
            format!("SEND_ERROR /{code} HTTP/1.1\r\n\r\n"),
        );
    }
    for code in ["200", "204", "304", "205", "101", "404"] {
        c.add(
            Ths,
            &format!("test_head_via_send_error {code}"),
            format!("HEAD /{code} HTTP/1.1\r\n\r\n"),
        );
    }
    c.add(
        Ths,
        "methods are case-sensitive",
        b"test / HTTP/1.1\r\n\r\n",
    );
    c.add(Ths, "0.9 KEEP (400)", b"KEEP /\r\n\r\n");

    // The echo handler: leniency, headers, keep-alive, pipelining, 0.9 (§2.9.4, §2.9.6).
    c.add(
        Echo,
        "simple GET",
        b"GET /a?b=1#c HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    c.add(
        Echo,
        "three pipelined GETs",
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "HTTP/1.0 closes",
        b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "HTTP/1.0 with keep-alive",
        b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    );
    c.add(
        Echo,
        "Connection: Keep-Alive (case)",
        b"GET /1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    );
    c.add(
        Echo,
        "Connection: close",
        b"GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "Connection: CLOSE (case)",
        b"GET /1 HTTP/1.1\r\nConnection: CLOSE\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "Connection: close, TE stays open",
        b"GET /1 HTTP/1.1\r\nConnection: close, TE\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "two Connection headers, first wins",
        b"GET /1 HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "blank line between requests ends it",
        b"GET /1 HTTP/1.1\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "body with Content-Length desyncs",
        b"GET /1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    );
    c.add(
        Echo,
        "chunked body read as a request",
        b"GET /1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    c.add(
        Echo,
        "then a bad request on the same connection",
        b"GET /1 HTTP/1.1\r\n\r\nGET / HTTP/2.0\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "obs-fold",
        b"GET /str HTTP/1.1\r\nX: 1\r\n  continued\r\n\tmore\r\nY: 2\r\n\r\n",
    );
    c.add(
        Echo,
        "bare CR between headers",
        b"GET /str HTTP/1.1\r\nX: a\rY: b\r\n\r\n",
    );
    c.add(
        Echo,
        "colon-less line ends the headers",
        b"GET /str HTTP/1.1\r\nA: 1\r\nNoColonHere\r\nX: 1\r\n\r\n",
    );
    c.add(
        Echo,
        "space before the colon",
        b"GET /str HTTP/1.1\r\nA: 1\r\nX : spaced\r\nY: 2\r\n\r\n",
    );
    c.add(
        Echo,
        "From lines",
        b"GET /str HTTP/1.1\r\nFrom nobody Mon Jan 1\r\nX: 1\r\nFrom again\r\n\r\n",
    );
    c.add(
        Echo,
        "From: header",
        b"GET /str HTTP/1.1\r\nFrom: me@example.com\r\n\r\n",
    );
    c.add(
        Echo,
        "duplicate headers",
        b"GET /str HTTP/1.1\r\nHost: a\r\nhost: b\r\nHOST: c\r\n\r\n",
    );
    c.add(
        Echo,
        "continuation before any header",
        b"GET /str HTTP/1.1\r\n  orphan\r\nX: 1\r\n\r\n",
    );
    c.add(
        Echo,
        "nameless header line",
        b"GET /str HTTP/1.1\r\n: nameless\r\nX: 1\r\n\r\n",
    );
    c.add(
        Echo,
        "empty value, tabs, trailing spaces",
        b"GET /str HTTP/1.1\r\nE:\r\nT:\t\tv\t\r\nS: v   \r\n\r\n",
    );
    c.add(
        Echo,
        "LF-only and mixed endings",
        b"GET /str HTTP/1.1\nA: 1\r\nB: 2\nC: 3\r\n\n",
    );
    c.add(
        Echo,
        "headers end at EOF",
        b"GET /str HTTP/1.1\r\nA: 1\r\nB: 2",
    );
    c.add(
        Echo,
        "Latin-1 and UTF-8 bytes in values",
        b"GET /x HTTP/1.1\r\nX: \xe4\xff\r\nY: \xc3\xa9\r\nZ: \x85\xa0\r\n\r\n",
    );
    c.add(
        Echo,
        "non-ASCII header name",
        b"GET /x HTTP/1.1\r\nA: 1\r\nX\xe4: 1\r\nB: 2\r\n\r\n",
    );
    c.add(
        Echo,
        "control characters in a value",
        b"GET /x HTTP/1.1\r\nX: a\x01b\x7fc\x00d\x1be\r\n\r\n",
    );
    c.add(
        Echo,
        "control characters and quotes in the path",
        b"GET /\x00\x7f\\'\" HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "non-ASCII path",
        b"GET /\xe9t\xc3\xa9\x85 HTTP/1.1\r\n\r\n",
    );
    c.add(Echo, "// collapse", b"GET //a//b HTTP/1.1\r\n\r\n");
    c.add(Echo, "//// only", b"GET //// HTTP/1.1\r\n\r\n");
    c.add(
        Echo,
        "absolute-form target",
        b"GET http://h/x?y HTTP/1.1\r\n\r\n",
    );
    c.add(Echo, "asterisk target", b"GET * HTTP/1.1\r\n\r\n");
    c.add(Echo, "no leading slash", b"GET a/b HTTP/1.1\r\n\r\n");
    c.add(
        Echo,
        "HTTP/0.9 version word",
        b"GET /x HTTP/0.9\r\nHost: x\r\n\r\n",
    );
    c.add_open(Echo, "0.9 GET, no blank line (gh-70765)", b"GET /x\r\n");
    c.add(
        Echo,
        "0.9 GET does not read headers",
        b"GET /x\r\nHost: y\r\n\r\n",
    );
    c.add(
        Echo,
        "NEL as request-line whitespace",
        b"GET\x85/x\x85HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "100-continue",
        b"GET /c HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
    );
    c.add(
        Echo,
        "100-Continue (case)",
        b"GET /c HTTP/1.1\r\nExpect: 100-Continue\r\nConnection: close\r\n\r\n",
    );
    c.add(
        Echo,
        "100-continue from HTTP/1.0",
        b"GET /c HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
    );
    c.add(
        Echo,
        "Expect: something else",
        b"GET /c HTTP/1.1\r\nExpect: 200-ok\r\n\r\n",
    );
    c.add(
        Echo,
        "99 headers echoed",
        cat(&[b"GET / HTTP/1.1\r\n", &headers(99), b"\r\n"]),
    );
    c.add(
        Echo,
        "reflected header without CR or LF",
        b"INJECT / HTTP/1.1\r\nX-In: plain value\r\n\r\nINJECT / HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "HEAD without do_HEAD (501)",
        b"HEAD / HTTP/1.1\r\n\r\n",
    );

    // do_POST reading a Content-Length body; 100-continue and its refusal.
    c.add(
        Post,
        "POST with a body",
        b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    );
    c.add(
        Post,
        "two pipelined POSTs",
        b"POST /1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /2 HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\x00\xff",
    );
    c.add(
        Post,
        "POST without Content-Length",
        b"POST /p HTTP/1.1\r\n\r\n",
    );
    c.add(
        Post,
        "POST Content-Length: 0",
        b"POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    c.add(
        Post,
        "POST body cut short by EOF",
        b"POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
    );
    c.add(
        Post,
        "POST 100-continue",
        b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata",
    );
    c.add(
        Post,
        "POST 100-continue, Connection: close",
        b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: 4\r\n\r\ndataPOST /p HTTP/1.1\r\n\r\n",
    );
    c.add(
        Post,
        "POST 100-continue refused (417)",
        b"POST /refuse HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata",
    );
    c.add(
        Post,
        "POST 100-continue from HTTP/1.0",
        b"POST /refuse HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata",
    );
    c.add(
        Post,
        "GET to a POST-only handler",
        b"GET /p HTTP/1.1\r\nContent-Length: 4\r\n\r\ndata",
    );
    c.add(
        Post,
        "POST then 0.9 POST",
        b"POST /1 HTTP/1.1\r\nContent-Length: 1\r\n\r\nxPOST /2\r\n",
    );

    // Probes: boundaries and odd framing.
    c.add(
        Stock,
        "header line of 65537 bytes (431)",
        cat(&[b"GET / HTTP/1.0\r\nX: ", &x(65532), b"\r\n\r\n"]),
    );
    c.add(
        Echo,
        "continuation lines count as header lines (100)",
        cat(&[
            b"GET / HTTP/1.1\r\n",
            &(0..50)
                .flat_map(|i| format!("H{i}: a\r\n b\r\n").into_bytes())
                .collect::<Vec<u8>>(),
            b"\r\n",
        ]),
    );
    c.add(
        Echo,
        "continuation lines count as header lines (98)",
        cat(&[
            b"GET / HTTP/1.1\r\n",
            &(0..49)
                .flat_map(|i| format!("H{i}: a\r\n b\r\n").into_bytes())
                .collect::<Vec<u8>>(),
            b"\r\n",
        ]),
    );
    c.add(
        Echo,
        "CR CR LF inside the header block",
        b"GET /str HTTP/1.1\r\nA: 1\r\n\r\r\nB: 2\r\n\r\n",
    );
    c.add(
        Echo,
        "LF CR LF inside the header block",
        b"GET /str HTTP/1.1\r\nA: 1\n\r\nB: 2\r\n\r\n",
    );
    c.add(
        Echo,
        "whitespace-only line in the header block",
        b"GET /str HTTP/1.1\r\nA: 1\r\n   \r\nB: 2\r\n\r\n",
    );
    c.add(
        Echo,
        "NUL in a header line",
        b"GET /str HTTP/1.1\r\nA\x00B: 1\r\nC: x\x00y\r\n\r\n",
    );
    c.add(
        Echo,
        "Connection value with spaces and tabs",
        b"GET /1 HTTP/1.1\r\nConnection:\tclose \r\n\r\nGET /2 HTTP/1.1\r\nConnection:  close\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "folded Connection: close",
        b"GET /1 HTTP/1.1\r\nConnection:\r\n close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "message/rfc822 content type",
        b"GET /str HTTP/1.1\r\nContent-Type: message/rfc822\r\nA: 1\r\nNoColon\r\nX: 1\r\n\r\n",
    );
    c.add(Stock, "request line cut by EOF", b"GET / HTTP/1.0");
    c.add(
        Stock,
        "request line ending in CR at EOF",
        b"GET / HTTP/1.0\r",
    );
    c.add(
        Echo,
        "0.9 GET then more in the same packet",
        b"GET /x\r\nGET /y HTTP/1.1\r\n\r\n",
    );
    c.add(
        Echo,
        "100-continue with keep-alive, pipelined",
        b"GET /1 HTTP/1.1\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
    );
    c.add(
        Echo,
        "duplicate Expect, the first counts",
        b"GET /1 HTTP/1.1\r\nExpect: nothing\r\nExpect: 100-continue\r\n\r\n",
    );
    c.add(
        Stock,
        "HEAD to the stock handler",
        b"HEAD / HTTP/1.0\r\n\r\n",
    );
    c.add(
        Echo,
        "200 pipelined requests across buffer boundaries",
        (0..200)
            .flat_map(|i| {
                format!(
                    "GET /{i}{} HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
                    "p".repeat(i * 7 % 300),
                    "q".repeat(i * 13 % 500)
                )
                .into_bytes()
            })
            .collect::<Vec<u8>>(),
    );
    c.add_drip(
        Echo,
        "dripped: headers one byte at a time",
        b"GET /str HTTP/1.1\r\nA: 1\r\n  fold\r\nB: 2\rC: 3\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.add_drip(
        Post,
        "dripped: POST with 100-continue",
        b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\nabcdefPOST /q HTTP/1.1\r\nContent-Length: 1\r\n\r\nz",
    );
    c.add_drip(Stock, "dripped: bad version", b"GET / HTTP/1.x\r\n\r\n");
    c.add(
        Stock,
        "HEAD with HTTP/9.9 (body sent)",
        b"HEAD / HTTP/9.9\r\n\r\n",
    );
    c.add(Stock, "HEAD with a bad version", b"HEAD / HTTP/x\r\n\r\n");
    c.add(Stock, "0.9 HEAD (400, body sent)", b"HEAD /x\r\n\r\n");
    c.add(
        Stock,
        "HEAD with 101 headers (431, no body)",
        cat(&[b"HEAD / HTTP/1.0\r\n", &headers(101), b"\r\n"]),
    );
    c.add(
        Stock,
        "HEAD with a request line too long (414)",
        cat(&[b"HEAD /", &x(65540), b" HTTP/1.0\r\n\r\n"]),
    );
    c.add(
        Ths,
        "HEAD 200 then a 414 on the same connection",
        cat(&[
            b"KEEP / HTTP/1.1\r\n\r\nHEAD /",
            &x(65540),
            b" HTTP/1.1\r\n\r\n",
        ]),
    );
    c.add(
        Stock,
        "65536 bytes then EOF, no newline",
        cat(&[b"GET /", &x(65536 - 14), b" HTTP/1.0"]),
    );
    c.add(Stock, "LF only", b"\n");
    c.add(Stock, "spaces only", b"   \r\n\r\n");
    c.add(
        Stock,
        "UTF-8 BOM before the method",
        b"\xef\xbb\xbfGET / HTTP/1.0\r\n\r\n",
    );
    c.add(Echo, "no headers, EOF", b"GET /str HTTP/1.1\r\n");
    c.add(
        Echo,
        "bare CR then a space",
        b"GET /str HTTP/1.1\r\nX: a\r b\r\nY: 1\r\n\r\n",
    );
    c.add(
        Echo,
        "keep-alive then 0.9 on the same connection",
        b"GET /1 HTTP/1.1\r\n\r\nGET /2\r\n\r\n",
    );
    c.0
}

// ---- The test --------------------------------------------------------------------------

fn crate_server<H: BaseHttpRequestHandler>(kind: Kind, handler: H) -> (Served, SocketAddr) {
    let server = HttpServer::new(("127.0.0.1", 0), handler).unwrap();
    let addr = server.server_address;
    (serve_http(kind, server), addr)
}

each_kind! {
fn base_http_request_handler_matches_cpython(kind) {
    let Some(python) = python313("http_diff") else {
        return;
    };
    let mut cmd = python_command(python);
    cmd.arg(oracle_script("http_oracle.py"));
    let oracle = ServerProcess::start(cmd, false);
    let line = oracle.first_line.clone();
    let py_addr = |name: &str| -> SocketAddr { ([127, 0, 0, 1], named_port(&line, name)).into() };

    let (_stock, stock) = crate_server(kind, Stock);
    let (_ths, ths) = crate_server(kind, Ths);
    let (_echo, echo) = crate_server(kind, Echo);
    let (_post, post) = crate_server(kind, Post);
    let addrs = |srv: Srv| -> (SocketAddr, SocketAddr) {
        match srv {
            Srv::Stock => (py_addr("stock"), stock),
            Srv::Ths => (py_addr("ths"), ths),
            Srv::Echo => (py_addr("echo"), echo),
            Srv::Post => (py_addr("post"), post),
        }
    };

    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let (theirs, ours) = addrs(case.srv);
        let python = normalise(&exchange_with(
            theirs,
            &case.request,
            case.half_close,
            case.drip,
        ));
        let rust = normalise(&exchange_with(
            ours,
            &case.request,
            case.half_close,
            case.drip,
        ));
        let name = format!("{:?}: {}", case.srv, case.name);
        if std::env::var_os("DIFF_DUMP").is_some() {
            println!("{}", report(&name, &case.request, &python, &rust));
        }
        if python != rust {
            failures.push(report(&name, &case.request, &python, &rust));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from CPython 3.13.0:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{} cases byte-identical with CPython 3.13.0", cases.len());

    // The deliberate difference these handlers meet (docs/python-differences.md,
    // "http.server"): a header value with CR or LF is refused by `send_header`. CPython
    // writes it into the response (response splitting, gh-142533); the crate returns an
    // error, so the request ends in `handle_error` (its report appears on stderr) and
    // nothing of the response is sent.
    let request = b"INJECT / HTTP/1.1\r\nX-In: a\r\n Set-Cookie: injected=1\r\n\r\n";
    let (theirs, ours) = addrs(Srv::Echo);
    let python = normalise(&exchange_with(theirs, request, true, false));
    let rust = exchange_with(ours, request, true, false);
    let expected: &[u8] = b"HTTP/1.1 200 OK\r\nServer: BaseHTTP/0.6 <SYS>\r\nDate: <DATE>\r\n\
        X-Reflected: a\r\n Set-Cookie: injected=1\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        python,
        expected,
        "{}",
        report("CPython reflects CR LF", request, &python, expected)
    );
    assert!(
        rust.is_empty(),
        "{}",
        report("the crate refuses CR LF", request, expected, &rust)
    );
}
}
