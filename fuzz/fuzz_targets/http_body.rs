//! The body helpers (`HttpRequest::content_length`, `read_body`) behind a fixed
//! `POST` request line: the input is the header block and whatever follows it, served
//! over HTTP/1.1 keep-alive, so the rest may hold more requests.
//! Properties: no panic; a body is never longer than the limit nor than its
//! `Content-Length`; every answer begins with a status line.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use socketserver::{BaseHttpRequestHandler, Error, HttpRequest};

const LIMIT: usize = 1024;

struct Post;

impl BaseHttpRequestHandler for Post {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let announced = match h.content_length(LIMIT) {
            Ok(n) => n,
            Err(Error::Http { code, message }) => return h.send_error_message(code, &message),
            Err(e) => return Err(e),
        };
        // Only an I/O error (the body cut short) can fail now.
        let body = match h.read_body(LIMIT) {
            Ok(body) => body,
            Err(Error::Http { code, .. }) => panic!("content_length accepted, read_body {code}"),
            Err(e) => return Err(e),
        };
        assert!(body.len() <= LIMIT);
        assert_eq!(body.len() as u64, announced);
        h.send_response(200)?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(&body)?;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = b"POST /upload HTTP/1.1\r\n".to_vec();
    input.extend_from_slice(data);
    let (_result, out) = socketserver::__fuzz::serve_bytes(&Post, &input);
    assert!(
        out.is_empty() || out.starts_with(b"HTTP/1."),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
});
