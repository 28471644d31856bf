//! PyMOTW's `BaseHTTPServer_POST.py`: a POST handler that reads the form with
//! `cgi.FieldStorage` and echoes what was posted.
//!
//! ```text
//! cargo run --example pymotw_post -- 8080
//! curl http://localhost:8080/ -F name=dhellmann -F foo=bar -F datafile=@examples/pymotw_get.rs
//! ```
//!
//! Uploads stream to a temporary file, so a large one costs bounded memory. A form that
//! cannot be read gets a 400, 413 or 415 answer instead of Python's traceback.
//!
//! `pymotw_post [--save DIR] [PORT]`: with `--save`, each uploaded file is also kept as
//! `DIR/<field name>` (the tests compare it with what curl sent).
use std::io::Write;
use std::sync::Arc;

use socketserver::http::forms::{send_form_error, Field, FieldStorage, FormOptions, Value};
use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::BaseServer;

/// Python's `repr(b)` for `bytes`.
fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// The seed's loop body for one field.
fn describe(name: &str, field: &Field) -> std::io::Result<String> {
    if let (Some(filename), Some(upload)) = (&field.filename, field.upload()) {
        if !filename.is_empty() {
            // The field contains an uploaded file.
            return Ok(format!("\tUploaded {name} ({} bytes)\n", upload.len()));
        }
    }
    // Regular form value (a file input left empty holds b'').
    Ok(match field.value() {
        Value::Str(s) => format!("\t{name}={s}\n"),
        Value::File(f) => format!("\t{name}={}\n", bytes_repr(&f.read_all()?)),
    })
}

/// Python: `class PostHandler(BaseHTTPRequestHandler)`; `save` is the `--save`
/// directory.
struct PostHandler {
    save: Option<std::path::PathBuf>,
}

impl BaseHttpRequestHandler for PostHandler {
    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        // Parse the form data posted.
        let form = match FieldStorage::from_request(h, &FormOptions::default()) {
            Ok(form) => form,
            Err(e) => return send_form_error(h, e),
        };

        // Begin the response.
        h.send_response(200)?;
        h.end_headers()?;
        let mut out = format!(
            "Client: {}\nPath: {}\nForm data:\n",
            h.client_address.repr(),
            h.path
        );
        // Echo back information about what was posted in the form. (A repeated name
        // is a list in Python, whose `.filename` raises; here each item is shown.)
        for field in form.keys() {
            for item in form.fields(field) {
                out.push_str(&describe(field, item)?);
                let plain = field
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if let (Some(dir), Some(upload), true) = (&self.save, item.upload(), plain) {
                    let path = dir.join(field);
                    let _ = std::fs::remove_file(&path);
                    upload.save_as(path)?;
                }
            }
        }
        h.wfile.write_all(out.as_bytes())?;
        Ok(())
    }
}

fn main() -> socketserver::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut save, mut port) = (None, 8080);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--save" => save = args.next().map(std::path::PathBuf::from),
            p => port = p.parse().unwrap_or(8080),
        }
    }
    let server = HttpServer::new(("localhost", port), PostHandler { save })?;
    println!(
        "Starting server on port {}, use <Ctrl-C> to stop",
        server.server_port
    );
    Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)
}
