//! fast.ai's `TestHandler` from the `fastcgi` notebook: prints the query string, the
//! content type and the body, and answers `<html>foobar</html>`.
//!
//! Like the notebook (`server.handle_request()`), it serves one request and exits;
//! give a count to serve more.
//!
//! ```text
//! cargo run --example fcgi_test_handler -- /tmp/test.sock &
//! printf test | env -i QUERY_STRING=a=1 HTTP_CONTENT_TYPE=application/json \
//!     REQUEST_METHOD=POST CONTENT_LENGTH=4 cgi-fcgi -bind -connect /tmp/test.sock
//! ```
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use socketserver::fcgi::{remove_stale_socket, FcgiHandler, FcgiRequest};
use socketserver::{BaseServer, UnixStreamServer};

/// Python:
///
/// ```python
/// class TestHandler(FcgiHandler):
///     def handle(self):
///         print('query:', self.params['QUERY_STRING'])
///         print('content type:', self.params['HTTP_CONTENT_TYPE'])
///         print('stdin:', self.stdin)
///         self.send("Content-type: text/html\r\n\r\n<html>foobar</html>\n")
/// ```
struct TestHandler;

impl FcgiHandler for TestHandler {
    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        // Python's dict lookup raises KeyError for a missing name; print None instead
        // (nginx sends no HTTP_CONTENT_TYPE on a GET).
        let query = req.params.get_lossy("QUERY_STRING");
        let ctype = req.params.get_lossy("HTTP_CONTENT_TYPE");
        let text = format!(
            "query: {}\ncontent type: {}\n",
            query.as_deref().unwrap_or("None"),
            ctype.as_deref().unwrap_or("None"),
        );
        let stdin = String::from_utf8_lossy(req.read_stdin()?).into_owned();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}stdin: {stdin}")?;
        out.flush()?;
        req.send(
            "Content-type: text/html\r\n\r\n<html>foobar</html>\n",
            false,
        )?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "test.sock".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    remove_stale_socket(&path)?;
    let server = Arc::new(UnixStreamServer::new(&path, TestHandler)?);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
    eprintln!("Serving FastCGI on {path}");
    for _ in 0..count {
        server.handle_request()?;
    }
    server.server_close();
    Ok(())
}
