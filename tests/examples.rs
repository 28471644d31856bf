//! Every socketserver example, run as a user runs it, with a real client.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{connect, exchange, port_in, start_example};

fn local(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}

#[test]
fn pingpong_answers_pong_with_the_client_ip() {
    let (mut child, mut out, line) = start_example("pingpong", &["0"]);
    let port = port_in(&line);
    // "localhost" may resolve to either loopback; the example binds the IPv4 one.
    let mut s = connect(local(port));
    s.write_all(b"ping\r\n").unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    assert_eq!(answer, b"pong 127.0.0.1\r\n");
    let mut received = String::new();
    out.read_line(&mut received).unwrap();
    assert_eq!(received, "received b'ping\\r\\n'\n");
    // One request, like the notebook: the process ends by itself.
    assert!(child.0.wait().unwrap().success());
}

#[test]
fn echo_threading_echoes_lines_on_many_connections() {
    let (_child, _out, line) = start_example("echo_threading", &["0"]);
    let addr = local(port_in(&line));
    // Two connections open at once, served by two threads.
    let mut a = connect(addr);
    let mut b = connect(addr);
    let mut ra = BufReader::new(a.try_clone().unwrap());
    let mut rb = BufReader::new(b.try_clone().unwrap());
    for i in 0..3 {
        a.write_all(format!("a{i}\n").as_bytes()).unwrap();
        b.write_all(format!("b{i}\n").as_bytes()).unwrap();
        let (mut la, mut lb) = (String::new(), String::new());
        ra.read_line(&mut la).unwrap();
        rb.read_line(&mut lb).unwrap();
        assert_eq!((la, lb), (format!("a{i}\n"), format!("b{i}\n")));
    }
}

#[test]
fn echo_forking_serves_each_connection_in_a_child() {
    let (_child, _out, line) = start_example("echo_forking", &["0"]);
    let addr = local(port_in(&line));
    let server_pid: u32 = line
        .split("pid ")
        .nth(1)
        .unwrap()
        .trim_end_matches([')', '\n'])
        .parse()
        .unwrap();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let out = String::from_utf8(exchange(addr, b"hi\n")).unwrap();
        let (pid, rest) = out.split_once(' ').unwrap();
        assert_eq!(rest, "hi\n");
        pids.push(pid.parse::<u32>().unwrap());
    }
    assert!(!pids.contains(&server_pid));
    assert_ne!(pids[0], pids[1]);
}

#[test]
fn echo_udp_echoes_datagrams() {
    let (_child, _out, line) = start_example("echo_udp", &["0"]);
    let addr = local(port_in(&line));
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for msg in [&b"hello"[..], b"", b"\x00\xff binary"] {
        c.send_to(msg, addr).unwrap();
        let mut buf = [0u8; 64];
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], msg);
    }
}

#[test]
fn echo_unix_echoes_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let (mut child, _out, _line) = start_example("echo_unix", &[path.to_str().unwrap()]);
    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"over unix\n").unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    assert_eq!(l, "over unix\n");
    drop(s);
    // SIGTERM kills it without cleanup; the next start must still be refused with a
    // clear error rather than removing someone's file.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
}

#[test]
fn handle_request_loop_stops_after_n_requests() {
    let (mut child, mut out, line) = start_example("handle_request_loop", &["0", "3"]);
    let addr = local(port_in(&line));
    for i in 1..=3 {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        assert_eq!(text, format!("request {i}\n"));
    }
    let mut last = String::new();
    out.read_line(&mut last).unwrap();
    assert_eq!(last, "handled 3 requests\n");
    assert!(child.0.wait().unwrap().success());
}

/// Out of file descriptors, `accept` fails while the listener stays readable: the serve
/// loop backs off instead of spinning, and serves again once descriptors are free.
#[test]
fn accept_backs_off_when_out_of_descriptors() {
    let Some(prlimit) = common::require("prlimit") else {
        return;
    };
    let bin = common::example_bin("echo_threading");
    let mut child = std::process::Command::new(prlimit)
        .args(["--nofile=24:24"])
        .arg(&bin)
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let child = common::ChildGuard(child);
    let addr = local(port_in(&line));
    // Hold connections open until the server cannot accept more.
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(connect(addr));
    }
    let cpu = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let pid = child.0.id();
    let before = cpu(pid);
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let ticks = cpu(pid) - before;
    let hz = 100; // USER_HZ
    let busy = ticks as f64 / hz as f64 / t0.elapsed().as_secs_f64();
    assert!(
        busy < 0.5,
        "the serve loop spun at {:.0}% CPU",
        busy * 100.0
    );
    // Free the descriptors: the queued connections are served.
    let mut last = held.pop().unwrap();
    drop(held);
    last.write_all(b"still alive\n").unwrap();
    let mut r = BufReader::new(last.try_clone().unwrap());
    let mut echo = String::new();
    r.read_line(&mut echo).unwrap();
    assert_eq!(echo, "still alive\n");
}
