//! The status table: Python's `BaseHTTPRequestHandler.responses` (from `http.HTTPStatus`).
//!
//! STUB: signatures only; the implementation lands separately.
#![allow(dead_code, unused_variables)]

/// `(phrase, description)` for a status code Python knows, as
/// `BaseHTTPRequestHandler.responses[code]`.
pub fn responses(code: u16) -> Option<(&'static str, &'static str)> {
    todo!()
}
