//! `CgiHttpRequestHandler` and `http_server --cgi` against CPython 3.13.0's own
//! `python -m http.server --cgi` (`tests/oracle/cgi_oracle.py`: 3.13.0's command line
//! with `CGIHTTPRequestHandler`, the built-in MIME table and the fixes the crate follows),
//! on the same directory and scripts (`tests/common/cgi.rs`), in `-p HTTP/1.0` and
//! `-p HTTP/1.1` modes.
//!
//! Answers are compared byte for byte after normalising only the `Date` value, the
//! `sys_version` token (`Server:` and `SERVER_SOFTWARE`) and the value of `SERVER_PORT`
//! (each server's own port). Both servers start with the same environment (cleared, then
//! the same few variables), so every other environment variable a script sees — the
//! inherited ones included — must be equal. The log lines are compared with the
//! timestamp normalised; the one deliberate difference on them, the script's stderr
//! going through the handler's log (with its `ADDRESS - - [TIME] ` prefix), is applied to
//! CPython's lines before comparing.
//!
//! Differences pinned separately (docs/python-differences.md, "CGI"):
//! `double_decoding_never_leaves_the_cgi_directory`.
//!
//! Without CPython 3.13.0 the comparison prints `SKIP:` and passes, unless `CI` is set.
//! `DIFF_DUMP=1 cargo test --test cgi_diff -- --nocapture` prints every exchange.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::cgi::{cgi_fixture, system_python};
use common::diff::{exchange, fresh_example_bin, normalise, oracle_script, python313, report};
use common::diff::{replace_all, ServerProcess};
use common::port_in;

/// The environment both servers start with (and so every script inherits).
const SERVER_ENV: &[(&str, &str)] = &[
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("LANG", "C.UTF-8"),
    ("HOME", "/nonexistent"),
    ("PYTHONUNBUFFERED", "1"),
    ("PYTHONUTF8", "1"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("CGI_TEST_INHERITED", "from the server's environment"),
];

/// The interpreter itself, not a pyenv shim (which would add its own variables to the
/// environment the scripts inherit).
fn real_python(program: &str) -> PathBuf {
    let out = Command::new(program)
        .env("PYENV_VERSION", "3.13.0")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn with_env(mut cmd: Command) -> Command {
    cmd.env_clear().envs(SERVER_ENV.iter().copied());
    cmd
}

fn crate_server(root: &Path, protocol: &str) -> (ServerProcess, SocketAddr) {
    let mut cmd = with_env(Command::new(fresh_example_bin("http_server")));
    cmd.args(["--cgi", "-b", "127.0.0.1", "-d"])
        .arg(root)
        .args(["-p", protocol, "0"]);
    let p = ServerProcess::start(cmd, true);
    let addr = ([127, 0, 0, 1], port_in(&p.first_line)).into();
    (p, addr)
}

fn python_server(python: &Path, root: &Path, protocol: &str) -> (ServerProcess, SocketAddr) {
    let mut cmd = with_env(Command::new(python));
    cmd.arg(oracle_script("cgi_oracle.py"))
        .args(["-b", "127.0.0.1", "-d"])
        .arg(root)
        .args(["-p", protocol, "0"]);
    let p = ServerProcess::start(cmd, true);
    let addr = ([127, 0, 0, 1], port_in(&p.first_line)).into();
    (p, addr)
}

/// `SERVER_PORT=<port>` → `SERVER_PORT=<PORT>`, then [`normalise`].
fn normalise_answer(answer: &[u8], port: u16) -> Vec<u8> {
    let from = format!("SERVER_PORT={port}\n");
    normalise(&replace_all(
        answer,
        from.as_bytes(),
        b"SERVER_PORT=<PORT>\n",
    ))
}

fn req(method: &str, target: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
    for h in headers {
        r.extend_from_slice(h.as_bytes());
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body);
    r
}

fn get(target: &str) -> (String, Vec<u8>) {
    (format!("GET {target}"), req("GET", target, &[], b""))
}

fn cases() -> Vec<(String, Vec<u8>)> {
    let mut c: Vec<(String, Vec<u8>)> = Vec::new();
    // The environment dump, with everything CPython reads from a request.
    c.push((
        "environment dump".into(),
        req(
            "GET",
            "/cgi-bin/env.py/extra/p%20ath?a=1&b=%41+c",
            &[
                "Authorization: Basic dXNlcm5hbWU6cGFzcw==",
                "Accept: text/html",
                "User-Agent: UA/1.0",
                "Accept: text/plain",
                "Cookie: a=1",
                "Cookie: ",
                "Cookie: b=2",
                "Referer: http://r/",
                "Content-Type: application/x-test",
                "Proxy: http://proxy.example:3128/",
                "X-Other: not passed",
            ],
            b"",
        ),
    ));
    for auth in [
        "Basic dXNlcjpwYTpzcw==", // user:pa:ss — two colons: no REMOTE_USER
        "basic dXNlcjpwdw",       // bad padding
        "Basic dX*Nl cjpwdw==",   // three words: no AUTH_TYPE
        "Basic dXNl*cjpwdw==",    // a skipped character
        "Bearer abc.def",
        "Digest",
        "Basic w6k6cHc=", // é:pw — not ASCII
    ] {
        c.push((
            format!("Authorization: {auth}"),
            req(
                "GET",
                "/cgi-bin/env.py",
                &[&format!("Authorization: {auth}")],
                b"",
            ),
        ));
    }
    // Query strings: `+`, `%`-escapes, no `=` (an argument), empty, several `?`.
    for q in [
        "?foo+bar",
        "?a%20b+c%2Bd%zz",
        "?k=aa%2F%2Fbb&//q//p//=//a//b//",
        "?a=b?c=d",
        "?",
        "?%C3%A9+%ff",
        "?caf\u{e9}=\u{e9}",
    ] {
        c.push(get(&format!("/cgi-bin/env.py{q}")));
    }
    // POST: the body on stdin (CONTENT_LENGTH bytes of it).
    c.push((
        "POST echo".into(),
        req(
            "POST",
            "/cgi-bin/echo.py",
            &[
                "Content-Type: application/x-www-form-urlencoded",
                "Content-Length: 31",
            ],
            b"spam=1&eggs=python&bacon=123456",
        ),
    ));
    c.push((
        "POST, more bytes than Content-Length".into(),
        req(
            "POST",
            "/cgi-bin/env.py",
            &["Content-Length: 7"],
            b"spam=1&extra",
        ),
    ));
    c.push((
        "POST with Expect: 100-continue".into(),
        req(
            "POST",
            "/cgi-bin/echo.py",
            &["Expect: 100-continue", "Content-Length: 5"],
            b"hello",
        ),
    ));
    c.push((
        "POST, Content-Length 0".into(),
        req("POST", "/cgi-bin/echo.py", &["Content-Length: 0"], b""),
    ));
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    c.push((
        "POST 1 MiB to a script that writes 1 MiB first".into(),
        req(
            "POST",
            "/cgi-bin/chatty.sh",
            &[&format!("Content-Length: {}", big.len())],
            &big,
        ),
    ));
    c.push((
        "POST to a file (501)".into(),
        req("POST", "/hello.txt", &["Content-Length: 2"], b"hi"),
    ));
    // Scripts that redirect, fail, write to stderr; HEAD.
    c.push(get("/cgi-bin/redirect.sh"));
    c.push((
        "HEAD redirect.sh".into(),
        req("HEAD", "/cgi-bin/redirect.sh", &[], b""),
    ));
    c.push(get("/cgi-bin/fail.sh"));
    c.push(get("/cgi-bin/stderr.sh"));
    c.push(get("/cgi-bin/hello.sh"));
    c.push(("HTTP/0.9 GET".into(), b"GET /cgi-bin/hello.sh\r\n".to_vec()));
    // What is not a runnable script.
    for t in [
        "/cgi-bin/noexec.sh",
        "/cgi-bin/data.txt",
        "/cgi-bin/missing.py",
        "/cgi-bin/child",
        "/cgi-bin/",
        "/cgi-bin",
        "/cgi-bin/invalid/more",
        "/cgi-bin/hello.sh%00",
    ] {
        c.push(get(t));
    }
    // Nested directories, htbin, and paths that lead into cgi-bin.
    for t in [
        "/cgi-bin/sub/inner.sh",
        "/cgi-bin/sub/inner.sh/p/i?x",
        "/htbin/hi.sh",
        "/cgi-bin%2fhello.sh",
        "cgi-bin/hello.sh",
        "//cgi-bin/hello.sh",
        "///////////nocgi.py/../cgi-bin/nothere.sh",
        "/x/..%2fcgi-bin/hello.sh",
        "/cgi-bin/./hello.sh",
        "/cgi-bin/sub/../hello.sh",
        "/dir/../cgi-bin/hello.sh",
    ] {
        c.push(get(t));
    }
    // Traversal out of cgi-bin: these name files outside it (served as files), or climb
    // above the root (CPython's IndexError: no answer).
    for t in [
        "/cgi-bin/../hello.sh",
        "/cgi-bin/%2e%2e/hello.sh",
        "/cgi-bin/%2E%2E/hello.txt",
        "/cgi-bin/%2f../hello.sh",
        "/cgi-bin/..%2fhello.sh",
        "/cgi-bin/hello.sh/../../hello.txt",
        "/cgi-bin/../../etc/passwd",
        "/cgi-bin/..%2f..%2fetc/passwd",
        "/cgi-bin/%2e%2e/%2e%2e/etc/passwd",
        "/CGI-BIN/hello.sh",
        "/dir/",
        "/hello.sh",
    ] {
        c.push(get(t));
    }
    c
}

/// The log of a handful of requests, as CPython writes it, with the crate's one
/// difference applied: the script's stderr lines (the lines that are not log lines)
/// get the log prefix.
fn expected_log(python_lines: &[String]) -> Vec<String> {
    python_lines
        .iter()
        .map(|l| {
            if l.starts_with("127.0.0.1 - - [") {
                l.clone()
            } else {
                format!("127.0.0.1 - - [TS] {l}")
            }
        })
        .collect()
}

/// `[06/Dec/2026 04:23:42]` → `[TS]`.
fn normalise_line(line: &str) -> String {
    let mut out = line.to_owned();
    if let (Some(a), Some(b)) = (out.find('['), out.find(']')) {
        if b > a {
            out.replace_range(a..=b, "[TS]");
        }
    }
    out
}

#[test]
fn cgi_server_matches_cpython() {
    let Some(python) = python313("cgi_diff") else {
        return;
    };
    if system_python("cgi_diff").is_none() {
        return;
    }
    let python = real_python(python);
    let fx = cgi_fixture();
    let cases = cases();
    let mut failures = Vec::new();
    let mut compared = 0;
    for protocol in ["HTTP/1.0", "HTTP/1.1"] {
        let (py, py_addr) = python_server(&python, &fx.root, protocol);
        let (ours, our_addr) = crate_server(&fx.root, protocol);

        // Log lines: a script that writes to stderr and fails, a 404, a 403, a 501.
        let logged: &[&[u8]] = &[
            b"GET /cgi-bin/hello.sh HTTP/1.0\r\n\r\n",
            b"GET /cgi-bin/stderr.sh HTTP/1.0\r\n\r\n",
            b"GET /cgi-bin/fail.sh HTTP/1.0\r\n\r\n",
            b"GET /cgi-bin/missing.py HTTP/1.0\r\n\r\n",
            b"GET /cgi-bin/noexec.sh HTTP/1.0\r\n\r\n",
            b"POST /hello.txt HTTP/1.0\r\n\r\n",
        ];
        for request in logged {
            exchange(py_addr, request, true);
            exchange(our_addr, request, true);
        }
        // 1 + (1 + 2 stderr) + (1 + exit code) + 2 + 2 + 2.
        let lines = 12;
        let a: Vec<String> = py
            .stderr_lines(lines)
            .iter()
            .map(|l| normalise_line(l))
            .collect();
        let b: Vec<String> = ours
            .stderr_lines(lines)
            .iter()
            .map(|l| normalise_line(l))
            .collect();
        let a = expected_log(&a);
        if std::env::var_os("DIFF_DUMP").is_some() {
            println!("log lines ({protocol}):\n  CPython: {a:#?}\n  crate:   {b:#?}");
        }
        if a != b {
            failures.push(format!(
                "=== log lines ({protocol})\n  CPython (prefix added to stderr lines): {a:#?}\n  crate: {b:#?}\n"
            ));
        }

        for (name, request) in &cases {
            let half_close = !name.starts_with("HTTP/0.9");
            let python = normalise_answer(&exchange(py_addr, request, half_close), py_addr.port());
            let rust = normalise_answer(&exchange(our_addr, request, half_close), our_addr.port());
            let name = format!("{protocol}: {name}");
            if std::env::var_os("DIFF_DUMP").is_some() {
                println!("{}", report(&name, request, &python, &rust));
            }
            if python != rust {
                failures.push(report(&name, request, &python, &rust));
            }
            compared += 1;
        }
        py.drain_stderr();
        ours.drain_stderr();
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} comparisons differ from CPython 3.13.0:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{} CGI cases x 2 protocols byte-identical with CPython 3.13.0's http.server --cgi",
        cases.len()
    );
}

/// CPython decodes a CGI path twice — `_url_collapse_path` once, then `translate_path`
/// again on the script's name — so `/cgi-bin/%252e%252e%252fhello.sh` runs
/// `<root>/hello.sh`, a file outside `cgi-bin`. The crate answers 404 instead
/// (docs/python-differences.md).
#[test]
fn double_decoding_never_leaves_the_cgi_directory() {
    let Some(python) = python313("cgi_diff double decoding") else {
        return;
    };
    let python = real_python(python);
    let fx = cgi_fixture();
    let (_py, py_addr) = python_server(&python, &fx.root, "HTTP/1.0");
    let (_ours, our_addr) = crate_server(&fx.root, "HTTP/1.0");
    for target in [
        "/cgi-bin/%252e%252e%252fhello.sh",
        "/cgi-bin/%252e%252e/hello.sh",
        "/cgi-bin/sub/%252e%252e%252f%252e%252e%252fhello.sh",
    ] {
        let request = req("GET", target, &[], b"");
        let py = exchange(py_addr, &request, true);
        assert!(
            py.ends_with(b"\n\noutside cgi-bin\n"),
            "CPython no longer runs {target}: {}",
            common::diff::escape(&py)
        );
        let ours = normalise(&exchange(our_addr, &request, true));
        assert!(
            ours.starts_with(b"HTTP/1.0 404 No such CGI script"),
            "{target}: {}",
            common::diff::escape(&ours)
        );
        assert!(!ours.windows(15).any(|w| w == b"outside cgi-bin"));
    }
}
