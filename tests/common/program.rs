//! Running the `http-server` program in a test: its start-up line, its stderr kept by a
//! thread, signals, and a bounded wait for its exit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The program, as cargo built it for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_http-server");

/// A running `http-server`: its first stdout line, and its stderr lines counted (and kept)
/// by a thread, so that a busy server never blocks on a full pipe.
pub struct Server {
    pub child: Child,
    pub line: String,
    log: Arc<Mutex<String>>,
    drain: Option<JoinHandle<()>>,
}

impl Server {
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start http-server");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let theirs = log.clone();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let drain = std::thread::spawn(move || {
            let mut l = String::new();
            while matches!(err.read_line(&mut l), Ok(n) if n > 0) {
                theirs.lock().unwrap().push_str(&l);
                l.clear();
            }
            // Keep stdout drained too (nothing more is expected on it).
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        Server {
            child,
            line,
            log,
            drain: Some(drain),
        }
    }

    /// Log lines of requests served (Python's format ends with `" 200 -`).
    pub fn served(&self) -> usize {
        self.log.lock().unwrap().matches("\" 200 ").count()
    }

    pub fn signal(&self, sig: &str) {
        super::signal(self.child.id(), sig);
    }

    /// Waits (bounded) for the process to exit; its status and stderr.
    pub fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "http-server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        self.drain.take().unwrap().join().unwrap();
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
