//! The behaviours of CPython's `test_socketserver.py`, plus the crate's own promises
//! (immediate shutdown, panics caught, overlap, back-pressure). Forking servers are
//! tested in `tests/forking.rs`, a single-threaded test binary.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::{connect, exchange, open_fds, Running};
use socketserver::{
    Address, BaseRequest, BaseRequestHandler, BaseServer, Connection, DatagramRequest,
    DatagramRequestHandler, Error, ServerGuard, StreamRequest, StreamRequestHandler, TcpServer,
    ThreadPoolTcpServer, ThreadingTcpServer, ThreadingUdpServer, ThreadingUnixDatagramServer,
    ThreadingUnixStreamServer, UdpServer, UnixDatagramServer, UnixStreamServer,
};

/// CPython's test handler: echo one line.
struct EchoLine;
impl StreamRequestHandler for EchoLine {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let mut line = Vec::new();
        req.rfile.read_until(b'\n', &mut line)?;
        req.wfile.write_all(&line)?;
        Ok(())
    }
}

/// CPython's datagram test handler: echo the packet.
struct EchoPacket;
impl DatagramRequestHandler for EchoPacket {
    fn handle(&self, req: &mut DatagramRequest) -> socketserver::Result<()> {
        let mut data = Vec::new();
        req.rfile.read_to_end(&mut data)?;
        req.wfile.write_all(&data)?;
        Ok(())
    }
}

fn stream_examine(addr: SocketAddr) {
    for _ in 0..3 {
        assert_eq!(exchange(addr, b"hello world\n"), b"hello world\n");
    }
}

fn udp_examine(addr: SocketAddr) {
    for _ in 0..3 {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.send_to(b"hello world\n", addr).unwrap();
        let mut buf = [0u8; 100];
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello world\n");
    }
}

fn unix_stream_examine(path: &std::path::Path) {
    for _ in 0..3 {
        let mut s = UnixStream::connect(path).unwrap();
        s.write_all(b"hello world\n").unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello world\n");
    }
}

fn unix_dgram_examine(path: &std::path::Path, dir: &std::path::Path) {
    for i in 0..3 {
        // A unix datagram client must bind an address to get the reply.
        let c = UnixDatagram::bind(dir.join(format!("client{i}"))).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.send_to(b"hello world\n", path).unwrap();
        let mut buf = [0u8; 100];
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello world\n");
    }
}

#[test]
fn tcp_server_round_trips() {
    let server = TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    let addr = server.server_address;
    assert_ne!(addr.port(), 0, "port 0 is resolved by server_bind");
    let fd = server.fileno();
    assert!(fd >= 0);
    let r = Running::start(server);
    stream_examine(addr);
    let s = r.stop();
    assert_eq!(s.fileno(), -1, "server_close closes the socket");
}

#[test]
fn threading_tcp_server_round_trips() {
    let server = ThreadingTcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    stream_examine(addr);
    r.stop();
}

#[test]
fn pool_tcp_server_round_trips() {
    let server = ThreadPoolTcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    stream_examine(addr);
    r.stop();
}

#[test]
fn ipv6_tcp_server_round_trips() {
    let server = match TcpServer::new(("::1", 0), EchoLine) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("SKIP: no IPv6 loopback here: {e}");
            return;
        }
    };
    let addr = server.server_address;
    assert!(addr.is_ipv6());
    let r = Running::start(server);
    stream_examine(addr);
    r.stop();
}

#[test]
fn udp_servers_round_trip() {
    let server = UdpServer::new(("127.0.0.1", 0), EchoPacket).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    udp_examine(addr);
    r.stop();

    let server = ThreadingUdpServer::new(("127.0.0.1", 0), EchoPacket).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    udp_examine(addr);
    r.stop();
}

#[test]
fn unix_stream_servers_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.sock");
    let server = UnixStreamServer::new(&path, EchoLine).unwrap();
    assert_eq!(server.server_address, path);
    let r = Running::start(server);
    unix_stream_examine(&path);
    r.stop();
    assert!(
        !path.exists(),
        "the socket file the server created is removed"
    );

    let server = ThreadingUnixStreamServer::new(&path, EchoLine).unwrap();
    let r = Running::start(server);
    unix_stream_examine(&path);
    r.stop();
}

#[test]
fn unix_datagram_servers_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dgram.sock");
    let server = UnixDatagramServer::new(&path, EchoPacket).unwrap();
    let r = Running::start(server);
    unix_dgram_examine(&path, dir.path());
    r.stop();

    let cdir = tempfile::tempdir().unwrap();
    let server = ThreadingUnixDatagramServer::new(&path, EchoPacket).unwrap();
    let r = Running::start(server);
    unix_dgram_examine(&path, cdir.path());
    r.stop();
}

#[test]
fn unix_server_leaves_a_foreign_socket_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let server = UnixStreamServer::new(&path, EchoLine).unwrap();
    // Someone replaces the socket file while the server runs.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"not ours").unwrap();
    server.server_close();
    assert_eq!(std::fs::read(&path).unwrap(), b"not ours");
}

#[test]
fn unix_server_refuses_an_existing_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    std::fs::write(&path, b"x").unwrap();
    let err = UnixStreamServer::new(&path, EchoLine).unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"x", "not removed");
}

/// A datagram handler that writes nothing still answers with an empty datagram.
#[test]
fn datagram_handler_always_answers() {
    struct Silent;
    impl DatagramRequestHandler for Silent {
        fn handle(&self, _: &mut DatagramRequest) -> socketserver::Result<()> {
            Ok(())
        }
    }
    let server = UdpServer::new(("127.0.0.1", 0), Silent).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.send_to(b"anything", addr).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(c.recv(&mut buf).unwrap(), 0);
    r.stop();
}

#[test]
fn udp_max_packet_size_truncates() {
    let mut server = UdpServer::new(("127.0.0.1", 0), EchoPacket).unwrap();
    server.max_packet_size = 4;
    let addr = server.server_address;
    let r = Running::start(server);
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.send_to(b"abcdefgh", addr).unwrap();
    let mut buf = [0u8; 10];
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"abcd");
    r.stop();
}

/// CPython's test_shutdown (bpo-2302): start, shut down at once, twenty times.
#[test]
fn shutdown_stops_serve_forever_every_time() {
    for _ in 0..20 {
        let server = Arc::new(TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap());
        let s = server.clone();
        let t = std::thread::spawn(move || s.serve_forever(Duration::from_millis(10)));
        server.shutdown();
        t.join().unwrap().unwrap();
        server.server_close();
    }
}

/// Python waits up to `poll_interval`; this crate's shutdown wakes the loop at once.
#[test]
fn shutdown_is_immediate_with_a_long_poll_interval() {
    let server = TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    let addr = server.server_address;
    let r = Running::start_with(server, Duration::from_secs(30));
    // Make sure the loop is inside its 30 s wait: one request goes through first.
    assert_eq!(exchange(addr, b"x\n"), b"x\n");
    let start = Instant::now();
    r.stop();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(500), "shutdown took {took:?}");
}

#[test]
fn shutdown_from_a_handle_on_another_thread() {
    let server = Arc::new(TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap());
    let handle = server.shutdown_handle();
    let stopper = std::thread::spawn(move || handle.shutdown());
    server.serve_forever(Duration::from_secs(30)).unwrap();
    stopper.join().unwrap();
    server.server_close();
}

/// A handler can ask to stop the server it runs in without waiting for itself.
#[test]
fn handler_can_stop_its_own_server() {
    struct Stopper;
    impl StreamRequestHandler for Stopper {
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            req.server.shutdown_handle().shutdown_nowait();
            Ok(())
        }
    }
    let server = Arc::new(TcpServer::new(("127.0.0.1", 0), Stopper).unwrap());
    let addr = server.server_address;
    let s = server.clone();
    let t = std::thread::spawn(move || s.serve_forever(Duration::from_secs(30)));
    exchange(addr, b"stop");
    t.join().unwrap().unwrap();
    server.server_close();
}

#[test]
fn close_immediately() {
    let server = ThreadingTcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    server.server_close();
    server.server_close();
}

#[test]
fn guard_closes_like_a_with_block() {
    let addr;
    {
        let server = ServerGuard::new(TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap());
        addr = server.server_address;
        assert!(server.fileno() >= 0);
    }
    // The port is free again.
    let again = TcpServer::new(("127.0.0.1", addr.port()), EchoLine);
    assert!(again.is_ok(), "{:?}", again.err());
}

/// CPython's test_tcpserver_bind_leak (bpo-22435): failing constructors leak nothing.
#[test]
fn failed_bind_leaks_no_fd() {
    let taken = TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    let port = taken.server_address.port();
    let before = open_fds();
    for _ in 0..1024 {
        let err = TcpServer::new(("127.0.0.1", port), EchoLine).unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err}");
    }
    // A leak would add one descriptor per failed bind (1024); the margin is for the
    // tests running beside this one.
    assert!(
        open_fds() <= before + 64,
        "fds grew from {before} to {}",
        open_fds()
    );
}

#[test]
fn bind_and_activate_false_lets_attributes_be_set() {
    let mut server = TcpServer::unbound(("127.0.0.1", 0), EchoLine).unwrap();
    server.allow_reuse_address = true;
    server.request_queue_size = 7;
    server.server_bind().unwrap();
    let reuse = server.with_socket(|s| s.reuse_address().unwrap()).unwrap();
    assert!(reuse);
    server.server_activate().unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    stream_examine(addr);
    r.stop();
}

#[test]
fn python_address_spellings() {
    let s = TcpServer::new(("", 0), EchoLine).unwrap();
    assert!(s.server_address.ip().is_unspecified());
    assert!(s.server_address.is_ipv4());
    let s = TcpServer::new(("localhost", 0), EchoLine).unwrap();
    assert!(s.server_address.ip().is_loopback());
}

#[test]
fn default_listen_backlog_is_128() {
    let s = TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    assert_eq!(s.request_queue_size, 128);
    let port = s.server_address.port();
    // The kernel reports a listener's backlog as its Send-Q in /proc/net/tcp? No: use ss.
    if let Some(ss) = common::require("ss") {
        let out = std::process::Command::new(ss)
            .args(["-ltnH", &format!("sport = :{port}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let sendq: u32 = text.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert_eq!(sendq, 128, "{text}");
    }
}

/// `handle_request` with `timeout` calls `handle_timeout`, and honours the socket's own
/// timeout when it is shorter.
#[test]
fn handle_request_timeout_calls_handle_timeout() {
    struct Timed {
        inner: TcpServer<EchoLine>,
        timeouts: AtomicUsize,
    }
    impl BaseServer for Timed {
        type Request = Connection;
        socketserver::delegate_base_server!(inner; core, fileno, get_request, finish_request,
            server_activate, server_close, timeout, socket_timeout, verify_request,
            process_request, shutdown_request, close_request, handle_error, service_actions);
        fn handle_timeout(&self) {
            self.timeouts.fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut inner = TcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    inner.timeout = Some(Duration::from_millis(200));
    let server = Arc::new(Timed {
        inner,
        timeouts: AtomicUsize::new(0),
    });
    let start = Instant::now();
    server.handle_request().unwrap();
    let took = start.elapsed();
    assert_eq!(server.timeouts.load(Ordering::SeqCst), 1);
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // The listening socket's timeout is shorter: it wins.
    server
        .inner
        .with_socket(|s| s.set_read_timeout(Some(Duration::from_millis(50))))
        .unwrap()
        .unwrap();
    let start = Instant::now();
    server.handle_request().unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(190),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.timeouts.load(Ordering::SeqCst), 2);

    // A request within the timeout is handled; handle_timeout is not called.
    let addr = server.inner.server_address;
    let client = std::thread::spawn(move || exchange(addr, b"in time\n"));
    server.handle_request().unwrap();
    assert_eq!(client.join().unwrap(), b"in time\n");
    assert_eq!(server.timeouts.load(Ordering::SeqCst), 2);
}

/// bpo-26309: `verify_request` false → the request is shut down, exactly once, unhandled.
#[test]
fn verify_request_false_closes_once() {
    struct Refuse {
        inner: TcpServer<Counting>,
        shutdowns: AtomicUsize,
    }
    struct Counting(Arc<AtomicUsize>);
    impl StreamRequestHandler for Counting {
        fn handle(&self, _: &mut StreamRequest) -> socketserver::Result<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }
    impl BaseServer for Refuse {
        type Request = Connection;
        socketserver::delegate_base_server!(inner; core, fileno, get_request, finish_request,
            server_activate, server_close, timeout, socket_timeout, process_request,
            close_request, handle_error, handle_timeout, service_actions);
        fn verify_request(&self, _: &Connection, _: &Address) -> bool {
            false
        }
        fn shutdown_request(&self, request: Connection) {
            self.shutdowns.fetch_add(1, Ordering::SeqCst);
            self.inner.shutdown_request(request);
        }
    }
    let handled = Arc::new(AtomicUsize::new(0));
    let server = Arc::new(Refuse {
        inner: TcpServer::new(("127.0.0.1", 0), Counting(handled.clone())).unwrap(),
        shutdowns: AtomicUsize::new(0),
    });
    let addr = server.inner.server_address;
    let client = std::thread::spawn(move || {
        // Send nothing: unread bytes would turn the server's close into a reset.
        let mut s = connect(addr);
        let mut out = Vec::new();
        s.read_to_end(&mut out).map(|_| out)
    });
    server.handle_request().unwrap();
    assert_eq!(
        client.join().unwrap().unwrap(),
        b"",
        "closed without an answer"
    );
    assert_eq!(server.shutdowns.load(Ordering::SeqCst), 1);
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}

/// A handler that fails: `handle_error` runs, the connection is closed, the server goes
/// on. Each server kind: sync, threading, pool.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);
impl Log {
    fn push(&self, s: &str) {
        self.0.lock().unwrap().push(s.to_owned());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Failing {
    log: Arc<Log>,
    panic: bool,
}
impl StreamRequestHandler for Failing {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        self.log.push("Handler called");
        let mut line = String::new();
        req.rfile.read_line(&mut line)?;
        if line.starts_with("ok") {
            req.wfile.write_all(b"fine\n")?;
            return Ok(());
        }
        if self.panic {
            panic!("boom");
        }
        Err(Error::Io(std::io::Error::other("ValueError")))
    }
    fn finish(&self, _: &mut StreamRequest) -> socketserver::Result<()> {
        self.log.push("finish called");
        Ok(())
    }
}

struct Recording<S> {
    inner: S,
    log: Arc<Log>,
}
impl<S: BaseServer<Request = Connection>> BaseServer for Recording<S> {
    type Request = Connection;
    socketserver::delegate_base_server!(inner; core, fileno, get_request, finish_request,
        server_activate, server_close, timeout, socket_timeout, verify_request,
        process_request, shutdown_request, close_request, handle_timeout, service_actions);
    fn handle_error(&self, _: &Connection, client: &Address, error: &Error) {
        assert!(matches!(client, Address::Inet(_)));
        self.log.push(&format!("Error handled: {error}"));
    }
}

fn check_error_handling<S: BaseServer<Request = Connection>>(
    make: impl Fn(Failing) -> S,
    addr_of: impl Fn(&S) -> SocketAddr,
) {
    for panic in [false, true] {
        let log = Arc::new(Log::default());
        let inner = make(Failing {
            log: log.clone(),
            panic,
        });
        let addr = addr_of(&inner);
        let r = Running::start(Recording {
            inner,
            log: log.clone(),
        });
        let out = exchange(addr, b"fail\n");
        assert_eq!(out, b"", "the failing request gets no bytes, then EOF");
        // The server keeps serving.
        assert_eq!(exchange(addr, b"ok\n"), b"fine\n");
        r.stop();
        let lines = log.take();
        let expected_error = if panic {
            "Error handled: the request handler panicked: boom"
        } else {
            "Error handled: ValueError"
        };
        assert_eq!(
            lines,
            [
                "Handler called",
                "finish called",
                expected_error,
                "Handler called",
                "finish called"
            ],
            "panic={panic}"
        );
    }
}

#[test]
fn handle_error_on_a_failing_or_panicking_handler() {
    check_error_handling(
        |h| TcpServer::new(("127.0.0.1", 0), h).unwrap(),
        |s| s.server_address,
    );
    check_error_handling(
        |h| ThreadingTcpServer::new(("127.0.0.1", 0), h).unwrap(),
        |s| s.server_address,
    );
    check_error_handling(
        |h| ThreadPoolTcpServer::new(("127.0.0.1", 0), h).unwrap(),
        |s| s.server_address,
    );
}

/// The default `handle_error` prints Python's block to stderr. The server runs in a
/// child process (this test binary again, running only `child_handle_error_server`) so
/// that its stderr can be read.
#[test]
fn default_handle_error_prints_pythons_block() {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_handle_error_server",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOCKETSERVER_TEST_CHILD", "handle_error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        // libtest may print "test NAME ... " on the same line first.
        if let Some(i) = line.find("PORT ") {
            break line[i + 5..].trim().parse().unwrap();
        }
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = connect(addr);
    let local = s.local_addr().unwrap();
    s.write_all(b"fail\n").unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"");
    assert_eq!(exchange(addr, b"ok\n"), b"fine\n", "still serving");
    let _ = s;
    // The child serves two requests, then exits.
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let dashes = "-".repeat(40);
    let expected = format!(
        "{dashes}\nException occurred during processing of request from ('127.0.0.1', {})\n\
         the request handler panicked: boom\n{dashes}\n",
        local.port()
    );
    assert!(err.contains(&expected), "stderr was:\n{err}");
}

/// The server side of `default_handle_error_prints_pythons_block`; does nothing unless
/// started by it.
#[test]
fn child_handle_error_server() {
    if std::env::var("SOCKETSERVER_TEST_CHILD").as_deref() != Ok("handle_error") {
        return;
    }
    let log = Arc::new(Log::default());
    let server = Arc::new(TcpServer::new(("127.0.0.1", 0), Failing { log, panic: true }).unwrap());
    println!("PORT {}", server.server_address.port());
    server.handle_request().unwrap();
    server.handle_request().unwrap();
}

/// Two requests overlap: each handler waits at a barrier the other must also reach.
fn assert_overlap<S: BaseServer<Request = Connection>>(
    make: impl FnOnce(BarrierHandler) -> S,
    addr_of: impl Fn(&S) -> SocketAddr,
) {
    let barrier = Arc::new(Barrier::new(2));
    let server = make(BarrierHandler(barrier));
    let addr = addr_of(&server);
    let r = Running::start(server);
    let a = std::thread::spawn(move || exchange(addr, b"a\n"));
    let b = std::thread::spawn(move || exchange(addr, b"b\n"));
    assert_eq!(a.join().unwrap(), b"passed\n");
    assert_eq!(b.join().unwrap(), b"passed\n");
    r.stop();
}

struct BarrierHandler(Arc<Barrier>);
impl StreamRequestHandler for BarrierHandler {
    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(10))
    }
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let mut line = String::new();
        req.rfile.read_line(&mut line)?;
        // A serialising server deadlocks here; the test's read timeout turns that into a
        // failure instead of a hang.
        self.0.wait();
        req.wfile.write_all(b"passed\n")?;
        Ok(())
    }
}

#[test]
fn threading_server_overlaps_requests() {
    assert_overlap(
        |h| ThreadingTcpServer::new(("127.0.0.1", 0), h).unwrap(),
        |s| s.server_address,
    );
}

#[test]
fn pool_server_overlaps_requests() {
    assert_overlap(
        |h| ThreadPoolTcpServer::new(("127.0.0.1", 0), h).unwrap(),
        |s| s.server_address,
    );
}

#[test]
fn threading_unix_server_overlaps_requests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.sock");
    let barrier = Arc::new(Barrier::new(2));
    let server = ThreadingUnixStreamServer::new(&path, BarrierHandler(barrier)).unwrap();
    let r = Running::start(server);
    let go = |p: std::path::PathBuf| {
        std::thread::spawn(move || {
            let mut s = UnixStream::connect(p).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(b"x\n").unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).unwrap();
            out
        })
    };
    let (a, b) = (go(path.clone()), go(path.clone()));
    assert_eq!(a.join().unwrap(), b"passed\n");
    assert_eq!(b.join().unwrap(), b"passed\n");
    r.stop();
}

/// A handler that blocks until released, to fill a server with busy requests.
struct Gate {
    started: Arc<AtomicUsize>,
    release: Arc<(Mutex<bool>, std::sync::Condvar)>,
}
impl StreamRequestHandler for Gate {
    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let (m, c) = &*self.release;
        let mut open = m.lock().unwrap();
        while !*open {
            open = c.wait(open).unwrap();
        }
        drop(open);
        req.wfile.write_all(b"done\n")?;
        Ok(())
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `max_workers` handlers blocked → nobody accepts: more clients wait in the listen
/// queue (seen through the pool's counters: two connections taken, two handlers
/// running, no more workers); releasing the workers lets everything through.
#[test]
fn pool_applies_back_pressure() {
    let started = Arc::new(AtomicUsize::new(0));
    let release = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let mut server = ThreadPoolTcpServer::new(
        ("127.0.0.1", 0),
        Gate {
            started: started.clone(),
            release: release.clone(),
        },
    )
    .unwrap();
    server.max_workers = 2;
    let addr = server.server_address;
    let r = Running::start(server);
    let mut clients: Vec<TcpStream> = (0..2).map(|_| connect(addr)).collect();
    wait_until("two running", || started.load(Ordering::SeqCst) == 2);
    clients.extend((0..2).map(|_| connect(addr)));
    // Long enough for the standby to have looked many times (it ticks every 5 ms).
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        let s = r.server.stats();
        assert_eq!((s.active, s.started, s.connections), (2, 2, 2), "{s:?}");
        assert_eq!(started.load(Ordering::SeqCst), 2);
        std::thread::sleep(Duration::from_millis(10));
    }

    *release.0.lock().unwrap() = true;
    release.1.notify_all();
    for mut c in clients {
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"done\n");
    }
    assert_eq!(started.load(Ordering::SeqCst), 4);
    r.stop();
}

/// `shutdown()` returns at once while every worker is busy (and the clients behind
/// them wait in the listen queue).
#[test]
fn shutdown_returns_at_once_from_a_full_pool() {
    let started = Arc::new(AtomicUsize::new(0));
    let release = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let mut server = ThreadPoolTcpServer::new(
        ("127.0.0.1", 0),
        Gate {
            started: started.clone(),
            release: release.clone(),
        },
    )
    .unwrap();
    server.max_workers = 1;
    server.block_on_close = false;
    let addr = server.server_address;
    let r = Running::start_with(server, Duration::from_secs(30));
    let _busy = connect(addr);
    wait_until("one running", || started.load(Ordering::SeqCst) == 1);
    let mut waiting = connect(addr);
    let start = Instant::now();
    let server = r.stop();
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    // The connection left in the listen queue is never served: it ends when the
    // listening socket closes.
    let mut out = Vec::new();
    let ended = waiting.read_to_end(&mut out);
    assert!(
        matches!(&ended, Ok(0))
            || matches!(&ended, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{ended:?} {out:?}"
    );
    assert_eq!(started.load(Ordering::SeqCst), 1);
    *release.0.lock().unwrap() = true;
    release.1.notify_all();
    drop(server);
}

/// The pool sets an idle timeout on every connection: a silent client is dropped.
#[test]
fn pool_idle_timeout_drops_silent_clients() {
    let mut server = ThreadPoolTcpServer::new(("127.0.0.1", 0), EchoLine).unwrap();
    server.idle_timeout = Some(Duration::from_millis(100));
    server.max_workers = 1;
    let addr = server.server_address;
    let r = Running::start(server);
    let mut idle = connect(addr);
    let start = Instant::now();
    let mut out = Vec::new();
    idle.read_to_end(&mut out).unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    // The single worker is free again.
    assert_eq!(exchange(addr, b"next\n"), b"next\n");
    r.stop();
}

/// `block_on_close` joins request threads; daemon threads are not waited for.
#[test]
fn block_on_close_waits_daemon_threads_do_not() {
    for daemon in [false, true] {
        let started = Arc::new(AtomicUsize::new(0));
        let release = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let mut server = ThreadingTcpServer::new(
            ("127.0.0.1", 0),
            Gate {
                started: started.clone(),
                release: release.clone(),
            },
        )
        .unwrap();
        server.daemon_threads = daemon;
        let addr = server.server_address;
        let r = Running::start(server);
        let _c = connect(addr);
        wait_until("running", || started.load(Ordering::SeqCst) == 1);
        let releaser = {
            let release = release.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                *release.0.lock().unwrap() = true;
                release.1.notify_all();
            })
        };
        let start = Instant::now();
        r.stop();
        let took = start.elapsed();
        if daemon {
            assert!(took < Duration::from_millis(250), "daemon: {took:?}");
        } else {
            assert!(took >= Duration::from_millis(250), "non-daemon: {took:?}");
        }
        releaser.join().unwrap();
    }
}

/// bpo-37193: finished threads are reaped, so the list does not grow per request.
#[test]
fn finished_threads_are_reaped() {
    let server = Arc::new(ThreadingTcpServer::new(("127.0.0.1", 0), EchoLine).unwrap());
    let addr = server.server_address;
    for _ in 0..10 {
        let client = std::thread::spawn(move || exchange(addr, b"x\n"));
        server.handle_request().unwrap();
        client.join().unwrap();
    }
    assert!(server.thread_count() < 10, "{}", server.thread_count());
    server.server_close();
    assert_eq!(server.thread_count(), 0);
}

/// Threads are named as Python names them.
#[test]
fn threads_are_named_like_pythons() {
    struct Name;
    impl StreamRequestHandler for Name {
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            req.wfile.write_all(name.as_bytes())?;
            Ok(())
        }
    }
    let server = ThreadingTcpServer::new(("127.0.0.1", 0), Name).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    let name = String::from_utf8(exchange(addr, b"")).unwrap();
    assert!(
        name.starts_with("Thread-") && name.ends_with(" (process_request_thread)"),
        "{name}"
    );
    r.stop();
}

/// `BaseRequestHandler` works on the raw connection; `setup`, `handle`, `finish` run in
/// order and `finish` runs when `handle` fails.
#[test]
fn base_request_handler_order() {
    struct Raw(Arc<Log>);
    impl BaseRequestHandler for Raw {
        fn setup(&self, _: &mut BaseRequest) -> socketserver::Result<()> {
            self.0.push("setup");
            Ok(())
        }
        fn handle(&self, req: &mut BaseRequest) -> socketserver::Result<()> {
            self.0.push("handle");
            let mut buf = [0u8; 16];
            let n = req.request.recv(&mut buf)?;
            req.request.sendall(&buf[..n])?;
            if &buf[..n] == b"fail" {
                return Err(Error::Closed);
            }
            Ok(())
        }
        fn finish(&self, _: &mut BaseRequest) -> socketserver::Result<()> {
            self.0.push("finish");
            Ok(())
        }
    }
    let log = Arc::new(Log::default());
    let server = TcpServer::new(("127.0.0.1", 0), Raw(log.clone())).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    assert_eq!(exchange(addr, b"ping"), b"ping");
    assert_eq!(exchange(addr, b"fail"), b"fail");
    r.stop();
    assert_eq!(
        log.take(),
        ["setup", "handle", "finish", "setup", "handle", "finish"]
    );
}

/// `wbufsize = 0`: a write reaches the client before the handler reads again, so a
/// write-then-read protocol does not deadlock. CPython's SocketWriterTest.test_write.
#[test]
fn unbuffered_wfile_sends_at_once() {
    struct Chat;
    impl StreamRequestHandler for Chat {
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            let n = req.wfile.write(b"write data\n")?;
            assert_eq!(n, 11);
            let mut line = String::new();
            req.rfile.read_line(&mut line)?;
            let big = vec![b'x'; 4 << 20];
            assert_eq!(req.wfile.write(&big)?, big.len());
            Ok(())
        }
    }
    let server = ThreadingTcpServer::new(("127.0.0.1", 0), Chat).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    let mut s = connect(addr);
    let mut first = [0u8; 11];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"write data\n");
    s.write_all(b"reply\n").unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len(), 4 << 20);
    r.stop();
}

/// `wbufsize > 0` buffers until the request ends (or the buffer fills).
#[test]
fn buffered_wfile_is_flushed_at_the_end() {
    struct Buffered;
    impl StreamRequestHandler for Buffered {
        fn wbufsize(&self) -> usize {
            1024
        }
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            req.wfile.write_all(b"one ")?;
            req.wfile.write_all(b"two")?;
            assert_eq!(req.wfile.buffered(), b"one two");
            Ok(())
        }
    }
    let server = TcpServer::new(("127.0.0.1", 0), Buffered).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    assert_eq!(exchange(addr, b""), b"one two");
    r.stop();
}

/// `rbufsize = 0`: the handler's reads never take more than asked, so what follows is
/// still in the socket.
#[test]
fn unbuffered_rfile_reads_no_further_than_asked() {
    struct Peek;
    impl StreamRequestHandler for Peek {
        fn rbufsize(&self) -> isize {
            0
        }
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            let mut line = String::new();
            req.rfile.read_line(&mut line)?;
            // The rest is read straight from the socket.
            let mut rest = [0u8; 5];
            req.connection.recv(&mut rest)?;
            req.wfile.write_all(line.as_bytes())?;
            req.wfile.write_all(&rest)?;
            Ok(())
        }
    }
    let server = TcpServer::new(("127.0.0.1", 0), Peek).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    assert_eq!(exchange(addr, b"line\nrest!"), b"line\nrest!");
    r.stop();
}

/// The handler's `timeout` closes a connection that stalls.
#[test]
fn handler_timeout_drops_a_stalled_client() {
    struct Slow;
    impl StreamRequestHandler for Slow {
        fn timeout(&self) -> Option<Duration> {
            Some(Duration::from_millis(100))
        }
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            let mut line = String::new();
            match req.rfile.read_line(&mut line) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    req.wfile.write_all(b"timed out\n")?;
                    Ok(())
                }
                other => {
                    other?;
                    Ok(())
                }
            }
        }
    }
    let server = TcpServer::new(("127.0.0.1", 0), Slow).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    let mut s = connect(addr);
    s.write_all(b"no newline").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"timed out\n");
    r.stop();
}

/// Handler state lives in the handler value and is shared by every request (Python's
/// class attributes / attributes hung on the server).
#[test]
fn handler_value_is_shared_state() {
    struct Counter(AtomicUsize);
    impl StreamRequestHandler for Counter {
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            write!(req.wfile, "{n}")?;
            Ok(())
        }
    }
    let server = ThreadingTcpServer::new(("127.0.0.1", 0), Counter(AtomicUsize::new(0))).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    assert_eq!(exchange(addr, b""), b"1");
    assert_eq!(exchange(addr, b""), b"2");
    assert_eq!(r.server.handler().0.load(Ordering::SeqCst), 2);
    r.stop();
}

#[test]
fn handler_sees_the_server_address() {
    struct Where;
    impl StreamRequestHandler for Where {
        fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
            write!(req.wfile, "{}", req.server.server_address.repr())?;
            Ok(())
        }
    }
    let server = TcpServer::new(("127.0.0.1", 0), Where).unwrap();
    let addr = server.server_address;
    let r = Running::start(server);
    assert_eq!(
        String::from_utf8(exchange(addr, b"")).unwrap(),
        format!("('127.0.0.1', {})", addr.port())
    );
    r.stop();
}
