//! Waiting for a request head without a thread: on a pool worker, the HTTP handler reads
//! only what has arrived and, when the next request's head is not all there, parks the
//! connection with what it has (see [`park`](crate::server::park)). A client that sends
//! its head a byte at a time (or sends nothing: an idle keep-alive connection) costs a
//! descriptor and the bytes so far, not a worker. Once the whole head is buffered,
//! parsing goes on exactly as on any other server, so the bytes on the wire are the
//! same.
//!
//! "Whole" is what CPython's parser would read before answering: the request line and,
//! when that line asks for headers, up to the blank line — or less when CPython answers
//! sooner (an HTTP/0.9 request, a malformed request line, more than
//! [`MAXHEADERS`] header lines). A head that grows past [`GATHER_LIMIT`] without ending
//! is left to the parser, which reads the rest waiting, within the pool's
//! `header_timeout`, and answers 414 or 431 as CPython does.

use std::io::{self, BufRead, Read};
use std::time::Instant;

use super::parse::{self, MAXHEADERS, MAXLINE};
use crate::handler::BufferedReader;
use crate::server::park::{self, Parking};
use crate::socket::ConnectionReader;

/// The most bytes of an incomplete head kept with a parked connection.
pub(crate) const GATHER_LIMIT: usize = 64 * 1024;

/// What [`gather`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// Parse now: the head is buffered (or the client closed, or this is not a pool
    /// worker).
    Ready,
    /// Parked: return from the handler.
    Parked,
}

/// Before a request: makes sure its whole head is in `rfile` without waiting for it,
/// or parks the connection. `head_deadline` is when a head already begun must be
/// complete; `idle` how long the connection may wait parked between requests.
pub(crate) fn gather(
    rfile: &mut BufferedReader<ConnectionReader<'_>>,
    head_deadline: &mut Option<Instant>,
    idle: Option<std::time::Duration>,
) -> io::Result<Head> {
    if !park::can_park() {
        return Ok(Head::Ready);
    }
    let buffered = rfile.buffer();
    if !buffered.is_empty() && is_complete(buffered) {
        return Ok(Head::Ready);
    }
    if buffered.is_empty() && rfile.get_ref().is_drained() {
        // The last read emptied the socket: what comes next will be a readiness event.
        return Ok(park_with(Vec::new(), None, idle));
    }
    rfile.get_mut().set_nowait(true);
    let decided = gather_nowait(rfile, head_deadline, idle);
    rfile.get_mut().set_nowait(false);
    decided
}

fn gather_nowait(
    rfile: &mut BufferedReader<ConnectionReader<'_>>,
    head_deadline: &mut Option<Instant>,
    idle: Option<std::time::Duration>,
) -> io::Result<Head> {
    if rfile.buffer().is_empty() {
        match rfile.fill_buf() {
            // End of file: the parser sees it and ends the connection.
            Ok([]) => return Ok(Head::Ready),
            Ok(bytes) if is_complete(bytes) => return Ok(Head::Ready),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(park_with(Vec::new(), None, idle))
            }
            Err(e) => return Err(e),
        }
    }
    // Part of a head: collect it with whatever else has arrived.
    let mut pending = rfile.buffer().to_vec();
    rfile.consume(pending.len());
    pending.extend_from_slice(&rfile.get_mut().take_prefix());
    let deadline = head_deadline.or_else(|| park::header_timeout().map(|t| Instant::now() + t));
    loop {
        if is_complete(&pending) || pending.len() >= GATHER_LIMIT {
            rfile.get_mut().set_prefix(pending);
            *head_deadline = deadline;
            return Ok(Head::Ready);
        }
        let start = pending.len();
        pending.resize(start + 4096, 0);
        let got = rfile.get_mut().read(&mut pending[start..]);
        pending.truncate(start + *got.as_ref().unwrap_or(&0));
        match got {
            Ok(0) => {
                rfile.get_mut().set_prefix(pending);
                return Ok(Head::Ready);
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                pending.shrink_to_fit();
                return Ok(park_with(pending, deadline, idle));
            }
            Err(e) => return Err(e),
        }
    }
}

fn park_with(
    leftover: Vec<u8>,
    head_deadline: Option<Instant>,
    idle: Option<std::time::Duration>,
) -> Head {
    park::park_with(Parking {
        leftover,
        head_deadline,
        idle,
    });
    Head::Parked
}

/// True when `buf`, the start of a request, holds all CPython reads before it answers.
pub(crate) fn is_complete(buf: &[u8]) -> bool {
    let Some(eol) = buf.iter().position(|&b| b == b'\n') else {
        // A request line longer than CPython reads is answered with 414.
        return buf.len() > MAXLINE;
    };
    let rest = &buf[eol + 1..];
    if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
        return true;
    }
    let mut lines = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b == b'\n' {
            let next = &rest[i + 1..];
            if next.starts_with(b"\n") || next.starts_with(b"\r\n") {
                return true;
            }
            lines += 1;
            if lines > MAXHEADERS {
                return true;
            }
        }
    }
    !wants_headers(&buf[..=eol])
}

/// Whether CPython reads a header block after this request line: not for an HTTP/0.9
/// request, nor for a line it answers with an error straight away.
fn wants_headers(line: &[u8]) -> bool {
    let mut text = String::new();
    parse::decode_request_line(line, &mut text);
    matches!(parse::parse_request_line(&text), Ok(r) if r.version.is_some())
}

#[cfg(test)]
mod tests {
    use super::is_complete;

    #[test]
    fn a_head_is_complete_when_cpython_would_answer() {
        for done in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET / HTTP/1.1\n\n",
            b"GET / HTTP/1.1\r\n\r\nGET /next",
            b"GET /\r\n",
            b"\r\n",
            b"GET / HTTP/9.9\r\n",
            b"GET / HTTP/1.1 x\r\n",
            b"BREW / HTTP/x\r\n",
        ] {
            assert!(is_complete(done), "{:?}", String::from_utf8_lossy(done));
        }
        for partial in [
            &b"GET / HTTP/1.1"[..],
            b"GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r",
            b"POST /x HTTP/1.0\r\nA: b\r\nC: d\r\n",
        ] {
            assert!(
                !is_complete(partial),
                "{:?}",
                String::from_utf8_lossy(partial)
            );
        }
        let many = format!("GET / HTTP/1.1\r\n{}", "A: b\r\n".repeat(101));
        assert!(
            is_complete(many.as_bytes()),
            "more header lines than CPython takes"
        );
        assert!(is_complete(&vec![b'a'; super::MAXLINE + 1]));
    }
}
