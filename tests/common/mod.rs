//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cgi;
pub mod diff;
pub mod kind;
pub mod program;

#[allow(unused_imports)]
pub use kind::{serve, serve_http, Kind, Served};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socketserver::http::{BaseHttpRequestHandler, HttpRequest};
use socketserver::{BaseServer, Result};

/// Runs `serve_forever` on a thread; `stop` shuts it down and joins.
pub struct Running<S: BaseServer> {
    pub server: Arc<S>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl<S: BaseServer> Running<S> {
    pub fn start(server: S) -> Running<S> {
        Self::start_with(server, Duration::from_millis(10))
    }

    pub fn start_with(server: S, poll_interval: Duration) -> Running<S> {
        let server = Arc::new(server);
        let s = server.clone();
        let thread = std::thread::spawn(move || s.serve_forever(poll_interval));
        Running {
            server,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) -> Arc<S> {
        self.shutdown_and_join();
        self.server.clone()
    }

    fn shutdown_and_join(&mut self) {
        if let Some(t) = self.thread.take() {
            self.server.shutdown();
            t.join()
                .expect("serve_forever panicked")
                .expect("serve_forever failed");
            self.server.server_close();
        }
    }
}

impl<S: BaseServer> Drop for Running<S> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.shutdown_and_join();
        }
    }
}

/// Connects with a read timeout, so a broken server fails the test instead of hanging it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A 200 response with `body` and its `Content-Length`.
pub fn answer(h: &mut HttpRequest, body: &[u8]) -> socketserver::Result<()> {
    h.send_response(200)?;
    h.send_header("Content-Length", &body.len().to_string())?;
    h.end_headers()?;
    h.wfile.write_all(body)?;
    Ok(())
}

/// Sends `data`, half-closes, reads until EOF.
pub fn exchange(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.write_all(data).unwrap();
    // The server may have closed already; its answer is still there to read.
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Path of a built example binary (cargo builds examples for integration tests).
pub fn example_bin(name: &str) -> PathBuf {
    let mut p = std::env::current_exe().unwrap();
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.join("examples").join(name)
}

/// A child process that is killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts an example with `args` and reads its first stdout line (the serving line),
/// returning the child and that line.
pub fn start_example(
    name: &str,
    args: &[&str],
) -> (ChildGuard, BufReader<std::process::ChildStdout>, String) {
    let bin = example_bin(name);
    assert!(
        bin.exists(),
        "example {name} not built at {}",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    (ChildGuard(child), out, line)
}

/// The port in a line such as `Serving HTTP on 0.0.0.0 port 8000 (...)`.
pub fn port_in(line: &str) -> u16 {
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| *w == "port")
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    words[i + 1]
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap()
}

/// A fresh temporary directory path for unix sockets.
pub fn temp_sock(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// True when `CI` is set: tests that need an external program fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Finds `program` on PATH, or prints a skip line (and fails under CI).
pub fn require(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if in_ci() {
            panic!("{program} is required under CI but was not found");
        }
        eprintln!("SKIP: {program} not found on PATH");
    }
    found
}

/// One HTTP response read off a stream: the status line, the header lines (as sent) and
/// the body (by Content-Length, or to EOF when there is none and `to_eof`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response; `head_request` means no body follows whatever Content-Length says.
pub fn read_response<R: BufRead>(r: &mut R, head_request: bool) -> Option<Response> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    let status_line = String::from_utf8_lossy(&line).trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_until(b'\n', &mut line).ok()?;
        let text: String = line.iter().map(|&b| b as char).collect();
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let (n, v) = text.split_once(':')?;
        headers.push((n.to_owned(), v.trim_start().to_owned()));
    }
    let mut resp = Response {
        status_line,
        headers,
        body: Vec::new(),
    };
    let code = resp.status();
    if head_request || code == 204 || code == 304 || (100..200).contains(&code) {
        return Some(resp);
    }
    match resp
        .header("Content-Length")
        .map(|v| v.parse::<usize>().unwrap())
    {
        Some(n) => {
            resp.body.resize(n, 0);
            r.read_exact(&mut resp.body).ok()?;
        }
        None => {
            r.read_to_end(&mut resp.body).ok()?;
        }
    }
    Some(resp)
}

/// Sends raw bytes on a fresh connection and reads everything until the server closes.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// The pids of the children of process `pid`, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..." — comm may contain spaces; split after the ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        if rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Sends `sig` (`-STOP`, `-TERM`, …) to process `pid` with kill(1), which must succeed.
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

/// Runs example `name` with `args` under `strace -f -e trace=SYSCALLS`, lets `drive`
/// talk to it at the address of its serving line (and gives it the server's pid),
/// stops it, and returns the trace. `None` (after a skip line) without strace; under
/// CI a missing strace fails.
pub fn strace_example(
    name: &str,
    args: &[&str],
    syscalls: &str,
    drive: impl FnOnce(SocketAddr, u32),
) -> Option<String> {
    strace_pinned(None, name, args, syscalls, drive)
}

/// As [`strace_example`], with the example confined to the first CPU (`taskset -c 0`):
/// a pool server then runs as on a one-processor machine.
pub fn strace_example_on_one_cpu(
    name: &str,
    args: &[&str],
    syscalls: &str,
    drive: impl FnOnce(SocketAddr, u32),
) -> Option<String> {
    let taskset = require("taskset")?;
    strace_pinned(Some(taskset), name, args, syscalls, drive)
}

fn strace_pinned(
    taskset: Option<PathBuf>,
    name: &str,
    args: &[&str],
    syscalls: &str,
    drive: impl FnOnce(SocketAddr, u32),
) -> Option<String> {
    let strace = require("strace")?;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let mut child = Command::new(strace)
        .args([
            "-f",
            "-qq",
            "-s",
            "4096",
            "-e",
            &format!("trace={syscalls}"),
            "-o",
        ])
        .arg(&trace)
        .args(
            taskset
                .iter()
                .flat_map(|t| [t.as_os_str(), "-c".as_ref(), "0".as_ref()]),
        )
        .arg(example_bin(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let server = children_of(child.id());
    drive(([127, 0, 0, 1], port_in(&line)).into(), server[0]);
    // Killing strace would only detach it: stop the traced server itself first.
    for pid in server {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    let _ = child.wait();
    Some(std::fs::read_to_string(&trace).unwrap())
}

/// An HTTP/1.1 handler that logs nothing and answers every GET with `200` and `ok`.
pub struct QuietOk;

impl BaseHttpRequestHandler for QuietOk {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
    fn do_get(&self, h: &mut HttpRequest) -> Result<()> {
        h.send_response(200)?;
        h.send_header("Content-Length", "2")?;
        h.end_headers()?;
        h.wfile.write_all(b"ok")?;
        Ok(())
    }
}
