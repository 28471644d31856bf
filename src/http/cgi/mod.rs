//! Python's `CGIHTTPRequestHandler`: runs the scripts under `cgi_directories`
//! (`/cgi-bin`, `/htbin`) and serves everything else as
//! [`SimpleHttpRequestHandler`] does.
//!
//! * [`CgiHttpRequestHandler`] — the handler (this file: finding the script, CPython's
//!   checks and answers);
//! * [`cgi_environment`] — the CGI/1.1 environment, exactly as CPython builds it
//!   (`env.rs`);
//! * [`parse_script_headers`] — a sans-IO parser of a script's header block, for the
//!   opt-in RFC 3875 mode (`output.rs`);
//! * running the script — body in, output out, stderr to the log, time limits (`run.rs`),
//!   and turning its output into the answer (`answer.rs`).
//!
//! `docs/cgi.md` describes the module for users, with what differs from CPython.

mod answer;
mod env;
mod output;
mod run;

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub use env::{cgi_environment, CgiEnvironment, CgiRequestInfo, NOT_PASSED_HEADERS};
pub use output::{
    parse_script_headers, HeaderBlockFinder, ScriptHeaders, ScriptOutputError, MAX_SCRIPT_HEADERS,
    MAX_SCRIPT_HEADER_BLOCK,
};

use super::handler::{BaseHttpRequestHandler, HttpRequest};
use super::pyrepr::py_repr;
use super::simple::{Body, SimpleHttpRequestHandler};
use super::url::{unquote, url_collapse_path};
use crate::error::{Error, Result};
use crate::sys;
use answer::{bad_gateway, PassThrough, Rfc3875Output};
use run::{Ended, Limits};

/// How long a script may go without progress before it is killed, by default.
pub const DEFAULT_CGI_TIMEOUT: Duration = Duration::from_secs(60);

/// Python's `http.server.CGIHTTPRequestHandler`: `GET`, `HEAD` and `POST` run a script
/// when the path names one under [`cgi_directories`](Self::cgi_directories); other
/// `GET`s and `HEAD`s are served by the [`SimpleHttpRequestHandler`] it holds, other
/// `POST`s get `501 Can only POST to CGI scripts`.
///
/// | Python | Rust |
/// |---|---|
/// | `CGIHTTPRequestHandler` (a `SimpleHTTPRequestHandler` subclass) | this type, holding a [`simple`](Self::simple) handler it delegates to |
/// | `cgi_directories = ['/cgi-bin', '/htbin']` | [`cgi_directories`](Self::cgi_directories) |
/// | `is_cgi()` (sets `cgi_info`) | [`is_cgi(path)`](Self::is_cgi) (returns it) |
/// | `is_executable(path)`, `is_python(path)` | [`is_executable`](Self::is_executable), [`is_python`](Self::is_python) |
/// | `run_cgi()` | [`run_cgi(h, cgi_info)`](Self::run_cgi) |
/// | `send_head()`, `do_POST()` | [`send_head`](Self::send_head), `do_post` |
/// | `have_fork` (Unix: the script is executed itself), `rbufsize = 0` | always the Unix way; the body is copied to the script's stdin instead of handing it the socket |
///
/// As in CPython on Unix, the script is executed itself (a `.py` script too, so it must
/// be executable and start with `#!`), with argv `[script name]` plus the query when it
/// has no `=` (`+` read as a space), with the server's environment plus the CGI
/// variables ([`cgi_environment`]), and — when the server runs as root — as the user
/// `nobody`. Nothing runs between the server and the script (no shell). The answer is
/// CPython's: `200 Script output follows`, `Server`, `Date`, then the script's output as
/// it is, its own header lines included; the connection closes after it.
///
/// What the crate does differently, on purpose (`docs/python-differences.md`): the
/// request body is copied to the script's stdin as it arrives, `Content-Length` bytes of
/// it, then end of file (CPython hands the script the socket); a script that makes no
/// progress for [`cgi_timeout`](Self::cgi_timeout) is killed; a script outside the CGI
/// directory is never run (CPython decodes the path twice and runs
/// `/cgi-bin/%252e%252e%252fx` = `/x`); the child also takes `nobody`'s group and no
/// supplementary groups, and is not run at all if it cannot be; a script that cannot be
/// started gets a `500`; the script's stderr goes to the handler's log, a line at a
/// time.
///
/// ```no_run
/// use socketserver::http::{CgiHttpRequestHandler, ThreadingHttpServer};
/// use socketserver::BaseServer;
///
/// // /srv/www/cgi-bin/hello.sh is run for GET /cgi-bin/hello.sh.
/// let handler = CgiHttpRequestHandler::new("/srv/www");
/// let server = std::sync::Arc::new(ThreadingHttpServer::new(("", 8000), handler)?);
/// server.serve_forever(socketserver::POLL_INTERVAL)?;
/// # Ok::<(), socketserver::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[doc(alias = "CGIHTTPRequestHandler")]
pub struct CgiHttpRequestHandler {
    /// The handler for everything that is not a script, and whose settings (`directory`,
    /// `protocol_version`, `server_version`, `log_requests`, `timeout`, …) this one uses.
    pub simple: SimpleHttpRequestHandler,
    /// Python's `cgi_directories`: URL paths whose files are scripts. `/cgi-bin` and
    /// `/htbin` by default.
    pub cgi_directories: Vec<String>,
    /// How long a script may go without progress — without taking any of the request
    /// body and without writing to stdout or stderr — before it is killed, with every
    /// process in its process group. 60 s by default; `None` waits for ever, as CPython
    /// does. (Sending the output to a slow client is bounded by the connection's
    /// `timeout` instead.)
    pub cgi_timeout: Option<Duration>,
    /// How long a script may run in all, progress or not. `None` by default.
    pub cgi_time_limit: Option<Duration>,
    /// RFC 3875 mode, off by default (CPython's behaviour): the script's header block is
    /// parsed ([`parse_script_headers`]) — `Status:` sets the status line, a `Location:`
    /// without `Status:` answers `302 Found`, otherwise `200 OK` — and sent after
    /// `Server` and `Date`; malformed headers get `502 Bad Gateway`; a `HEAD` gets no
    /// body. Every request header is passed as `HTTP_*` (RFC 3875 §4.1.18), except
    /// [`NOT_PASSED_HEADERS`] (`Proxy` among them: no `HTTP_PROXY`, httpoxy).
    pub rfc3875: bool,
    /// Run `.py`/`.pyw` scripts with this interpreter (`python -u script`, CPython's
    /// path for systems without `fork`), so they need not be executable. `None` by
    /// default: a Python script is executed itself, as CPython does on Unix.
    pub python_interpreter: Option<PathBuf>,
}

impl CgiHttpRequestHandler {
    /// A handler serving `directory`, with CPython's defaults otherwise.
    pub fn new(directory: impl Into<PathBuf>) -> CgiHttpRequestHandler {
        Self::from(SimpleHttpRequestHandler::new(directory))
    }

    /// A handler serving the current directory (read once, now).
    pub fn current_dir() -> io::Result<CgiHttpRequestHandler> {
        Ok(Self::from(SimpleHttpRequestHandler::current_dir()?))
    }

    /// Python's `is_cgi()`: whether `path` (a request target) names a script, as
    /// `(directory, rest)` — Python's `cgi_info`. The path is collapsed first
    /// ([`url_collapse_path`]: decoded, `.`/`..`/empty segments resolved), then its
    /// shortest prefix ending before a `/` that is one of
    /// [`cgi_directories`](Self::cgi_directories) is the directory.
    ///
    /// A path whose `..` climbs above the root is an error (Python's `IndexError`: the
    /// request ends in `handle_error` without an answer).
    ///
    /// ```
    /// use socketserver::http::CgiHttpRequestHandler;
    /// let h = CgiHttpRequestHandler::new("/srv");
    /// let info = |p| h.is_cgi(p).unwrap();
    /// assert_eq!(info("/cgi-bin/x.py/more?q=1"), Some(("/cgi-bin".into(), "x.py/more?q=1".into())));
    /// assert_eq!(info("/x/../cgi-bin%2fx.py"), Some(("/cgi-bin".into(), "x.py".into())));
    /// assert_eq!(info("/cgi-bin"), None);
    /// assert_eq!(info("/cgi-binx/y"), None);
    /// assert!(h.is_cgi("/cgi-bin/../../x").is_err());
    /// ```
    pub fn is_cgi(&self, path: &str) -> Result<Option<(String, String)>> {
        let collapsed = url_collapse_path(path).ok_or_else(|| {
            Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "IndexError: the path {} climbs above the root",
                    py_repr(path)
                ),
            ))
        })?;
        let mut dir_sep = find_from(&collapsed, '/', 1);
        while let Some(sep) = dir_sep {
            let head = &collapsed[..sep];
            if self.cgi_directories.iter().any(|d| d == head) {
                return Ok(Some((head.to_owned(), collapsed[sep + 1..].to_owned())));
            }
            dir_sep = find_from(&collapsed, '/', sep + 1);
        }
        Ok(None)
    }

    /// Python's `is_executable(path)`: `os.access(path, X_OK)`.
    pub fn is_executable(&self, path: &Path) -> bool {
        sys::is_executable(path)
    }

    /// Python's `is_python(path)`: the extension is `.py` or `.pyw`, in any case.
    pub fn is_python(&self, path: &str) -> bool {
        let ext = splitext(path).to_ascii_lowercase();
        ext == ".py" || ext == ".pyw"
    }

    /// Python's `send_head()`: runs the script when [`is_cgi`](Self::is_cgi) says the
    /// path names one (and returns `None`: the script's output is the answer), otherwise
    /// [`SimpleHttpRequestHandler::send_head`].
    pub fn send_head(&self, h: &mut HttpRequest<'_>) -> Result<Option<Body>> {
        match self.is_cgi(&h.path)? {
            Some(info) => {
                self.run_cgi(h, info)?;
                Ok(None)
            }
            None => self.simple.send_head(h),
        }
    }

    /// Python's `run_cgi()`: finds the script for `cgi_info` (404 `No such CGI script`,
    /// 403 `CGI script is not a plain file`, 403 `CGI script is not executable`), builds
    /// its environment, runs it and sends its output.
    pub fn run_cgi(&self, h: &mut HttpRequest<'_>, cgi_info: (String, String)) -> Result<()> {
        h.close_connection = true;
        let (cgi_dir, cgi_rest) = cgi_info;
        // Nested directories: take every following segment that is a directory.
        let path = format!("{cgi_dir}/{cgi_rest}");
        let mut dir = cgi_dir.len();
        while let Some(i) = find_from(&path, '/', dir + 1) {
            if !self.is_dir(&path[..i]) {
                break;
            }
            dir = i;
        }
        let (dir, rest) = (&path[..dir], &path[dir + 1..]);
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (script, rest) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let scriptname = format!("{dir}/{script}");
        let scriptfile = self.simple.translate_path(&scriptname).ok();
        // CPython decodes the path twice (once in is_cgi, once in translate_path), so a
        // `%252e%252e%252f` walks out of the CGI directory: never run such a file.
        let inside = self
            .simple
            .translate_path(&cgi_dir)
            .ok()
            .zip(scriptfile.as_ref())
            .is_some_and(|(root, file)| file.starts_with(root));
        let meta = scriptfile
            .as_ref()
            .filter(|_| inside)
            .and_then(|f| std::fs::metadata(f).ok());
        let (Some(scriptfile), Some(meta)) = (scriptfile, meta) else {
            let message = format!("No such CGI script ({})", py_repr(&scriptname));
            return h.send_error_message(404, &message);
        };
        if !meta.is_file() {
            let message = format!("CGI script is not a plain file ({})", py_repr(&scriptname));
            return h.send_error_message(403, &message);
        }
        let interpreter = self
            .python_interpreter
            .as_ref()
            .filter(|_| self.is_python(&scriptname));
        if interpreter.is_none() && !self.is_executable(&scriptfile) {
            let message = format!("CGI script is not executable ({})", py_repr(&scriptname));
            return h.send_error_message(403, &message);
        }
        let body_len = match h.content_length(usize::MAX) {
            Ok(n) => n,
            Err(Error::Http { code, message }) => return h.send_error_message(code, &message),
            Err(e) => return Err(e),
        };

        let path_info = unquote(rest);
        let path_translated = self.simple.translate_path(&path_info);
        let remote_addr = h.client_address.host();
        let env = path_translated.as_ref().ok().map(|translated| {
            let info = CgiRequestInfo {
                version_string: h.version_string(),
                server_name: &h.server.server_name,
                server_port: h.server.server_port(),
                protocol_version: h.protocol_version,
                command: &h.command,
                path_info: &path_info,
                path_translated: translated.as_os_str().as_bytes(),
                script_name: &scriptname,
                query,
                remote_addr: &remote_addr,
                headers: &h.headers,
            };
            cgi_environment(&info, self.rfc3875)
        });
        let mut cmd = match interpreter {
            Some(python) => {
                let mut cmd = Command::new(python);
                cmd.arg("-u").arg(&scriptfile);
                if !query.contains('=') {
                    cmd.arg(query);
                }
                cmd
            }
            None => {
                let mut cmd = Command::new(&scriptfile);
                cmd.arg0(script);
                let decoded_query = query.replace('+', " ");
                if !decoded_query.contains('=') {
                    cmd.arg(decoded_query);
                }
                cmd
            }
        };
        let spawned = env.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "PATH_TRANSLATED cannot be encoded",
            )
        });
        let spawned = spawned.and_then(|env| {
            if interpreter.is_none() {
                check_exec_format(&scriptfile)?;
            }
            for (name, value) in &env.set {
                cmd.env(name, value);
            }
            for name in &env.remove {
                cmd.env_remove(name);
            }
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0);
            if sys::is_root() {
                let (uid, gid) = sys::user_ids("nobody").ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "no user \"nobody\" to run the script as (the server runs as root)",
                    )
                })?;
                cmd.uid(uid).gid(gid);
            }
            cmd.spawn()
        });
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                h.log_error(format_args!(
                    "CGI script {} could not be run: {e}",
                    py_repr(&scriptname)
                ));
                return h.send_error(500);
            }
        };

        let limits = Limits {
            timeout: self.cgi_timeout,
            limit: self.cgi_time_limit,
        };
        let ended = if self.rfc3875 {
            let mut out = Rfc3875Output::Head(Vec::new(), HeaderBlockFinder::default());
            let ended = run::run(&mut child, h, body_len, limits, &mut out);
            match (&ended, &out) {
                (Ok(Ended::TimedOut(_)), Rfc3875Output::Head(..)) => h.send_error(504)?,
                (Ok(_), Rfc3875Output::Head(..)) => bad_gateway(h, &ScriptOutputError::Incomplete)?,
                _ => {}
            }
            ended?
        } else {
            let sent = h
                .send_response_message(200, Some("Script output follows"))
                .and_then(|()| h.flush_headers());
            if let Err(e) = sent {
                // The client is gone: the script is not left behind.
                let _ = run::kill(&mut child);
                return Err(e);
            }
            run::run(&mut child, h, body_len, limits, &mut PassThrough)?
        };
        let status = match ended {
            Ended::Exited(status) => status,
            Ended::TimedOut(status) => {
                h.log_error(format_args!(
                    "CGI script {} ran past its time limit and was killed",
                    py_repr(&scriptname)
                ));
                status
            }
        };
        let code = run::exit_code(status);
        if code != 0 {
            h.log_error(format_args!("CGI script exit code {code}"));
        }
        Ok(())
    }

    /// `os.path.isdir(self.translate_path(path))`.
    fn is_dir(&self, path: &str) -> bool {
        self.simple
            .translate_path(path)
            .is_ok_and(|p| std::fs::metadata(p).is_ok_and(|m| m.is_dir()))
    }
}

impl From<SimpleHttpRequestHandler> for CgiHttpRequestHandler {
    /// A CGI handler around `simple` (its directory, protocol version, logging…).
    fn from(simple: SimpleHttpRequestHandler) -> CgiHttpRequestHandler {
        CgiHttpRequestHandler {
            simple,
            cgi_directories: vec!["/cgi-bin".into(), "/htbin".into()],
            cgi_timeout: Some(DEFAULT_CGI_TIMEOUT),
            cgi_time_limit: None,
            rfc3875: false,
            python_interpreter: None,
        }
    }
}

/// Refuses a file the kernel cannot execute by itself — neither `#!` nor an ELF or
/// Mach-O binary. CPython's `execve` fails on such a file (`ENOEXEC`); `std`'s spawn,
/// like `execvp`, would hand it to `/bin/sh` instead, and no shell is to run between the
/// server and the script.
fn check_exec_format(path: &Path) -> io::Result<()> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let mut n = 0;
    while n < magic.len() {
        match file.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    const BINARIES: [[u8; 4]; 7] = [
        *b"\x7fELF",
        [0xfe, 0xed, 0xfa, 0xce],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xcf, 0xfa, 0xed, 0xfe],
        [0xca, 0xfe, 0xba, 0xbe],
        [0xbe, 0xba, 0xfe, 0xca],
    ];
    if magic[..n].starts_with(b"#!") || (n == 4 && BINARIES.contains(&magic)) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "Exec format error: neither a #! line nor a binary (it is not handed to a shell)",
    ))
}

/// `s.find(c, start)` of Python: the byte index of `c` at or after `start`.
fn find_from(s: &str, c: char, start: usize) -> Option<usize> {
    s.get(start..)?.find(c).map(|i| i + start)
}

/// The extension `os.path.splitext` gives (leading dots of the name do not count).
fn splitext(path: &str) -> &str {
    let name = &path[path.rfind('/').map_or(0, |i| i + 1)..];
    let stem_start = name.len() - name.trim_start_matches('.').len();
    match name[stem_start..].rfind('.') {
        Some(i) => &name[stem_start + i..],
        None => "",
    }
}

impl BaseHttpRequestHandler for CgiHttpRequestHandler {
    fn server_version(&self) -> &str {
        self.simple.server_version()
    }

    fn protocol_version(&self) -> &str {
        self.simple.protocol_version()
    }

    fn timeout(&self) -> Option<Duration> {
        self.simple.timeout()
    }

    fn log_message(&self, h: &HttpRequest<'_>, message: fmt::Arguments<'_>) {
        self.simple.log_message(h, message);
    }

    /// Python's `do_GET`: [`send_head`](CgiHttpRequestHandler::send_head), then the file
    /// or listing, if any.
    fn do_get(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        if let Some(body) = self.send_head(h)? {
            self.simple.copyfile(body, h)?;
        }
        Ok(())
    }

    /// Python's `do_HEAD`: [`send_head`](CgiHttpRequestHandler::send_head) (a script
    /// runs, and its output is sent, as in CPython).
    fn do_head(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        self.send_head(h)?;
        Ok(())
    }

    /// Python's `do_POST`: a script runs; anything else is
    /// `501 Can only POST to CGI scripts`.
    fn do_post(&self, h: &mut HttpRequest<'_>) -> Result<()> {
        match self.is_cgi(&h.path)? {
            Some(info) => self.run_cgi(h, info),
            None => h.send_error_message(501, "Can only POST to CGI scripts"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_extensions() {
        let h = CgiHttpRequestHandler::new("/srv");
        for (p, py) in [
            ("/cgi-bin/a.py", true),
            ("/cgi-bin/a.PYW", true),
            ("/cgi-bin/.py", false),
            ("/cgi-bin/a.py.sh", false),
            ("/cgi-bin/x.d/a", false),
            ("a.Py", true),
        ] {
            assert_eq!(h.is_python(p), py, "{p}");
        }
        assert_eq!(splitext("/a/..b.c"), ".c");
        assert_eq!(splitext("/a/b."), ".");
    }

    #[test]
    fn cgi_info_as_python_finds_it() {
        let mut h = CgiHttpRequestHandler::new("/srv");
        let info = |h: &CgiHttpRequestHandler, p: &str| h.is_cgi(p).unwrap();
        assert_eq!(
            info(&h, "cgi-bin/file1.py"),
            Some(("/cgi-bin".into(), "file1.py".into()))
        );
        assert_eq!(
            info(&h, "/htbin/a/b?x=/y"),
            Some(("/htbin".into(), "a/b?x=/y".into()))
        );
        assert_eq!(
            info(&h, "///////////nocgi.py/../cgi-bin/nothere.sh"),
            Some(("/cgi-bin".into(), "nothere.sh".into()))
        );
        assert_eq!(info(&h, "/cgi-bin?x/y"), None);
        assert_eq!(info(&h, "/"), None);
        h.cgi_directories.push("/sub/dir/cgi-bin".into());
        assert_eq!(
            info(&h, "/sub/dir/cgi-bin/file5.py"),
            Some(("/sub/dir/cgi-bin".into(), "file5.py".into()))
        );
    }
}
