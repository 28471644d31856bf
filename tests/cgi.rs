//! `CgiHttpRequestHandler` on its own (no CPython needed), through the `cgi_server`,
//! `http_server --cgi` and `pyhttp` examples: time limits, a 1 GiB upload in flat memory,
//! no deadlock when a script writes before it reads, the user scripts run as, RFC 3875
//! mode, and the answers to what cannot be run.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cgi::{cgi_fixture, system_python};
use common::diff::{escape, exchange, fresh_example_bin, normalise, ServerProcess};
use common::{port_in, require};

fn cgi_server(root: &Path, args: &[&str]) -> (ServerProcess, SocketAddr) {
    let mut cmd = Command::new(fresh_example_bin("cgi_server"));
    cmd.arg("-d").arg(root).args(args).arg("0");
    let p = ServerProcess::start(cmd, true);
    let addr = ([127, 0, 0, 1], port_in(&p.first_line)).into();
    (p, addr)
}

fn get(addr: SocketAddr, target: &str) -> Vec<u8> {
    let request = format!("GET {target} HTTP/1.0\r\n\r\n");
    normalise(&exchange(addr, request.as_bytes(), true))
}

fn body(answer: &[u8]) -> &[u8] {
    let end = answer
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 2)
        .unwrap_or(answer.len());
    &answer[end..]
}

/// `true` when `pid` is gone or a zombie, `false` while it still runs (after waiting up
/// to 5 s for SIGKILL to take effect). The script's own child is not ours to wait for,
/// and nothing signals its death to this process, hence the bounded polling.
fn dead(pid: u32) -> bool {
    let start = Instant::now();
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().to_owned()));
        match state {
            None => return true,
            Some(s) if s.starts_with('Z') || s.starts_with('X') => return true,
            Some(_) if start.elapsed() > Duration::from_secs(5) => return false,
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc status"))
}

#[test]
fn a_script_without_progress_is_killed_with_its_children_and_the_server_goes_on() {
    let fx = cgi_fixture();
    let (server, addr) = cgi_server(&fx.root, &["--timeout", "1"]);
    let started = Instant::now();
    let answer = get(addr, "/cgi-bin/sleep.sh");
    let took = started.elapsed();
    assert!(
        answer.starts_with(b"HTTP/1.0 200 Script output follows\r\n"),
        "{}",
        escape(&answer)
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let pids: Vec<u32> = String::from_utf8_lossy(body(&answer))
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{}", escape(&answer));
    for pid in pids {
        assert!(dead(pid), "process {pid} of the script still runs");
    }
    let log = server.stderr_lines(3);
    assert!(
        log[0].ends_with("\"GET /cgi-bin/sleep.sh HTTP/1.0\" 200 -"),
        "{log:?}"
    );
    assert!(
        log[1].ends_with("CGI script '/cgi-bin/sleep.sh' ran past its time limit and was killed"),
        "{log:?}"
    );
    assert!(log[2].ends_with("CGI script exit code -9"), "{log:?}");
    // The server answers the next request.
    assert!(body(&get(addr, "/cgi-bin/hello.sh")).starts_with(b"Hello, world!"));
}

#[test]
fn a_script_that_keeps_writing_is_stopped_by_the_total_limit() {
    let fx = cgi_fixture();
    let (_server, addr) = cgi_server(&fx.root, &["--timeout", "0", "--time-limit", "1"]);
    let started = Instant::now();
    let answer = get(addr, "/cgi-bin/ticker.sh");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert!(body(&answer).starts_with(b"tick\n"), "{}", escape(&answer));
}

#[test]
fn a_gibibyte_post_streams_through_flat_server_memory() {
    const SIZE: u64 = 1 << 30;
    let fx = cgi_fixture();
    let (server, addr) = cgi_server(&fx.root, &[]);
    let status = || std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    // Warm the server up (a thread, a script) before the baseline.
    assert!(body(&get(addr, "/cgi-bin/hello.sh")).starts_with(b"Hello"));
    let before = kib(&status(), "VmRSS:");

    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let head = format!("POST /cgi-bin/discard.sh HTTP/1.0\r\nContent-Length: {SIZE}\r\n\r\n");
        w.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b'x'; 1 << 16];
        for _ in 0..SIZE / chunk.len() as u64 {
            w.write_all(&chunk).unwrap();
        }
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut answer = Vec::new();
    (&s).read_to_end(&mut answer).unwrap();
    writer.join().unwrap();
    let answer = normalise(&answer);
    assert_eq!(
        String::from_utf8_lossy(body(&answer)).trim(),
        SIZE.to_string(),
        "{}",
        escape(&answer)
    );
    let after = status();
    let peak = kib(&after, "VmHWM:");
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "server RSS peaked at {peak} kB, {grown} kB above the {before} kB before the upload"
    );
    println!("1 GiB through the script: server RSS {before} kB before, peak {peak} kB");
}

#[test]
fn a_script_writing_16_mib_before_it_reads_16_mib_does_not_deadlock() {
    let fx = cgi_fixture();
    let (_server, addr) = cgi_server(&fx.root, &[]);
    let n = 16 << 20;
    let mut request =
        format!("POST /cgi-bin/chatty.sh?{n} HTTP/1.0\r\nContent-Length: {n}\r\n\r\n").into_bytes();
    request.resize(request.len() + n, b'y');
    let answer = exchange(addr, &request, true);
    let b = body(&answer);
    assert_eq!(
        b.len(),
        n + format!("{n}\n").len(),
        "{}",
        escape(&answer[..200])
    );
    assert!(b[..n].iter().all(|&x| x == 0));
    assert_eq!(&b[n..], format!("{n}\n").as_bytes());
}

#[test]
fn short_bodies_and_bad_lengths_are_answered() {
    let fx = cgi_fixture();
    if system_python("cgi short bodies").is_none() {
        return;
    }
    let (_server, addr) = cgi_server(&fx.root, &[]);
    // Fewer bytes than announced, then the client's end: the script gets what came.
    let answer = exchange(
        addr,
        b"POST /cgi-bin/echo.py HTTP/1.0\r\nContent-Length: 100\r\n\r\nonly this",
        true,
    );
    assert_eq!(body(&answer), b"only this", "{}", escape(&answer));
    let answer = exchange(
        addr,
        b"POST /cgi-bin/echo.py HTTP/1.0\r\nContent-Length: 1x\r\n\r\n",
        true,
    );
    assert!(
        answer.starts_with(b"HTTP/1.0 400 Invalid Content-Length\r\n"),
        "{}",
        escape(&answer)
    );
    let answer = exchange(
        addr,
        b"POST /cgi-bin/echo.py HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        true,
    );
    assert!(answer.starts_with(b"HTTP/1.0 411 "), "{}", escape(&answer));
}

#[test]
fn a_script_that_cannot_be_started_gets_a_500() {
    let fx = cgi_fixture();
    let (server, addr) = cgi_server(&fx.root, &[]);
    let answer = get(addr, "/cgi-bin/noshebang");
    assert!(
        answer.starts_with(b"HTTP/1.0 500 Internal Server Error\r\n"),
        "{}",
        escape(&answer)
    );
    let log = server.stderr_lines(3);
    assert!(
        log[0].contains("CGI script '/cgi-bin/noshebang' could not be run: "),
        "{log:?}"
    );
}

#[test]
fn scripts_run_as_nobody_with_nobodys_group_when_the_server_is_root() {
    let fx = cgi_fixture();
    let (_server, addr) = cgi_server(&fx.root, &[]);
    let answer = get(addr, "/cgi-bin/ids.sh");
    let ids = String::from_utf8_lossy(body(&answer)).trim().to_owned();
    // Whether the tests run as root: the real uid in /proc/self/status.
    let me = std::fs::read_to_string("/proc/self/status").unwrap();
    let root = me
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    if root {
        let nobody = Command::new("id").args(["-u", "nobody"]).output().unwrap();
        let uid = String::from_utf8_lossy(&nobody.stdout).trim().to_owned();
        let gid = Command::new("id").args(["-g", "nobody"]).output().unwrap();
        let gid = String::from_utf8_lossy(&gid.stdout).trim().to_owned();
        assert_eq!(ids, format!("{uid} {gid} {gid}"));
    } else {
        let uid = Command::new("id").arg("-u").output().unwrap();
        assert!(ids.starts_with(String::from_utf8_lossy(&uid.stdout).trim()));
    }
}

#[test]
fn a_script_inherits_no_socket_of_the_server() {
    let fx = cgi_fixture();
    let (_server, addr) = cgi_server(&fx.root, &[]);
    // Another client's connection is open meanwhile.
    let _other = TcpStream::connect(addr).unwrap();
    let answer = get(addr, "/cgi-bin/fds.sh");
    let listing = String::from_utf8_lossy(body(&answer)).into_owned();
    assert!(listing.contains(" 0 -> pipe:"), "{listing}");
    assert!(!listing.contains("socket:"), "{listing}");
}

#[test]
fn the_connection_closes_after_a_script_even_in_http_1_1() {
    let fx = cgi_fixture();
    let mut cmd = Command::new(fresh_example_bin("http_server"));
    cmd.args(["--cgi", "-b", "127.0.0.1", "-d"])
        .arg(&fx.root)
        .args(["-p", "HTTP/1.1", "0"]);
    let server = ServerProcess::start(cmd, true);
    let addr: SocketAddr = ([127, 0, 0, 1], port_in(&server.first_line)).into();
    // Two requests, no half-close: the answer to the first is followed by the end of
    // the connection (the script's output has no length to end it otherwise).
    let request = b"GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    let answer = normalise(&exchange(addr, request, false));
    assert_eq!(
        escape(&answer),
        escape(
            b"HTTP/1.1 200 Script output follows\r\nServer: SimpleHTTP/0.6 <SYS>\r\nDate: <DATE>\r\n\
              Content-Type: text/plain\n\nHello, world!\n"
        )
    );
}

#[test]
fn rfc3875_mode_parses_status_and_location() {
    let fx = cgi_fixture();
    if system_python("cgi rfc3875").is_none() {
        return;
    }
    let (server, addr) = cgi_server(&fx.root, &["--rfc3875"]);
    let answer = get(addr, "/cgi-bin/redirect.sh");
    assert_eq!(
        escape(&answer),
        escape(
            b"HTTP/1.0 302 Found\r\nServer: SimpleHTTP/0.6 <SYS>\r\nDate: <DATE>\r\n\
              Location: http://example.com/there\r\nContent-Type: text/plain\r\n\r\nmoved\n"
        )
    );
    let head = normalise(&exchange(
        addr,
        b"HEAD /cgi-bin/redirect.sh HTTP/1.0\r\n\r\n",
        true,
    ));
    assert!(
        head.ends_with(b"Content-Type: text/plain\r\n\r\n"),
        "{}",
        escape(&head)
    );
    let ok = get(addr, "/cgi-bin/hello.sh");
    assert!(
        ok.starts_with(b"HTTP/1.0 200 OK\r\n") && ok.ends_with(b"\r\n\r\nHello, world!\n"),
        "{}",
        escape(&ok)
    );
    let bad = get(addr, "/cgi-bin/badheader.sh");
    assert!(
        bad.starts_with(b"HTTP/1.0 502 Bad Gateway\r\n"),
        "{}",
        escape(&bad)
    );
    // Every other header is passed, but never Proxy as HTTP_PROXY.
    let env = normalise(&exchange(
        addr,
        b"GET /cgi-bin/env.py HTTP/1.0\r\nX-Other: passed\r\nProxy: http://evil/\r\n\r\n",
        true,
    ));
    let text = String::from_utf8_lossy(&env);
    assert!(text.contains("\nHTTP_X_OTHER=passed\n"), "{text}");
    assert!(!text.contains("HTTP_PROXY"), "{text}");
    let log = server.stderr_lines(6);
    assert!(
        log[0].ends_with("\"GET /cgi-bin/redirect.sh HTTP/1.0\" 302 -"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("malformed header from CGI script")),
        "{log:?}"
    );
}

#[test]
fn httpoxy_a_proxy_header_never_becomes_http_proxy() {
    let fx = cgi_fixture();
    if system_python("cgi httpoxy").is_none() {
        return;
    }
    let (_server, addr) = cgi_server(&fx.root, &[]);
    let env = exchange(
        addr,
        b"GET /cgi-bin/env.py HTTP/1.0\r\nProxy: http://evil/\r\nX-Other: x\r\n\r\n",
        true,
    );
    let text = String::from_utf8_lossy(&env);
    assert!(text.contains("\nGATEWAY_INTERFACE=CGI/1.1\n"), "{text}");
    assert!(
        !text.contains("HTTP_PROXY") && !text.contains("HTTP_X_OTHER"),
        "{text}"
    );
}

#[test]
fn curl_against_the_examples() {
    let Some(_) = require("curl") else { return };
    if system_python("cgi examples").is_none() {
        return;
    }
    // cgi_server serves examples/ by default: its cgi-bin scripts.
    let mut cmd = Command::new(fresh_example_bin("cgi_server"));
    cmd.arg("0");
    let server = ServerProcess::start(cmd, true);
    let base = format!("http://127.0.0.1:{}", port_in(&server.first_line));
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        curl(&[&format!("{base}/cgi-bin/hello.sh")]),
        "Hello, world!\n"
    );
    let echo = curl(&[
        &format!("{base}/cgi-bin/echo.py/p?a=1"),
        "--data-urlencode",
        "name=d hellmann",
        "-d",
        "foo=bar",
        "-u",
        "user:pw",
    ]);
    for line in [
        "REQUEST_METHOD=POST",
        "PATH_INFO=/p",
        "QUERY_STRING=a=1",
        "REMOTE_USER=user",
        "query a=1",
        "form name=d hellmann",
        "form foo=bar",
    ] {
        assert!(echo.lines().any(|l| l == line), "{line:?} not in\n{echo}");
    }
    let redirect = curl(&["-i", &format!("{base}/cgi-bin/redirect.sh")]);
    assert!(
        redirect.starts_with("HTTP/1.0 200 Script output follows\r\n"),
        "{redirect}"
    );
    assert!(redirect.contains("\r\nStatus: 302 Found\n"), "{redirect}");

    // pyhttp: a file, a listing, a script, from the directory it is given.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut cmd = Command::new(fresh_example_bin("pyhttp"));
    cmd.arg("0").arg(&examples);
    let pyhttp = ServerProcess::start(cmd, true);
    let port = port_in(&pyhttp.first_line);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        curl(&[&format!("{base}/cgi-bin/hello.sh")]),
        "Hello, world!\n"
    );
    let listing = curl(&[&format!("{base}/")]);
    assert!(
        listing.contains("<a href=\"cgi-bin/\">cgi-bin/</a>"),
        "{listing}"
    );
    let source = curl(&[&format!("{base}/pyhttp.rs")]);
    assert!(source.contains("pyhttp's `handle()`"));
    let log = pyhttp.stderr_lines(3);
    assert!(
        log[0].contains("\"GET /cgi-bin/hello.sh HTTP/1.1\" 200 -"),
        "{log:?}"
    );
}
