//! The few Unix calls `std` does not wrap: `poll`, `fork`, `waitpid`, `_exit`, counting
//! the process's threads, and taking inherited listening sockets; and [`ascii_str`],
//! which skips a second UTF-8 check on text already known to be ASCII. This is the only module with `unsafe` code; every
//! block says why it is sound.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

mod fd;
mod process;
pub(crate) use fd::{is_listening, take_inherited};
pub(crate) use process::{
    is_executable, is_root, kill_process_group, poll_ready, set_nonblocking, user_ids, Interest,
};

/// Readiness of the descriptors handed to [`poll_read`].
pub(crate) fn poll_read<const N: usize>(
    fds: [RawFd; N],
    timeout: Option<Duration>,
) -> io::Result<[bool; N]> {
    let mut pollfds = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    poll_fds(&mut pollfds, timeout)?;
    let mut ready = [false; N];
    for (r, p) in ready.iter_mut().zip(&pollfds) {
        if p.revents & libc::POLLNVAL != 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        *r = p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    }
    Ok(ready)
}

/// poll(2) on `fds` until one is ready or `timeout` passes, retried on EINTR with the
/// time that is left (PEP 475, as Python's selectors do).
fn poll_fds(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = deadline.map_or(-1, millis_until);
        // SAFETY: `fds` is a live slice of initialised `pollfd` whose length is passed
        // alongside it; poll(2) writes only the `revents` fields.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Milliseconds until `deadline`, rounded up so a short wait is not turned into a spin.
fn millis_until(deadline: Instant) -> libc::c_int {
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_nanos().div_ceil(1_000_000);
    ms.min(libc::c_int::MAX as u128) as libc::c_int
}

/// A process id.
pub(crate) type Pid = libc::pid_t;

/// `fork(2)`: `Ok(Some(pid))` in the parent, `Ok(None)` in the child.
///
/// The caller must make sure the process is single-threaded (or that its other threads
/// hold no locks the child could need), see `ForkingMixIn`.
pub(crate) fn fork() -> io::Result<Option<Pid>> {
    // SAFETY: fork(2) has no memory-safety preconditions of its own. What it makes unsound
    // is running code in the child that needs a lock held by another thread of the parent;
    // ForkingMixIn only forks after checking that this process has a single thread (or
    // after its caller promised, through an `unsafe` method, that the others hold no
    // locks).
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(pid)),
    }
}

/// `waitpid(pid, options)`: the pid reaped, `Ok(None)` when `nohang` and nothing exited.
/// `pid == -1` waits for any child. `ECHILD` comes back as an error of kind
/// [`io::ErrorKind::Other`] with raw OS error `ECHILD` (Python's `ChildProcessError`).
pub(crate) fn waitpid(pid: Pid, nohang: bool) -> io::Result<Option<Pid>> {
    let mut status: libc::c_int = 0;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: `status` is a valid, writable c_int for the duration of the call.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        match r {
            -1 => {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            0 => return Ok(None),
            pid => return Ok(Some(pid)),
        }
    }
}

/// True when `err` is `ECHILD` (Python's `ChildProcessError`).
pub(crate) fn is_no_child(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ECHILD)
}

/// True when `err` says the process or the system is out of file descriptors.
pub(crate) fn is_fd_exhaustion(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// `shutdown(fd, SHUT_RD)` or `SHUT_RDWR`: a thread blocked reading `fd` wakes with
/// end of file. For connections a server still owns; errors (`ENOTCONN`) are ignored.
pub(crate) fn shutdown_fd(fd: RawFd, write_too: bool) {
    let how = if write_too {
        libc::SHUT_RDWR
    } else {
        libc::SHUT_RD
    };
    // SAFETY: shutdown(2) takes a plain descriptor and touches no memory; the callers
    // hold the lock that keeps `fd` open (not yet closed and reused) meanwhile.
    unsafe {
        libc::shutdown(fd, how);
    }
}

/// `kill(pid, SIGTERM)`: asks a child process to end.
pub(crate) fn terminate(pid: Pid) {
    // SAFETY: kill(2) touches no memory; `pid` is a child not yet reaped, so it cannot
    // name another process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// `_exit(2)`: leave the process at once, without unwinding, running destructors or
/// `atexit` handlers — what a forked child must do so that it never returns into the
/// parent's serve loop.
pub(crate) fn exit_now(status: i32) -> ! {
    // SAFETY: _exit(2) is async-signal-safe and always sound to call; it does not return.
    unsafe { libc::_exit(status) }
}

/// A promise that no other thread of this process holds a lock a forked child could
/// need; see [`ForkingMixIn::allow_fork_with_threads`](crate::ForkingMixIn::allow_fork_with_threads).
#[derive(Debug, Clone, Copy)]
pub struct ThreadsHoldNoLocks(());

impl ThreadsHoldNoLocks {
    /// Makes the promise.
    ///
    /// # Safety
    ///
    /// A forked child has only the thread that forked it. The caller promises that at
    /// every fork no other thread of this process holds a lock the child needs while
    /// serving — the allocator's, stdout's or stderr's, a `Mutex` the handler takes.
    /// Otherwise the child can deadlock, or see data a thread was half-way changing.
    pub unsafe fn promise() -> ThreadsHoldNoLocks {
        ThreadsHoldNoLocks(())
    }
}

/// How many threads this process has.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// How many threads this process has.
#[cfg(target_vendor = "apple")]
pub(crate) fn thread_count() -> io::Result<usize> {
    let mut info = std::mem::MaybeUninit::<libc::proc_taskinfo>::zeroed();
    let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: `info` points to `size` writable bytes; proc_pidinfo writes at most `size`
    // bytes and returns how many it wrote.
    let n = unsafe {
        libc::proc_pidinfo(
            libc::getpid(),
            libc::PROC_PIDTASKINFO,
            0,
            info.as_mut_ptr().cast(),
            size,
        )
    };
    if n != size {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: proc_pidinfo filled all `size` bytes (checked above); the struct is plain data.
    let info = unsafe { info.assume_init() };
    Ok(info.pti_threadnum.max(1) as usize)
}

/// How many threads this process has (unknown on this platform: assume more than one,
/// so that `ForkingMixIn` refuses unless its caller opted out).
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub(crate) fn thread_count() -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "cannot count this process's threads on this platform",
    ))
}

/// Local broken-down time of `secs` (Unix seconds): `(year, month 1-12, day, hour,
/// minute, second)`, as Python's `time.localtime`.
pub(crate) fn localtime(secs: i64) -> Option<(i32, u32, u32, u32, u32, u32)> {
    let t = secs as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: `t` and `tm` are valid for the call; localtime_r writes only into `tm` and
    // returns null on failure, which is checked before `tm` is read.
    let r = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    if r.is_null() {
        return None;
    }
    // SAFETY: localtime_r succeeded, so it initialised `tm` (and it was zeroed anyway).
    let tm = unsafe { tm.assume_init() };
    Some((
        tm.tm_year + 1900,
        (tm.tm_mon + 1) as u32,
        tm.tm_mday as u32,
        tm.tm_hour as u32,
        tm.tm_min as u32,
        tm.tm_sec as u32,
    ))
}

/// `bytes` as a `&str` when every byte is ASCII, `None` otherwise.
///
/// One pass (`<[u8]>::is_ascii`, a word at a time) instead of the two of
/// `is_ascii` + `str::from_utf8`.
#[inline]
pub(crate) fn ascii_str(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, and a sequence of ASCII bytes is valid UTF-8
        // (each byte is a one-byte code point).
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        None
    }
}

/// `gethostname(2)`.
pub(crate) fn gethostname() -> io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its whole length, which is passed alongside it.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// Reverse lookup of an address (`getnameinfo` with `NI_NAMEREQD`): the host name, or
/// `None` when there is none.
pub(crate) fn name_of(addr: std::net::SocketAddr) -> Option<String> {
    let sa = socket2::SockAddr::from(addr);
    let mut host = [0u8; 1025];
    // SAFETY: `sa` is a valid socket address of `sa.len()` bytes; `host` is writable for
    // its whole length; no service buffer is asked for (null, 0).
    let r = unsafe {
        libc::getnameinfo(
            sa.as_ptr().cast(),
            sa.len(),
            host.as_mut_ptr().cast(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if r != 0 {
        return None;
    }
    let end = host.iter().position(|&b| b == 0).unwrap_or(host.len());
    Some(String::from_utf8_lossy(&host[..end]).into_owned())
}

/// A set of signals blocked in the calling thread (and in threads it starts later), to be
/// waited for with [`SignalSet::wait`].
#[derive(Clone, Copy)]
pub(crate) struct SignalSet(libc::sigset_t);

impl SignalSet {
    /// Blocks `signals` in the calling thread.
    pub(crate) fn block(signals: &[libc::c_int]) -> io::Result<SignalSet> {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
        // SAFETY: `set` points to writable memory for a sigset_t; sigemptyset initialises
        // it, sigaddset only changes it, and each return value is checked.
        let set = unsafe {
            if libc::sigemptyset(set.as_mut_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            for &sig in signals {
                if libc::sigaddset(set.as_mut_ptr(), sig) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            set.assume_init()
        };
        // SAFETY: `set` is an initialised sigset_t; the old mask is not asked for (null).
        let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(SignalSet(set))
    }

    /// Waits until one of the signals is pending and takes it; returns its number.
    pub(crate) fn wait(&self) -> io::Result<libc::c_int> {
        let mut sig: libc::c_int = 0;
        // SAFETY: `self.0` is an initialised sigset_t and `sig` a writable c_int.
        let r = unsafe { libc::sigwait(&self.0, &mut sig) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(sig)
    }
}

/// Sends `data` on a connected socket, telling the kernel more follows at once
/// (`MSG_MORE` on Linux), so that a header block and the file sent right after it share
/// a packet. Returns how many bytes were sent.
pub(crate) fn send_more(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = libc::MSG_MORE | libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = 0;
    loop {
        // SAFETY: `data` is valid for reads of `data.len()` bytes for the whole call.
        let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// `MSG_NOSIGNAL` where it exists: a peer that has gone answers `EPIPE`, not `SIGPIPE`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const NOSIGNAL: libc::c_int = 0;

/// Sends what fits of `data` on a connected socket without waiting (`send` with
/// `MSG_DONTWAIT`): `WouldBlock` when nothing fits.
pub(crate) fn send_nowait(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `data` is valid for reads of `data.len()` bytes for the whole call.
        let n = unsafe {
            libc::send(
                fd,
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_DONTWAIT | NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// [`send_nowait`] for several slices at once (`sendmsg`, like `writev`).
pub(crate) fn send_vectored_nowait(fd: RawFd, bufs: &[std::io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is a valid empty message (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on Unix (std guarantees it); sendmsg only
    // reads the slices.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::c_int::MAX as usize) as _;
    loop {
        // SAFETY: `msg` points at `bufs`, valid for reads for the whole call.
        let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT | NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Reads what a connected socket holds without waiting (`recv` with `MSG_DONTWAIT`),
/// whatever the descriptor's blocking mode: `WouldBlock` when nothing is there, `Ok(0)`
/// at end of file. A readiness worker reads this way so that a spurious wake-up never
/// blocks it.
pub(crate) fn recv_nowait(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Copies up to `count` bytes of the file `file` from `offset` to the socket `sock` in
/// the kernel (`sendfile(2)`); returns how many were sent (0 at end of file).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sendfile(sock: RawFd, file: RawFd, offset: u64, count: usize) -> io::Result<usize> {
    let mut off = offset as libc::off_t;
    loop {
        // SAFETY: both descriptors are open for the duration of the call (the caller holds
        // them) and `off` is a valid, writable off_t.
        let n = unsafe { libc::sendfile(sock, file, &mut off, count) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Copies up to `count` bytes of the file `file` from `offset` to the socket `sock` in
/// the kernel (`sendfile(2)`); returns how many were sent (0 at end of file).
#[cfg(target_vendor = "apple")]
pub(crate) fn sendfile(sock: RawFd, file: RawFd, offset: u64, count: usize) -> io::Result<usize> {
    loop {
        let mut len = count as libc::off_t;
        // SAFETY: both descriptors are open for the duration of the call; `len` is a
        // valid, writable off_t; no header/trailer vectors are passed (null).
        let r = unsafe {
            libc::sendfile(
                file,
                sock,
                offset as libc::off_t,
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if r == 0 || len > 0 {
            return Ok(len as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// No `sendfile` here: the caller copies through user space.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub(crate) fn sendfile(_: RawFd, _: RawFd, _: u64, _: usize) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// The first address `getaddrinfo(host, port, SOCK_STREAM, AI_PASSIVE)` gives: what
/// Python's `http.server` binds (`_get_best_family`). `None` as host means every
/// interface, in the family the system lists first.
pub(crate) fn passive_address(host: Option<&str>, port: u16) -> io::Result<std::net::SocketAddr> {
    use std::ffi::CString;
    let host = host
        .map(|h| CString::new(h).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput)))
        .transpose()?;
    let service =
        CString::new(port.to_string()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: an all-zero addrinfo is a valid "no hints" value; fields are then set.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_PASSIVE;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and live across the call; `hints` is valid;
    // `res` receives a list that is freed below with freeaddrinfo.
    let r = unsafe {
        libc::getaddrinfo(
            host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()),
            service.as_ptr(),
            &hints,
            &mut res,
        )
    };
    if r != 0 || res.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("getaddrinfo failed ({r})"),
        ));
    }
    // SAFETY: `res` is a non-null list from getaddrinfo; its first entry's ai_addr points
    // to ai_addrlen bytes of socket address, copied into storage sized for any address.
    let copied = unsafe {
        let first = &*res;
        socket2::SockAddr::try_init(|storage, len| {
            let n = (first.ai_addrlen as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
            std::ptr::copy_nonoverlapping(first.ai_addr.cast::<u8>(), storage.cast::<u8>(), n);
            *len = n as libc::socklen_t;
            Ok(())
        })
    };
    // SAFETY: `res` came from a successful getaddrinfo and is freed exactly once.
    unsafe { libc::freeaddrinfo(res) };
    let (_, addr) = copied?;
    addr.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an internet address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn poll_times_out_then_sees_data() {
        let (a, b) = UnixStream::pair().unwrap();
        let start = Instant::now();
        let r = poll_read([a.as_raw_fd()], Some(Duration::from_millis(30))).unwrap();
        assert_eq!(r, [false]);
        assert!(start.elapsed() >= Duration::from_millis(30));
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        let r = poll_read([b.as_raw_fd(), a.as_raw_fd()], None).unwrap();
        assert_eq!(r, [false, true]);
    }

    #[test]
    fn poll_reports_a_descriptor_that_is_not_open() {
        // Not a descriptor just closed: another test's thread may reuse its number at
        // once. No process has this one open (it is above any descriptor limit).
        let r = poll_read([i32::MAX], Some(Duration::from_millis(10)));
        assert!(r.is_err());
    }

    #[test]
    fn localtime_and_names() {
        let (y, m, d, hh, mm, ss) = localtime(0).unwrap();
        assert!((1969..=1970).contains(&y) && (1..=12).contains(&m) && d >= 1);
        assert!(hh < 24 && mm < 60 && ss < 61);
        assert!(!gethostname().unwrap().is_empty());
        assert_eq!(
            name_of(([127, 0, 0, 1], 0).into()).as_deref(),
            Some("localhost")
        );
    }

    #[test]
    fn ascii_str_takes_ascii_only() {
        assert_eq!(ascii_str(b""), Some(""));
        assert_eq!(
            ascii_str(b"GET / HTTP/1.1\r\n\x00\x7f"),
            Some("GET / HTTP/1.1\r\n\x00\x7f")
        );
        assert_eq!(ascii_str(b"caf\xc3\xa9"), None);
        assert_eq!(ascii_str(b"\x80"), None);
    }

    #[test]
    fn this_test_process_has_threads() {
        // The test harness runs each test on its own thread, so there are at least two.
        assert!(thread_count().unwrap() >= 2);
    }
}
