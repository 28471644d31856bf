//! Header values as `cgi.parse_header` reads them, a part's header block as
//! `email.feedparser.FeedParser` (policy `compat32`) reads it, and RFC 2231/5987
//! extended parameters (`filename*=UTF-8''%E2%82%AC.txt`).

use crate::http::url::unquote_to_bytes;
use crate::http::HttpMessage;

/// Python's `str.isspace()`: Rust's `char::is_whitespace` plus U+001C–U+001F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// A header's main value and its parameters, as `cgi.parse_header` returns them
/// (`('form-data', {'name': 'a', 'filename': 'b.txt'})`). Parameter names are
/// lower-cased; a later duplicate replaces an earlier one, as in Python's dict, but keeps
/// the first one's place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderValue {
    /// The main value (`form-data`, `multipart/form-data`), as written.
    pub value: String,
    /// The parameters in order, names lower-cased, quotes and escapes removed.
    pub params: Vec<(String, String)>,
}

impl HeaderValue {
    /// A parameter by its (lower-case) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter, preferring its RFC 2231/5987 extended form `name*` when that
    /// decodes (UTF-8 or ISO-8859-1 charset). `cgi.parse_header` knows only the plain
    /// form.
    pub fn param_ext(&self, name: &str) -> Option<String> {
        let star = format!("{name}*");
        if let Some(decoded) = self.param(&star).and_then(decode_rfc2231) {
            return Some(decoded);
        }
        self.param(name).map(str::to_owned)
    }
}

/// Python's `cgi._parseparam`: the pieces between `;`, a `;` inside an (unescaped)
/// quoted string not counting.
fn parse_params(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut s = line;
    loop {
        // `s` starts at a ';' (the one Python prepends, or the one the last piece ended at).
        s = &s[1..];
        let mut end = s.find(';');
        while let Some(e) = end {
            let head = &s[..e];
            let odd = (head.matches('"').count() - head.matches("\\\"").count()) % 2 == 1;
            if e == 0 || !odd {
                break;
            }
            end = s[e + 1..].find(';').map(|i| i + e + 1);
        }
        let end = end.unwrap_or(s.len());
        out.push(py_strip(&s[..end]));
        s = &s[end..];
        if !s.starts_with(';') {
            return out;
        }
    }
}

/// Python's `cgi.parse_header(line)`.
///
/// ```
/// use socketserver::http::forms::parse_header;
///
/// let h = parse_header(r#"form-data; name="a\"b"; filename="c;d.txt""#);
/// assert_eq!(h.value, "form-data");
/// assert_eq!(h.param("name"), Some("a\"b"));
/// assert_eq!(h.param("filename"), Some("c;d.txt"));
/// ```
#[doc(alias = "cgi.parse_header")]
pub fn parse_header(line: &str) -> HeaderValue {
    let with_semicolon = format!(";{line}");
    let mut parts = parse_params(&with_semicolon).into_iter();
    let value = parts.next().unwrap_or("").to_owned();
    let mut params: Vec<(String, String)> = Vec::new();
    for p in parts {
        let Some(i) = p.find('=') else { continue };
        let name = py_strip(&p[..i]).to_lowercase();
        let mut v = py_strip(&p[i + 1..]).to_owned();
        if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            v = v[1..v.len() - 1]
                .replace("\\\\", "\\")
                .replace("\\\"", "\"");
        }
        match params.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = v,
            None => params.push((name, v)),
        }
    }
    HeaderValue { value, params }
}

/// Decodes an RFC 2231/5987 extended value `charset'language'%XX...`; `None` when the
/// form or the charset is not one this crate knows (UTF-8, ISO-8859-1, US-ASCII).
pub(crate) fn decode_rfc2231(v: &str) -> Option<String> {
    let mut it = v.splitn(3, '\'');
    let (charset, _lang, text) = (it.next()?, it.next()?, it.next()?);
    let bytes = unquote_to_bytes(text);
    match charset.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" | "" => String::from_utf8(bytes).ok(),
        "iso-8859-1" | "latin-1" | "latin1" => Some(bytes.iter().map(|&b| b as char).collect()),
        "us-ascii" | "ascii" => bytes
            .is_ascii()
            .then(|| bytes.iter().map(|&b| b as char).collect()),
        _ => None,
    }
}

/// Whether `email.feedparser`'s `headerRE` accepts `line` as a header line:
/// `^(From |[\041-\071\073-\176]*:|[\t ])`.
fn is_header_line(line: &str) -> bool {
    if line.starts_with("From ") || line.starts_with([' ', '\t']) {
        return true;
    }
    match line.find(':') {
        Some(i) => line.as_bytes()[..i]
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b':'),
        None => false,
    }
}

/// Splits `text` into lines as `email`'s `NLCRE_crack` does (`\r\n`, `\r` or `\n`),
/// each line keeping its ending.
fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.push(&text[start..i + 2]);
                i += 2;
                start = i;
            }
            b'\r' | b'\n' => {
                out.push(&text[start..i + 1]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(&text[start..]);
    }
    out
}

/// A part's header block as `cgi.FieldStorage` reads it: the bytes decoded as UTF-8
/// with `errors='replace'`, then fed to `email.feedparser.FeedParser`. A line that is
/// not a header line ends the headers (the rest is what `email` would take for the
/// body, and `cgi` ignores); a continuation line joins the header before it, line
/// ending included; a leading `From ` line is skipped; `Content-Length` is dropped, as
/// `cgi` drops it.
pub(crate) fn parse_part_headers(block: &[u8]) -> HttpMessage {
    let text = String::from_utf8_lossy(block);
    let mut headers: Vec<(String, String)> = Vec::new();
    // Whether a continuation line has a header to join (`email`'s `lastheader`).
    let mut open = false;
    for line in split_lines(&text) {
        let content = line.trim_end_matches(['\r', '\n']);
        if content.is_empty() {
            break;
        }
        if !is_header_line(line) {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let (true, Some(last)) = (open, headers.last_mut()) {
                last.1.push_str(line);
            }
            continue;
        }
        open = false;
        if line.starts_with("From ") {
            continue;
        }
        // `email` notes a line starting with ':' as a defect and skips it.
        if let Some(i) = line.find(':').filter(|&i| i > 0) {
            open = true;
            let value = line[i + 1..].trim_start_matches([' ', '\t']);
            headers.push((line[..i].to_owned(), value.to_owned()));
        }
    }
    let mut msg = HttpMessage::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        msg.add_header(&name, value.trim_end_matches(['\r', '\n']));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_header_matches_cgi() {
        let h = parse_header("form-data; name=\"files\"; filename=\"a \\\\\\\"b.txt\"");
        assert_eq!(h.param("filename"), Some("a \\\"b.txt"));
        let h = parse_header("text/plain;charset=utf-8;;x");
        assert_eq!(h.value, "text/plain");
        assert_eq!(h.params, vec![("charset".to_owned(), "utf-8".to_owned())]);
        let h = parse_header("a; B = \"1\" ; b=2");
        assert_eq!(h.params, vec![("b".to_owned(), "2".to_owned())]);
        // An odd quote keeps the ';' inside the value.
        let h = parse_header("a; n=\"x;y\"; m=1");
        assert_eq!(h.param("n"), Some("x;y"));
        assert_eq!(h.param("m"), Some("1"));
    }

    #[test]
    fn rfc2231() {
        let h = parse_header("form-data; name=f; filename=\"x\"; filename*=UTF-8''%E2%82%AC.txt");
        assert_eq!(h.param_ext("filename").as_deref(), Some("€.txt"));
        let h = parse_header("form-data; filename*=iso-8859-1'en'%E9");
        assert_eq!(h.param_ext("filename").as_deref(), Some("é"));
        let h = parse_header("form-data; filename=\"x\"; filename*=koi8-r''%E9");
        assert_eq!(h.param_ext("filename").as_deref(), Some("x"));
    }

    #[test]
    fn part_headers_like_feedparser() {
        let m = parse_part_headers(
            b"Content-Disposition: form-data;\r\n name=\"a\"\r\nContent-Length: 3\r\nX: \xff\r\n\r\n",
        );
        assert_eq!(
            m.get("content-disposition"),
            Some("form-data;\r\n name=\"a\"")
        );
        assert_eq!(m.get("Content-Length"), None);
        assert_eq!(m.get("x"), Some("\u{fffd}"));
        let m = parse_part_headers(b"A: 1\nbogus line\nB: 2\n\n");
        assert_eq!(m.get("A"), Some("1"));
        assert_eq!(m.get("B"), None);
    }
}
