//! HTTPS (the `tls` feature): `HttpsServer` and the `http_server` example's TLS flags,
//! with certificates made by `openssl` and real clients (curl, Python's `ssl`).
#![cfg(feature = "tls")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{port_in, require, start_example, Running};
use socketserver::http::{BaseHttpRequestHandler, HttpRequest, HttpsServer};
use socketserver::tls::server_config;
use socketserver::ThreadingMixIn;

/// A self-signed certificate for 127.0.0.1/localhost, its key, and the same key
/// encrypted with the password `secret` (PKCS#8, AES-256).
struct Certs {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    encrypted_key: PathBuf,
    password_file: PathBuf,
}

fn certs() -> Option<Certs> {
    let openssl = require("openssl")?;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let ok = Command::new(&openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let encrypted_key = dir.path().join("key-enc.pem");
    let ok = Command::new(&openssl)
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:secret",
            "-in",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&encrypted_key)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "secret\n").unwrap();
    Some(Certs {
        _dir: dir,
        cert,
        key,
        encrypted_key,
        password_file,
    })
}

struct Hello;
impl BaseHttpRequestHandler for Hello {
    fn protocol_version(&self) -> &str {
        "HTTP/1.1"
    }
    fn log_message(&self, _: &HttpRequest, _: std::fmt::Arguments) {}
    fn do_get(&self, h: &mut HttpRequest) -> socketserver::Result<()> {
        let body = format!("secure {}", h.path);
        h.send_response(200)?;
        h.send_header("Content-Length", &body.len().to_string())?;
        h.end_headers()?;
        h.wfile.write_all(body.as_bytes())?;
        Ok(())
    }
}

fn python_get(cafile: &Path, urls: &[String]) -> Option<String> {
    let python = require("python3")?;
    let code = format!(
        "import http.client, ssl, urllib.parse\n\
         ctx = ssl.create_default_context(cafile={cafile:?})\n\
         out = []\n\
         conn = None\n\
         for url in {urls:?}:\n\
         \x20   u = urllib.parse.urlsplit(url)\n\
         \x20   if conn is None:\n\
         \x20       conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)\n\
         \x20   conn.request('GET', u.path)\n\
         \x20   r = conn.getresponse()\n\
         \x20   out.append('%d %s %s' % (r.status, r.read().decode(), conn.sock.version()))\n\
         print('|'.join(out))",
        cafile = cafile.to_str().unwrap(),
    );
    let o = Command::new(python)
        .env("PYENV_VERSION", "3.13.0")
        .arg("-c")
        .arg(code)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8(o.stdout).unwrap().trim().to_owned())
}

#[test]
fn https_server_keeps_alive_over_tls() {
    let Some(c) = certs() else { return };
    let server = HttpsServer::new(("127.0.0.1", 0), Hello, &c.cert, Some(&c.key), None).unwrap();
    let port = server.server_address.port();
    let _r = Running::start(ThreadingMixIn::https(server));
    let urls: Vec<String> = (0..3)
        .map(|i| format!("https://127.0.0.1:{port}/r{i}"))
        .collect();
    let Some(out) = python_get(&c.cert, &urls) else {
        return;
    };
    assert_eq!(
        out,
        "200 secure /r0 TLSv1.3|200 secure /r1 TLSv1.3|200 secure /r2 TLSv1.3"
    );
}

#[test]
fn encrypted_key_needs_the_right_password() {
    let Some(c) = certs() else { return };
    assert!(server_config(&c.cert, Some(&c.encrypted_key), Some(b"secret")).is_ok());
    let err = server_config(&c.cert, Some(&c.encrypted_key), Some(b"wrong")).unwrap_err();
    assert!(err.to_string().contains("wrong password"), "{err}");
    let err = server_config(&c.cert, Some(&c.encrypted_key), None).unwrap_err();
    assert!(err.to_string().contains("no password"), "{err}");
    // The key file swapped with the certificate, an empty file: errors, not panics.
    assert!(server_config(&c.key, Some(&c.cert), None).is_err());
    let empty = c.cert.with_file_name("empty.pem");
    std::fs::write(&empty, "").unwrap();
    assert!(server_config(&empty, Some(&c.key), None).is_err());
    assert!(HttpsServer::new(("127.0.0.1", 0), Hello, &empty, Some(&c.key), None).is_err());
}

#[test]
fn plain_http_to_an_https_port_is_closed() {
    let Some(c) = certs() else { return };
    let server = HttpsServer::new(("127.0.0.1", 0), Hello, &c.cert, Some(&c.key), None).unwrap();
    let addr = server.server_address;
    let r = Running::start(ThreadingMixIn::https(server));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(!out.starts_with(b"HTTP/"), "no plaintext answer");
    // Still serving.
    let Some(o) = python_get(
        &c.cert,
        &[format!("https://127.0.0.1:{}/after", addr.port())],
    ) else {
        return;
    };
    assert_eq!(o, "200 secure /after TLSv1.3");
    drop(r);
}

#[test]
fn http_server_example_serves_https() {
    let Some(c) = certs() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "over tls\n").unwrap();
    let big: Vec<u8> = (0..(3 << 20)).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).unwrap();
    let (_child, _out, line) = start_example(
        "http_server",
        &[
            "-b",
            "127.0.0.1",
            "-d",
            dir.path().to_str().unwrap(),
            "--tls-cert",
            c.cert.to_str().unwrap(),
            "--tls-key",
            c.encrypted_key.to_str().unwrap(),
            "--tls-password-file",
            c.password_file.to_str().unwrap(),
            "0",
        ],
    );
    assert!(
        line.starts_with("Serving HTTPS on 127.0.0.1 port "),
        "{line}"
    );
    let port = port_in(&line);
    assert!(
        line.contains(&format!("(https://127.0.0.1:{port}/) ...")),
        "{line}"
    );
    let Some(curl) = require("curl") else { return };
    let o = Command::new(&curl)
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&c.cert)
        .arg(format!("https://127.0.0.1:{port}/a.txt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, b"over tls\n");
    // A file larger than a TLS record goes through the session, not sendfile.
    let o = Command::new(&curl)
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&c.cert)
        .arg(format!("https://127.0.0.1:{port}/big.bin"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        o.stdout == big,
        "3 MiB over TLS intact ({} bytes)",
        o.stdout.len()
    );
}

#[test]
fn http_server_example_refuses_tls_key_without_cert() {
    let o = Command::new(common::example_bin("http_server"))
        .args(["--tls-key", "k.pem"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("require --tls-cert"));
}
