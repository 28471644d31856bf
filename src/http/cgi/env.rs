//! The CGI/1.1 environment of a script, built exactly as CPython 3.13's `run_cgi` builds
//! it (sans-IO: request values in, variables out).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::http::headers::HttpMessage;

/// The request values the environment is made of: what CPython's `run_cgi` reads from
/// `self` and `self.server`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CgiRequestInfo<'a> {
    /// `version_string()`: `SERVER_SOFTWARE`.
    pub version_string: &'a str,
    /// `server.server_name`: `SERVER_NAME`.
    pub server_name: &'a str,
    /// `server.server_port`: `SERVER_PORT`.
    pub server_port: u16,
    /// The handler's `protocol_version` (not the request's): `SERVER_PROTOCOL`.
    pub protocol_version: &'a str,
    /// `command`: `REQUEST_METHOD`.
    pub command: &'a str,
    /// The decoded path after the script name: `PATH_INFO`.
    pub path_info: &'a str,
    /// `translate_path(PATH_INFO)`: `PATH_TRANSLATED` (file-system bytes).
    pub path_translated: &'a [u8],
    /// The CGI directory and the script's name: `SCRIPT_NAME`.
    pub script_name: &'a str,
    /// The query string, as sent (not decoded): `QUERY_STRING`.
    pub query: &'a str,
    /// `client_address[0]`: `REMOTE_ADDR`.
    pub remote_addr: &'a str,
    /// The request headers.
    pub headers: &'a HttpMessage,
}

/// A script's environment: the server's own environment with these variables set, and
/// these removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgiEnvironment {
    /// Variables to set, in CPython's order.
    pub set: Vec<(String, OsString)>,
    /// Variables the request did not supply, to be removed from the inherited
    /// environment (`AUTH_TYPE`, `REMOTE_USER`).
    pub remove: Vec<&'static str>,
}

impl CgiEnvironment {
    fn put(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        let name = name.into();
        let value = OsString::from_vec(value.into());
        match self.set.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.set.push((name, value)),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.set.iter().any(|(n, _)| n == name)
    }

    /// The value set for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&OsString> {
        self.set.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Request headers never passed as `HTTP_*` variables by
/// [`cgi_environment`]'s `all_headers` mode: `Proxy` (httpoxy, CVE-2016-1000110: a
/// script's HTTP library would take `HTTP_PROXY` as its proxy), the credentials, the two
/// headers that have their own variables, and hop-by-hop headers.
pub const NOT_PASSED_HEADERS: &[&str] = &[
    "Proxy",
    "Authorization",
    "Proxy-Authorization",
    "Content-Type",
    "Content-Length",
    "Connection",
    "Keep-Alive",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
];

/// The variables CPython 3.13's `run_cgi` sets for a request (HS L1109-1164):
///
/// `SERVER_SOFTWARE`, `SERVER_NAME`, `GATEWAY_INTERFACE` (`CGI/1.1`), `SERVER_PROTOCOL`,
/// `SERVER_PORT`, `REQUEST_METHOD`, `PATH_INFO`, `PATH_TRANSLATED`, `SCRIPT_NAME`,
/// `QUERY_STRING`, `REMOTE_ADDR`; `AUTH_TYPE` when `Authorization` has exactly two words,
/// and `REMOTE_USER` when those are `Basic` and base64 of an ASCII `user:password` with
/// exactly one colon; `CONTENT_TYPE` (the header, or `text/plain`); `CONTENT_LENGTH`,
/// `HTTP_REFERER`, `HTTP_USER_AGENT` when the header is non-empty; `HTTP_ACCEPT` (every
/// `Accept` joined with `,`, always set); `HTTP_COOKIE` (the non-empty `Cookie` values
/// joined with `, `); and an empty `QUERY_STRING`, `REMOTE_HOST`, `CONTENT_LENGTH`,
/// `HTTP_USER_AGENT`, `HTTP_COOKIE`, `HTTP_REFERER` where the request gave none.
///
/// Two things differ from CPython, both only for a server whose own environment holds
/// these names: CPython fills the empty defaults with `setdefault`, so a value the server
/// inherited (say `HTTP_COOKIE`) reaches every script that gets no such header, against
/// its own comment ("provide empty values to override previously set values"); and an
/// inherited `AUTH_TYPE` or `REMOTE_USER` stays for requests without credentials. Here
/// the empty values always override, and `AUTH_TYPE`/`REMOTE_USER` are removed when the
/// request does not supply them.
///
/// No other header becomes a variable, as in CPython — unless `all_headers` is set (RFC
/// 3875 §4.1.18): then every other header whose name is letters, digits and `-` is
/// passed as `HTTP_NAME` (upper case, `-` → `_`, repeated headers joined with `, `),
/// except [`NOT_PASSED_HEADERS`]. A `Proxy` header never becomes `HTTP_PROXY`.
///
/// ```
/// use socketserver::http::cgi::{cgi_environment, CgiRequestInfo};
/// use socketserver::http::HttpMessage;
///
/// let headers = HttpMessage::parse(b"Authorization: Basic dXNlcjpwdw==\r\nProxy: http://evil/\r\n\r\n");
/// let mut info = CgiRequestInfo::new("/cgi-bin/env.py", &headers);
/// info.query = "a=1";
/// let env = cgi_environment(&info, true);
/// assert_eq!(env.get("REMOTE_USER").unwrap(), "user");
/// assert_eq!(env.get("QUERY_STRING").unwrap(), "a=1");
/// assert_eq!(env.get("CONTENT_TYPE").unwrap(), "text/plain");
/// assert!(env.get("HTTP_PROXY").is_none());
/// ```
pub fn cgi_environment(info: &CgiRequestInfo<'_>, all_headers: bool) -> CgiEnvironment {
    let mut env = CgiEnvironment::default();
    env.put("SERVER_SOFTWARE", info.version_string);
    env.put("SERVER_NAME", info.server_name);
    env.put("GATEWAY_INTERFACE", "CGI/1.1");
    env.put("SERVER_PROTOCOL", info.protocol_version);
    env.put("SERVER_PORT", info.server_port.to_string());
    env.put("REQUEST_METHOD", info.command);
    env.put("PATH_INFO", info.path_info);
    env.put("PATH_TRANSLATED", info.path_translated);
    env.put("SCRIPT_NAME", info.script_name);
    env.put("QUERY_STRING", info.query);
    env.put("REMOTE_ADDR", info.remote_addr);
    let headers = info.headers;
    if let Some(authorization) = headers.get("authorization").filter(|a| !a.is_empty()) {
        let words: Vec<&str> = py_split(authorization).collect();
        if let [scheme, credentials] = words[..] {
            env.put("AUTH_TYPE", scheme);
            if scheme.eq_ignore_ascii_case("basic") {
                if let Some(user) = basic_user(credentials) {
                    env.put("REMOTE_USER", user);
                }
            }
        }
    }
    match headers.get("content-type") {
        Some(ctype) => env.put("CONTENT_TYPE", ctype),
        None => env.put("CONTENT_TYPE", "text/plain"),
    }
    for (header, var) in [
        ("content-length", "CONTENT_LENGTH"),
        ("referer", "HTTP_REFERER"),
    ] {
        if let Some(v) = headers.get(header).filter(|v| !v.is_empty()) {
            env.put(var, v);
        }
    }
    env.put("HTTP_ACCEPT", join(headers.get_all("accept"), ","));
    if let Some(ua) = headers.get("user-agent").filter(|v| !v.is_empty()) {
        env.put("HTTP_USER_AGENT", ua);
    }
    let cookie = join(headers.get_all("cookie").filter(|c| !c.is_empty()), ", ");
    if !cookie.is_empty() {
        env.put("HTTP_COOKIE", cookie);
    }
    if all_headers {
        for (name, _) in headers.iter() {
            let var = header_variable(name);
            if var.is_empty()
                || env.has(&var)
                || NOT_PASSED_HEADERS
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let value = join(headers.get_all(name), ", ");
            env.put(var, value);
        }
    }
    for name in [
        "QUERY_STRING",
        "REMOTE_HOST",
        "CONTENT_LENGTH",
        "HTTP_USER_AGENT",
        "HTTP_COOKIE",
        "HTTP_REFERER",
    ] {
        if !env.has(name) {
            env.put(name, "");
        }
    }
    for name in ["AUTH_TYPE", "REMOTE_USER"] {
        if !env.has(name) {
            env.remove.push(name);
        }
    }
    env
}

impl<'a> CgiRequestInfo<'a> {
    /// Values for a script `script_name` with `headers`, the rest empty or zero (a start
    /// for tests and for building the environment outside an HTTP handler).
    pub fn new(script_name: &'a str, headers: &'a HttpMessage) -> CgiRequestInfo<'a> {
        CgiRequestInfo {
            version_string: "",
            server_name: "",
            server_port: 0,
            protocol_version: "HTTP/1.0",
            command: "GET",
            path_info: "",
            path_translated: b"",
            script_name,
            query: "",
            remote_addr: "",
            headers,
        }
    }
}

/// `HTTP_` and the header name upper-cased with `-` → `_`; empty for a name with any
/// other character (so that `X_Y` cannot pose as `X-Y`).
fn header_variable(name: &str) -> String {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return String::new();
    }
    let mut var = String::with_capacity(5 + name.len());
    var.push_str("HTTP_");
    var.extend(name.chars().map(|c| {
        if c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    }));
    var
}

fn join<'s>(mut values: impl Iterator<Item = &'s str>, sep: &str) -> String {
    let mut out = String::new();
    if let Some(first) = values.next() {
        out.push_str(first);
        for v in values {
            out.push_str(sep);
            out.push_str(v);
        }
    }
    out
}

/// Python's `str.split()` with no argument: runs of whitespace separate words; leading
/// and trailing whitespace make no empty words. Python's whitespace is Unicode's plus
/// U+001C–U+001F.
fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
        .filter(|w| !w.is_empty())
}

/// The user of `Basic` credentials as CPython takes it: `base64.decodebytes` of the
/// ASCII word, decoded as ASCII, split on `:` into exactly two parts.
fn basic_user(credentials: &str) -> Option<String> {
    if !credentials.is_ascii() {
        return None;
    }
    let decoded = a2b_base64(credentials.as_bytes())?;
    let text = String::from_utf8(decoded).ok().filter(|t| t.is_ascii())?;
    let mut parts = text.split(':');
    let (user, _password) = (parts.next()?, parts.next()?);
    parts.next().is_none().then(|| user.to_owned())
}

/// Python's `binascii.a2b_base64(data)` (not strict): characters outside the alphabet
/// are skipped; a `=` after at least two characters of a quad ends the data once the quad
/// is complete; left-over characters are an error (`None`).
pub(crate) fn a2b_base64(data: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u8> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut quad_pos = 0;
    let mut left: u8 = 0;
    let mut pads = 0;
    for &c in data {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(v) = value(c) else { continue };
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    (quad_pos == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(head: &[u8]) -> CgiEnvironment {
        let headers = HttpMessage::parse(head);
        cgi_environment(&CgiRequestInfo::new("/cgi-bin/x", &headers), false)
    }

    fn var(env: &CgiEnvironment, name: &str) -> Option<String> {
        env.get(name).map(|v| v.to_string_lossy().into_owned())
    }

    #[test]
    fn base64_as_binascii_reads_it() {
        let ok = |s: &str, b: &[u8]| assert_eq!(a2b_base64(s.as_bytes()).as_deref(), Some(b));
        ok("", b"");
        ok("Zg==", b"f");
        ok("Zm8=", b"fo");
        ok("Zm9v", b"foo");
        ok("Zm 9v", b"foo");
        ok("Zm9v*YmFy", b"foobar");
        ok("Zg==Zm9v", b"f");
        ok("Zm=9v", b"foo");
        ok("=Zm9v", b"foo");
        ok("Zm=9=v", b"fo");
        ok("Z=m=9v==", b"foo");
        ok("Zm9=v", b"fo");
        assert_eq!(a2b_base64(b"Zm9vY"), None);
        assert_eq!(a2b_base64(b"Zm9vYg"), None);
        assert_eq!(a2b_base64(b"Zm9vYg="), None);
    }

    #[test]
    fn authorization() {
        let e = env_of(b"Authorization: Basic dXNlcm5hbWU6cGFzcw==\r\n\r\n");
        assert_eq!(var(&e, "AUTH_TYPE").as_deref(), Some("Basic"));
        assert_eq!(var(&e, "REMOTE_USER").as_deref(), Some("username"));
        assert!(e.remove.is_empty());
        // user:pa:ss has two colons: no REMOTE_USER.
        let e = env_of(b"Authorization: basic dXNlcjpwYTpzcw==\r\n\r\n");
        assert_eq!(var(&e, "AUTH_TYPE").as_deref(), Some("basic"));
        assert_eq!(var(&e, "REMOTE_USER"), None);
        assert_eq!(e.remove, ["REMOTE_USER"]);
        let e = env_of(b"Authorization: Bearer abc def\r\n\r\n");
        assert_eq!(var(&e, "AUTH_TYPE"), None);
        assert_eq!(e.remove, ["AUTH_TYPE", "REMOTE_USER"]);
        let e = env_of(b"Authorization: Bearer  \x0babc\x1f\r\n\r\n");
        assert_eq!(var(&e, "AUTH_TYPE").as_deref(), Some("Bearer"));
    }

    #[test]
    fn cpython_defaults() {
        let e = env_of(b"Accept: a\r\nCookie: \r\nCookie: c=1\r\nAccept: b\r\n\r\n");
        assert_eq!(var(&e, "HTTP_ACCEPT").as_deref(), Some("a,b"));
        assert_eq!(var(&e, "HTTP_COOKIE").as_deref(), Some("c=1"));
        assert_eq!(var(&e, "CONTENT_TYPE").as_deref(), Some("text/plain"));
        for empty in [
            "CONTENT_LENGTH",
            "HTTP_USER_AGENT",
            "HTTP_REFERER",
            "REMOTE_HOST",
            "QUERY_STRING",
        ] {
            assert_eq!(var(&e, empty).as_deref(), Some(""), "{empty}");
        }
        let e = env_of(b"Content-Type:\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(var(&e, "CONTENT_TYPE").as_deref(), Some(""));
        assert_eq!(var(&e, "CONTENT_LENGTH").as_deref(), Some("0"));
    }

    #[test]
    fn other_headers_only_when_asked_and_never_proxy() {
        let head =
            b"Proxy: http://evil/\r\nX-Thing: 1\r\nX-Thing: 2\r\nX_Thing: spoof\r\nHost: h\r\n\r\n";
        let headers = HttpMessage::parse(head);
        let info = CgiRequestInfo::new("/cgi-bin/x", &headers);
        let plain = cgi_environment(&info, false);
        assert!(plain.get("HTTP_X_THING").is_none());
        assert!(plain.get("HTTP_HOST").is_none());
        let all = cgi_environment(&info, true);
        assert_eq!(all.get("HTTP_X_THING").unwrap(), "1, 2");
        assert_eq!(all.get("HTTP_HOST").unwrap(), "h");
        for env in [&plain, &all] {
            assert!(env.get("HTTP_PROXY").is_none());
        }
    }
}
