//! Whole handlers on arbitrary bytes: `SimpleHttpRequestHandler` serving a small
//! scratch directory, and a `BaseHttpRequestHandler` with `do_GET` and `do_POST` over
//! HTTP/1.1 keep-alive. The first input byte picks the handler.
//! Properties: no panic; the answer to `GET / HTTP/1.x` begins with a status line.
//! (Run with `-close_fd_mask=2`: the file server logs every request to stderr.)
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use socketserver::{BaseHttpRequestHandler, Error, HttpRequest, SimpleHttpRequestHandler};

struct App;

impl BaseHttpRequestHandler for App {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let (path, query) = h.path_and_query();
        let body = format!("{path}\n{query}\n{}\n", h.headers.len());
        h.send_response(200)?;
        h.send_header("Content-Type", "text/plain")?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(body.as_bytes())?;
        Ok(())
    }
    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let body = match h.read_body(4096) {
            Ok(body) => body,
            Err(Error::Http { code, message }) => return h.send_error_message(code, &message),
            Err(e) => return Err(e),
        };
        h.send_response(201)?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(&body)?;
        Ok(())
    }
}

fn files() -> &'static (tempfile::TempDir, SimpleHttpRequestHandler) {
    static FILES: OnceLock<(tempfile::TempDir, SimpleHttpRequestHandler)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.txt"), b"hello\n").unwrap();
        std::fs::write(dir.path().join("a b%.html"), b"<p>x</p>").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/data.bin"), vec![7u8; 3000]).unwrap();
        let handler = SimpleHttpRequestHandler::new(dir.path());
        (dir, handler)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let (_result, out) = if which & 1 == 0 {
        socketserver::__fuzz::serve_bytes(&files().1, data)
    } else {
        socketserver::__fuzz::serve_bytes(&App, data)
    };
    // An answer to an HTTP/1.x request line begins with a status line.
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first.starts_with(b"GET / HTTP/1.") && first.len() == 14 && !out.is_empty() {
        assert!(
            out.starts_with(b"HTTP/1."),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }
});
