//! Running a CGI script: the request body streamed to its stdin as it arrives, its
//! stdout handed on as it comes, its stderr to the log, and a time limit — in one thread,
//! with `poll`, so a script that writes a lot before it reads cannot deadlock it.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::time::{Duration, Instant};

use crate::http::handler::HttpRequest;
use crate::sys::{self, Interest};

/// How much of the body, or of the output, is moved at a time.
const CHUNK: usize = 64 * 1024;

/// The longest stderr line handed to the log in one piece.
const MAX_STDERR_LINE: usize = 4096;

/// Where a script's output goes.
pub(super) trait Output {
    /// A piece of stdout.
    fn stdout(&mut self, h: &mut HttpRequest<'_>, data: &[u8]) -> crate::Result<Flow>;
    /// One line of stderr (without its line ending; a long line comes in pieces).
    fn stderr_line(&mut self, h: &mut HttpRequest<'_>, line: &[u8]);
}

/// Whether to go on reading the script's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Go on.
    More,
    /// The answer is complete (or refused): stop the script.
    Stop,
}

/// How a run ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// The script exited (or was stopped because its output was refused).
    Exited(ExitStatus),
    /// It made no progress for `timeout` (or ran past `limit`) and was killed.
    TimedOut(ExitStatus),
}

/// The time limits of one run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Kill after this long without progress (no body byte taken, no output).
    pub timeout: Option<Duration>,
    /// Kill after this long in all.
    pub limit: Option<Duration>,
}

impl Limits {
    fn deadline(&self, start: Instant, progress: Instant) -> Option<Instant> {
        let idle = self.timeout.map(|t| progress + t);
        let total = self.limit.map(|t| start + t);
        match (idle, total) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The request body still to be copied to the script's stdin.
struct Body {
    stdin: Option<ChildStdin>,
    remaining: u64,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Body {
    fn pending(&self) -> bool {
        self.start < self.end
    }

    /// Closes the script's stdin: it sees the end of its input.
    fn close(&mut self) {
        self.stdin = None;
        self.start = 0;
        self.end = 0;
    }

    /// Reads the next piece from `rfile` (which must not block: it has buffered bytes,
    /// or its socket polled readable).
    fn fill(&mut self, h: &mut HttpRequest<'_>) {
        let want = self.remaining.min(self.buf.len() as u64) as usize;
        match h.rfile.read(&mut self.buf[..want]) {
            Ok(0) | Err(_) => {
                // The client went away or sent less than it announced: the script gets
                // what came.
                self.remaining = 0;
                self.close();
            }
            Ok(n) => {
                self.remaining -= n as u64;
                self.start = 0;
                self.end = n;
            }
        }
    }

    /// Writes what is pending to the script (its stdin is non-blocking).
    fn drain(&mut self) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        match stdin.write(&self.buf[self.start..self.end]) {
            Ok(n) => {
                self.start += n;
                if !self.pending() && self.remaining == 0 {
                    self.close();
                }
                n > 0
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                false
            }
            Err(_) => {
                // The script closed its stdin (or exited): it wants no more.
                self.close();
                false
            }
        }
    }
}

/// Copies the body (`body_len` bytes of `h.rfile`) to the script and its output to
/// `output` until the script closes stdout and stderr, then waits for it to exit. The
/// script is killed, with its process group, when a limit passes, when `output` says
/// [`Flow::Stop`], or when sending to the client fails.
pub(super) fn run(
    child: &mut Child,
    h: &mut HttpRequest<'_>,
    body_len: u64,
    limits: Limits,
    output: &mut dyn Output,
) -> crate::Result<Ended> {
    let start = Instant::now();
    let mut progress = start;
    let mut body = Body {
        stdin: child.stdin.take(),
        remaining: body_len,
        buf: Vec::new(),
        start: 0,
        end: 0,
    };
    if body_len == 0 {
        body.close();
    } else if let Some(stdin) = &body.stdin {
        if sys::set_nonblocking(stdin.as_raw_fd()).is_err() {
            body.close();
        }
        body.buf = vec![0; CHUNK];
    }
    let mut stdout: Option<ChildStdout> = child.stdout.take();
    let mut stderr: Option<ChildStderr> = child.stderr.take();
    let mut out_buf = vec![0u8; CHUNK];
    let mut err_line: Vec<u8> = Vec::new();
    let socket = h.connection.as_raw_fd();

    let result = (|| -> crate::Result<Option<()>> {
        while stdout.is_some() || stderr.is_some() {
            // Body bytes already read off the socket need no poll.
            let wants_body = body.stdin.is_some() && !body.pending() && body.remaining > 0;
            if wants_body && (!h.rfile.buffer().is_empty() || h.connection.has_buffered_input()) {
                body.fill(h);
                progress = Instant::now();
                continue;
            }
            let fd = |on: bool, fd: i32| if on { fd } else { -1 };
            let fds = [
                (fd_of(&stdout), Interest::Read),
                (fd_of(&stderr), Interest::Read),
                (
                    fd(
                        body.pending(),
                        body.stdin.as_ref().map_or(-1, |s| s.as_raw_fd()),
                    ),
                    Interest::Write,
                ),
                (fd(wants_body, socket), Interest::Read),
            ];
            let deadline = limits.deadline(start, progress);
            let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let ready = sys::poll_ready(fds, wait)?;
            if !ready.contains(&true) {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(None);
                }
                continue;
            }
            if ready[3] {
                body.fill(h);
                progress = Instant::now();
            }
            if ready[2] && body.drain() {
                progress = Instant::now();
            }
            if ready[0] {
                if let Some(out) = stdout.as_mut() {
                    match read_some(out, &mut out_buf)? {
                        0 => stdout = None,
                        n => {
                            progress = Instant::now();
                            if output.stdout(h, &out_buf[..n])? == Flow::Stop {
                                return Ok(Some(()));
                            }
                        }
                    }
                }
            }
            if ready[1] {
                if let Some(err) = stderr.as_mut() {
                    match read_some(err, &mut out_buf)? {
                        0 => {
                            if !err_line.is_empty() {
                                output.stderr_line(h, &err_line);
                                err_line.clear();
                            }
                            stderr = None;
                        }
                        n => {
                            progress = Instant::now();
                            stderr_lines(&out_buf[..n], &mut err_line, |line| {
                                output.stderr_line(h, line)
                            });
                        }
                    }
                }
            }
        }
        Ok(Some(()))
    })();
    body.close();
    drop(stdout);
    drop(stderr);
    match result {
        Ok(Some(())) => {
            // Output done: the script normally exits at once; one that lingers with its
            // output closed is still held to the limits.
            match wait_until(child, limits.deadline(start, Instant::now().max(progress)))? {
                Some(status) => Ok(Ended::Exited(status)),
                None => Ok(Ended::TimedOut(kill(child)?)),
            }
        }
        Ok(None) => Ok(Ended::TimedOut(kill(child)?)),
        Err(e) => {
            let _ = kill(child);
            Err(e)
        }
    }
}

/// Kills the script and whatever it started in its process group, and reaps it.
pub(super) fn kill(child: &mut Child) -> io::Result<ExitStatus> {
    if sys::kill_process_group(child.id()).is_err() {
        let _ = child.kill();
    }
    child.wait()
}

fn fd_of<T: AsRawFd>(pipe: &Option<T>) -> i32 {
    pipe.as_ref().map_or(-1, |p| p.as_raw_fd())
}

/// One read of a pipe that polled readable.
fn read_some(pipe: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match pipe.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Splits `data` into lines, carrying an unfinished one over in `partial`.
fn stderr_lines(data: &[u8], partial: &mut Vec<u8>, mut line: impl FnMut(&[u8])) {
    let mut rest = data;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        if partial.is_empty() {
            line(&rest[..nl]);
        } else {
            partial.extend_from_slice(&rest[..nl]);
            line(partial);
            partial.clear();
        }
        rest = &rest[nl + 1..];
    }
    for piece in rest.chunks(MAX_STDERR_LINE) {
        partial.extend_from_slice(piece);
        if partial.len() >= MAX_STDERR_LINE {
            line(partial);
            partial.clear();
        }
    }
}

/// Waits for the script to exit, until `deadline`; `None` when it is still running then.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
    let Some(deadline) = deadline else {
        return child.wait().map(Some);
    };
    // A script whose output is closed has almost always exited; the back-off only
    // matters for one that closed its output and went on running.
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Python's `os.waitstatus_to_exitcode`: the exit status, or minus the signal number.
pub(super) fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_splits_lines_across_reads() {
        let mut lines = Vec::new();
        let mut partial = Vec::new();
        for piece in [&b"one\ntw"[..], b"o\n", b"\nthree"] {
            stderr_lines(piece, &mut partial, |l| lines.push(l.to_vec()));
        }
        assert_eq!(lines, [&b"one"[..], b"two", b""]);
        assert_eq!(partial, b"three");
        let long = vec![b'x'; MAX_STDERR_LINE * 2 + 5];
        let mut lines = Vec::new();
        let mut partial = Vec::new();
        stderr_lines(&long, &mut partial, |l| lines.push(l.len()));
        assert_eq!(lines, [MAX_STDERR_LINE, MAX_STDERR_LINE]);
        assert_eq!(partial.len(), 5);
    }
}
