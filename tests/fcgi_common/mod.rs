//! Helpers shared by the FastCGI integration tests: a raw FastCGI client, a probe
//! handler, a connection-counting server wrapper, nginx in the foreground.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socketserver::fcgi::record::{
    pack_begin_request, pack_pair, pack_rec_into, unpack_rec, Request,
};
use socketserver::fcgi::{FcgiHandler, FcgiRequest};

pub use crate::common::example_bin;
use socketserver::{delegate_base_server, Address, BaseServer, Connection};

// ---------------------------------------------------------------------------------------
// Building requests

/// BEGIN_REQUEST for `id` with `role` and `flags`.
pub fn begin(out: &mut Vec<u8>, id: u16, role: u16, flags: u8) {
    pack_rec_into(
        out,
        Request::BeginRequest,
        id,
        &pack_begin_request(role, flags),
    );
}

/// The PARAMS stream (one record, then the empty one).
pub fn params(out: &mut Vec<u8>, id: u16, pairs: &[(&[u8], &[u8])]) {
    let mut c = Vec::new();
    for (n, v) in pairs {
        pack_pair(&mut c, n, v);
    }
    if !c.is_empty() {
        pack_rec_into(out, Request::Params, id, &c);
    }
    pack_rec_into(out, Request::Params, id, b"");
}

/// The STDIN stream in records of at most `chunk` bytes, then the empty one.
pub fn stdin(out: &mut Vec<u8>, id: u16, body: &[u8], chunk: usize) {
    for piece in body.chunks(chunk.max(1)) {
        pack_rec_into(out, Request::Stdin, id, piece);
    }
    pack_rec_into(out, Request::Stdin, id, b"");
}

/// A whole Responder request.
pub fn request(id: u16, keep_conn: bool, pairs: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    begin(&mut out, id, 1, keep_conn as u8);
    params(&mut out, id, pairs);
    stdin(&mut out, id, body, 32768);
    out
}

/// A GET-like request for `script` (SCRIPT_NAME) with a query string.
pub fn get(id: u16, keep_conn: bool, script: &str, query: &str) -> Vec<u8> {
    request(
        id,
        keep_conn,
        &[
            (b"REQUEST_METHOD", b"GET"),
            (b"SCRIPT_NAME", script.as_bytes()),
            (b"QUERY_STRING", query.as_bytes()),
            (b"CONTENT_LENGTH", b""),
        ],
        b"",
    )
}

// ---------------------------------------------------------------------------------------
// Reading replies

/// One record received: type, request id, content, padding length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub typ: u8,
    pub id: u16,
    pub content: Vec<u8>,
    pub padding: u8,
}

/// A record reader over any stream.
pub struct Reader<S: Read> {
    pub s: S,
    buf: Vec<u8>,
}

impl<S: Read> Reader<S> {
    pub fn new(s: S) -> Reader<S> {
        Reader { s, buf: Vec::new() }
    }

    /// The next record; `None` at end of file or reset (between records).
    pub fn next(&mut self) -> Option<Rec> {
        loop {
            if let Some((end, r)) = unpack_rec(&self.buf, 0).expect("valid record") {
                let rec = Rec {
                    typ: r.header.record_type,
                    id: r.header.request_id,
                    content: r.content.to_vec(),
                    padding: r.header.padding_length,
                };
                self.buf.drain(..end);
                return Some(rec);
            }
            let mut chunk = [0u8; 65536];
            let n = match self.s.read(&mut chunk) {
                Ok(n) => n,
                // A server that closes with our input unread makes the kernel reset
                // the connection: closed, like an EOF.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => panic!("read from the server: {e}"),
            };
            if n == 0 {
                assert!(self.buf.is_empty(), "EOF inside a record: {:?}", self.buf);
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Records until END_REQUEST for `id` (included), or until the connection closes.
    pub fn until_end(&mut self, id: u16) -> Reply {
        let mut reply = Reply::default();
        while let Some(r) = self.next() {
            let done = r.typ == 3 && r.id == id;
            reply.records.push(r);
            if done {
                break;
            }
        }
        reply
    }

    /// The reply to `id`, or `None` if the server closed the connection (EOF or reset)
    /// before sending anything.
    pub fn until_end_or_closed(&mut self, id: u16) -> Option<Reply> {
        let mut reply = Reply::default();
        loop {
            if let Some((end, r)) = unpack_rec(&self.buf, 0).expect("valid record") {
                let rec = Rec {
                    typ: r.header.record_type,
                    id: r.header.request_id,
                    content: r.content.to_vec(),
                    padding: r.header.padding_length,
                };
                self.buf.drain(..end);
                let done = rec.typ == 3 && rec.id == id;
                reply.records.push(rec);
                if done {
                    return Some(reply);
                }
                continue;
            }
            let mut chunk = [0u8; 65536];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) if reply.records.is_empty() && self.buf.is_empty() => return None,
                Ok(0) => panic!("EOF in the middle of a reply"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("read failed in the middle of a reply: {e}"),
            }
        }
    }

    /// True if the server closed the connection (EOF) with nothing more sent.
    pub fn at_eof(&mut self) -> bool {
        self.next().is_none()
    }
}

/// What came back for a request.
#[derive(Debug, Default, Clone)]
pub struct Reply {
    pub records: Vec<Rec>,
}

impl Reply {
    fn stream(&self, typ: u8) -> Vec<u8> {
        self.records
            .iter()
            .filter(|r| r.typ == typ)
            .flat_map(|r| r.content.clone())
            .collect()
    }
    pub fn stdout(&self) -> Vec<u8> {
        self.stream(6)
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout()).into_owned()
    }
    pub fn stderr(&self) -> Vec<u8> {
        self.stream(7)
    }
    /// The body after the CGI header block.
    pub fn body(&self) -> Vec<u8> {
        let out = self.stdout();
        match out.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) => out[i + 4..].to_vec(),
            None => panic!("no header block in {:?}", String::from_utf8_lossy(&out)),
        }
    }
    /// END_REQUEST's (appStatus, protocolStatus).
    pub fn end(&self) -> Option<(u32, u8)> {
        let r = self.records.iter().find(|r| r.typ == 3)?;
        let c = &r.content;
        Some((u32::from_be_bytes([c[0], c[1], c[2], c[3]]), c[4]))
    }
    /// Checks what every well-formed reply satisfies: one id, STDOUT ended by exactly
    /// one empty record before END_REQUEST, records of at most 65,535 bytes padded to 8.
    pub fn assert_well_formed(&self, id: u16) {
        assert!(!self.records.is_empty(), "no reply");
        let last = self.records.last().unwrap();
        assert_eq!(
            last.typ, 3,
            "last record is END_REQUEST: {:?}",
            self.records
        );
        assert_eq!(last.content.len(), 8);
        let mut stdout_ended = false;
        let mut stderr_ended = false;
        for r in &self.records {
            assert_eq!(r.id, id, "request id echoed");
            assert!(r.content.len() <= 65535);
            assert_eq!(
                (8 + r.content.len() + r.padding as usize) % 8,
                0,
                "padded to 8"
            );
            match r.typ {
                6 => {
                    assert!(!stdout_ended, "STDOUT after its end");
                    stdout_ended = r.content.is_empty();
                }
                7 => {
                    assert!(!stderr_ended, "STDERR after its end");
                    stderr_ended = r.content.is_empty();
                }
                3 => {}
                t => panic!("unexpected record type {t}"),
            }
        }
        assert!(stdout_ended, "the empty STDOUT record was sent");
        if !self.stderr().is_empty() {
            assert!(stderr_ended, "STDERR was ended");
        }
    }
}

/// Connects to a unix socket with a read timeout.
pub fn unix(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Connects over TCP with a read timeout.
pub fn tcp(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends `bytes` on a fresh unix connection and reads the reply to `id`.
pub fn exchange_unix(path: &Path, bytes: &[u8], id: u16) -> Reply {
    let mut s = unix(path);
    s.write_all(bytes).unwrap();
    Reader::new(s).until_end(id)
}

// ---------------------------------------------------------------------------------------
// The probe handler

/// A handler whose behaviour depends on SCRIPT_NAME (see `handle`). Counts calls.
#[derive(Default)]
pub struct Probe {
    pub calls: AtomicUsize,
}

impl FcgiHandler for Probe {
    fn max_conns(&self) -> usize {
        42
    }

    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let script = req.params.get("SCRIPT_NAME").unwrap_or("").to_owned();
        match script.as_str() {
            "/panic" => panic!("probe panics"),
            "/fail" => return Err(socketserver::Error::handler(500, "probe fails")),
            "/empty" => return Ok(()),
            "/status7" => {
                req.send("Content-Type: text/plain\r\n\r\nseven", false)?;
                req.app_status = 7;
                return Ok(());
            }
            "/stderr" => {
                req.send("problem one\n", true)?;
                req.send("Content-Type: text/plain\r\n\r\nout", false)?;
                writeln!(req.stderr(), "problem two")?;
                return Ok(());
            }
            "/noread" => {
                req.send("Content-Type: text/plain\r\n\r\nunread", false)?;
                return Ok(());
            }
            "/big" => {
                let n: usize = req
                    .params
                    .get("QUERY_STRING")
                    .unwrap_or("0")
                    .parse()
                    .unwrap();
                req.send("Content-Type: application/octet-stream\r\n\r\n", false)?;
                let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
                req.stdout.write_all(&data)?;
                return Ok(());
            }
            "/sleep" => {
                let ms: u64 = req
                    .params
                    .get("QUERY_STRING")
                    .unwrap_or("0")
                    .parse()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(ms));
            }
            "/abortwatch" => {
                // Reads the body until it fails; reports how it ended.
                let mut sink = Vec::new();
                let how = match req.stdin.read_to_end(&mut sink) {
                    Ok(n) => format!("complete {n}"),
                    Err(e) => format!(
                        "{:?} after {} aborted={}",
                        e.kind(),
                        sink.len(),
                        req.aborted()
                    ),
                };
                req.send(format!("Content-Type: text/plain\r\n\r\n{how}"), false)?;
                return Ok(());
            }
            "/bufread" => {
                // Reads the body line by line through BufRead.
                let mut lines = 0;
                let mut bytes = 0;
                let mut line = Vec::new();
                while req.stdin.read_until(b'\n', &mut line)? > 0 {
                    lines += 1;
                    bytes += line.len();
                    line.clear();
                }
                req.send(
                    format!("Content-Type: text/plain\r\n\r\n{lines} {bytes}"),
                    false,
                )?;
                return Ok(());
            }
            "/nodelay" => {
                let nodelay = req.connection.as_tcp().map(|t| t.nodelay().unwrap());
                req.send(
                    format!("Content-Type: text/plain\r\n\r\n{nodelay:?}"),
                    false,
                )?;
                return Ok(());
            }
            "/params" => {
                let mut out = b"Content-Type: text/plain\r\n\r\n".to_vec();
                for (n, v) in req.params.iter() {
                    out.extend_from_slice(n);
                    out.push(b'=');
                    out.extend_from_slice(v);
                    out.push(b'\n');
                }
                req.send(out, false)?;
                return Ok(());
            }
            _ => {}
        }
        let body = req.read_stdin()?.to_vec();
        let mut out = format!(
            "Content-Type: text/plain\r\nX-Id: {}\r\nX-Length: {:?}\r\n\r\n",
            req.request_id,
            req.length()
        )
        .into_bytes();
        if body.is_empty() {
            let q = req.params.get_lossy("QUERY_STRING").unwrap_or_default();
            out.extend_from_slice(
                format!("{} {q}\n", req.params.get("REQUEST_METHOD").unwrap_or("")).as_bytes(),
            );
        } else {
            out.extend_from_slice(&body);
        }
        req.send(out, false)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Counting connections on the server side

/// Wraps a server and counts the connections it accepts and the errors it reports
/// (Python: a subclass overriding `verify_request` and `handle_error`).
pub struct Counting<S> {
    pub inner: S,
    pub accepted: Arc<AtomicUsize>,
    pub errors: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Counting<S> {
        Counting {
            inner,
            accepted: Arc::default(),
            errors: Arc::default(),
        }
    }
}

impl<S: BaseServer<Request = Connection>> BaseServer for Counting<S> {
    type Request = Connection;
    delegate_base_server!(inner; core, fileno, get_request, finish_request, server_activate,
        server_close, timeout, socket_timeout, process_request, shutdown_request,
        close_request, handle_timeout, service_actions);

    fn verify_request(&self, _request: &Connection, _client: &Address) -> bool {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        true
    }

    fn handle_error(&self, request: &Connection, client: &Address, error: &socketserver::Error) {
        self.errors.fetch_add(1, Ordering::SeqCst);
        self.inner.handle_error(request, client, error);
    }
}

// ---------------------------------------------------------------------------------------
// Processes

/// Waits until `f` holds (polling a real condition), or panics after `secs`.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct Proc {
    pub child: Child,
    pub stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (the examples' documented way to stop).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an example binary with `args`, waits for its first stdout line.
pub fn start_example(name: &str, args: &[&str]) -> (Proc, String) {
    let bin = example_bin(name);
    assert!(
        bin.exists(),
        "example {name} not built at {}",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn example");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    (
        Proc {
            child,
            stdout: Some(out),
        },
        line,
    )
}

/// A kernel-chosen free TCP port on 127.0.0.1 (released at once for the caller to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `VmHWM` (peak resident set) of a process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

/// `VmRSS` of a process, in KiB.
pub fn vm_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// User + system CPU time of a process (all its threads), in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // Fields after the command: state is 0; utime is field 14 of stat, i.e. index 11 here.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// How many threads a process has.
pub fn threads_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

/// Starts the fast.ai `TestHandler` example on the unix socket `path`, its stdout
/// piped, and waits for the socket.
pub fn start_test_handler(path: &Path) -> Child {
    let child = Command::new(example_bin("fcgi_test_handler"))
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Listening, not only bound: the one request it serves must not be a probe.
    wait_for("the listening socket", 10, || is_listening(path));
    child
}

/// True once a unix socket is bound at `path` *and* listening (`/proc/net/unix` flags
/// `__SO_ACCEPTCON`); the file exists from `bind`, before `listen`. Elsewhere than
/// Linux, the file's existence.
fn is_listening(path: &Path) -> bool {
    const ACCEPTCON: u32 = 0x10000;
    let Ok(table) = std::fs::read_to_string("/proc/net/unix") else {
        return path.exists();
    };
    let want = path.to_string_lossy();
    table.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.len() >= 8
            && cols[7] == want
            && u32::from_str_radix(cols[3], 16).is_ok_and(|f| f & ACCEPTCON != 0)
    })
}

/// Waits for the `TestHandler` example to exit after its one request (as the
/// notebook's `handle_request()` does) and returns what it printed.
pub fn test_handler_printed(mut child: Child) -> String {
    assert!(child.wait().unwrap().success());
    let mut printed = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    printed
}
