//! Helpers of the form tests: the CPython 3.12 oracle and curl's own `-F` bodies.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// True when `CI` is set: tests that need an external program fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Prints `SKIP: ...` (or panics under CI).
pub fn skip(test: &str, why: &str) {
    let msg = format!("{test}: {why}");
    if in_ci() {
        panic!("{msg}; CI is set, so this test cannot be skipped");
    }
    let _ = writeln!(std::io::stderr(), "SKIP: {msg}");
}

/// Whether `curl` runs (else a skip line).
pub fn have_curl(test: &str) -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(test, "curl not found");
    }
    ok
}

/// `python3.12`, or `python3` with `PYENV_VERSION=3.12.1`, the last CPython with `cgi`.
pub struct Oracle {
    program: &'static str,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/forms_oracle.py")
}

fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("PYENV_VERSION", "3.12.1")
        .env("PYTHONIOENCODING", "utf-8")
        .arg(script());
    cmd
}

/// The oracle, or `None` after a skip line.
pub fn oracle(test: &str) -> Option<Oracle> {
    for program in ["python3.12", "python3"] {
        let Ok(out) = command(program).arg("version").output() else {
            continue;
        };
        if out.status.success() && out.stdout.starts_with(b"3.12.") {
            return Some(Oracle { program });
        }
    }
    skip(
        test,
        "CPython 3.12 not found (python3.12, or python3 with PYENV_VERSION=3.12.1)",
    );
    None
}

impl Oracle {
    /// One output line per input line.
    pub fn run(&self, lines: &[String]) -> Vec<String> {
        let mut child = command(self.program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the oracle");
        let mut stdin = child.stdin.take().unwrap();
        let input = lines.join("\n") + "\n";
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut out = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            out.push(line.unwrap());
        }
        writer.join().unwrap().unwrap();
        assert!(child.wait().unwrap().success(), "the oracle failed");
        assert_eq!(out.len(), lines.len(), "one answer per case");
        out
    }
}

/// Hex as the oracle writes it (`.` for empty, `-` for none).
pub fn hex(b: Option<&[u8]>) -> String {
    match b {
        None => "-".to_owned(),
        Some([]) => ".".to_owned(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// The request curl sends for `args` (`-F ...`): its `Content-Type` and body, read by a
/// raw listener that then answers `204`.
pub fn curl_request(args: &[&str]) -> (String, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let (mut ctype, mut len) = (String::new(), 0usize);
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim().to_owned();
                match k.to_ascii_lowercase().as_str() {
                    "content-type" => ctype = v,
                    "content-length" => len = v.parse().unwrap(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        (&s).write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .unwrap();
        (ctype, body)
    });
    let status = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-H", "Expect:"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .args(args)
        .status()
        .expect("run curl");
    assert!(status.success(), "curl {args:?}");
    server.join().unwrap()
}
