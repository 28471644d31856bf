//! Python's `http.server`: [`BaseHttpRequestHandler`] and its per-connection
//! [`HttpRequest`], the servers ([`HttpServer`], [`ThreadingHttpServer`], the pool
//! variant), fast.ai's [`MinimalHttpHandler`], and the sans-IO pieces they are built from
//! (the request parser, [`HttpMessage`], the status table, URL and MIME helpers, [`forms`], the
//! directory listing), and CPython's [`CgiHttpRequestHandler`] ([`cgi`]).

pub mod cgi;
mod date;
pub mod forms;
mod handler;
mod head;
pub mod headers;
pub mod listing;
pub mod mime;
mod minimal;
mod open_files;
pub mod parse;
pub mod parsedate;
pub mod pyrepr;
mod reuse;
mod server;
mod simple;
pub mod status;
pub mod url;

pub use cgi::CgiHttpRequestHandler;
pub use date::{date_time_string, log_date_time_string, MONTHNAME, WEEKDAYNAME};
pub use handler::{
    default_log_message, format_error_page, handle_one_request, parse_request, split_path,
    BaseHttpRequestHandler, HttpRequest, DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE,
    SERVER_VERSION, SYS_VERSION,
};
pub use headers::{parse_headers, HttpMessage};
pub use minimal::{MinimalHttpHandler, MinimalHttpRequest};
pub use server::{get_best_family, getfqdn, HttpServer, ThreadPoolHttpServer, ThreadingHttpServer};
#[cfg(feature = "tls")]
pub use server::{HttpsServer, ThreadingHttpsServer};
pub use simple::{Body, SimpleHttpRequestHandler, SIMPLE_SERVER_VERSION};
pub use status::responses;
