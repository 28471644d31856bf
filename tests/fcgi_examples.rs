//! The FastCGI examples as separate processes: `cgi-fcgi -bind -connect` as the strict
//! client (it checks protocolStatus and the request id, and exits with appStatus), and
//! what a hostile or vanishing peer costs the process (CPU, threads, memory).

mod common;
mod fcgi_common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{require, Kind};
use fcgi_common::*;
use socketserver::fcgi::record::{pack_rec_into, Request};

/// Runs `cgi-fcgi -bind -connect target` with only `env` in its environment and
/// `stdin` as input.
fn cgi_fcgi(target: &str, env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new("cgi-fcgi");
    cmd.env_clear()
        .args(["-bind", "-connect", target])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run cgi-fcgi");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// `fcgi_echo` on a unix socket in `dir`, on a server of `kind`, its pid, and a
/// function counting its open descriptors. Returns once the server holds every
/// descriptor it keeps (a pool starts its readiness set and first workers when it
/// begins serving), so that the count is a baseline.
fn echo_on(kind: Kind, dir: &Path) -> (Proc, PathBuf, impl Fn() -> usize) {
    let path = dir.join("fcgi_echo.sock");
    let (p, _) = start_example(
        "fcgi_echo",
        &[&[path.to_str().unwrap()], kind.example_args()].concat(),
    );
    let pid = p.pid();
    if kind == Kind::Pool {
        wait_for("the pool's first workers", 10, || {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .unwrap()
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.starts_with("socketserver-wo"))
                })
                .count()
                >= 2
        });
    }
    let fds = move || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    (p, path, fds)
}

fn unix_example(name: &str, dir: &Path) -> (Proc, String) {
    let path = dir.join(format!("{name}.sock"));
    let (p, _) = start_example(name, &[path.to_str().unwrap()]);
    (p, path.to_str().unwrap().to_owned())
}

#[test]
fn cgi_fcgi_gets_exact_bytes_and_exit_0_from_fcgi_hello() {
    if require("cgi-fcgi").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_p, sock) = unix_example("fcgi_hello", dir.path());
    for _ in 0..3 {
        let out = cgi_fcgi(
            &sock,
            &[("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/")],
            b"",
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.stdout,
            b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
        );
    }
}

each_kind! {
fn cgi_fcgi_against_fcgi_echo_on_unix_and_tcp(kind) {
    if require("cgi-fcgi").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fcgi_echo.sock");
    let sock = path.to_str().unwrap().to_owned();
    let (_u, _) = start_example("fcgi_echo", &[&[sock.as_str()], kind.example_args()].concat());
    let (_t, line) = start_example("fcgi_echo", &[&["127.0.0.1:0"], kind.example_args()].concat());
    let tcp = line.trim().rsplit(' ').next().unwrap().to_owned();
    for target in [sock.as_str(), tcp.as_str()] {
        // POST: fast.ai's servers make cgi-fcgi exit 253 here (protocolStatus 1).
        let out = cgi_fcgi(
            target,
            &[
                ("REQUEST_METHOD", "POST"),
                ("CONTENT_LENGTH", "5"),
                ("SCRIPT_NAME", "/x"),
            ],
            b"hello",
        );
        assert_eq!(out.status.code(), Some(0), "{target}");
        assert_eq!(
            out.stdout,
            b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
        );
        // GET with an empty CONTENT_LENGTH, a header of 300 bytes.
        let ua = "u".repeat(300);
        let out = cgi_fcgi(
            target,
            &[
                ("REQUEST_METHOD", "GET"),
                ("QUERY_STRING", "a=1&b=2"),
                ("CONTENT_LENGTH", ""),
                ("SCRIPT_NAME", "/"),
                ("HTTP_USER_AGENT", &ua),
                ("HTTP_ACCEPT", "*/*"),
            ],
            b"",
        );
        assert_eq!(out.status.code(), Some(0));
        let body = format!("GET a=1&b=2\nHTTP_ACCEPT=*/*\nHTTP_USER_AGENT={ua}\n");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!(
                "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        );
        // A 300 kB body, echoed.
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 239) as u8).collect();
        let out = cgi_fcgi(
            target,
            &[
                ("REQUEST_METHOD", "PUT"),
                ("CONTENT_LENGTH", "300000"),
                ("SCRIPT_NAME", "/"),
            ],
            &big,
        );
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.ends_with(&big));
        // STDERR reaches cgi-fcgi's stderr; the status header comes through.
        let out = cgi_fcgi(
            target,
            &[("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/stderr")],
            b"",
        );
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stderr, b"stderr test\n");
        let out = cgi_fcgi(
            target,
            &[("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/status418")],
            b"",
        );
        assert!(out.stdout.starts_with(b"Status: 418 I'm a teapot\r\n"));
        // appStatus becomes cgi-fcgi's exit code: fcgi_echo sets 1 when the body and
        // CONTENT_LENGTH disagree.
        let out = cgi_fcgi(
            target,
            &[
                ("REQUEST_METHOD", "POST"),
                ("CONTENT_LENGTH", "3"),
                ("SCRIPT_NAME", "/x"),
            ],
            b"hello",
        );
        assert_eq!(out.status.code(), Some(1), "appStatus 1");
        assert!(out.stdout.ends_with(b"hello"));
    }
}
}

#[test]
fn cgi_fcgi_against_fastai_test_handler() {
    if require("cgi-fcgi").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.sock");
    let child = start_test_handler(&path);
    let out = cgi_fcgi(
        path.to_str().unwrap(),
        &[
            ("REQUEST_METHOD", "POST"),
            ("QUERY_STRING", "a=1"),
            ("HTTP_CONTENT_TYPE", "application/json"),
            ("CONTENT_LENGTH", "4"),
        ],
        b"test",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        out.stdout,
        b"Content-type: text/html\r\n\r\n<html>foobar</html>\n"
    );
    assert_eq!(
        test_handler_printed(child),
        "query: a=1\ncontent type: application/json\nstdin: test\n"
    );
}

each_kind! {
/// Peers that vanish mid-request or stall: the process spends no CPU on them once they
/// are gone, and its threads go back to what they were.
fn vanished_peers_leave_no_spinning_thread(kind) {
    let dir = tempfile::tempdir().unwrap();
    let (p, path, fds) = echo_on(kind, dir.path());
    let pid = p.pid();
    let sock = path.as_path();
    let idle_fds = fds();
    exchange_unix(sock, &get(1, false, "/", ""), 1).assert_well_formed(1);
    wait_for("the first connection closed", 10, || fds() == idle_fds);
    // The threading server's thread for it ends; the pool's workers stay.
    let idle_threads = match kind {
        Kind::Threading => 1,
        Kind::Pool => threads_of(pid),
    };
    wait_for("the first request's thread to end", 10, || {
        threads_of(pid) == idle_threads
    });
    let full = request(
        1,
        false,
        &[(b"SCRIPT_NAME", b"/x"), (b"CONTENT_LENGTH", b"100000")],
        &[b'z'; 100_000],
    );
    let mut conns = Vec::new();
    for cut in [0, 3, 8, 20, 40, 2000, 50_000, full.len() - 1] {
        for _ in 0..3 {
            let mut c = UnixStream::connect(sock).unwrap();
            c.write_all(&full[..cut]).unwrap();
            conns.push(c);
        }
    }
    // All stalled: accepted (and the three with 64 KiB of body have spilled it into a
    // temporary file), waiting without CPU: a thread each on the threading server;
    // parked, or a worker blocked in a read, on the pool.
    wait_for("every stalled connection accepted", 10, || {
        fds() == idle_fds + conns.len() + 3
    });
    if kind == Kind::Threading {
        wait_for("a thread per stalled connection", 10, || {
            threads_of(pid) == 1 + conns.len()
        });
    }
    let c0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert!(cpu_ticks(pid) - c0 <= 2, "stalled connections cost CPU");
    // All gone (closed mid-request): every connection is closed, and nothing spins on
    // EOF.
    drop(conns);
    wait_for("the connections to close", 10, || fds() == idle_fds);
    if kind == Kind::Threading {
        wait_for("the threads to end", 10, || threads_of(pid) == 1);
    }
    let c1 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert!(cpu_ticks(pid) - c1 <= 2, "CPU spent after the peers left");
    exchange_unix(sock, &get(1, false, "/", "still"), 1).assert_well_formed(1);
}
}

each_kind! {
/// Lengths a peer announces are not allocated: a pair declaring 900 KiB (under the
/// PARAMS cap) followed by 10 bytes and a stall, a pair declaring 2 GiB, and 16 MiB of
/// STDIN to a handler — peak memory stays where it was.
fn announced_lengths_are_not_allocated(kind) {
    let dir = tempfile::tempdir().unwrap();
    let (p, path, fds) = echo_on(kind, dir.path());
    let pid = p.pid();
    let sock = path.as_path();
    let idle_fds = fds();
    for _ in 0..3 {
        exchange_unix(
            sock,
            &request(1, false, &[(b"SCRIPT_NAME", b"/x")], &[7; 100_000]),
            1,
        )
        .assert_well_formed(1);
    }
    wait_for("the warm-up connections closed", 10, || fds() == idle_fds);
    let before = vm_hwm_kib(pid);
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut v = Vec::new();
        begin(&mut v, 1, 1, 0);
        // name 1 byte, value 900 KiB declared; 10 bytes sent.
        let mut c = vec![1u8, 0x80, 0x0e, 0x10, 0x00, b'A'];
        c.extend_from_slice(b"0123456789");
        pack_rec_into(&mut v, Request::Params, 1, &c);
        let mut s = UnixStream::connect(sock).unwrap();
        s.write_all(&v).unwrap();
        stalled.push(s);
    }
    for _ in 0..8 {
        let mut v = Vec::new();
        begin(&mut v, 1, 1, 0);
        pack_rec_into(
            &mut v,
            Request::Params,
            1,
            &[0x01, 0xff, 0xff, 0xff, 0xff, b'A', b'x'],
        );
        let mut s = UnixStream::connect(sock).unwrap();
        s.write_all(&v).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.is_empty(), "refused without a reply");
    }
    wait_for("the stalled peers accepted", 10, || {
        fds() == idle_fds + stalled.len()
    });
    if kind == Kind::Threading {
        wait_for("threads for the stalled peers", 10, || {
            threads_of(pid) == 1 + stalled.len()
        });
    }
    let after = vm_hwm_kib(pid);
    eprintln!("fcgi_echo VmHWM: {before} KiB before, {after} KiB with 8 × 900 KiB announced");
    assert!(
        after < before + 1024,
        "peak RSS grew by {} KiB",
        after - before
    );
}
}
