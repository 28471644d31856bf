//! The command line: Python's `http.server` flags, parsed the way argparse parses them
//! (the same usage line, the same errors, exit status 2).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE_ARGS: &str =
    "[-h] [--cgi] [--pool] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [-H HEADER] [port]";

const HELP: &str = "
positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  --cgi                 run as CGI server
  --pool                serve on a pool of workers waiting for readiness
  -b, --bind ADDRESS    bind to this address (default: all interfaces)
  -d, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p, --protocol VERSION
                        conform to this HTTP version (default: HTTP/1.0)
  -H, --header HEADER   add a response header, 'NAME: VALUE' (repeatable)
  --tls-cert PATH       path to the TLS certificate chain file
  --tls-key PATH        path to the TLS key file
  --tls-password-file PATH
                        path to the password file for the TLS key
  --reuse-port          set SO_REUSEPORT, so that several processes can bind the port
  --shutdown-timeout SECONDS
                        on SIGTERM, wait this long for requests in progress
                        (default: 30)

Started by systemd with a listening socket (LISTEN_FDS), it serves that socket
and ignores -b, port and --reuse-port.";

/// What the command line asked for.
pub struct Args {
    /// argparse's `prog`: the program's file name, as it was started.
    pub prog: String,
    pub cgi: bool,
    /// `ThreadPoolHttpServer` instead of `ThreadingHttpServer`.
    pub pool: bool,
    pub port: u16,
    pub bind: Option<String>,
    pub directory: PathBuf,
    pub protocol: String,
    pub headers: Vec<(String, String)>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_password_file: Option<PathBuf>,
    pub reuse_port: bool,
    pub shutdown_timeout: Duration,
}

/// argparse's error: usage and message on stderr, exit status 2.
fn usage_error(prog: &str, message: &str) -> ExitCode {
    eprintln!("usage: {prog} {USAGE_ARGS}\n{prog}: error: {message}");
    ExitCode::from(2)
}

/// The program's name as argparse shows it: the file name of `argv[0]`.
fn prog_name(argv0: Option<String>) -> String {
    argv0
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "http-server".into())
}

/// Parses `std::env::args()`; `Err` carries the exit status (after `-h`, or an error
/// already printed).
pub fn parse_args() -> Result<Args, ExitCode> {
    let mut it = std::env::args();
    let prog = prog_name(it.next());
    let mut args = Args {
        prog,
        cgi: false,
        pool: false,
        port: 8000,
        bind: None,
        directory: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        protocol: "HTTP/1.0".into(),
        headers: Vec::new(),
        tls_cert: None,
        tls_key: None,
        tls_password_file: None,
        reuse_port: false,
        shutdown_timeout: Duration::from_secs(30),
    };
    let prog = args.prog.clone();
    let error = |message: &str| usage_error(&prog, message);
    let mut port_seen = false;
    let mut it = it.peekable();
    while let Some(arg) = it.next() {
        // --opt=value spellings.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, ExitCode> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| error(&format!("argument {flag}: expected one argument")))
        };
        match name.as_str() {
            "-h" | "--help" => {
                println!("usage: {} {USAGE_ARGS}\n{HELP}", args.prog);
                return Err(ExitCode::SUCCESS);
            }
            "--cgi" => args.cgi = true,
            "--pool" => args.pool = true,
            "--reuse-port" => args.reuse_port = true,
            "-b" | "--bind" => args.bind = Some(value("-b/--bind")?),
            "-d" | "--directory" => args.directory = value("-d/--directory")?.into(),
            "-p" | "--protocol" => args.protocol = value("-p/--protocol")?,
            "-H" | "--header" => {
                let first = value("-H/--header")?;
                let (n, v) = match first.split_once(':') {
                    Some((n, v)) => (n.trim().to_owned(), v.trim().to_owned()),
                    None => match it.next() {
                        Some(v) => (first, v),
                        None => return Err(error("argument -H/--header: expected NAME: VALUE")),
                    },
                };
                args.headers.push((n, v));
            }
            "--tls-cert" => args.tls_cert = Some(value("--tls-cert")?.into()),
            "--tls-key" => args.tls_key = Some(value("--tls-key")?.into()),
            "--tls-password-file" => {
                args.tls_password_file = Some(value("--tls-password-file")?.into())
            }
            "--shutdown-timeout" => {
                let v = value("--shutdown-timeout")?;
                args.shutdown_timeout = v
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| {
                        error(&format!(
                            "argument --shutdown-timeout: invalid float value: '{v}'"
                        ))
                    })?;
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(error(&format!("unrecognized arguments: {other}")));
            }
            other => {
                if port_seen {
                    return Err(error(&format!("unrecognized arguments: {other}")));
                }
                args.port = other
                    .parse()
                    .map_err(|_| error(&format!("argument port: invalid int value: '{other}'")))?;
                port_seen = true;
            }
        }
    }
    if args.pool && args.tls_cert.is_some() {
        return Err(error("--pool serves HTTP only, not --tls-cert"));
    }
    if args.tls_cert.is_none() && (args.tls_key.is_some() || args.tls_password_file.is_some()) {
        return Err(error(
            "--tls-key and --tls-password-file require --tls-cert",
        ));
    }
    Ok(args)
}
