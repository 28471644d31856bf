//! FastCGI faults. FCGI_ABORT_REQUEST on a kept connection (spec §5.4): the abort is
//! answered with FCGI_END_REQUEST (REQUEST_COMPLETE) and the connection serves the next
//! request, whatever the handler did with the error its read of the body met. A body
//! larger than `max_stdin_size` is refused by `read_stdin`.

mod common;
mod fcgi_common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Running;
use fcgi_common::*;
use socketserver::fcgi::record::{pack_rec_into, Request};
use socketserver::fcgi::{FcgiHandler, FcgiRequest};
use socketserver::{BaseServer, ThreadPoolUnixStreamServer, ThreadingUnixStreamServer};

/// Reads the whole body with `?`, as most handlers do: an abort is an error it returns.
struct ReadsAll(Arc<AtomicUsize>);

impl FcgiHandler for ReadsAll {
    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut body = Vec::new();
        req.stdin.read_to_end(&mut body)?;
        write!(
            req.stdout,
            "Content-Type: text/plain\r\n\r\nread {}",
            body.len()
        )?;
        Ok(())
    }
}

/// Sends a kept request whose body stops half way, then the abort; returns the reply.
fn abort_mid_body(c: &mut UnixStream, r: &mut Reader<UnixStream>, id: u16) -> Reply {
    let mut out = Vec::new();
    begin(&mut out, id, 1, 1);
    params(
        &mut out,
        id,
        &[(b"SCRIPT_NAME", b"/up"), (b"CONTENT_LENGTH", b"100000")],
    );
    pack_rec_into(&mut out, Request::Stdin, id, &[b'x'; 1000]);
    c.write_all(&out).unwrap();
    // Let the handler start reading the body before the abort comes.
    std::thread::sleep(Duration::from_millis(50));
    let mut abort = Vec::new();
    pack_rec_into(&mut abort, Request::AbortRequest, id, b"");
    c.write_all(&abort).unwrap();
    r.until_end(id)
}

fn check<S: BaseServer + 'static>(server: S, path: &std::path::Path, calls: &AtomicUsize) {
    let _running = Running::start(server);
    let mut c = UnixStream::connect(path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    for round in 0..3u16 {
        let id = 1 + round;
        let reply = abort_mid_body(&mut c, &mut r, id);
        let end = reply.records.last().expect("a reply to the abort");
        assert_eq!(
            (end.typ, end.id),
            (3, id),
            "FCGI_END_REQUEST for the aborted request"
        );
        assert_eq!(end.content[4], 0, "protocolStatus FCGI_REQUEST_COMPLETE");
        assert!(
            reply.stdout().is_empty(),
            "nothing is written to a client that went away: {:?}",
            reply.stdout_str()
        );
        // The kept connection serves the next request.
        c.write_all(&request(100 + id, true, &[(b"SCRIPT_NAME", b"/n")], b"abc"))
            .unwrap();
        let next = r.until_end(100 + id);
        next.assert_well_formed(100 + id);
        assert_eq!(next.body(), b"read 3");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[test]
fn an_abort_mid_body_is_answered_and_the_kept_connection_serves_on_threading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let calls = Arc::new(AtomicUsize::new(0));
    let server = ThreadingUnixStreamServer::new(&path, ReadsAll(calls.clone())).unwrap();
    check(server, &path, &calls);
}

#[test]
fn an_abort_mid_body_is_answered_and_the_kept_connection_serves_on_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let calls = Arc::new(AtomicUsize::new(0));
    let server = ThreadPoolUnixStreamServer::new(&path, ReadsAll(calls.clone())).unwrap();
    check(server, &path, &calls);
}

#[test]
fn an_abort_is_one_log_line_not_an_error_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let (mut child, _out, _line) = common::start_example("fcgi_echo", &[path.to_str().unwrap()]);
    let mut c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    let reply = abort_mid_body(&mut c, &mut r, 1);
    assert_eq!(reply.end().map(|(_, p)| p), Some(0), "REQUEST_COMPLETE");
    c.write_all(&get(2, true, "/x", "q")).unwrap();
    r.until_end(2).assert_well_formed(2);
    drop((c, r));
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let aborts: Vec<&str> = err.lines().filter(|l| l.contains("aborted")).collect();
    assert_eq!(aborts.len(), 1, "one line for the abort: {err:?}");
    assert!(
        aborts[0].ends_with("FastCGI request 1 aborted by the web server"),
        "{err:?}"
    );
    assert!(!err.contains("Exception occurred"), "{err:?}");
}

/// `read_stdin` with a 1000-byte cap.
struct Capped;

impl FcgiHandler for Capped {
    fn max_stdin_size(&self) -> usize {
        1000
    }
    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        let answer = match req.read_stdin() {
            Ok(body) => format!("read {}", body.len()),
            Err(e) => format!("{:?}", e.kind()),
        };
        write!(req.stdout, "Content-Type: text/plain\r\n\r\n{answer}")?;
        Ok(())
    }
}

#[test]
fn read_stdin_refuses_a_body_over_max_stdin_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let _running = Running::start(ThreadingUnixStreamServer::new(&path, Capped).unwrap());
    let mut c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    for (id, len, want) in [
        (1, 1000, "read 1000".to_owned()),
        (2, 1001, "InvalidData".to_owned()),
        (3, 1 << 20, "InvalidData".to_owned()),
        (4, 10, "read 10".to_owned()),
    ] {
        c.write_all(&request(
            id,
            true,
            &[(b"SCRIPT_NAME", b"/b")],
            &vec![b'x'; len],
        ))
        .unwrap();
        let reply = r.until_end(id);
        reply.assert_well_formed(id);
        assert_eq!(String::from_utf8_lossy(&reply.body()), want, "{len} bytes");
    }
}

/// A graceful stop closes an idle kept FastCGI connection at once, on a threading server
/// and on the pool.
fn graceful_closes_idle_kept_connections<S: BaseServer + 'static>(
    server: S,
    path: &std::path::Path,
) {
    let running = Running::start(server);
    let mut c = UnixStream::connect(path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    c.write_all(&request(1, true, &[(b"SCRIPT_NAME", b"/n")], b"abc"))
        .unwrap();
    r.until_end(1).assert_well_formed(1);
    let t0 = std::time::Instant::now();
    let in_time = running.server.graceful_shutdown(Duration::from_secs(5));
    let took = t0.elapsed();
    assert!(in_time, "nothing was left to cut off");
    assert!(
        took < Duration::from_secs(2),
        "the idle kept connection held the stop {took:?}"
    );
    assert!(r.at_eof(), "the kept connection is closed");
}

#[test]
fn a_graceful_stop_closes_idle_kept_fastcgi_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    let server = ThreadingUnixStreamServer::new(&path, ReadsAll(Arc::default())).unwrap();
    graceful_closes_idle_kept_connections(server, &path);
    let path = dir.path().join("p");
    let server = ThreadPoolUnixStreamServer::new(&path, ReadsAll(Arc::default())).unwrap();
    graceful_closes_idle_kept_connections(server, &path);
}
