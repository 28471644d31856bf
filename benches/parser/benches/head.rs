//! Parsing one request head: the crate's CPython-compatible parser beside httparse, on
//! the same bytes.
//!
//! "ours" does what the HTTP handler does for every request: read the request line
//! (`read_line`, Python's `readline(65537)`), strip its line end and decode it as Latin-1
//! (`decode_request_line`), `parse_request_line`, then read the header block and parse
//! it into a reused `HttpMessage` the way the handler's default `read_headers` does
//! (`HttpMessage::read_from_with`, handing the block to the default `parse_headers`,
//! `HttpMessage::parse_into`). "httparse" is `Request::parse` of the same bytes into a
//! stack array of headers.

use std::hint::black_box;
use std::io::BufRead;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use socketserver::http::headers::HttpMessage;
use socketserver::http::parse::{decode_request_line, parse_request_line, read_line, MAXLINE};

/// A browser's request: request line and 8 headers.
const BROWSER: &[u8] = b"GET /static/css/site.css?v=3 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Connection: keep-alive\r\n\
Referer: https://www.example.com/index.html\r\n\
Cookie: session=8a7c1e2f9b3d4a5c6e7f8091a2b3c4d5; theme=dark\r\n\
\r\n";

/// What curl sends: request line and 3 headers.
const CURL: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

/// Buffers a kept-alive connection reuses from one request to the next.
#[derive(Default)]
struct Ours {
    raw: Vec<u8>,
    line: String,
    headers: HttpMessage,
}

impl Ours {
    fn parse(&mut self, input: &[u8]) -> usize {
        let mut r = input;
        self.raw.clear();
        let _ = read_line(&mut r, MAXLINE + 1, &mut self.raw);
        self.line.clear();
        decode_request_line(&self.raw, &mut self.line);
        let Ok(rl) = parse_request_line(&self.line) else {
            return 0;
        };
        black_box(rl);
        // As `read_headers` gets it: `&mut dyn BufRead`.
        let rfile: &mut dyn BufRead = &mut r;
        let _ = self
            .headers
            .read_from_with(rfile, |block, headers| headers.parse_into(block));
        self.headers.len()
    }
}

fn httparse_parse(input: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(input) {
        Ok(httparse::Status::Complete(_)) => req.headers.len(),
        _ => 0,
    }
}

fn bench(c: &mut Criterion) {
    for (name, input, headers) in [
        ("browser_8_headers", BROWSER, 8),
        ("curl_3_headers", CURL, 3),
    ] {
        let mut ours = Ours::default();
        assert_eq!(ours.parse(input), headers);
        assert_eq!(httparse_parse(input), headers);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("ours", |b| b.iter(|| ours.parse(black_box(input))));
        group.bench_function("httparse", |b| b.iter(|| httparse_parse(black_box(input))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
