//! `examples/pymotw_post` with real clients: curl's `-F` and `--data-urlencode`, uploads
//! of 0 B, 1 B and 100 MiB compared byte for byte with the server's memory measured, and
//! malformed bodies that must get 400/413 while the server keeps answering.

mod common;
mod forms_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{port_in, start_example, ChildGuard};
use forms_common::have_curl;

struct Server {
    child: ChildGuard,
    addr: SocketAddr,
}

fn start(args: &[&str]) -> Server {
    // `cargo test --test forms` does not rebuild examples: refuse a stale one.
    common::diff::fresh_example_bin("pymotw_post");
    let mut all = args.to_vec();
    all.push("0");
    let (child, _out, line) = start_example("pymotw_post", &all);
    let addr = SocketAddr::from(([127, 0, 0, 1], port_in(&line)));
    Server { child, addr }
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn curl(&self, args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "120"])
            .arg(self.url())
            .args(args)
            .output()
            .expect("run curl");
        assert!(out.status.success(), "curl {args:?}: {:?}", out);
        String::from_utf8(out.stdout).unwrap()
    }

    /// Sends raw bytes, half-closes, and returns the whole answer.
    fn raw(&self, request: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut w = s.try_clone().unwrap();
        let request = request.to_vec();
        // The server may answer (and close) before the request is all sent.
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&request);
            let _ = w.shutdown(std::net::Shutdown::Write);
        });
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        writer.join().unwrap();
        answer
    }

    /// The server still answers a normal form.
    fn assert_alive(&self) {
        let out = self.curl(&["-F", "after=ok"]);
        assert!(out.ends_with("Form data:\n\tafter=ok\n"), "{out}");
    }

    fn status_line(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.0.id())).unwrap()
    }

    /// A `/proc/PID/status` figure in KiB (`VmHWM`, `VmRSS`).
    fn kib(&self, key: &str) -> u64 {
        let status = self.status_line();
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Stops the server and checks that it never panicked.
    fn stop_without_panic(mut self) {
        let _ = self.child.0.kill();
        let _ = self.child.0.wait();
        let mut err = String::new();
        self.child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(!err.contains("panicked"), "the server panicked:\n{err}");
    }
}

fn head_of(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    text.lines().next().unwrap_or("").to_owned()
}

#[test]
fn curl_form_gets_the_seed_output() {
    if !have_curl("curl_form_gets_the_seed_output") {
        return;
    }
    let server = start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("BaseHTTPServer_GET.py");
    std::fs::write(&file, vec![b'#'; 2222]).unwrap();
    let out = server.curl(&[
        "-F",
        "name=dhellmann",
        "-F",
        "foo=bar",
        "-F",
        &format!("datafile=@{}", file.display()),
    ]);
    let (client, rest) = out.split_once('\n').unwrap();
    assert!(
        client.starts_with("Client: ('127.0.0.1', ") && client.ends_with(')'),
        "{client}"
    );
    assert_eq!(
        rest,
        "Path: /\nForm data:\n\tname=dhellmann\n\tfoo=bar\n\tUploaded datafile (2222 bytes)\n"
    );
    // A file input left empty holds b'' (filename=""), as in Python.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let out = server.curl(&["-F", &format!("f=@{};filename=", empty.display())]);
    assert!(out.ends_with("Form data:\n\tf=b''\n"), "{out}");
    server.stop_without_panic();
}

#[test]
fn curl_data_urlencode() {
    if !have_curl("curl_data_urlencode") {
        return;
    }
    let server = start(&[]);
    let out = server.curl(&[
        "--data-urlencode",
        "name=d h&x=1",
        "--data-urlencode",
        "utf=é€",
        "-d",
        "raw=%zz+plus",
    ]);
    assert!(
        out.ends_with("Form data:\n\tname=d h&x=1\n\tutf=é€\n\traw=%zz plus\n"),
        "{out}"
    );
    let out = server.curl(&["--get", "--data-urlencode", "q=a b"]);
    assert!(
        out.contains("Error code: 501"),
        "a GET is not a POST: {out}"
    );
    server.stop_without_panic();
}

/// A reproducible byte pattern (xorshift), so a shifted or dropped byte shows.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn same_file(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        let mut m = 0;
        while m < n {
            let k = fb.read(&mut bb[m..n]).unwrap();
            if k == 0 {
                return false;
            }
            m += k;
        }
        if n == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

#[test]
fn uploads_arrive_intact_in_bounded_memory() {
    if !have_curl("uploads_arrive_intact_in_bounded_memory") {
        return;
    }
    let saved = tempfile::tempdir().unwrap();
    let server = start(&["--save", saved.path().to_str().unwrap()]);
    let src = tempfile::tempdir().unwrap();
    // Warm up (threads, buffers, the first temporary file), then measure.
    for (name, len) in [("zero", 0usize), ("one", 1), ("small", 100_000)] {
        let path = src.path().join(name);
        std::fs::write(&path, pattern(len)).unwrap();
        let out = server.curl(&["-F", &format!("{name}=@{}", path.display())]);
        assert!(
            out.ends_with(&format!("\tUploaded {name} ({len} bytes)\n")),
            "{out}"
        );
        assert!(same_file(&path, &saved.path().join(name)), "{name} differs");
    }
    let before = server.kib("VmHWM:");
    let big = src.path().join("big");
    {
        let mut f = std::fs::File::create(&big).unwrap();
        let chunk = pattern(1 << 20);
        for i in 0..100u8 {
            let mut c = chunk.clone();
            c[0] = i;
            f.write_all(&c).unwrap();
        }
    }
    let out = server.curl(&["-F", "name=big", "-F", &format!("big=@{}", big.display())]);
    assert!(
        out.ends_with("\tname=big\n\tUploaded big (104857600 bytes)\n"),
        "{out}"
    );
    let after = server.kib("VmHWM:");
    let growth = after.saturating_sub(before);
    eprintln!("100 MiB upload: server VmHWM {before} KiB -> {after} KiB (+{growth} KiB)");
    assert!(growth < 16 * 1024, "peak RSS grew by {growth} KiB");
    assert!(
        same_file(&big, &saved.path().join("big")),
        "the 100 MiB upload differs"
    );
    server.stop_without_panic();
}

fn post(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

#[test]
fn malformed_forms_get_400_or_413_and_the_server_goes_on() {
    if !have_curl("malformed_forms_get_400_or_413_and_the_server_goes_on") {
        return;
    }
    let server = start(&[]);
    let ct = "multipart/form-data; boundary=XyZ";

    // No boundary parameter.
    let answer = server.raw(&post(
        "multipart/form-data",
        b"--XyZ\r\n\r\nx\r\n--XyZ--\r\n",
    ));
    assert_eq!(
        head_of(&answer),
        "HTTP/1.0 400 Invalid boundary in multipart form: \"\""
    );
    server.assert_alive();

    // A body that stops short of Content-Length (the client half-closes).
    let mut req = post(
        ct,
        b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\npartial",
    );
    let text = String::from_utf8(req.clone()).unwrap();
    req = text
        .replace("Content-Length: ", "Content-Length: 9")
        .into_bytes();
    let answer = server.raw(&req);
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 400 "),
        "{}",
        head_of(&answer)
    );
    server.assert_alive();

    // A body that ends before the closing boundary.
    let answer = server.raw(&post(
        ct,
        b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nno end\r\n",
    ));
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 400 "),
        "{}",
        head_of(&answer)
    );
    server.assert_alive();

    // A 1 MB part header.
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=a\r\nX-Big: ".to_vec();
    body.extend(std::iter::repeat_n(b'h', 1_000_000));
    body.extend_from_slice(b"\r\n\r\nx\r\n--XyZ--\r\n");
    let answer = server.raw(&post(ct, &body));
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 413 "),
        "{}",
        head_of(&answer)
    );
    server.assert_alive();

    // 10^5 fields, multipart and urlencoded.
    let mut body = Vec::new();
    for i in 0..100_000 {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=f{i}\r\n\r\n{i}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    let answer = server.raw(&post(ct, &body));
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 413 "),
        "{}",
        head_of(&answer)
    );
    server.assert_alive();
    let body = "a=1&".repeat(100_000);
    let answer = server.raw(&post("application/x-www-form-urlencoded", body.as_bytes()));
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 413 "),
        "{}",
        head_of(&answer)
    );
    server.assert_alive();

    // A body above the total limit is refused from its Content-Length alone.
    let answer = server.raw(
        b"POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 99999999999\r\n\r\n",
    );
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 413 "),
        "{}",
        head_of(&answer)
    );
    // An unknown content type.
    let answer = server.raw(&post("text/plain", b"hello"));
    assert!(
        head_of(&answer).starts_with("HTTP/1.0 415 "),
        "{}",
        head_of(&answer)
    );
    server.assert_alive();
    server.stop_without_panic();
}

#[test]
fn boundary_split_across_reads() {
    let server = start(&[]);
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nfirst\r\n--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\nsecond\r\n--XyZ--\r\n";
    let req = post("multipart/form-data; boundary=XyZ", body);
    let head_len = req.len() - body.len();
    // Cut inside each delimiter ("\r\n--X|yZ") and inside the header block.
    let cuts = [
        head_len + 3,
        head_len + 30,
        head_len + 57,
        head_len + 60,
        req.len() - 4,
    ];
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut last = 0;
    for cut in cuts.into_iter().chain([req.len()]) {
        s.write_all(&req[last..cut]).unwrap();
        last = cut;
        // Give each piece its own segment and its own read on the server.
        std::thread::sleep(Duration::from_millis(30));
    }
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8(answer).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(
        text.ends_with("Form data:\n\ta=first\n\tb=second\n"),
        "{text}"
    );
    server.stop_without_panic();
}

/// A FastCGI responder's params and stdin feed `from_environ` as they are.
#[test]
fn fastcgi_params_and_stdin_give_the_form() {
    use socketserver::fcgi::Params;
    use socketserver::http::forms::{FieldStorage, FormOptions};
    let body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n\x00\xff\r\n--b--\r\n";
    let params: Params = [
        ("REQUEST_METHOD", "POST".to_owned()),
        ("QUERY_STRING", "q=1".to_owned()),
        ("CONTENT_TYPE", "multipart/form-data; boundary=b".to_owned()),
        ("CONTENT_LENGTH", body.len().to_string()),
    ]
    .into_iter()
    .collect();
    let form = FieldStorage::from_environ(
        |k| params.get(k).map(str::to_owned),
        &body[..],
        &FormOptions::default(),
    )
    .unwrap();
    assert_eq!(form.keys(), ["q", "f"]);
    let f = form.get("f").unwrap();
    assert_eq!(f.upload().unwrap().read_all().unwrap(), b"\x00\xff");
    // CONTENT_LENGTH says more than stdin holds: a truncated body, not a short form.
    let short = FieldStorage::from_environ(
        |k| params.get(k).map(str::to_owned),
        &body[..body.len() - 1],
        &FormOptions::default(),
    );
    assert_eq!(short.unwrap_err().status(), 400);
}
