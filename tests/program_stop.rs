//! How the `http-server` program stops on SIGTERM, on a thread per connection (the
//! default, Python's `ThreadingHTTPServer`) and on the pool (`--pool`): an idle kept-alive
//! connection is closed at once, a download in progress is finished, a request that
//! arrives on a kept connection during the stop is answered with `Connection: close`, and
//! the program exits 0 as soon as the work is done — long before `--shutdown-timeout`.
//! A request still running at the deadline is cut off and the program says so.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::port_in;
use common::program::{Server, BIN};

/// 32 MiB: more than the socket buffers hold, so the download is in progress when the
/// signal comes.
const BIG: usize = 32 << 20;

fn start(pool: bool, shutdown_timeout: &str) -> (Server, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), big).unwrap();
    std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["-p", "HTTP/1.1", "-b", "127.0.0.1"]);
    cmd.args(["--shutdown-timeout", shutdown_timeout, "-d"]);
    cmd.arg(dir.path());
    if pool {
        cmd.arg("--pool");
    }
    cmd.arg("0");
    let server = Server::spawn(cmd);
    let addr = ([127, 0, 0, 1], port_in(&server.line)).into();
    (server, addr, dir)
}

/// Reads one response to a small GET: its head (lower-cased) once the body is in.
fn read_small_response(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the answer: {out:?}");
        out.extend_from_slice(&buf[..n]);
        // a.txt is 2 bytes: the head, the blank line, "a\n".
        if out.ends_with(b"\r\n\r\na\n") {
            return String::from_utf8_lossy(&out).to_ascii_lowercase();
        }
    }
}

fn kept_connection(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let head = read_small_response(&mut s);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    s
}

/// Starts a download of big.bin and reads its head and the first bytes: the rest is in
/// flight.
fn start_download(addr: SocketAddr) -> (TcpStream, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut got = vec![0u8; 64 * 1024];
    let n = s.read(&mut got).unwrap();
    let head_end = got[..n]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the head in the first read")
        + 4;
    (s, n - head_end)
}

fn stop_finishes_the_work_in_flight(pool: bool) {
    let (server, addr, _dir) = start(pool, "20");
    let mut idle = kept_connection(addr);
    let mut reuse = kept_connection(addr);
    let (mut download, mut body) = start_download(addr);
    let t0 = Instant::now();
    server.signal("-TERM");

    // The idle kept-alive connection is closed without an answer, at once.
    let mut buf = [0u8; 64];
    assert_eq!(
        idle.read(&mut buf).unwrap_or(0),
        0,
        "idle connection closed"
    );
    let closed_after = t0.elapsed();

    // The download goes on to its last byte.
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match download.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => body += n,
            Err(e) => panic!("download cut off after {body} bytes: {e}"),
        }
        if body == BIG {
            break;
        }
    }
    assert_eq!(body, BIG, "the whole download");
    drop(download);

    // A kept connection that sends a request during the stop either is closed without an
    // answer (it was idle when the stop began: HTTP clients retry) or gets its answer
    // with `Connection: close`; never a cut-off answer.
    let _ = reuse.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut rest = Vec::new();
    let _ = reuse.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest).to_ascii_lowercase();
    assert!(
        rest.is_empty() || (rest.contains("connection: close") && rest.ends_with("\r\n\r\na\n")),
        "{rest:?}"
    );

    let (status, log) = server.wait(Duration::from_secs(15));
    let exited_after = t0.elapsed();
    eprintln!(
        "pool={pool}: idle connection closed {closed_after:?} after SIGTERM, exit {exited_after:?}"
    );
    assert!(status.success(), "{status:?} {log}");
    assert!(closed_after < Duration::from_secs(2), "{closed_after:?}");
    // Well inside the 20 s timeout: the program does not wait for idle connections.
    assert!(exited_after < Duration::from_secs(10), "{exited_after:?}");
    assert!(!log.contains("still in progress"), "{log}");
}

#[test]
fn sigterm_finishes_work_in_flight_on_threads() {
    stop_finishes_the_work_in_flight(false);
}

#[test]
fn sigterm_finishes_work_in_flight_on_the_pool() {
    stop_finishes_the_work_in_flight(true);
}

fn stop_cuts_off_at_the_deadline(pool: bool) {
    let (server, addr, _dir) = start(pool, "0.5");
    // A download that the client stops reading: it cannot finish.
    let (download, _) = start_download(addr);
    let t0 = Instant::now();
    server.signal("-TERM");
    let (status, log) = server.wait(Duration::from_secs(15));
    let exited_after = t0.elapsed();
    drop(download);
    eprintln!("pool={pool}: stalled download, exit {exited_after:?} after SIGTERM");
    assert!(status.success(), "{status:?} {log}");
    assert!(log.contains("still in progress after 500ms"), "{log}");
    assert!(
        exited_after >= Duration::from_millis(500),
        "{exited_after:?}"
    );
    assert!(exited_after < Duration::from_secs(10), "{exited_after:?}");
}

#[test]
fn sigterm_cuts_off_a_stalled_download_at_the_deadline_on_threads() {
    stop_cuts_off_at_the_deadline(false);
}

#[test]
fn sigterm_cuts_off_a_stalled_download_at_the_deadline_on_the_pool() {
    stop_cuts_off_at_the_deadline(true);
}
