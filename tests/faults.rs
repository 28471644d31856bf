//! Faults (docs/security.md): a handler panic, a client that resets or goes away in the
//! middle of a body, a client that stops reading a 1 GiB response, running out of file
//! descriptors, and SIGTERM. After each, the server still answers, and every request it
//! accepted was answered.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{answer, example_bin, ChildGuard, Running};
use socketserver::http::{
    BaseHttpRequestHandler, HttpRequest, HttpServer, ThreadPoolHttpServer, ThreadingHttpServer,
};

/// `/panic` panics; `/body` reads the body (at most 1 MB) and answers its length; `/huge`
/// streams 1 GiB; anything else answers `ok`.
struct App {
    write_timeout: Option<Duration>,
    bodies_done: Arc<AtomicUsize>,
    /// `/huge` responses that ended with an error (a write timeout).
    huge_cut: Arc<AtomicUsize>,
}

fn app() -> App {
    App {
        write_timeout: None,
        bodies_done: Arc::default(),
        huge_cut: Arc::default(),
    }
}

impl BaseHttpRequestHandler for App {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn timeout(&self) -> Option<Duration> {
        self.write_timeout
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}

    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        match h.path.as_str() {
            "/panic" => panic!("the handler fails on purpose"),
            "/huge" => {
                const GIB: usize = 1 << 30;
                h.send_response(200)?;
                h.send_header("Content-Length", &GIB.to_string())?;
                h.end_headers()?;
                let chunk = vec![b'x'; 1 << 16];
                for _ in 0..GIB / chunk.len() {
                    if let Err(e) = h.wfile.write_all(&chunk) {
                        self.huge_cut.fetch_add(1, Ordering::SeqCst);
                        return Err(e.into());
                    }
                }
                Ok(())
            }
            _ => answer(h, b"ok"),
        }
    }

    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let body = h.read_body(1 << 20)?;
        self.bodies_done.fetch_add(1, Ordering::SeqCst);
        answer(h, body.len().to_string().as_bytes())
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// One keep-alive GET on `c`; the whole response.
fn get_on(c: &mut TcpStream, path: &str) -> String {
    write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    read_response(c)
}

/// Reads one response with a Content-Length body; empty when the server closed first.
fn read_response(c: &mut TcpStream) -> String {
    let mut r = BufReader::new(c);
    let mut head = String::new();
    let mut len = 0;
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return head,
            Ok(_) => {}
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

fn get(addr: SocketAddr, path: &str) -> String {
    get_on(&mut connect(addr), path)
}

/// The address a server listens on.
macro_rules! addr {
    ($server:expr) => {
        $server.server_address
    };
}

// ---------------------------------------------------------------------------------------
// A handler panic: caught, logged, its connection closed, the worker reused.

fn panics_are_survived(addr: SocketAddr) {
    for _ in 0..20 {
        let mut c = connect(addr);
        let reply = get_on(&mut c, "/panic");
        assert_eq!(
            reply, "",
            "a panicking request's connection is closed unanswered"
        );
        // And the server answers the next client.
        assert!(get(addr, "/").ends_with("\r\n\r\nok"));
    }
    // A kept-alive connection opened before the panics still works.
    let mut c = connect(addr);
    assert!(get_on(&mut c, "/").ends_with("ok"));
    let _ = get(addr, "/panic");
    assert!(get_on(&mut c, "/").ends_with("ok"));
}

#[test]
fn a_panic_is_survived_by_a_plain_server() {
    let server = HttpServer::new(("127.0.0.1", 0), app()).unwrap();
    let addr = addr!(server);
    let _running = Running::start(server);
    // A plain server serves one connection at a time: open them one after another.
    for _ in 0..20 {
        assert_eq!(get(addr, "/panic"), "");
        let mut c = connect(addr);
        write!(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        assert!(read_response(&mut c).ends_with("ok"));
    }
}

#[test]
fn a_panic_is_survived_by_a_threading_server() {
    let server = ThreadingHttpServer::new(("127.0.0.1", 0), app()).unwrap();
    let addr = addr!(server);
    let _running = Running::start(server);
    panics_are_survived(addr);
}

#[test]
fn a_panic_is_survived_by_the_pool_and_its_worker_reused() {
    let mut server = ThreadPoolHttpServer::new(("127.0.0.1", 0), app()).unwrap();
    // One worker: if a panic cost it, nothing would answer afterwards.
    server.max_workers = 1;
    let addr = addr!(server);
    let running = Running::start(server);
    panics_are_survived(addr);
    let stats = running.server.stats();
    assert_eq!(stats.started, 1, "the one worker serves on: {stats:?}");
}

// ---------------------------------------------------------------------------------------
// A client that goes away (EOF) or resets in the middle of a body.

fn cut_bodies(addr: SocketAddr, done: &AtomicUsize) {
    for reset in [false, true] {
        for _ in 0..10 {
            let mut c = connect(addr);
            c.write_all(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                .unwrap();
            c.write_all(&[b'a'; 5000]).unwrap();
            if reset {
                // SO_LINGER 0: close sends RST.
                socket2::SockRef::from(&c)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            } else {
                c.shutdown(std::net::Shutdown::Write).unwrap();
                // The server closes without an answer: the body never ended.
                let mut rest = Vec::new();
                let _ = c.read_to_end(&mut rest);
                assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
            }
            drop(c);
        }
    }
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "no cut body reached the handler whole"
    );
    // A whole body still works.
    let mut c = connect(addr);
    c.write_all(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();
    assert!(read_response(&mut c).ends_with("\r\n\r\n3"));
    assert!(get_on(&mut c, "/").ends_with("ok"));
}

#[test]
fn a_body_cut_by_eof_or_reset_costs_only_its_connection() {
    let a = app();
    let done = a.bodies_done.clone();
    let server = ThreadingHttpServer::new(("127.0.0.1", 0), a).unwrap();
    let addr = addr!(server);
    let _running = Running::start(server);
    cut_bodies(addr, &done);
    let a = app();
    let done = a.bodies_done.clone();
    let server = ThreadPoolHttpServer::new(("127.0.0.1", 0), a).unwrap();
    let addr = addr!(server);
    let _running = Running::start(server);
    cut_bodies(addr, &done);
}

// ---------------------------------------------------------------------------------------
// A client that stops reading a 1 GiB response: the write timeout cuts it off, and the
// server's memory stays flat (the response is never buffered whole).

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn slow_reader_is_cut(addr: SocketAddr, cut: &AtomicUsize) {
    let before = rss_kib(std::process::id());
    let mut c = connect(addr);
    // A fixed receive buffer (no autotuning to 32 MiB): the server's sends soon block.
    socket2::SockRef::from(&c)
        .set_recv_buffer_size(256 << 10)
        .unwrap();
    write!(c, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // Read a little, then stop reading: the server's sends fill the socket buffers and
    // block; the write timeout must end the connection.
    let mut first = [0u8; 1024];
    c.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
    // The kernel's buffers take a while to fill (the receive queue is compacted as it
    // grows); then sends block, and the write timeout must end the response.
    let start = Instant::now();
    while cut.load(Ordering::SeqCst) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "a response nobody reads was not cut off in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Draining what was sent: the connection must end (EOF or reset) well short of
    // 1 GiB.
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let ended = loop {
        match c.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
        if got > 256 << 20 {
            break false;
        }
    };
    assert!(
        ended,
        "the stalled response was cut off (read {got} bytes after the stall)"
    );
    let after = rss_kib(std::process::id());
    assert!(
        after < before + 64 * 1024,
        "memory stays flat: {before} KiB before, {after} KiB after"
    );
    eprintln!(
        "slow reader: cut after {:?}, {got} bytes in buffers, RSS {before} -> {after} KiB",
        start.elapsed()
    );
    assert!(get(addr, "/").ends_with("ok"), "the server still answers");
}

#[test]
fn a_slow_reader_of_1_gib_is_cut_by_the_pools_write_timeout() {
    let a = app();
    let cut = a.huge_cut.clone();
    let mut server = ThreadPoolHttpServer::new(("127.0.0.1", 0), a).unwrap();
    server.write_timeout = Some(Duration::from_millis(500));
    let addr = addr!(server);
    let _running = Running::start(server);
    slow_reader_is_cut(addr, &cut);
}

#[test]
fn a_slow_reader_of_1_gib_is_cut_by_a_handlers_timeout_on_a_threading_server() {
    // Python's default is no timeout; the handler's `timeout` is the write timeout there.
    let mut a = app();
    a.write_timeout = Some(Duration::from_millis(500));
    let cut = a.huge_cut.clone();
    let server = ThreadingHttpServer::new(("127.0.0.1", 0), a).unwrap();
    let addr = addr!(server);
    let _running = Running::start(server);
    slow_reader_is_cut(addr, &cut);
}

// ---------------------------------------------------------------------------------------
// Out of file descriptors (EMFILE): the server backs off (no busy loop), keeps serving
// the connections it has, and accepts again when descriptors are free.

/// CPU seconds (user + system) the process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn emfile(example: &str) {
    if Command::new("prlimit").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit (util-linux) is needed in CI"
        );
        eprintln!("skip: prlimit (util-linux) is not installed");
        return;
    }
    // A descriptor limit of 48: the server has ~10 of its own, so about 38 connections
    // fit; 80 are opened.
    let mut child = Command::new("prlimit")
        .arg("--nofile=48:48")
        .arg(example_bin(example))
        .arg("0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("prlimit (util-linux)");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let child = ChildGuard(child);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = common::port_in(&line);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let pid = child.0.id();
    let mut conns: Vec<TcpStream> = (0..80).map(|_| connect(addr)).collect();
    for c in &mut conns {
        write!(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }
    // The first ones are answered at once, and kept alive: the server is out of
    // descriptors.
    let mut answered = vec![false; conns.len()];
    for (i, c) in conns.iter_mut().enumerate().take(20) {
        assert!(
            read_response(c).ends_with("Hello, world!"),
            "connection {i}"
        );
        answered[i] = true;
    }
    // Stalled at EMFILE: it must not spin.
    let cpu0 = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu_seconds(pid) - cpu0;
    assert!(
        spent < 0.5,
        "out of descriptors, the server spun: {spent} s of CPU in 2 s"
    );
    // Free descriptors: close the answered connections; every other request is
    // answered, as descriptors come free.
    let start = Instant::now();
    let left: Vec<(usize, TcpStream)> = conns
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !answered[*i])
        .collect();
    for (i, mut c) in left {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let reply = read_response(&mut c);
        assert!(
            reply.ends_with("Hello, world!"),
            "connection {i} unanswered: {reply:?}"
        );
        drop(c);
    }
    eprintln!(
        "{example} under EMFILE: {spent:.3} s CPU in 2 s stalled; the rest answered in {:?}",
        start.elapsed()
    );
    let mut c = connect(addr);
    assert!(get_on(&mut c, "/").ends_with("Hello, world!"), "recovered");
}

#[test]
fn out_of_descriptors_the_pool_backs_off_and_recovers() {
    emfile("hello");
}

#[test]
fn out_of_descriptors_a_threading_server_backs_off_and_recovers() {
    emfile("hello_threading");
}

// ---------------------------------------------------------------------------------------
// SIGTERM: stop accepting, finish the requests in flight within the grace period, close
// idle kept-alive connections at once, then exit.

fn start_graceful(args: &[&str]) -> (ChildGuard, BufReader<std::process::ChildStdout>, SocketAddr) {
    let mut all = args.to_vec();
    all.push("0");
    let (child, out, line) = common::start_example("graceful", &all);
    let addr = ([127, 0, 0, 1], common::port_in(&line)).into();
    (child, out, addr)
}

fn sigterm(child: &ChildGuard) {
    common::signal(child.0.id(), "-TERM");
}

/// Waits for the child to exit; its status and stderr.
fn wait_exit(mut child: ChildGuard, within: Duration) -> (std::process::ExitStatus, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < within,
            "the server did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, err)
}

fn graceful_stop(mode: &[&str]) {
    let mut args = mode.to_vec();
    args.extend(["--grace", "5"]);
    let (child, _out, addr) = start_graceful(&args);
    // An idle kept-alive connection, and a request in flight.
    let mut idle = connect(addr);
    assert!(get_on(&mut idle, "/").ends_with("Hello, world!"));
    let mut busy = connect(addr);
    write!(busy, "GET /slow?1500 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    sigterm(&child);
    // The idle connection is closed at once, without an answer.
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    let idle_closed = t0.elapsed();
    assert!(rest.is_empty());
    assert!(
        idle_closed < Duration::from_millis(1000),
        "idle closed after {idle_closed:?}"
    );
    // The request in flight is answered in full, with Connection: close.
    let reply = read_response(&mut busy);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply:?}");
    assert!(reply.contains("Connection: close\r\n"), "{reply:?}");
    assert!(reply.ends_with("Hello, world!"));
    let mut after = Vec::new();
    let _ = busy.read_to_end(&mut after);
    assert!(after.is_empty(), "then the connection closes");
    let (status, err) = wait_exit(child, Duration::from_secs(5));
    assert!(status.success(), "{status:?} {err}");
    assert!(err.contains("Stopped: every request finished."), "{err}");
    eprintln!(
        "graceful {mode:?}: idle closed after {idle_closed:?}, exit after {:?}",
        t0.elapsed()
    );
    // Nobody listens any more.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn sigterm_stops_the_pool_gracefully() {
    graceful_stop(&[]);
}

#[test]
fn sigterm_stops_a_threading_server_gracefully() {
    graceful_stop(&["--threading"]);
}

#[test]
fn sigterm_cuts_off_what_outlasts_the_grace_period() {
    for mode in [&[][..], &["--threading"][..]] {
        let mut args = mode.to_vec();
        args.extend(["--grace", "0.5"]);
        let (child, _out, addr) = start_graceful(&args);
        let mut busy = connect(addr);
        write!(busy, "GET /slow?3000 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        sigterm(&child);
        // Cut off at the deadline: the client sees the connection end.
        let mut rest = Vec::new();
        let _ = busy.read_to_end(&mut rest);
        let cut = t0.elapsed();
        assert!(rest.is_empty());
        assert!(cut < Duration::from_secs(3), "cut after {cut:?}");
        // The handler still sleeps; the process exits once server_close has joined it
        // (block_on_close), or at once.
        let (status, err) = wait_exit(child, Duration::from_secs(10));
        assert!(status.success(), "{status:?} {err}");
        assert!(err.contains("the requests left were cut off"), "{err}");
    }
}
