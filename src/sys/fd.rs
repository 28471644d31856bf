//! Listening sockets a process inherits (systemd's socket activation): taking ownership
//! of a descriptor number, and asking whether a socket listens.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the inherited descriptors have been taken: they can be taken only once per
/// process, so that no two `OwnedFd` ever own the same number.
static INHERITED_TAKEN: AtomicBool = AtomicBool::new(false);

/// Takes ownership of the descriptors `first .. first + count` that the process was
/// started with, after checking each is open; marks each close-on-exec (a CGI script or
/// any other child must not inherit a listening socket).
///
/// Returns `None` if they were already taken in this process. The caller has checked
/// that the process was handed these descriptors for its own use (systemd's `LISTEN_PID`
/// equals this process's id) and calls this before anything else in the process could
/// have opened or wrapped them (the start of `main`).
pub(crate) fn take_inherited(first: RawFd, count: usize) -> io::Result<Option<Vec<OwnedFd>>> {
    if INHERITED_TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    let mut fds = Vec::with_capacity(count.min(64));
    for i in 0..count {
        let fd = RawFd::try_from(i)
            .ok()
            .and_then(|i| first.checked_add(i))
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: fcntl(F_GETFD) takes no pointers; it fails with EBADF for a number that
        // is not open, which is checked.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as for F_GETFD; F_SETFD only changes this descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is open (F_GETFD succeeded). It was handed to this process by the
        // one that started it (the caller checked LISTEN_PID), so nothing else in this
        // process owns it: INHERITED_TAKEN makes this the only place, run at most once,
        // that wraps these numbers, and the caller runs it before other code could.
        fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    Ok(Some(fds))
}

/// Whether `listen(2)` was called on the socket `fd` (`SO_ACCEPTCONN`).
pub(crate) fn is_listening(fd: RawFd) -> io::Result<bool> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are writable for the call and `len` holds the size of
    // `value`; getsockopt writes at most `len` bytes into `value`.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value != 0)
}
