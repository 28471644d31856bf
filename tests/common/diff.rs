//! Differential tests against CPython 3.13.0 over real sockets: finding the interpreter,
//! running a server process and waiting for its port line, sending raw bytes, and
//! comparing responses after normalising only what must differ (`Date`, and the
//! `sys_version` token of `Server`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::ChildGuard;

/// CPython's `sys_version` and the crate's: the only difference allowed in `Server`.
pub const SYS_VERSIONS: [&str; 2] = ["Python/3.13.0", socketserver::http::SYS_VERSION];

/// How long a read may wait before the exchange is declared hung (a failure guard, not
/// a synchronisation: every exchange ends when the server closes).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The directory of the oracle scripts.
pub fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

/// A command running CPython 3.13.0 (`python3.13`, or `python3` under pyenv with
/// `PYENV_VERSION=3.13.0`), or `None` after printing `SKIP:` — a panic instead when
/// `CI` is set.
pub fn python313(test: &str) -> Option<&'static str> {
    for program in ["python3.13", "python3"] {
        let out = Command::new(program)
            .env("PYENV_VERSION", "3.13.0")
            .args(["-c", "import sys; print(sys.version.split()[0])"])
            .output();
        if let Ok(out) = out {
            if out.status.success() && out.stdout == b"3.13.0\n" {
                return Some(program);
            }
        }
    }
    let msg = format!(
        "{test}: CPython 3.13.0 not found (python3.13, or python3 with PYENV_VERSION=3.13.0)"
    );
    if super::in_ci() {
        panic!("{msg}; CI is set, so the comparison with CPython cannot be skipped");
    }
    // Past the harness's capture, so the skip is seen.
    let _ = writeln!(std::io::stderr(), "SKIP: {msg}; comparison skipped");
    None
}

/// The environment every CPython oracle runs with: the pinned version, unbuffered
/// output, UTF-8 file names.
pub fn python_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("PYENV_VERSION", "3.13.0")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONUTF8", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH");
    cmd
}

/// Runs the oracle script `script` (in [`oracle_dir`]) under CPython 3.13.0 with
/// `input` on its stdin and returns its stdout; `None` after printing `SKIP:` when
/// CPython 3.13.0 is missing — a panic instead when `CI` is set, or when the script
/// fails.
pub fn run_oracle(test: &str, script: &str, input: &str) -> Option<String> {
    let python = python313(test)?;
    let mut child = python_command(python)
        .arg(oracle_dir().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("CPython 3.13.0 was found but does not start");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("the oracle's output");
    writer
        .join()
        .expect("the writer thread")
        .expect("the oracle's stdin");
    assert!(
        out.status.success(),
        "{test}: the oracle {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("the oracle prints UTF-8"))
}

/// A server process: killed (by its own pid) when dropped. Its stdin stays open while
/// it lives, so an oracle that serves until stdin's EOF dies with the test process.
pub struct ServerProcess {
    /// The first line it printed on stdout (the "Serving HTTP on …" or port line).
    pub first_line: String,
    /// Its stderr, line by line, when captured (drained by a thread so the server
    /// never blocks on a full pipe).
    pub stderr: Option<Receiver<String>>,
    _stdout: BufReader<ChildStdout>,
    _stdin: Option<ChildStdin>,
    _child: ChildGuard,
}

impl ServerProcess {
    /// Starts `cmd` and waits for its first stdout line.
    pub fn start(mut cmd: Command, capture_stderr: bool) -> ServerProcess {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if capture_stderr {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().map(|err| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    let _ = tx.send(line);
                }
            });
            rx
        });
        let guard = ChildGuard(child);
        let mut stdout = BufReader::new(stdout);
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).unwrap();
        assert!(
            !first_line.is_empty(),
            "{cmd:?} exited before printing its port"
        );
        ServerProcess {
            first_line,
            stderr,
            _stdout: stdout,
            _stdin: stdin,
            _child: guard,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self._child.0.id()
    }

    /// The next `n` stderr lines, waiting up to [`READ_TIMEOUT`] for each.
    pub fn stderr_lines(&self, n: usize) -> Vec<String> {
        let rx = self.stderr.as_ref().expect("stderr captured");
        let mut out = Vec::new();
        while out.len() < n {
            match rx.recv_timeout(READ_TIMEOUT) {
                Ok(line) => out.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    out.push("<<no more stderr lines>>".into());
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    out.push("<<stderr closed>>".into());
                    break;
                }
            }
        }
        out
    }

    /// Discards the stderr lines received so far.
    pub fn drain_stderr(&self) {
        if let Some(rx) = &self.stderr {
            while rx.try_recv().is_ok() {}
        }
    }
}

/// `name=port` from a line such as `PORTS stock=1 ths=2`.
pub fn named_port(line: &str, name: &str) -> u16 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port {name} in {line:?}"))
}

/// Sends `request` on a fresh connection (from a thread, so a server answering before
/// it has read everything cannot deadlock the test), half-closes the connection when
/// `half_close`, and reads until the server closes it. Write errors are ignored (the
/// server may close first); a read that waits longer than [`READ_TIMEOUT`] ends the
/// answer with `<<read timed out>>`.
pub fn exchange(addr: SocketAddr, request: &[u8], half_close: bool) -> Vec<u8> {
    exchange_with(addr, request, half_close, false)
}

/// [`exchange`], optionally writing one byte per `write` (with `TCP_NODELAY`, so the
/// server meets the request in pieces).
pub fn exchange_with(addr: SocketAddr, request: &[u8], half_close: bool, drip: bool) -> Vec<u8> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s.set_nodelay(drip).unwrap();
    let mut w = s.try_clone().unwrap();
    let request = request.to_vec();
    let writer = std::thread::spawn(move || {
        if drip {
            for b in request.chunks(1) {
                if w.write_all(b).is_err() {
                    break;
                }
            }
        } else {
            let _ = w.write_all(&request);
        }
        if half_close {
            let _ = w.shutdown(Shutdown::Write);
        }
    });
    let mut out = Vec::new();
    let mut r = &s;
    let mut buf = [0u8; 65536];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                out.extend_from_slice(b"<<read timed out>>");
                break;
            }
            // A reset after the server closed with request bytes unread: what came
            // before it is the answer.
            Err(_) => break,
        }
    }
    let _ = writer.join();
    out
}

/// True for an RFC 1123 date as `date_time_string` writes it
/// (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn is_http_date(v: &[u8]) -> bool {
    v.len() == 29 && v[3] == b',' && v.ends_with(b" GMT")
}

/// Replaces `from` with `to` everywhere in `data`.
pub fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The only normalisation of a response: each `Date:` header's value (when it is an
/// HTTP date) becomes `<DATE>`, and CPython's and the crate's `sys_version` become
/// `<SYS>` wherever they appear.
pub fn normalise(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    for v in SYS_VERSIONS {
        out = replace_all(&out, v.as_bytes(), b"<SYS>");
    }
    let marker = b"\r\nDate: ";
    let mut result = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i..].starts_with(marker) {
            let start = i + marker.len();
            let end = out[start..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .map(|p| start + p);
            if let Some(end) = end {
                if is_http_date(&out[start..end]) {
                    result.extend_from_slice(marker);
                    result.extend_from_slice(b"<DATE>");
                    i = end;
                    continue;
                }
            }
        }
        result.push(out[i]);
        i += 1;
    }
    result
}

/// Bytes as Python's `bytes` repr would show them, with a real line break after each
/// `\n` so a response reads line by line; long data keeps its head and tail.
pub fn escape(data: &[u8]) -> String {
    const KEEP: usize = 3000;
    let (head, tail) = if data.len() > 2 * KEEP {
        (&data[..KEEP], Some(&data[data.len() - KEEP..]))
    } else {
        (data, None)
    };
    let mut s = String::new();
    let mut push = |bytes: &[u8]| {
        for &b in bytes {
            match b {
                b'\r' => s.push_str("\\r"),
                b'\n' => s.push_str("\\n\n    "),
                b'\t' => s.push_str("\\t"),
                b'\\' => s.push_str("\\\\"),
                0x20..=0x7e => s.push(b as char),
                _ => s.push_str(&format!("\\x{b:02x}")),
            }
        }
    };
    push(head);
    if let Some(tail) = tail {
        push(format!("<<… {} bytes …>>", data.len() - 2 * KEEP).as_bytes());
        push(tail);
    }
    s
}

/// A readable account of one mismatch: the request, both normalised answers, and where
/// they first differ.
pub fn report(name: &str, request: &[u8], python: &[u8], ours: &[u8]) -> String {
    let at = python
        .iter()
        .zip(ours)
        .position(|(a, b)| a != b)
        .unwrap_or(python.len().min(ours.len()));
    format!(
        "=== {name}\n  request:\n    {}\n  CPython 3.13.0 ({} bytes, normalised):\n    {}\n  crate ({} bytes, normalised):\n    {}\n  first difference at byte {at}: CPython {:?}, crate {:?}\n",
        escape(request),
        python.len(),
        escape(python),
        ours.len(),
        escape(ours),
        escape(&python[at.min(python.len())..(at + 40).min(python.len())]),
        escape(&ours[at.min(ours.len())..(at + 40).min(ours.len())]),
    )
}

/// The path of a file under the oracle directory, for a Python command line.
pub fn oracle_script(name: &str) -> PathBuf {
    let p = oracle_dir().join(name);
    assert!(Path::new(&p).is_file(), "missing {}", p.display());
    p
}

/// The newest modification time under `path` (a file, or a directory walked
/// recursively).
fn newest_mtime(path: &Path) -> std::time::SystemTime {
    let meta = std::fs::metadata(path).unwrap();
    let mut newest = meta.modified().unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            newest = newest.max(newest_mtime(&entry.unwrap().path()));
        }
    }
    newest
}

/// The path of example `name`, checked to be built from the current sources: cargo
/// builds examples for a plain `cargo test`, not for `cargo test --test NAME`, and a
/// stale binary would compare yesterday's crate.
pub fn fresh_example_bin(name: &str) -> PathBuf {
    let bin = super::example_bin(name);
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "example {name} is not built at {}: run `cargo test` (or `cargo build --example {name}`)",
                bin.display()
            )
        });
    // src/bin is the http-server program's, which only the http_server example includes.
    let lib = manifest.join("src");
    let mut sources = std::fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| name == "http_server" || *p != lib.join("bin"))
        .map(|p| newest_mtime(&p))
        .max()
        .unwrap();
    sources = sources
        .max(newest_mtime(
            &manifest.join("examples").join(format!("{name}.rs")),
        ))
        .max(newest_mtime(&manifest.join("Cargo.toml")));
    assert!(
        built >= sources,
        "{} is older than the crate's sources; `cargo test --test …` does not rebuild \
         examples: run `cargo build --example {name}` or a plain `cargo test`",
        bin.display()
    );
    bin
}
