//! Where a form comes from: an HTTP request being handled, or a CGI/FastCGI
//! environment and its standard input.

use std::io::{self, Read};

use super::error::FormError;
use super::storage::{FieldStorage, FormOptions};
use crate::http::{split_path, HttpRequest};

/// A reader that must deliver exactly `len` bytes: an early end is an
/// `UnexpectedEof` error (a truncated body), not a shorter form.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || out.is_empty() {
            return Ok(0);
        }
        let want = out
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut out[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client sent less than Content-Length",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl FieldStorage {
    /// The form of the request being handled, as the PyMOTW handler builds it:
    /// `cgi.FieldStorage(fp=self.rfile, headers=self.headers,
    /// environ={'REQUEST_METHOD': self.command, 'CONTENT_TYPE': ...})`.
    ///
    /// * `GET` and `HEAD`: the fields of the query string.
    /// * Any other method: the body, `Content-Length` bytes of it (none without the
    ///   header), read from `rfile` as it arrives; urlencoded when there is no
    ///   `Content-Type`, as Python assumes for a POST. The query string's fields come
    ///   too when [`FormOptions::include_query`] is set.
    ///
    /// A body above [`Limits::max_total_size`](super::Limits::max_total_size) is refused
    /// before a byte of it is read. After an error the rest of the body is unread:
    /// answer with [`send_form_error`], which also closes the connection.
    ///
    /// ```no_run
    /// use socketserver::http::forms::{send_form_error, FieldStorage, FormOptions};
    /// use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
    /// use socketserver::BaseServer;
    ///
    /// struct PostHandler;
    /// impl BaseHttpRequestHandler for PostHandler {
    ///     fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
    ///         let form = match FieldStorage::from_request(h, &FormOptions::default()) {
    ///             Ok(form) => form,
    ///             Err(e) => return send_form_error(h, e),
    ///         };
    ///         h.send_response(200)?;
    ///         h.end_headers()?;
    ///         for key in form.keys() {
    ///             use std::io::Write;
    ///             writeln!(h.wfile, "{key}")?;
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let server = HttpServer::new(("localhost", 8080), PostHandler)?;
    /// std::sync::Arc::new(server).serve_forever(socketserver::POLL_INTERVAL)?;
    /// # Ok::<(), socketserver::Error>(())
    /// ```
    pub fn from_request(
        h: &mut HttpRequest<'_>,
        options: &FormOptions,
    ) -> Result<FieldStorage, FormError> {
        let (_, query) = split_path(&h.path);
        let query = query.to_owned();
        let method = h.command.to_ascii_uppercase();
        if method == "GET" || method == "HEAD" {
            return FieldStorage::from_query(&query, options);
        }
        let len = h
            .content_length(usize::try_from(options.limits.max_total_size).unwrap_or(usize::MAX))
            .map_err(|e| match e {
                crate::Error::Http { code: 413, .. } => FormError::BodyTooLarge {
                    limit: options.limits.max_total_size,
                },
                crate::Error::Http { code, message } => FormError::Request { code, message },
                other => FormError::Request {
                    code: 400,
                    message: other.to_string(),
                },
            })?;
        let content_type = h.headers.get("Content-Type").map(str::to_owned);
        let body = Exact {
            inner: &mut h.rfile,
            left: len,
        };
        FieldStorage::read_body(body, content_type.as_deref(), Some(&query), options)
    }

    /// The form of a CGI or FastCGI request, as `cgi.FieldStorage()` reads it from
    /// `os.environ` and standard input: `REQUEST_METHOD`, `QUERY_STRING`,
    /// `CONTENT_TYPE` and `CONTENT_LENGTH` from `env`, the body from `stdin`
    /// (`CONTENT_LENGTH` bytes of it, or up to its end when that is absent). The query
    /// string's fields are included on a POST, as Python includes them.
    ///
    /// ```
    /// use socketserver::http::forms::{FieldStorage, FormOptions};
    ///
    /// let env = |name: &str| match name {
    ///     "REQUEST_METHOD" => Some("POST".to_owned()),
    ///     "QUERY_STRING" => Some("q=1".to_owned()),
    ///     "CONTENT_LENGTH" => Some("3".to_owned()),
    ///     _ => None,
    /// };
    /// let form = FieldStorage::from_environ(env, &b"a=b"[..], &FormOptions::default()).unwrap();
    /// assert_eq!(form.keys(), ["a", "q"]);
    /// ```
    pub fn from_environ<R: Read>(
        env: impl Fn(&str) -> Option<String>,
        stdin: R,
        options: &FormOptions,
    ) -> Result<FieldStorage, FormError> {
        let method = env("REQUEST_METHOD")
            .unwrap_or_else(|| "GET".to_owned())
            .to_ascii_uppercase();
        let query = env("QUERY_STRING").unwrap_or_default();
        if method == "GET" || method == "HEAD" {
            return FieldStorage::from_query(&query, options);
        }
        let options = FormOptions {
            include_query: true,
            ..options.clone()
        };
        let content_type = env("CONTENT_TYPE");
        let limit = options.limits.max_total_size;
        match env("CONTENT_LENGTH").and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(len) if len > limit => Err(FormError::BodyTooLarge { limit }),
            Some(len) => FieldStorage::read_body(
                Exact {
                    inner: stdin,
                    left: len,
                },
                content_type.as_deref(),
                Some(&query),
                &options,
            ),
            None => FieldStorage::read_body(stdin, content_type.as_deref(), Some(&query), &options),
        }
    }
}

/// Answers a form that could not be read: `send_error` with the error's status
/// ([`FormError::status`]: 400, 411, 413 or 415) and its message, and closes the
/// connection, since the rest of the body was not read. A connection failure (a
/// timeout, a reset) is returned as the error it is: there is no one to answer.
pub fn send_form_error(h: &mut HttpRequest<'_>, e: FormError) -> crate::Result<()> {
    h.close_connection = true;
    if e.is_connection_error() {
        return Err(e.into());
    }
    let code = e.status();
    // The message becomes the reason phrase: one short line.
    let message: String = e
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    h.send_error_message(code, &message)
}
