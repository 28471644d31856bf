//! [`Params`]: a request's CGI environment, as byte strings.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// The PARAMS of a request — the CGI/1.1 environment the web server sends
/// (`QUERY_STRING`, `REQUEST_METHOD`, `CONTENT_LENGTH`, `HTTP_*`, …): fast.ai's
/// `self.params`.
///
/// Names and values are byte strings: the spec makes them binary-safe, and a header
/// value a client sent need not be UTF-8 (fast.ai decoded them as UTF-8 and failed on
/// such requests). [`get`](Self::get) gives the `&str` most code wants and returns
/// `None` when the name is absent — nginx omits `HTTP_CONTENT_TYPE` on a GET, for
/// example — or when the value is not UTF-8; [`get_bytes`](Self::get_bytes) gives the
/// raw bytes.
///
/// If a name is sent twice, [`get`](Self::get) returns the later value (as a Python
/// `dict` built from the pairs would); [`iter`](Self::iter) shows every pair as sent.
///
/// ```
/// use socketserver::fcgi::Params;
/// let mut p = Params::new();
/// p.insert(b"QUERY_STRING", b"a=1");
/// p.insert(b"CONTENT_LENGTH", b"");
/// p.insert(b"HTTP_X_BIN", b"\xff\xfe");
/// assert_eq!(p.get("QUERY_STRING"), Some("a=1"));
/// assert_eq!(p.get("CONTENT_LENGTH"), Some(""));
/// assert_eq!(p.get("HTTP_CONTENT_TYPE"), None);
/// assert_eq!(p.get("HTTP_X_BIN"), None);
/// assert_eq!(p.get_bytes("HTTP_X_BIN"), Some(&b"\xff\xfe"[..]));
/// assert_eq!(p.len(), 3);
/// ```
///
/// The storage is one byte buffer and an index, reused from request to request on a
/// kept-open connection: reading a request's parameters allocates nothing once the
/// buffers have grown to size.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params {
    data: Vec<u8>,
    index: Vec<Entry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    start: usize,
    name_len: usize,
    value_len: usize,
}

impl Entry {
    fn name<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.start..self.start + self.name_len]
    }
    fn value<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        let v = self.start + self.name_len;
        &data[v..v + self.value_len]
    }
}

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params::default()
    }

    /// No parameters, with room for `bytes` of names and values and `pairs` pairs.
    pub fn with_capacity(bytes: usize, pairs: usize) -> Params {
        Params {
            data: Vec::with_capacity(bytes),
            index: Vec::with_capacity(pairs),
        }
    }

    /// The value of `name` as text: `None` if absent or not valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(self.get_bytes(name)?).ok()
    }

    /// The value of `name` as text, with invalid UTF-8 replaced by U+FFFD; `None` if
    /// absent.
    pub fn get_lossy(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get_bytes(name).map(String::from_utf8_lossy)
    }

    /// The value of `name` as bytes; `None` if absent.
    pub fn get_bytes(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        self.find(name).map(|e| e.value(&self.data))
    }

    /// True if `name` was sent (perhaps with an empty value).
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.find(name.as_ref()).is_some()
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The pairs in the order they arrived.
    pub fn iter(&self) -> ParamsIter<'_> {
        ParamsIter { params: self, i: 0 }
    }

    /// Adds a pair (in constant time: a later pair with the same name hides this one
    /// from [`get`](Self::get)).
    pub fn insert(&mut self, name: &[u8], value: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(name);
        self.data.extend_from_slice(value);
        self.index.push(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
        });
    }

    /// Removes every pair, keeping the buffers.
    pub fn clear(&mut self) {
        self.data.clear();
        self.index.clear();
    }

    /// Bytes held (names and values).
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// A copy as a `HashMap` of strings, invalid UTF-8 replaced by U+FFFD (what
    /// fast.ai's `params` property returned, minus its `UnicodeDecodeError`).
    pub fn to_hash_map(&self) -> HashMap<String, String> {
        self.iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn find(&self, name: &[u8]) -> Option<&Entry> {
        self.index
            .iter()
            .rev()
            .find(|e| e.name_len == name.len() && e.name(&self.data) == name)
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

/// The iterator of [`Params::iter`]: `(name, value)` byte slices.
#[derive(Clone, Debug)]
pub struct ParamsIter<'a> {
    params: &'a Params,
    i: usize,
}

impl<'a> Iterator for ParamsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let e = self.params.index.get(self.i)?;
        self.i += 1;
        let data = &self.params.data;
        Some((e.name(data), e.value(data)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.params.index.len() - self.i;
        (left, Some(left))
    }
}

impl ExactSizeIterator for ParamsIter<'_> {}

impl<'a> IntoIterator for &'a Params {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = ParamsIter<'a>;
    fn into_iter(self) -> ParamsIter<'a> {
        self.iter()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(N, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Params {
        let mut p = Params::new();
        for (n, v) in iter {
            p.insert(n.as_ref(), v.as_ref());
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_win_and_order_is_kept() {
        let mut p = Params::new();
        p.insert(b"A", b"1");
        p.insert(b"B", b"2");
        p.insert(b"A", b"3");
        assert_eq!(p.get("A"), Some("3"));
        assert_eq!(p.to_hash_map()["A"], "3");
        let v: Vec<_> = p.iter().collect();
        assert_eq!(
            v,
            [
                (&b"A"[..], &b"1"[..]),
                (&b"B"[..], &b"2"[..]),
                (&b"A"[..], &b"3"[..])
            ]
        );
        assert_eq!(p.len(), 3);
        p.clear();
        assert!(p.is_empty());
        assert_eq!(p.get("A"), None);
    }

    #[test]
    fn lossy_and_map_views() {
        let p: Params = [(&b"X"[..], &b"a\xffb"[..])].into_iter().collect();
        assert_eq!(p.get("X"), None);
        assert_eq!(p.get_lossy("X").unwrap(), "a\u{fffd}b");
        assert_eq!(p.to_hash_map()["X"], "a\u{fffd}b");
        assert_eq!(format!("{p:?}"), "{\"X\": \"a\u{fffd}b\"}");
    }
}
