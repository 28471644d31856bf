//! A CGI directory for the CGI tests: scripts in `cgi-bin/` (shell, and Python run by
//! the system's `/usr/bin/python3`), a nested directory, `htbin/`, and files around them.
//!
//! Everything is world-readable, and directories world-searchable: the tests run as
//! root, so the scripts run as `nobody`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The interpreter the Python scripts name in their `#!` line.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// `Some(())` when [`SYSTEM_PYTHON`] exists; otherwise a `SKIP:` line (a panic under CI).
pub fn system_python(test: &str) -> Option<()> {
    if Path::new(SYSTEM_PYTHON).is_file() {
        return Some(());
    }
    let msg = format!("{test}: {SYSTEM_PYTHON} (the CGI scripts' interpreter) not found");
    if super::in_ci() {
        panic!("{msg}; CI is set, so the CGI tests cannot be skipped");
    }
    eprintln!("SKIP: {msg}");
    None
}

pub struct CgiFixture {
    _tmp: tempfile::TempDir,
    /// The served directory.
    pub root: PathBuf,
}

/// The scripts: name, mode, content.
const SCRIPTS: &[(&str, u32, &str)] = &[
    (
        "cgi-bin/env.py",
        0o755,
        r#"#!/usr/bin/python3
# Dumps the environment, argv, the user and the body (CONTENT_LENGTH bytes of stdin).
import os, sys
n = os.environ.get("CONTENT_LENGTH", "")
body = sys.stdin.buffer.read(int(n)) if n.isdigit() else b""
out = sys.stdout.buffer
out.write(b"Content-Type: text/plain\r\n\r\n")
for k in sorted(os.environb):
    out.write(k + b"=" + os.environb[k] + b"\n")
out.write(b"argv=%s\nuid=%d\nstdin=%r\n" % (ascii(sys.argv[1:]).encode(), os.getuid(), body))
"#,
    ),
    (
        "cgi-bin/echo.py",
        0o755,
        r#"#!/usr/bin/python3
# Echoes the body back.
import os, sys
n = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(n)
sys.stdout.buffer.write(b"Content-Type: application/octet-stream\n\n" + body)
"#,
    ),
    (
        "cgi-bin/redirect.sh",
        0o755,
        "#!/bin/sh\nprintf 'Status: 302 Found\\nLocation: http://example.com/there\\nContent-Type: text/plain\\n\\nmoved\\n'\n",
    ),
    (
        "cgi-bin/fail.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfailing\\n'\nexit 3\n",
    ),
    (
        "cgi-bin/stderr.sh",
        0o755,
        "#!/bin/sh\necho 'first line on stderr' >&2\nprintf 'Content-Type: text/plain\\n\\nout\\n'\necho 'second line on stderr' >&2\n",
    ),
    (
        "cgi-bin/chatty.sh",
        0o755,
        "#!/bin/sh\n# 1 MiB of output (or QUERY_STRING bytes) before it reads its input.\nprintf 'Content-Type: application/octet-stream\\n\\n'\nhead -c \"${QUERY_STRING:-1048576}\" /dev/zero\nwc -c\n",
    ),
    (
        "cgi-bin/hello.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nHello, world!\\n'\n",
    ),
    (
        "cgi-bin/noexec.sh",
        0o644,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nshould not run\\n'\n",
    ),
    ("cgi-bin/data.txt", 0o644, "a data file in cgi-bin\n"),
    (
        "cgi-bin/sub/inner.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\ninner %s|%s\\n' \"$SCRIPT_NAME\" \"$PATH_INFO\"\n",
    ),
    (
        "cgi-bin/noshebang",
        0o755,
        "printf 'no #! line'\n",
    ),
    (
        "cgi-bin/ids.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s %s %s\\n' \"$(id -u)\" \"$(id -g)\" \"$(id -G)\"\n",
    ),
    (
        "cgi-bin/sleep.sh",
        0o755,
        "#!/bin/sh\n# Prints the pids of itself and of a child, then waits for ever.\nsleep 600 &\nprintf 'Content-Type: text/plain\\n\\n%s %s\\n' $$ $!\nwait\n",
    ),
    (
        "cgi-bin/ticker.sh",
        0o755,
        "#!/bin/sh\n# Writes a line every 0.1 s, for ever.\nprintf 'Content-Type: text/plain\\n\\n'\nwhile :; do echo tick; sleep 0.1; done\n",
    ),
    (
        "cgi-bin/fds.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nls -l /proc/self/fd/\n",
    ),
    (
        "cgi-bin/discard.sh",
        0o755,
        "#!/bin/sh\n# Reads and drops its input, then says how much it was.\nn=$(wc -c)\nprintf 'Content-Type: text/plain\\n\\n%s\\n' \"$n\"\n",
    ),
    (
        "cgi-bin/badheader.sh",
        0o755,
        "#!/bin/sh\nprintf 'this is not a header\\n\\nbody\\n'\n",
    ),
    (
        "htbin/hi.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhi from htbin\\n'\n",
    ),
    (
        "hello.sh",
        0o755,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\noutside cgi-bin\\n'\n",
    ),
    ("hello.txt", 0o644, "Hello, world!\n"),
    ("dir/x.txt", 0o644, "x\n"),
];

pub fn cgi_fixture() -> CgiFixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for dir in [
        "",
        "cgi-bin",
        "cgi-bin/sub",
        "cgi-bin/child",
        "htbin",
        "dir",
    ] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    for (name, mode, content) in SCRIPTS {
        let path = root.join(name);
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
    }
    // The scripts run as nobody: every directory on the way must be searchable.
    let mut dirs = vec![tmp.path().to_path_buf()];
    for entry in walk(&root) {
        if entry.is_dir() {
            dirs.push(entry);
        }
    }
    for d in dirs {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    CgiFixture { _tmp: tmp, root }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
