//! ForkingMixIn tests. A forking server must run in a single-threaded process, and the
//! test harness runs every test on a thread of its own, so this file has its own `main`
//! (`harness = false`): started plainly it runs the client side of each test; started
//! with `SOCKETSERVER_FORK_SERVER=<scenario>` it is the server of that scenario, on its
//! main thread.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socketserver::mixin::ThreadsHoldNoLocks;
use socketserver::{
    BaseServer, DatagramRequest, DatagramRequestHandler, ForkingTcpServer, ForkingUdpServer,
    ForkingUnixDatagramServer, ForkingUnixStreamServer, StreamRequest, StreamRequestHandler,
};

const SCENARIO: &str = "SOCKETSERVER_FORK_SERVER";

/// The server side's handler. On connect it writes `started <pid>`; then it answers
/// `echo X` with `X` and ends on `bye` or EOF; `fail` makes it panic.
struct Script;

impl StreamRequestHandler for Script {
    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(20))
    }

    fn handle(&self, req: &mut StreamRequest) -> socketserver::Result<()> {
        let pid = std::process::id();
        writeln!(req.wfile, "started {pid}")?;
        let mut line = String::new();
        while req.rfile.read_line(&mut line)? > 0 {
            match line.trim_end() {
                "bye" => {
                    writeln!(req.wfile, "bye {pid}")?;
                    return Ok(());
                }
                "fail" => panic!("boom in {pid}"),
                other => {
                    if let Some(text) = other.strip_prefix("echo ") {
                        writeln!(req.wfile, "{text}")?;
                    }
                }
            }
            line.clear();
        }
        Ok(())
    }
}

struct EchoPacket;
impl DatagramRequestHandler for EchoPacket {
    fn handle(&self, req: &mut DatagramRequest) -> socketserver::Result<()> {
        let mut data = Vec::new();
        req.rfile.read_to_end(&mut data)?;
        write!(req.wfile, "{} ", std::process::id())?;
        req.wfile.write_all(&data)?;
        Ok(())
    }
}

/// The server side: runs on the main thread of its own process.
fn serve(scenario: &str) -> socketserver::Result<()> {
    let dir = std::env::var("SOCK_DIR").unwrap_or_default();
    let poll = Duration::from_millis(20);
    match scenario {
        "tcp" | "max_children" | "threads" | "threads_allowed" | "close" => {
            let mut server = ForkingTcpServer::new(("127.0.0.1", 0), Script)?;
            if scenario == "max_children" {
                server.max_children = 2;
            }
            if scenario.starts_with("threads") {
                std::thread::spawn(|| std::thread::sleep(Duration::from_secs(3600)));
                if scenario == "threads_allowed" {
                    // SAFETY: the other thread only sleeps; it never takes a lock.
                    server.allow_fork_with_threads(unsafe { ThreadsHoldNoLocks::promise() });
                }
            }
            println!("PORT {}", server.server_address.port());
            let server = Arc::new(server);
            if scenario == "close" {
                for _ in 0..3 {
                    server.handle_request()?;
                }
                server.server_close();
                println!("active_children {}", server.active_children().len());
                return Ok(());
            }
            server.serve_forever(poll)
        }
        "graceful" => {
            let mut server = ForkingTcpServer::new(("127.0.0.1", 0), Script)?;
            // SAFETY: the other thread only sleeps and looks for a file until the serving
            // loop is stopping; it takes no lock a child could need.
            server.allow_fork_with_threads(unsafe { ThreadsHoldNoLocks::promise() });
            println!("PORT {}", server.server_address.port());
            let server = Arc::new(server);
            let stopper = server.clone();
            let stop_file = format!("{dir}/stop");
            let stopping = std::thread::spawn(move || {
                while std::fs::metadata(&stop_file).is_err() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let in_time = stopper.graceful_shutdown(Duration::from_millis(500));
                println!("graceful {in_time}");
            });
            server.serve_forever(poll)?;
            // server_close only once the graceful stop is over.
            stopping.join().unwrap();
            server.server_close();
            println!("active_children {}", server.active_children().len());
            Ok(())
        }
        "udp" => {
            let server = ForkingUdpServer::new(("127.0.0.1", 0), EchoPacket)?;
            println!("PORT {}", server.server_address.port());
            Arc::new(server).serve_forever(poll)
        }
        "unix" => {
            let path = format!("{dir}/stream.sock");
            let server = ForkingUnixStreamServer::new(&path, Script)?;
            println!("PORT 0");
            Arc::new(server).serve_forever(poll)
        }
        "unix_dgram" => {
            let path = format!("{dir}/dgram.sock");
            let server = ForkingUnixDatagramServer::new(&path, EchoPacket)?;
            println!("PORT 0");
            Arc::new(server).serve_forever(poll)
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// A server process of one scenario, killed when dropped.
struct ServerProcess {
    child: Child,
    port: u16,
    stdout: BufReader<std::process::ChildStdout>,
}

impl ServerProcess {
    fn start(scenario: &str, sock_dir: &std::path::Path) -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(SCENARIO, scenario)
            .env("SOCK_DIR", sock_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("server said {line:?}"))
            .trim()
            .parse()
            .unwrap();
        ServerProcess {
            child,
            port,
            stdout,
        }
    }

    fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line the server printed.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line
    }

    fn stderr(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut s = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The children of `pid` and their states (`R`, `S`, `Z`, …), from /proc.
fn children_of(pid: u32) -> Vec<(u32, char)> {
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
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap().chars().next().unwrap();
        let ppid: u32 = fields.next().unwrap().parse().unwrap();
        if ppid == pid {
            out.push((child, state));
        }
    }
    out
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).unwrap();
        l
    }
    fn send(&mut self, s: &str) {
        self.stream.write_all(s.as_bytes()).unwrap();
    }
}

fn started_pid(line: &str) -> u32 {
    line.strip_prefix("started ")
        .unwrap_or_else(|| panic!("got {line:?}"))
        .trim()
        .parse()
        .unwrap()
}

fn test_each_request_in_its_own_child_and_children_are_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("tcp", dir.path());
    let mut pids = Vec::new();
    for i in 0..3 {
        let mut c = Client::connect(server.addr());
        let pid = started_pid(&c.line());
        c.send(&format!("echo hello {i}\n"));
        assert_eq!(c.line(), format!("hello {i}\n"));
        c.send("bye\n");
        assert_eq!(c.line(), format!("bye {pid}\n"));
        pids.push(pid);
    }
    assert!(
        !pids.contains(&server.pid()),
        "handled in the server process"
    );
    pids.dedup();
    assert_eq!(pids.len(), 3, "one child per request: {pids:?}");
    // service_actions reaps: no zombie children remain.
    wait_until("children reaped", || children_of(server.pid()).is_empty());
}

fn test_two_requests_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("tcp", dir.path());
    // Both handlers must have started before either is told to finish.
    let mut a = Client::connect(server.addr());
    let mut b = Client::connect(server.addr());
    let pa = started_pid(&a.line());
    let pb = started_pid(&b.line());
    assert_ne!(pa, pb);
    a.send("bye\n");
    b.send("bye\n");
    assert_eq!(a.line(), format!("bye {pa}\n"));
    assert_eq!(b.line(), format!("bye {pb}\n"));
}

fn test_max_children_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("max_children", dir.path());
    let mut a = Client::connect(server.addr());
    let mut b = Client::connect(server.addr());
    started_pid(&a.line());
    started_pid(&b.line());
    // A third client is accepted by the kernel but not served: the server waits in
    // collect_children for one of its two children to exit.
    let mut c = Client::connect(server.addr());
    c.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 1];
    let r = c.stream.read(&mut buf);
    assert!(
        r.is_err(),
        "third request served while two children run: {r:?}"
    );
    assert_eq!(children_of(server.pid()).len(), 2);
    a.send("bye\n");
    a.line();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    started_pid(&c.line());
    assert!(children_of(server.pid()).len() <= 2);
    b.send("bye\n");
    c.send("bye\n");
    b.line();
    c.line();
}

fn test_fork_refused_with_threads() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("threads", dir.path());
    for _ in 0..2 {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"", "the connection is closed unanswered");
    }
    let err = server.stderr();
    assert_eq!(
        err.matches("refusing to fork: this process has 2 threads")
            .count(),
        2,
        "{err}"
    );
    assert!(err.contains("Exception occurred during processing of request from ('127.0.0.1', "));
}

fn test_fork_allowed_with_threads_after_the_promise() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("threads_allowed", dir.path());
    let mut c = Client::connect(server.addr());
    let pid = started_pid(&c.line());
    c.send("bye\n");
    assert_eq!(c.line(), format!("bye {pid}\n"));
}

fn test_a_failing_child_reports_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("tcp", dir.path());
    let mut c = Client::connect(server.addr());
    let pid = started_pid(&c.line());
    c.send("fail\n");
    let mut rest = Vec::new();
    c.stream.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"");
    let mut d = Client::connect(server.addr());
    started_pid(&d.line());
    d.send("bye\n");
    d.line();
    wait_until("children reaped", || children_of(server.pid()).is_empty());
    let err = server.stderr();
    assert!(
        err.contains(&format!("the request handler panicked: boom in {pid}")),
        "{err}"
    );
}

/// A graceful stop waits for the children until the grace period ends, then sends each
/// one left SIGTERM.
fn test_graceful_shutdown_ends_children_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start("graceful", dir.path());
    let mut quick = Client::connect(server.addr());
    started_pid(&quick.line());
    let mut idle = Client::connect(server.addr());
    let idle_pid = started_pid(&idle.line());
    let t0 = Instant::now();
    std::fs::write(dir.path().join("stop"), b"").unwrap();
    // A child that finishes within the grace period answers as usual.
    quick.send("bye\n");
    assert!(quick.line().starts_with("bye "));
    // The idle one is ended at the deadline (SIGTERM): its connection closes.
    let mut rest = Vec::new();
    let _ = idle.stream.read_to_end(&mut rest);
    let cut = t0.elapsed();
    assert!(rest.is_empty());
    assert!(
        cut >= Duration::from_millis(400) && cut < Duration::from_secs(5),
        "cut after {cut:?}"
    );
    assert_eq!(server.line(), "graceful false\n");
    assert_eq!(server.line(), "active_children 0\n");
    wait_until("the child is gone", || {
        !children_of(server.pid())
            .iter()
            .any(|&(p, _)| p == idle_pid)
    });
}

fn test_server_close_waits_for_children() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start("close", dir.path());
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(server.addr())).collect();
    for c in &mut clients {
        started_pid(&c.line());
    }
    // The server has handled its three requests and waits in server_close for the
    // children; they end when told to.
    for c in &mut clients {
        c.send("bye\n");
    }
    let mut line = String::new();
    server.stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "active_children 0\n");
}

fn test_forking_udp_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("udp", dir.path());
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.send_to(b"hello world\n", server.addr()).unwrap();
    let mut buf = [0u8; 100];
    let n = c.recv(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let (pid, rest) = text.split_once(' ').unwrap();
    assert_ne!(pid.parse::<u32>().unwrap(), server.pid());
    assert_eq!(rest, "hello world\n");
}

fn test_forking_unix_servers() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start("unix", dir.path());
    let s = UnixStream::connect(dir.path().join("stream.sock")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_ne!(started_pid(&line), server.pid());
    (&s).write_all(b"echo via unix\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "via unix\n");
    drop(server);

    let server = ServerProcess::start("unix_dgram", dir.path());
    let c = UnixDatagram::bind(dir.path().join("client")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.send_to(b"dgram", dir.path().join("dgram.sock")).unwrap();
    let mut buf = [0u8; 64];
    let n = c.recv(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(text.ends_with(" dgram"), "{text}");
    drop(server);
}

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        if let Err(e) = serve(&scenario) {
            eprintln!("server error: {e}");
            std::process::exit(1);
        }
        return;
    }
    let tests: &[(&str, fn())] = &[
        (
            "each_request_in_its_own_child_and_children_are_reaped",
            test_each_request_in_its_own_child_and_children_are_reaped,
        ),
        ("two_requests_overlap", test_two_requests_overlap),
        ("max_children_is_respected", test_max_children_is_respected),
        ("fork_refused_with_threads", test_fork_refused_with_threads),
        (
            "fork_allowed_with_threads_after_the_promise",
            test_fork_allowed_with_threads_after_the_promise,
        ),
        (
            "a_failing_child_reports_and_the_server_goes_on",
            test_a_failing_child_reports_and_the_server_goes_on,
        ),
        (
            "graceful_shutdown_ends_children_at_the_deadline",
            test_graceful_shutdown_ends_children_at_the_deadline,
        ),
        (
            "server_close_waits_for_children",
            test_server_close_waits_for_children,
        ),
        ("forking_udp_server", test_forking_udp_server),
        ("forking_unix_servers", test_forking_unix_servers),
    ];
    // Honour a name filter, as libtest does (`cargo test --test forking max_children`).
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut failed = 0;
    let mut ran = 0;
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        ran += 1;
        let result = std::panic::catch_unwind(test);
        match result {
            Ok(()) => println!("test {name} ... ok"),
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
