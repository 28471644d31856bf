//! `ThreadPoolMixIn` at scale: thousands of idle keep-alive connections without a thread
//! each, a sleeping handler that stalls only itself, idle clients that close and are
//! reaped, pipelined requests, and the timeouts.
//!
//! The tests count descriptors and threads and time latencies, so they run one after
//! another, never beside each other (`harness = false`, like `tests/forking.rs`): started
//! plainly this binary runs each test; started with `POOL_TEST_SERVE` set it is the
//! server process of the 8,000-connection test, whose memory and threads are then the
//! server's alone. `POOL_IDLE` and `POOL_CHURN` change how many idle connections and how
//! many short connections those tests make (8,000 and 100,000).

mod common;
mod fcgi_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{connect, read_response, Running};
use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};
use socketserver::{delegate_base_server, Address, BaseServer, Connection, ThreadPoolMixIn};

/// Set in the server process of [`eight_thousand_idle_connections`].
const SERVE: &str = "POOL_TEST_SERVE";

/// Answers `GET /path` with `path=/path`; `GET /sleep` sleeps 2 s first, `GET /nap`
/// 200 ms; POST echoes.
#[derive(Default, Clone)]
struct Probe {
    /// Set while a `/sleep` request sleeps.
    sleeping: Arc<AtomicBool>,
}

impl BaseHttpRequestHandler for Probe {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let nap = match h.path.as_str() {
            "/sleep" => Some(Duration::from_secs(2)),
            "/nap" => Some(Duration::from_millis(200)),
            _ => None,
        };
        if let Some(nap) = nap {
            self.sleeping.store(true, Ordering::SeqCst);
            std::thread::sleep(nap);
            self.sleeping.store(false, Ordering::SeqCst);
        }
        let body = format!("path={}", h.path);
        h.send_response(200)?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(body.as_bytes())?;
        Ok(())
    }
    fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let body = h.read_body(1 << 20)?;
        h.send_response(200)?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(&body)?;
        Ok(())
    }
}

/// An HTTP server that counts what it reports to `handle_error` instead of printing it.
struct Quiet<S> {
    inner: S,
    errors: Arc<AtomicUsize>,
}

impl<S: BaseServer<Request = Connection>> BaseServer for Quiet<S> {
    type Request = Connection;
    delegate_base_server!(inner; core, fileno, get_request, finish_request, server_activate,
        server_close, timeout, socket_timeout, process_request, shutdown_request,
        close_request, handle_timeout, service_actions, verify_request);

    fn handle_error(&self, _: &Connection, _: &Address, _: &socketserver::Error) {
        self.errors.fetch_add(1, Ordering::SeqCst);
    }
}

type PoolServer = ThreadPoolMixIn<Quiet<HttpServer<Probe>>>;

/// A pool HTTP server on 127.0.0.1 with the defaults, its address and its error count.
fn pool_server(probe: Probe) -> (PoolServer, SocketAddr, Arc<AtomicUsize>) {
    let http = HttpServer::new(("127.0.0.1", 0), probe).unwrap();
    let addr = http.server_address;
    let errors = Arc::new(AtomicUsize::new(0));
    let server = ThreadPoolMixIn::from(Quiet {
        inner: http,
        errors: errors.clone(),
    });
    (server, addr, errors)
}

/// Polls `f` every 2 ms until it holds, or panics after `limit`.
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One request on a kept-alive connection; the time to its whole answer.
fn get(s: &mut TcpStream, r: &mut BufReader<TcpStream>, path: &str) -> Duration {
    let start = Instant::now();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let resp = read_response(r, false).expect("an answer");
    let took = start.elapsed();
    assert_eq!(resp.body, format!("path={path}").as_bytes());
    took
}

/// A kept-alive client: the stream and a reader on it.
fn client(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let s = connect(addr);
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

fn descriptors_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// The threads of `pid` named like the pool's workers (`comm` keeps 15 bytes).
fn workers_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| "socketserver-worker".starts_with(c.trim_end()))
        })
        .count()
}

/// Raises the soft descriptor limit to the hard one; returns the limit now.
fn raise_nofile() -> u64 {
    let out = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(u64::MAX);
    // std has no setrlimit, and the crate keeps libc calls in src/sys: `prlimit` (util-
    // linux) sets it on this process from outside.
    let me = std::process::id().to_string();
    let _ = Command::new("prlimit")
        .args(["--pid", &me, &format!("--nofile={hard}:{hard}")])
        .status();
    let soft = std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    soft
}

// ---------------------------------------------------------------------------------------
// 8,000 idle keep-alive connections

/// The server process: a pool HTTP server with the defaults, on orders from stdin
/// (`stats`, `shutdown`, `close`), answering on stdout.
fn serve() {
    raise_nofile();
    let (server, addr, _errors) = pool_server(Probe::default());
    let running = Running::start_with(server, socketserver::POLL_INTERVAL);
    let server = running.server.clone();
    println!("port {}", addr.port());
    let mut running = Some(running);
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        match line.trim() {
            "stats" => {
                let s = server.stats();
                println!(
                    "stats parked={} connections={} started={} max_workers={}",
                    s.parked, s.connections, s.started, s.max_workers
                );
            }
            "shutdown" => {
                let start = Instant::now();
                server.shutdown();
                println!("took_us {}", start.elapsed().as_micros());
            }
            "close" => {
                let start = Instant::now();
                // `stop` joins serve_forever (done already) and calls server_close.
                running.take().unwrap().stop();
                println!("took_us {}", start.elapsed().as_micros());
            }
            _ => break,
        }
    }
}

struct ServerProcess {
    child: common::ChildGuard,
    out: BufReader<std::process::ChildStdout>,
}

impl ServerProcess {
    fn ask(&mut self, order: &str) -> String {
        let stdin = self.child.0.stdin.as_mut().unwrap();
        writeln!(stdin, "{order}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    }
    fn took(&mut self, order: &str) -> Duration {
        let line = self.ask(order);
        let us = line.strip_prefix("took_us ").expect(&line).parse().unwrap();
        Duration::from_micros(us)
    }
    fn stat(&mut self, name: &str) -> usize {
        let line = self.ask("stats");
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .expect(&line)
            .parse()
            .unwrap()
    }
}

/// 8,000 idle keep-alive connections cost a descriptor and a record each, not a thread:
/// the server stays within `max_workers` threads and 40 MiB, answers a new client within
/// 50 ms, shuts down within 100 ms, and `server_close` closes every idle connection.
fn eight_thousand_idle_connections() {
    let n = env_count("POOL_IDLE", 8000);
    let limit = raise_nofile();
    if limit < n as u64 + 200 {
        assert!(
            !common::in_ci(),
            "{n} connections need {} descriptors; the limit is {limit}",
            n + 200
        );
        println!("skip: eight_thousand_idle_connections: descriptor limit {limit} < {n}");
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SERVE, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
    let pid = child.id();
    let mut server = ServerProcess {
        child: common::ChildGuard(child),
        out,
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let rss_before = fcgi_common::vm_rss_kib(pid);

    let opening = Instant::now();
    let mut idle: Vec<_> = (0..n)
        .map(|i| {
            let (mut s, mut r) = client(addr);
            get(&mut s, &mut r, &format!("/c{i}"));
            (s, r)
        })
        .collect();
    let opened = opening.elapsed();
    wait_until("every connection parked", Duration::from_secs(10), || {
        server.stat("parked") >= n
    });
    let workers = workers_of(pid);
    let threads = fcgi_common::threads_of(pid);
    let max_workers = server.stat("max_workers");
    let rss = fcgi_common::vm_rss_kib(pid);
    let fds = descriptors_of(pid);

    // New clients, one after another, each on its own connection.
    let mut new_client = Vec::new();
    for i in 0..20 {
        let start = Instant::now();
        let (mut s, mut r) = client(addr);
        get(&mut s, &mut r, &format!("/new{i}"));
        new_client.push(start.elapsed());
    }
    new_client.sort();
    // Idle connections still serve their next request.
    let mut again = Vec::new();
    for (i, (s, r)) in idle.iter_mut().enumerate().step_by(n / 50) {
        again.push(get(s, r, &format!("/again{i}")));
    }
    again.sort();
    println!(
        "  {n} idle connections opened in {opened:?}; server: {workers} workers \
         ({threads} threads, max_workers {max_workers}), RSS {} KiB (at start {} KiB), \
         {fds} descriptors; a new client answered in {:?} median, {:?} worst; an idle \
         one's next request in {:?} worst",
        rss,
        rss_before,
        new_client[new_client.len() / 2],
        new_client.last().unwrap(),
        again.last().unwrap(),
    );
    assert!(workers <= max_workers, "{workers} workers");
    assert!(
        threads <= max_workers + 2,
        "{threads} threads: workers, serve_forever's and main"
    );
    assert!(rss <= 40 * 1024, "RSS {rss} KiB");
    assert!(
        fds >= n,
        "the server holds the {n} connections: {fds} descriptors"
    );
    assert!(
        *new_client.last().unwrap() < Duration::from_millis(50),
        "{new_client:?}"
    );

    let shutdown = server.took("shutdown");
    let close = server.took("close");
    println!("  shutdown() took {shutdown:?}; server_close() took {close:?}");
    assert!(shutdown < Duration::from_millis(100), "{shutdown:?}");
    let closing = Instant::now();
    for (_, r) in idle.iter_mut() {
        let mut rest = Vec::new();
        r.read_to_end(&mut rest)
            .expect("closed by server_close, not left open");
        assert!(rest.is_empty());
    }
    println!(
        "  every idle client saw EOF within {:?} of server_close's return",
        closing.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// A sleeping handler

/// While one handler sleeps 2 s, 100 requests on other connections — new ones and
/// kept-alive ones — are each answered within 100 ms.
fn a_sleeping_handler_stalls_only_itself() {
    let probe = Probe::default();
    let (server, addr, errors) = pool_server(probe.clone());
    let _running = Running::start(server);
    // Kept-alive connections, parked before the sleep begins.
    let mut kept: Vec<_> = (0..50)
        .map(|i| {
            let (mut s, mut r) = client(addr);
            get(&mut s, &mut r, &format!("/k{i}"));
            (s, r)
        })
        .collect();
    let (mut sleeper, mut sleeper_r) = client(addr);
    let started = Instant::now();
    sleeper
        .write_all(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until("the handler to sleep", Duration::from_secs(5), || {
        probe.sleeping.load(Ordering::SeqCst)
    });
    let mut took = Vec::new();
    for i in 0..100 {
        if i % 2 == 0 {
            let (s, r) = &mut kept[i / 2];
            took.push(get(s, r, &format!("/k{i}")));
        } else {
            let start = Instant::now();
            let (mut s, mut r) = client(addr);
            get(&mut s, &mut r, &format!("/n{i}"));
            took.push(start.elapsed());
        }
    }
    let all_done = started.elapsed();
    assert!(
        probe.sleeping.load(Ordering::SeqCst),
        "the 100 requests ran while the handler slept ({all_done:?})"
    );
    let resp = read_response(&mut sleeper_r, false).unwrap();
    let slept = started.elapsed();
    assert_eq!(resp.body, b"path=/sleep");
    took.sort();
    println!(
        "  100 requests during a 2 s handler: median {:?}, worst {:?}; all done {all_done:?} \
         after the sleep began, which ended after {slept:?}",
        took[50], took[99],
    );
    assert!(took[99] < Duration::from_millis(100), "{took:?}");
    assert!(slept >= Duration::from_secs(2));
    assert_eq!(errors.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// Reaping

/// A client connection from `127.0.0.<2 + k % 8>`, so that 10⁵ closes from the client
/// side (each leaving a TIME_WAIT) do not run out of ephemeral ports.
fn connect_from(k: usize, addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let from: SocketAddr = ([127, 0, 0, 2 + (k % 8) as u8], 0).into();
    s.bind(&from.into()).unwrap();
    s.connect(&addr.into()).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Clients that go away while their connection is idle — closing after an answer,
/// resetting, closing before sending anything, closing with half a request sent — are
/// reaped: after 10⁵ connections the server holds as many descriptors as at the start.
fn closed_idle_clients_are_reaped() {
    let n = env_count("POOL_CHURN", 100_000);
    let (server, addr, errors) = pool_server(Probe::default());
    let running = Running::start(server);
    {
        let (mut s, mut r) = client(addr);
        get(&mut s, &mut r, "/warm");
    }
    let server = running.server.clone();
    wait_until(
        "the warm-up connection reaped",
        Duration::from_secs(5),
        || server.stats().connections == 0,
    );
    let start_fds = common::open_fds();
    let started = Instant::now();
    let threads = 4;
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                let mut buf = [0u8; 256];
                for k in (t..n).step_by(threads) {
                    let mut s = connect_from(k, addr);
                    match k % 4 {
                        // An answer, then a close while parked.
                        0 => {
                            s.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                            let got = s.read(&mut buf).unwrap();
                            assert!(buf[..got].ends_with(b"path=/a"));
                        }
                        // An answer, then a reset.
                        1 => {
                            s.write_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                            let got = s.read(&mut buf).unwrap();
                            assert!(buf[..got].ends_with(b"path=/b"));
                            socket2::SockRef::from(&s)
                                .set_linger(Some(Duration::ZERO))
                                .unwrap();
                        }
                        // Nothing sent.
                        2 => {}
                        // An answer and the start of the next head, parked with it.
                        _ => {
                            s.write_all(b"GET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHo")
                                .unwrap();
                            let got = s.read(&mut buf).unwrap();
                            assert!(buf[..got].ends_with(b"path=/c"));
                        }
                    }
                }
            });
        }
    });
    let churned = started.elapsed();
    wait_until("every connection reaped", Duration::from_secs(10), || {
        server.stats().connections == 0 && common::open_fds() == start_fds
    });
    let reaped = started.elapsed();
    let stats = server.stats();
    drop(running);
    println!(
        "  {n} connections in {churned:?}; descriptors back to {start_fds} after {reaped:?}; \
         {} errors reported; {} workers",
        errors.load(Ordering::SeqCst),
        stats.started
    );
    assert_eq!(stats.parked, 0);
    // A read that fails with ECONNRESET is reported, as CPython's `handle_error` reports
    // it; the other ways of leaving are quiet.
    let resets = (0..n).filter(|k| k % 4 == 1).count();
    assert_eq!(errors.load(Ordering::SeqCst), resets);
}

/// A client that sends its request and half-closes at once (its FIN may arrive with
/// the request, in one readiness event) gets its answer and then EOF, every time.
fn a_request_and_its_fin_together_get_an_answer_and_eof() {
    let (server, addr, errors) = pool_server(Probe::default());
    let _running = Running::start(server);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..2000 {
        let start = Instant::now();
        let mut s = connect(addr);
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got)
            .unwrap_or_else(|e| panic!("connection {i} not closed: {e}"));
        assert!(got.ends_with(format!("path=/{i}").as_bytes()));
        slowest = slowest.max(start.elapsed());
    }
    println!(
        "  2000 requests with their FIN: {:?} in all, the slowest {slowest:?}",
        started.elapsed()
    );
    assert_eq!(errors.load(Ordering::SeqCst), 0);
}

/// The same while the handler runs: a second request and the FIN arrive while the
/// first is being answered (the readiness event comes while the connection is held).
fn a_request_and_its_fin_during_a_turn_get_an_answer_and_eof() {
    let probe = Probe::default();
    let (server, addr, errors) = pool_server(probe.clone());
    let _running = Running::start(server);
    for i in 0..5 {
        let mut s = connect(addr);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /nap HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        wait_until("the handler to nap", Duration::from_secs(5), || {
            probe.sleeping.load(Ordering::SeqCst)
        });
        s.write_all(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let start = Instant::now();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap_or_else(|e| {
            panic!("connection {i} not closed after {:?}: {e}", start.elapsed())
        });
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.contains("path=/nap") && text.ends_with(&format!("path=/{i}")),
            "{text}"
        );
        wait_until("the nap to end", Duration::from_secs(5), || {
            !probe.sleeping.load(Ordering::SeqCst)
        });
    }
    assert_eq!(errors.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// Pipelining

/// Two requests in one packet get both answers; so does a second request whose head
/// arrives in pieces after the first was answered (it waits parked with what came).
fn a_pipelined_pair_gets_both_answers() {
    let (server, addr, errors) = pool_server(Probe::default());
    let _running = Running::start(server);
    let (mut s, mut r) = client(addr);
    s.set_nodelay(true).unwrap();
    s.write_all(
        b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    )
    .unwrap();
    assert_eq!(read_response(&mut r, false).unwrap().body, b"path=/one");
    assert_eq!(read_response(&mut r, false).unwrap().body, b"hello");
    // A third request's head in three pieces, the first sent with the second's.
    s.write_all(b"GET /three HTTP/1.1\r\nHost: x\r\n\r\nGET /four HT")
        .unwrap();
    assert_eq!(read_response(&mut r, false).unwrap().body, b"path=/three");
    std::thread::sleep(Duration::from_millis(30));
    s.write_all(b"TP/1.1\r\nHo").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    s.write_all(b"st: x\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut r, false).unwrap().body, b"path=/four");
    assert_eq!(errors.load(Ordering::SeqCst), 0);
}

/// FastCGI with `FCGI_KEEP_CONN`: two requests in one write get both replies, the
/// connection serves a third, and a fourth sent with the FIN is answered before the
/// connection closes.
fn fastcgi_keep_conn_pair_in_one_write() {
    use fcgi_common::{get as fcgi_get, Reader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool.sock");
    let server =
        socketserver::ThreadPoolUnixStreamServer::new(&path, fcgi_common::Probe::default())
            .unwrap();
    let _running = Running::start(server);
    let mut s = fcgi_common::unix(&path);
    let mut both = fcgi_get(1, true, "/a", "first");
    both.extend(fcgi_get(2, true, "/b", "second"));
    s.write_all(&both).unwrap();
    let mut r = Reader::new(s.try_clone().unwrap());
    for (id, query) in [(1, "first"), (2, "second")] {
        let reply = r.until_end(id);
        reply.assert_well_formed(id);
        assert_eq!(reply.body(), format!("GET {query}\n").as_bytes());
    }
    s.write_all(&fcgi_get(3, true, "/c", "third")).unwrap();
    let reply = r.until_end(3);
    assert_eq!(reply.body(), b"GET third\n");
    // A fourth sent with the web server's FIN: answered, then the connection closes.
    s.write_all(&fcgi_get(4, true, "/d", "fourth")).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(r.until_end(4).body(), b"GET fourth\n");
    assert!(r.at_eof(), "closed after the web server's FIN");
}

// ---------------------------------------------------------------------------------------
// Timeouts

/// Sends `first`, then waits for the server to close; returns how long that took, and
/// what came back.
fn closed_after(addr: SocketAddr, first: &[u8]) -> (Duration, Vec<u8>) {
    let mut s = connect(addr);
    s.write_all(first).unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed by the server: {e}"),
        }
    }
    (start.elapsed(), got)
}

/// `idle_timeout` closes a parked connection (one that sent nothing, one kept alive
/// after an answer); the handler's own `timeout()` replaces it, for a parked
/// connection and for a read in the middle of a body; `header_timeout` cuts off a
/// trickled head.
fn the_timeouts_work_on_the_pool() {
    struct Timed;
    impl BaseHttpRequestHandler for Timed {
        fn protocol_version(&self) -> &str {
            "HTTP/1.1"
        }
        fn timeout(&self) -> Option<Duration> {
            Some(Duration::from_millis(300))
        }
        fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
        fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
            Probe::default().do_get(h)
        }
        fn do_post(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
            Probe::default().do_post(h)
        }
    }
    let (mut idle, idle_addr, _) = pool_server(Probe::default());
    idle.idle_timeout = Some(Duration::from_millis(300));
    let (mut head, head_addr, _) = pool_server(Probe::default());
    head.header_timeout = Some(Duration::from_millis(300));
    let timed_http = HttpServer::new(("127.0.0.1", 0), Timed).unwrap();
    let timed_addr = timed_http.server_address;
    let timed = ThreadPoolMixIn::from(timed_http);
    let _running = (
        Running::start(idle),
        Running::start(head),
        Running::start(timed),
    );
    // 300 ms, give or take the sweep of parked connections (an eighth of the timeout)
    // and a loaded machine's scheduling.
    let within = |what: &str, took: Duration| {
        println!("  {what}: closed after {took:?}");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_millis(800),
            "{what}: {took:?}"
        );
    };
    let get = b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
    for (what, addr) in [("idle_timeout", idle_addr), ("timeout()", timed_addr)] {
        let (took, got) = closed_after(addr, b"");
        within(&format!("{what}, nothing sent"), took);
        assert!(got.is_empty());
        let (took, got) = closed_after(addr, get);
        within(&format!("{what}, kept alive after an answer"), took);
        assert!(
            got.ends_with(b"path=/x"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    }
    // The handler's timeout on a read inside a body that stops coming.
    let (took, got) = closed_after(
        timed_addr,
        b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nhalf",
    );
    within("timeout(), mid-body", took);
    assert!(
        !got.ends_with(b"half"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    // A head trickled a byte every 20 ms: no read waits long, the whole head does.
    let mut s = connect(head_addr);
    let start = Instant::now();
    let trickle =
        b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut = None;
    for &b in trickle {
        if s.write_all(&[b]).is_err() {
            cut = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let took = cut.unwrap_or_else(|| start.elapsed());
    println!("  header_timeout: a trickled head cut off after {took:?}");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1000),
        "{took:?}"
    );
    // Prompt clients are served meanwhile and afterwards, on all three.
    for addr in [idle_addr, head_addr, timed_addr] {
        let (mut s, mut r) = client(addr);
        get_ok(&mut s, &mut r);
    }
}

fn get_ok(s: &mut TcpStream, r: &mut BufReader<TcpStream>) {
    get(s, r, "/ok");
}

fn main() {
    if std::env::var_os(SERVE).is_some() {
        serve();
        return;
    }
    let tests: &[(&str, fn())] = &[
        (
            "eight_thousand_idle_connections",
            eight_thousand_idle_connections,
        ),
        (
            "a_sleeping_handler_stalls_only_itself",
            a_sleeping_handler_stalls_only_itself,
        ),
        (
            "closed_idle_clients_are_reaped",
            closed_idle_clients_are_reaped,
        ),
        (
            "a_request_and_its_fin_together_get_an_answer_and_eof",
            a_request_and_its_fin_together_get_an_answer_and_eof,
        ),
        (
            "a_request_and_its_fin_during_a_turn_get_an_answer_and_eof",
            a_request_and_its_fin_during_a_turn_get_an_answer_and_eof,
        ),
        (
            "a_pipelined_pair_gets_both_answers",
            a_pipelined_pair_gets_both_answers,
        ),
        (
            "fastcgi_keep_conn_pair_in_one_write",
            fastcgi_keep_conn_pair_in_one_write,
        ),
        (
            "the_timeouts_work_on_the_pool",
            the_timeouts_work_on_the_pool,
        ),
    ];
    // Honour a name filter, as libtest does (`cargo test --test pool reaped`).
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut failed = 0;
    let mut ran = 0;
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        ran += 1;
        let start = Instant::now();
        println!("test {name} ...");
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok ({:?})", start.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        ran - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
