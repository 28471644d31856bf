//! Where the crate's log lines go: Python's lines on stderr by default; with the `log`
//! feature, through the `log` facade to the application's logger once it has installed
//! one (see `docs/deployment.md`, "Logs").
//!
//! | hook | level | target |
//! |---|---|---|
//! | `log_message` (and `log_request`) | `Info` | `socketserver::http` |
//! | `log_error` | `Warn` | `socketserver::http` |
//! | `handle_error` | `Error` | `socketserver::server` |
//!
//! `log_error` goes through `log_message`, as in Python (a handler that overrides
//! `log_message` sees errors too); the line it starts is marked for the duration of
//! that call, so that the facade gets it at `Warn`.

use std::io::{self, Write};

#[cfg(feature = "log")]
thread_local! {
    /// Set while the default `log_error` runs `log_message`.
    static IN_LOG_ERROR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (the default `log_error`'s call to `log_message`) with its lines marked as
/// errors.
pub(crate) fn as_error(f: impl FnOnce()) {
    #[cfg(feature = "log")]
    {
        let was = IN_LOG_ERROR.with(|c| c.replace(true));
        f();
        IN_LOG_ERROR.with(|c| c.set(was));
    }
    #[cfg(not(feature = "log"))]
    f();
}

/// Whether the application installed a logger and set a level: before that,
/// `log::max_level()` is `Off` and the lines stay on stderr.
#[cfg(feature = "log")]
fn facade() -> bool {
    log::max_level() != log::LevelFilter::Off
}

/// One `log_message` line, ending with `\n`: to stderr in one write, or to the facade
/// without the newline.
pub(crate) fn request_line(line: &str) {
    #[cfg(feature = "log")]
    if facade() {
        let level = if IN_LOG_ERROR.with(|c| c.get()) {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        log::log!(target: "socketserver::http", level, "{}", line.trim_end_matches('\n'));
        return;
    }
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// `handle_error`'s report: `headline` (`Exception occurred during processing of
/// request from …`), the error and its causes. To stderr as Python's block between two
/// lines of 40 dashes, in one write; or to the facade as one record.
pub(crate) fn error_report(headline: &str, error: &dyn std::error::Error) {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    #[cfg(feature = "log")]
    if facade() {
        let mut message = format!("{headline}: {error}");
        for c in &causes {
            message.push_str("; caused by: ");
            message.push_str(c);
        }
        log::error!(target: "socketserver::server", "{message}");
        return;
    }
    let dashes = "-".repeat(40);
    let mut text = format!("{dashes}\n{headline}\n{error}\n");
    for c in &causes {
        text.push_str(&format!("caused by: {c}\n"));
    }
    text.push_str(&dashes);
    text.push('\n');
    let _ = io::stderr().lock().write_all(text.as_bytes());
}
