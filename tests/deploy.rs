//! Deploying the `http-server` program: socket activation (the test plays systemd),
//! several processes on one port, a restart that fails no request, and nginx in front.
//!
//! The systemd units and nginx configs are the files in `deploy/`, which
//! `docs/deployment.md` shows; the tests run them, replacing only the values a test
//! cannot use (the port 8000, the directory `/srv/www`, the program's path).
//!
//! The launcher: like `systemd-socket-activate`, a shell moves the listening socket
//! (given as its stdin) to descriptor 3, sets `LISTEN_FDS=1` and `LISTEN_PID` to its own
//! pid, and `exec`s the program, which keeps that pid. No `unsafe`, no `pre_exec`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::program::{Server, BIN};
use common::{port_in, require};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The launcher: runs `program args` as systemd would with one socket: the socket at
/// descriptor 3, `LISTEN_FDS=1`, `LISTEN_PID` = the program's pid, `LISTEN_FDNAMES`.
fn socket_activated(socket: OwnedFd, program: &str, args: &[String]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(
            "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=http; \
             export LISTEN_PID LISTEN_FDS LISTEN_FDNAMES; exec \"$@\"",
        )
        .arg("sh")
        .arg(program)
        .args(args)
        .stdin(Stdio::from(socket));
    cmd
}

/// The service unit's `ExecStart=`, split into words, with the program replaced by the
/// one cargo built and `/srv/www` by `dir`.
fn exec_start(dir: &Path) -> Vec<String> {
    let unit = std::fs::read_to_string(format!("{ROOT}/deploy/systemd/http-server@.service"))
        .expect("the service unit");
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart= in the unit");
    let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    assert!(words[0].ends_with("/http-server"), "{line}");
    words[0] = BIN.to_owned();
    for w in &mut words {
        if w == "/srv/www" {
            *w = dir.to_str().unwrap().to_owned();
        }
    }
    words
}

/// The socket unit's `ListenStream=` (a port, or a unix path).
fn listen_stream() -> String {
    let unit = std::fs::read_to_string(format!("{ROOT}/deploy/systemd/http-server.socket"))
        .expect("the socket unit");
    unit.lines()
        .find_map(|l| l.strip_prefix("ListenStream="))
        .expect("ListenStream= in the unit")
        .to_owned()
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "deployed\n").unwrap();
    dir
}

/// One HTTP/1.0 GET on a fresh connection: the whole response.
fn get(stream: &mut impl ReadWrite, path: &str) -> std::io::Result<Vec<u8>> {
    stream.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    Ok(out)
}

/// `/a.txt` is served on `stream` and logged; SIGTERM then stops the program with
/// status 0. Its stderr.
fn serves_then_stops(server: Server, stream: &mut impl ReadWrite) -> String {
    let answer = get(stream, "/a.txt").unwrap();
    assert!(
        is_ok_answer(&answer),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    server.signal("-TERM");
    let (status, log) = server.wait(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert!(log.contains("] \"GET /a.txt HTTP/1.0\" 200 -\n"), "{log}");
    log
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn tcp(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    Ok(s)
}

fn is_ok_answer(r: &[u8]) -> bool {
    r.starts_with(b"HTTP/1.0 200 OK\r\n") && r.ends_with(b"\r\n\r\ndeployed\n")
}

/// `/proc/<pid>/fdinfo/3`'s flags include O_CLOEXEC.
fn fd3_is_cloexec(pid: u32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/3")).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
        .unwrap();
    const O_CLOEXEC: u32 = 0o2000000; // Linux
    flags & O_CLOEXEC != 0
}

// ---------------------------------------------------------------------------------------
// Socket activation

#[test]
fn socket_activation_tcp_runs_the_service_unit() {
    // The socket unit listens on a TCP port; the test binds a free one instead of 8000.
    assert!(
        listen_stream().parse::<u16>().is_ok(),
        "ListenStream is a port"
    );
    let dir = site();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let words = exec_start(dir.path());
    let server = Server::spawn(socket_activated(listener.into(), &words[0], &words[1..]));
    assert_eq!(
        server.line,
        format!(
            "Serving HTTP on 127.0.0.1 port {p} (http://127.0.0.1:{p}/) ...\n",
            p = addr.port()
        )
    );
    assert!(
        fd3_is_cloexec(server.child.id()),
        "the inherited socket is close-on-exec"
    );
    let log = serves_then_stops(server, &mut tcp(addr).unwrap());
    assert!(log.contains("127.0.0.1 - - ["), "{log}");
}

#[test]
fn socket_activation_unix() {
    let dir = site();
    let sock = dir.path().join("http.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let args = vec!["-d".to_owned(), dir.path().to_str().unwrap().to_owned()];
    let server = Server::spawn(socket_activated(listener.into(), BIN, &args));
    assert_eq!(
        server.line,
        format!("Serving HTTP on unix:{} ...\n", sock.display())
    );
    let mut c = UnixStream::connect(&sock).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    serves_then_stops(server, &mut c);
    // The socket file belongs to whoever bound it (systemd): it stays.
    assert!(sock.exists());
}

#[test]
fn variables_for_another_process_are_ignored() {
    // LISTEN_PID names another process: the program binds its own port as usual.
    let dir = site();
    let mut cmd = Command::new(BIN);
    cmd.args(["-b", "127.0.0.1", "-d", dir.path().to_str().unwrap(), "0"])
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1");
    let server = Server::spawn(cmd);
    let port = port_in(&server.line);
    let answer = get(&mut tcp(([127, 0, 0, 1], port).into()).unwrap(), "/a.txt").unwrap();
    assert!(is_ok_answer(&answer));
}

// ---------------------------------------------------------------------------------------
// Several processes on one port

/// `--reuse-port` (`allow_reuse_port`): two processes bind the same port, and the kernel
/// spreads connections over both.
#[test]
fn reuse_port_processes_share_a_port() {
    let dir = site();
    let d = dir.path().to_str().unwrap();
    let mut first = Command::new(BIN);
    first.args(["--reuse-port", "-b", "127.0.0.1", "-d", d, "0"]);
    let first = Server::spawn(first);
    let port = port_in(&first.line);
    let mut second = Command::new(BIN);
    second.args([
        "--reuse-port",
        "-b",
        "127.0.0.1",
        "-d",
        d,
        &port.to_string(),
    ]);
    let second = Server::spawn(second);
    assert_eq!(port_in(&second.line), port);
    // Without --reuse-port the port is taken.
    let o = Command::new(BIN)
        .args(["-b", "127.0.0.1", "-d", d, &port.to_string()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let n = 64;
    for _ in 0..n {
        assert!(is_ok_answer(
            &get(&mut tcp(addr).unwrap(), "/a.txt").unwrap()
        ));
    }
    // Every request is logged by the process that served it, once it has answered.
    let deadline = Instant::now() + Duration::from_secs(10);
    while first.served() + second.served() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (a, b) = (first.served(), second.served());
    eprintln!("reuse-port: {a} + {b} of {n} requests");
    assert_eq!(a + b, n);
    // Each gets some (the chance that one gets all 64 is 2^-63).
    assert!(a > 0 && b > 0, "{a} + {b}");
}

/// The restart recipe of docs/deployment.md: N old processes share one listening socket
/// (the socket unit's); N new ones start on the same socket; the old ones get SIGTERM,
/// stop accepting, finish what they were doing and exit. A client loop runs all along,
/// a new connection per request, and no request fails. A download in progress on an
/// old process when it gets SIGTERM completes.
#[test]
fn restart_without_a_failed_request() {
    const N: usize = 2;
    let dir = site();
    let big: Vec<u8> = (0..(8 << 20)).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let words = exec_start(dir.path());
    let start = |l: &TcpListener| {
        let fd: OwnedFd = l.try_clone().unwrap().into();
        Server::spawn(socket_activated(fd, &words[0], &words[1..]))
    };
    let old: Vec<Server> = (0..N).map(|_| start(&listener)).collect();

    // The client loop.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = {
        let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match tcp(addr).and_then(|mut s| get(&mut s, "/a.txt")) {
                    Ok(r) if is_ok_answer(&r) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => failures
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&r).into_owned()),
                    Err(e) => failures.lock().unwrap().push(e.to_string()),
                }
            }
        })
    };
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for("the old processes to serve", &|| {
        ok.load(Ordering::SeqCst) >= 50
    });

    // A download in progress on an old process (only old ones exist yet): it has
    // started to arrive, and the rest waits in the socket.
    let mut download = tcp(addr).unwrap();
    download
        .write_all(b"GET /big.bin HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut head = vec![0u8; 64 * 1024];
    download.read_exact(&mut head).unwrap();

    let new: Vec<Server> = (0..N).map(|_| start(&listener)).collect();
    drop(listener);
    for s in &old {
        s.signal("-TERM");
    }
    // The download completes.
    let mut rest = Vec::new();
    download.read_to_end(&mut rest).unwrap();
    head.extend_from_slice(&rest);
    let body_at = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        head[body_at..] == big[..],
        "the download in progress completed"
    );
    for s in old {
        let (status, _) = s.wait(Duration::from_secs(40));
        assert!(status.success(), "old process: {status:?}");
    }
    // The new processes alone go on serving: counted by their own log lines (each logs
    // a request after answering it), as the client's count includes the old ones' last.
    wait_for("the new processes to serve", &|| {
        new.iter().map(Server::served).sum::<usize>() >= 100
    });
    stop.store(true, Ordering::SeqCst);
    client.join().unwrap();
    let served_by_new: usize = new.iter().map(Server::served).sum();
    let total = ok.load(Ordering::SeqCst);
    let failed = failures.lock().unwrap().clone();
    eprintln!(
        "restart: {} failed of {} requests ({total} ok; {served_by_new} served by the new processes)",
        failed.len(),
        total + failed.len()
    );
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(served_by_new >= 100, "{served_by_new}");
}

// ---------------------------------------------------------------------------------------
// nginx in front

/// Writes an nginx.conf for an unprivileged foreground nginx in `prefix` whose http
/// block includes `snippet`, and starts it; `None` (after the SKIP line) without nginx.
fn start_nginx(prefix: &Path, snippet: &str) -> Option<common::ChildGuard> {
    let nginx = require("nginx")?;
    let p = prefix.display();
    std::fs::write(prefix.join("site.conf"), snippet).unwrap();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\n\
         error_log {p}/error.log info;\nevents {{ worker_connections 256; }}\n\
         http {{\n access_log off;\n client_body_temp_path {p}/body;\n\
         fastcgi_temp_path {p}/fcgi;\n proxy_temp_path {p}/proxy;\n scgi_temp_path {p}/scgi;\n\
         uwsgi_temp_path {p}/uwsgi;\n include {p}/site.conf;\n}}\n"
    );
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx)
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    Some(common::ChildGuard(child))
}

/// A free loopback port (bound then released; nginx binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `port` accepts connections.
fn wait_listening(port: u16, nginx: &mut common::ChildGuard, prefix: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(s)) = nginx.0.try_wait() {
            panic!(
                "nginx exited ({s}): {}",
                std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "nginx did not listen");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn nginx_http_upstream() {
    let Some(curl) = require("curl") else { return };
    let dir = site();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "-b",
        "127.0.0.1",
        "-p",
        "HTTP/1.1",
        "-H",
        "X-Served-By: http-server",
    ])
    .args(["-d", dir.path().to_str().unwrap(), "0"]);
    let server = Server::spawn(cmd);
    let upstream = port_in(&server.line);
    let front = free_port();
    let conf = std::fs::read_to_string(format!("{ROOT}/deploy/nginx/http-upstream.conf")).unwrap();
    assert!(conf.contains("server 127.0.0.1:8000;") && conf.contains("listen 8080;"));
    let conf = conf
        .replace(
            "server 127.0.0.1:8000;",
            &format!("server 127.0.0.1:{upstream};"),
        )
        .replace("listen 8080;", &format!("listen 127.0.0.1:{front};"));
    let prefix = tempfile::tempdir().unwrap();
    let Some(mut nginx) = start_nginx(prefix.path(), &conf) else {
        return;
    };
    wait_listening(front, &mut nginx, prefix.path());
    // Three requests: the upstream connection is kept alive between them.
    let url = format!("http://127.0.0.1:{front}/a.txt");
    let o = Command::new(curl)
        .args(["-sS", "-i", "--max-time", "20", &url, &url, &url])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 3, "{out}");
    assert_eq!(
        out.matches("X-Served-By: http-server\r\n").count(),
        3,
        "{out}"
    );
    assert_eq!(out.matches("\r\n\r\ndeployed\n").count(), 3, "{out}");
    drop(nginx);
    server.signal("-TERM");
    let (status, log) = server.wait(Duration::from_secs(40));
    assert!(status.success());
    assert_eq!(
        log.matches("] \"GET /a.txt HTTP/1.1\" 200 -\n").count(),
        3,
        "{log}"
    );
}

#[test]
fn nginx_fastcgi_responder() {
    let Some(curl) = require("curl") else { return };
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("fcgi-app.sock");
    let bin = common::example_bin("fcgi_hello");
    assert!(
        bin.exists(),
        "example fcgi_hello is not built at {}: run `cargo test` (or `cargo build --example fcgi_hello`)",
        bin.display()
    );
    let mut app = common::ChildGuard(
        Command::new(&bin)
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fcgi_hello"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(&sock).is_err() {
        assert!(app.0.try_wait().unwrap().is_none(), "fcgi_hello exited");
        assert!(Instant::now() < deadline, "fcgi_hello did not listen");
        std::thread::sleep(Duration::from_millis(10));
    }
    let front = free_port();
    let conf = std::fs::read_to_string(format!("{ROOT}/deploy/nginx/fastcgi.conf")).unwrap();
    assert!(conf.contains("unix:/run/fcgi-app.sock;") && conf.contains("listen 8081;"));
    let conf = conf
        .replace(
            "unix:/run/fcgi-app.sock;",
            &format!("unix:{};", sock.display()),
        )
        .replace("listen 8081;", &format!("listen 127.0.0.1:{front};"));
    let prefix = tempfile::tempdir().unwrap();
    let Some(mut nginx) = start_nginx(prefix.path(), &conf) else {
        return;
    };
    wait_listening(front, &mut nginx, prefix.path());
    let url = format!("http://127.0.0.1:{front}/");
    let o = Command::new(curl)
        .args(["-sS", "--max-time", "20", &url, &url])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, b"Hello, world!Hello, world!");
}

// ---------------------------------------------------------------------------------------
// The documentation shows these very files

#[test]
fn deployment_doc_shows_the_files_the_tests_run() {
    let doc = std::fs::read_to_string(format!("{ROOT}/docs/deployment.md")).unwrap();
    for file in [
        "deploy/nginx/http-upstream.conf",
        "deploy/nginx/fastcgi.conf",
        "deploy/systemd/http-server.socket",
        "deploy/systemd/http-server@.service",
    ] {
        let text = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap();
        let block = format!("<!-- {file} -->\n```ini\n{text}```\n");
        let block_nginx = format!("<!-- {file} -->\n```nginx\n{text}```\n");
        assert!(
            doc.contains(&block) || doc.contains(&block_nginx),
            "docs/deployment.md must show {file} as it is, after a `<!-- {file} -->` line"
        );
    }
}
