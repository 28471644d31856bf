//! `HttpMessage`: the request headers, as Python's `http.client.HTTPMessage` parses and
//! presents them.
//!
//! STUB: signatures only; the implementation lands separately.
#![allow(dead_code, unused_variables)]

use std::fmt;
use std::io::{self, BufRead};

/// The headers of a request (Python's `self.headers`, an `http.client.HTTPMessage`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpMessage {
    text: String,
    fields: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl HttpMessage {
    /// No headers.
    pub fn new() -> HttpMessage {
        HttpMessage::default()
    }
    /// Parses a header block the way Python's email parser does.
    pub fn parse(block: &[u8]) -> HttpMessage {
        let mut m = HttpMessage::new();
        m.parse_into(block);
        m
    }
    /// Replaces the headers with those parsed from `block`, reusing storage.
    pub fn parse_into(&mut self, block: &[u8]) {
        todo!()
    }
    /// The first value of `name` (case-insensitive), as `headers.get(name)`.
    pub fn get(&self, name: &str) -> Option<&str> {
        todo!()
    }
    /// Every value of `name`, in order (`headers.get_all(name)`).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    /// `(name, value)` pairs in order, names as sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.fields
            .iter()
            .map(|(n, v)| (&self.text[n.clone()], &self.text[v.clone()]))
    }
    /// How many header fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    /// Removes every header.
    pub fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
    }
    /// Appends a header.
    pub fn add_header(&mut self, name: &str, value: &str) {
        todo!()
    }
}

impl fmt::Display for HttpMessage {
    /// What `print(self.headers)` prints, minus `print`'s own newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl fmt::Debug for HttpMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Python's `http.client.parse_headers(fp)`: reads a header block and parses it.
pub fn parse_headers<R: BufRead>(
    rfile: &mut R,
) -> io::Result<Result<HttpMessage, super::parse::HeaderError>> {
    todo!()
}
