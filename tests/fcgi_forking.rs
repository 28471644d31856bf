//! FastCGI on `ForkingUnixStreamServer` and `ForkingTcpServer` (fast.ai's `@fastcgi`
//! forks a process per connection). A forking server must run in a single-threaded
//! process, so this test has its own `main` (`harness = false`): started plainly it is
//! the client; with `FCGI_FORK_SERVER` set it is the server, on its main thread.

mod common;
mod fcgi_common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fcgi_common::{get, tcp, unix, Proc, Reader};
use socketserver::fcgi::{FcgiHandler, FcgiRequest};
use socketserver::{BaseServer, ForkingTcpServer, ForkingUnixStreamServer};

/// Answers with the pid of the process that served the request.
struct Pid;

impl FcgiHandler for Pid {
    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        let q = req.params.get("QUERY_STRING").unwrap_or("").to_owned();
        req.send(
            format!("Content-Type: text/plain\r\n\r\n{} {q}", std::process::id()),
            false,
        )?;
        Ok(())
    }
}

fn server(kind: &str, dir: &str) -> socketserver::Result<()> {
    let poll = Duration::from_millis(20);
    if kind == "unix" {
        let s = ForkingUnixStreamServer::new(format!("{dir}/fork.sock"), Pid)?;
        println!("READY 0");
        Arc::new(s).serve_forever(poll)
    } else {
        let s = ForkingTcpServer::new(("127.0.0.1", 0), Pid)?;
        println!("READY {}", s.server_address.port());
        Arc::new(s).serve_forever(poll)
    }
}

fn body_of(reply: &fcgi_common::Reply) -> (u32, String) {
    let body = String::from_utf8(reply.body()).unwrap();
    let (pid, q) = body.split_once(' ').unwrap();
    (pid.parse().unwrap(), q.to_owned())
}

fn client(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("FCGI_FORK_SERVER", kind)
        .env("FCGI_FORK_DIR", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut proc_ = Proc {
        child,
        stdout: None,
    };
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("READY ").unwrap().parse().unwrap();
    let connect = || -> Box<dyn ReadWrite> {
        if kind == "unix" {
            Box::new(unix(&dir.path().join("fork.sock")))
        } else {
            Box::new(tcp(([127, 0, 0, 1], port).into()))
        }
    };
    // Keep-conn: three requests on one connection, all in the same child.
    let mut c = connect();
    let mut reqs = Vec::new();
    for (i, keep) in [(1u16, true), (2, true), (3, false)] {
        reqs.extend_from_slice(&get(i, keep, "/", &format!("q{i}")));
    }
    c.write_all(&reqs).unwrap();
    let mut r = Reader::new(c);
    let mut pids = Vec::new();
    for i in 1..=3u16 {
        let reply = r.until_end(i);
        reply.assert_well_formed(i);
        let (pid, q) = body_of(&reply);
        assert_eq!(q, format!("q{i}"));
        pids.push(pid);
    }
    assert!(r.at_eof());
    assert!(
        pids.iter().all(|&p| p == pids[0]),
        "one child per connection: {pids:?}"
    );
    assert_ne!(
        pids[0],
        proc_.pid(),
        "served in a child, not the server process"
    );
    // A second connection: another child.
    let mut c = connect();
    c.write_all(&get(1, false, "/", "again")).unwrap();
    let reply = Reader::new(c).until_end(1);
    reply.assert_well_formed(1);
    let (pid, _) = body_of(&reply);
    assert_ne!(pid, pids[0]);
    assert_ne!(pid, proc_.pid());
    proc_.terminate();
    println!(
        "test fcgi on Forking{}Server ... ok",
        if kind == "unix" { "UnixStream" } else { "Tcp" }
    );
}

trait ReadWrite: std::io::Read + Write {}
impl<T: std::io::Read + Write> ReadWrite for T {}

fn main() {
    if let Ok(kind) = std::env::var("FCGI_FORK_SERVER") {
        let dir = std::env::var("FCGI_FORK_DIR").unwrap();
        if let Err(e) = server(&kind, &dir) {
            eprintln!("server failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    client("unix");
    client("tcp");
}
