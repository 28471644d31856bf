//! The `log` feature: `log_message`, `log_error` and `handle_error` reach the
//! application's logger through the `log` facade, at the levels and targets of
//! `docs/deployment.md` ("Logs"), with Python's text as the message.
#![cfg(feature = "log")]

mod common;

use std::io::{Read, Write};
use std::sync::Mutex;

use common::Running;
use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpServer};

/// A tiny logger: keeps every record (level, target, message).
struct Capture(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((r.level(), r.target().to_owned(), r.args().to_string()));
    }
    fn flush(&self) {}
}

static LOGGER: Capture = Capture(Mutex::new(Vec::new()));

/// `/ok` answers 200, `/panic` panics (handle_error), anything else is a 404 (log_error).
struct App;

impl BaseHttpRequestHandler for App {
    fn do_get(&self, h: &mut HttpRequest<'_>) -> socketserver::Result<()> {
        match h.path.as_str() {
            "/ok" => {
                h.send_response(200)?;
                h.send_header("Content-Length", "0")?;
                h.end_headers()
            }
            "/panic" => panic!("boom in the handler"),
            _ => h.send_error(404),
        }
    }
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = common::connect(addr);
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn records_reach_the_installed_logger() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let server = HttpServer::new(("127.0.0.1", 0), App).unwrap();
    let addr = server.server_address;
    let running = Running::start(server);
    assert!(get(addr, "/ok").starts_with("HTTP/1.0 200 "));
    assert!(get(addr, "/missing").starts_with("HTTP/1.0 404 "));
    get(addr, "/panic");
    drop(running);

    let records = LOGGER.0.lock().unwrap().clone();
    let find = |needle: &str| {
        records
            .iter()
            .find(|(_, _, m)| m.contains(needle))
            .unwrap_or_else(|| panic!("no record with {needle:?} in {records:#?}"))
            .clone()
    };
    // log_request → log_message: Info, Python's line without its newline.
    let (level, target, message) = find("\"GET /ok HTTP/1.0\" 200 -");
    assert_eq!(
        (level, target.as_str()),
        (log::Level::Info, "socketserver::http")
    );
    assert!(message.starts_with("127.0.0.1 - - ["), "{message}");
    assert!(!message.ends_with('\n'));
    // send_error → log_error: Warn.
    let (level, target, _) = find("code 404, message Not Found");
    assert_eq!(
        (level, target.as_str()),
        (log::Level::Warn, "socketserver::http")
    );
    // The 404's own log_request line stays Info.
    assert_eq!(find("\"GET /missing HTTP/1.0\" 404 -").0, log::Level::Info);
    // handle_error: Error, with the client address and the panic.
    let (level, target, message) = find("Exception occurred during processing of request from");
    assert_eq!(
        (level, target.as_str()),
        (log::Level::Error, "socketserver::server")
    );
    assert!(message.contains("('127.0.0.1', "), "{message}");
    assert!(message.contains("boom in the handler"), "{message}");
}
