//! The Unix calls a CGI script's run needs that `std` does not wrap: polling pipes and a
//! socket for reading *or* writing, a non-blocking pipe, `access(X_OK)`, the `nobody`
//! user, and killing a process group.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// What [`poll_ready`] waits for on one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Readable, hung up or in error.
    Read,
    /// Writable, or the reading end closed (a write will then fail with `EPIPE`).
    Write,
}

/// poll(2) on up to `N` descriptors, each for reading or writing; a negative descriptor
/// is skipped (and never ready). Returns which are ready; none when `timeout` passed.
pub(crate) fn poll_ready<const N: usize>(
    fds: [(RawFd, Interest); N],
    timeout: Option<Duration>,
) -> io::Result<[bool; N]> {
    let mut pollfds = fds.map(|(fd, interest)| libc::pollfd {
        fd,
        events: match interest {
            Interest::Read => libc::POLLIN,
            Interest::Write => libc::POLLOUT,
        },
        revents: 0,
    });
    super::poll_fds(&mut pollfds, timeout)?;
    let mut ready = [false; N];
    for (r, p) in ready.iter_mut().zip(&pollfds) {
        if p.fd >= 0 && p.revents & libc::POLLNVAL != 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        *r = p.revents & (p.events | libc::POLLHUP | libc::POLLERR) != 0;
    }
    Ok(ready)
}

/// Sets `O_NONBLOCK` on `fd` (a pipe this process owns one end of).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(F_GETFL/F_SETFL) takes no pointers; an invalid `fd` is reported as
    // EBADF, which is checked.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// True when this process runs with an effective user id of 0.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Python's `os.access(path, os.X_OK)`: whether this process may execute `path` (as
/// root: whether any execute bit is set). A path with a NUL byte is not executable.
pub(crate) fn is_executable(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated string that lives across the call.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// The user id and primary group id of the user `name` (`getpwnam_r`), or `None` when
/// there is no such user.
pub(crate) fn user_ids(name: &str) -> Option<(u32, u32)> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: an all-zero passwd is a valid value to be overwritten.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `c` is NUL-terminated; `pwd`, `buf` (of the length passed) and `result`
        // are writable for the whole call; getpwnam_r stores into `pwd` pointers into
        // `buf`, which are not used after `buf` is dropped (only the two ids are read).
        let r = unsafe {
            libc::getpwnam_r(
                c.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if r == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if r != 0 || result.is_null() {
            return None;
        }
        return Some((pwd.pw_uid, pwd.pw_gid));
    }
}

/// Sends SIGKILL to the process group `pgid` (a child started as the leader of its own
/// group). A group that is already gone is not an error.
pub(crate) fn kill_process_group(pgid: u32) -> io::Result<()> {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return Err(io::ErrorKind::InvalidInput.into());
    };
    if pgid <= 1 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    // SAFETY: kill(2) takes no pointers; a negative pid names the process group, and
    // `pgid > 1` keeps it from meaning "every process" (-1) or our own group (0).
    if unsafe { libc::kill(-pgid, libc::SIGKILL) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_and_users() {
        assert!(is_executable(Path::new("/bin/sh")));
        assert!(!is_executable(Path::new("/nonexistent/x")));
        assert!(!is_executable(Path::new("/bin/s\0h")));
        assert_eq!(user_ids("root"), Some((0, 0)));
        assert_eq!(user_ids("no-such-user-here"), None);
        assert_eq!(user_ids("nul\0name"), None);
    }

    #[test]
    fn poll_skips_negative_descriptors() {
        let ready = poll_ready(
            [(-1, Interest::Read), (-1, Interest::Write)],
            Some(Duration::ZERO),
        )
        .unwrap();
        assert_eq!(ready, [false, false]);
    }
}
