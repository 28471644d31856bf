//! Runs `tests/oracle/oracle.py` under CPython 3.13.0, the parity reference.
//!
//! Without that interpreter an oracle test prints a `SKIP:` line and passes, unless the
//! environment variable `CI` is set: then it fails.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A CPython 3.13.0 interpreter that answers the oracle script.
pub struct Oracle {
    program: &'static str,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/oracle.py")
}

fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    // pyenv shims pick the version from this variable; other installs ignore it.
    cmd.env("PYENV_VERSION", "3.13.0")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1")
        .arg(script());
    cmd
}

/// The oracle, or `None` after printing `SKIP:` (panics instead when `CI` is set).
pub fn oracle(test: &str) -> Option<Oracle> {
    for program in ["python3.13", "python3"] {
        let Ok(out) = command(program).arg("version").output() else {
            continue;
        };
        if out.status.success() && out.stdout == b"3.13.0\n" {
            return Some(Oracle { program });
        }
    }
    let msg = format!(
        "{test}: CPython 3.13.0 not found (python3.13, or python3 with PYENV_VERSION=3.13.0)"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}; CI is set, so the oracle comparison cannot be skipped");
    }
    // Straight to stderr, past the test harness's capture, so the skip is seen.
    let _ = writeln!(std::io::stderr(), "SKIP: {msg}; oracle comparison skipped");
    None
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex from the oracle"))
        .collect()
}

impl Oracle {
    /// Runs `mode` on each input; one answer line per input.
    pub fn run<I: AsRef<[u8]>>(&self, mode: &str, inputs: &[I]) -> Vec<String> {
        let mut child = command(self.program)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the oracle");
        let mut stdin = child.stdin.take().expect("oracle stdin");
        let input: String = inputs
            .iter()
            .map(|i| format!(">{}\n", hex(i.as_ref())))
            .collect();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().expect("oracle output");
        writer.join().unwrap().expect("write to the oracle");
        assert!(out.status.success(), "oracle {mode} failed");
        let text = String::from_utf8(out.stdout).expect("oracle output is UTF-8");
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.strip_prefix('>').expect("oracle answer line").to_owned())
            .collect();
        assert_eq!(
            lines.len(),
            inputs.len(),
            "oracle {mode}: one answer per input"
        );
        lines
    }

    /// The oracle's raw output for a mode without stdin.
    pub fn output(&self, args: &[&str]) -> String {
        let out = command(self.program)
            .args(args)
            .output()
            .expect("run the oracle");
        assert!(out.status.success(), "oracle {args:?} failed");
        String::from_utf8(out.stdout).expect("oracle output is UTF-8")
    }
}
