//! A pool worker on one processor lets the processes it shares that processor with run
//! while it works through a wave of ready connections (`YIELD_EVERY` in
//! `src/mixin/pool/workers.rs`; the nginx measurements are in `docs/performance.md`).

mod common;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};

use common::{connect, read_response};

/// Readable connections that one wait for readiness reports together.
const WAVE: usize = 48;

/// 48 kept-alive connections made readable together (their requests sent while the
/// server is stopped) are served by one worker, turn after turn, on the `hello` example
/// confined to one CPU: it yields the processor after the 16th and the 32nd turn, while
/// work is still queued, and not after the last (counted with strace from the
/// `SIGCONT`).
#[test]
fn a_wave_of_ready_connections_yields_the_processor() {
    let drive = |addr: SocketAddr, server: u32| {
        let get = |s: &TcpStream| (&*s).write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut clients: Vec<(TcpStream, BufReader<TcpStream>)> = (0..WAVE)
            .map(|_| {
                let s = connect(addr);
                let r = BufReader::new(s.try_clone().unwrap());
                (s, r)
            })
            .collect();
        // Each connection once, so that all are parked in the readiness set.
        for (s, r) in &mut clients {
            get(s);
            assert_eq!(read_response(r, false).unwrap().body, b"Hello, world!");
        }
        common::signal(server, "-STOP");
        // On loopback a write has reached the receiving socket when it returns.
        for (s, _) in &clients {
            get(s);
        }
        common::signal(server, "-CONT");
        for (_, r) in &mut clients {
            assert_eq!(read_response(r, false).unwrap().body, b"Hello, world!");
        }
    };
    let Some(text) = common::strace_example_on_one_cpu("hello", &["0"], "sched_yield", drive)
    else {
        return;
    };
    // Accepting the 48 connections, queued together, yields too: count from the wave.
    let wave = text
        .find("SIGCONT")
        .unwrap_or_else(|| panic!("no SIGCONT in {text}"));
    let yields = text[wave..]
        .lines()
        .filter(|l| l.contains("sched_yield("))
        .count();
    assert_eq!(yields, 2, "after turns 16 and 32 of {WAVE}: {text}");
}
