//! HTML forms: Python's `cgi.FieldStorage` and `urllib.parse.parse_qsl`, streaming and
//! bounded, for any handler — [`HttpRequest`](crate::http::HttpRequest)'s `rfile`, a
//! FastCGI request's stdin, a CGI script's standard input.
//!
//! * `application/x-www-form-urlencoded` and query strings: [`parse_qsl`] with
//!   Python's rules (`+` is a space, `%XX` decoded as UTF-8 with `errors='replace'`,
//!   invalid escapes kept, repeated names kept in order, `keep_blank_values`,
//!   `strict_parsing`, `max_num_fields`, `separator`); [`read_urlencoded`] reads a body
//!   piece by piece.
//! * `multipart/form-data`: [`MultipartParser`] (sans-IO: bytes in, [`Event`]s out),
//!   [`MultipartReader`] (parts pulled from a [`Read`](std::io::Read), each part a
//!   `Read` to copy wherever the caller wants), and [`FieldStorage`], the whole form with
//!   text values in memory and uploads in temporary files. Line rules are those of
//!   Python 3.12's `cgi.FieldStorage` (CRLF or bare LF, whitespace after a boundary,
//!   preamble and epilogue ignored); `name` and `filename` come from
//!   `Content-Disposition` as `cgi.parse_header` reads it (quoted, backslash escapes),
//!   with RFC 2231/5987 `filename*=` understood as well.
//! * Everything is read as it arrives: the body is never held whole and nothing is
//!   sized by a number the client sent. [`Limits`] bounds the field count, a text
//!   field, a file, the body and a part's header block; breaking one is a [`FormError`]
//!   whose [`status`](FormError::status) (400/413/415) [`send_form_error`] answers with.
//!   An upload's temporary file is unlinked as soon as it is created, so an error, a
//!   panic or a crash leaves nothing on disk.
//!
//! The multipart parser is the crate's own: the blocking `multipart` crate is
//! unmaintained (RUSTSEC-2023-0050) and `multer` is built on async streams; neither fits a
//! blocking, bounded, sans-IO design. `docs/forms.md` lists the differences from
//! `cgi.FieldStorage`.
//!
//! ```
//! use socketserver::http::forms::{FieldStorage, FormOptions};
//!
//! let body = b"--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ndhellmann\r\n\
//!              --XX\r\nContent-Disposition: form-data; name=\"datafile\"; filename=\"a.py\"\r\n\
//!              Content-Type: text/x-python\r\n\r\nprint(1)\n\r\n--XX--\r\n";
//! let form = FieldStorage::read_body(
//!     &body[..],
//!     Some("multipart/form-data; boundary=XX"),
//!     None,
//!     &FormOptions::default(),
//! )
//! .unwrap();
//! assert_eq!(form.keys(), ["name", "datafile"]);
//! let name = form.get("name").unwrap();
//! assert_eq!(name.text_value(), Some("dhellmann"));
//! let file = form.get("datafile").unwrap();
//! assert_eq!(file.filename.as_deref(), Some("a.py"));
//! assert_eq!(file.upload().unwrap().read_all().unwrap(), b"print(1)\n");
//! ```

mod error;
mod header;
mod multipart;
mod qs;
mod reader;
mod request;
mod storage;

pub use error::{FormError, Limits};
pub use header::{parse_header, HeaderValue};
pub use multipart::{valid_boundary, Event, MultipartParser, PartInfo};
pub use qs::{parse_qsl, read_urlencoded, unquote_plus, QsOptions};
pub use reader::{MultipartReader, Part};
pub use request::send_form_error;
pub use storage::{Field, FieldStorage, FormOptions, OneOrList, UploadedFile, Value};

#[cfg(test)]
mod tests;
