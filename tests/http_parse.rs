//! The request-head parser against CPython 3.13.0 itself.
//!
//! `differential_against_cpython` feeds a few hundred hand-written and generated request
//! lines and header blocks to `tests/oracle/parse_oracle.py` (CPython's own
//! `parse_request` and `http.client.parse_headers`) and to the crate, and compares every
//! answer. Without the interpreter the test prints `SKIP:` and passes, unless `CI` is set.

mod common;

use socketserver::http::headers::HttpMessage;
use socketserver::http::parse::{
    decode_latin1, decode_request_line, parse_request_line, read_header_block, read_line,
    HeaderError, MAXHEADERS, MAXLINE,
};

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn x(s: &str) -> String {
    format!("x{}", hex(s.as_bytes()))
}

/// The crate's answer for a raw request line, in the oracle's format.
fn ours_line(raw: &[u8]) -> String {
    let mut s = String::new();
    decode_latin1(raw, &mut s);
    let line = s.trim_end_matches(['\r', '\n']);
    // The handler's way: strip the bytes, then decode.
    let mut handlers = String::new();
    decode_request_line(raw, &mut handlers);
    assert_eq!(handlers, line);
    match parse_request_line(line) {
        Ok(rl) => format!(
            "OK {} {} {} {} {}",
            x(rl.command),
            x(rl.path),
            rl.version.map_or("-".to_owned(), x),
            rl.version_number.0,
            rl.version_number.1
        ),
        Err(e) if e.code() == 0 => "EMPTY".to_owned(),
        Err(e) => format!("ERR {} {}", e.code(), x(&e.message())),
    }
}

/// How a header block is read and parsed: the outcome, the bytes consumed, the headers.
type Reading = (Result<(), HeaderError>, usize, HttpMessage);

/// One way of reading a block.
type ReadFn = dyn Fn(&[u8]) -> Reading;

/// `read_header_block`, then `HttpMessage::parse` of the block.
fn two_steps(data: &[u8]) -> Reading {
    let mut r = data;
    let mut block = Vec::new();
    let res = read_header_block(&mut r, &mut block).expect("reading a slice cannot fail");
    (res, data.len() - r.len(), HttpMessage::parse(&block))
}

/// `HttpMessage::read_from` (what the handler does by default) through a `BufReader` of
/// `cap` bytes.
fn read_from(data: &[u8], cap: usize) -> Reading {
    let mut r = std::io::BufReader::with_capacity(cap, data);
    let mut m = HttpMessage::new();
    let res = m.read_from(&mut r).expect("reading a slice cannot fail");
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut rest).unwrap();
    (res, data.len() - rest.len(), m)
}

/// The crate's answer for the bytes after a request line. `skip_str` is the oracle's
/// decision (it knows where CPython's `str()` is documented to differ).
fn ours_block(data: &[u8], skip_str: bool, read: impl Fn(&[u8]) -> Reading) -> String {
    let (res, consumed, m) = read(data);
    match res {
        Err(e) => {
            let kind = match e {
                HeaderError::LineTooLong => "LineTooLong",
                HeaderError::TooManyHeaders => "TooManyHeaders",
            };
            format!("HERR {kind} {consumed} {}", x(e.explain()))
        }
        Ok(()) => {
            let text = if skip_str {
                "!skip".to_owned()
            } else {
                x(&m.to_string())
            };
            let mut out = format!("HOK {consumed} {text} {}", m.len());
            for (n, v) in m.iter() {
                out.push_str(&format!(" {} {}", x(n), x(v)));
            }
            out
        }
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }
}

fn hand_written_lines() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        // python-stdlib.md §2.2
        &b"GET / HTTP/1.1\r\n"[..],
        b"XYZBOGUS / HTTP/1.1\n",
        b"GET / FUBAR\r\n",
        b"GET / HTTP/9.9.9\r\n",
        b"GET / HTTP/-9_9_9.+9_9_9\r\n",
        b"GET / HTTP/909876543210.0\r\n",
        b"GET / HTTP/1.909876543210\r\n",
        b"GET / \r\n",
        b"CUSTOM / \r\n",
        b"GET / HTTP/9.9\r\n",
        b" /  \r\n",
        // §2.9.1
        b"GET / HTTP/1.0\r\n",
        b"GET / HTTP/01.1\r\n",
        b"get / HTTP/1.0\r\n",
        b"GET / HTTP/1.0\n",
        b"GET / HTTP/-1.1\r\n",
        b"GET / http/1.1\r\n",
        b"GET / HTTP/2.0\r\n",
        b"POST /\r\n",
        b"GET /\r\n",
        b"GET\r\n",
        b"GET /spaced out HTTP/1.1\r\n",
        b"\r\n",
        b"",
        b"<script>alert(\"hello\")</script> / HTTP/1.1\r\n",
        // §2.9.6
        b"GET  /a   HTTP/1.0  \r\n",
        b"GET\t/a\tHTTP/1.0\r\n",
        b" GET /a HTTP/1.0\r\n",
        b"GET //a//b HTTP/1.0\r\n",
        b"GET http://h/x HTTP/1.0\r\n",
        b"GET * HTTP/1.0\r\n",
        // edges
        b"GET / HTTP/1.1\r\r\n",
        b"GET / HTTP/1.1\n\r",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET\x1c/\x1dHTTP/1.0\x1e\x1f",
        b"GET\x0b/\x0cHTTP/1.0",
        b"GET\x85/\xa0HTTP/1.0",
        b"GET\x00/ HTTP/1.0",
        b"GET /\x1b[31m\x7f\\x HTTP/1.0",
        b"GET /\x1b[31m\x7f\\x HTTP/1.0 extra",
        b"GET / HTTP/\xb2.\xb3",
        b"GET / HTTP/\xb91.1",
        b"GET / HTTP/1.",
        b"GET / HTTP/.1",
        b"GET / HTTP/1.1.",
        b"GET / HTTP/1",
        b"GET / HTTP/",
        b"GET / HTTP",
        b"GET / HTTP/1/1",
        b"GET / HTTP/1.1/",
        b"GET / HTTP/+1.1",
        b"GET / HTTP/ 1.1",
        b"GET / HTTP/1 .1",
        b"GET / HTTP/1.0x",
        b"GET / HTTP/9999999999.0",
        b"GET / HTTP/1.9999999999",
        b"GET / HTTP/1.4294967296",
        b"GET / HTTP/0000000001.0000000001",
        b"GET / HTTP/00000000001.1",
        b"GET / HTTP/0.9",
        b"GET / HTTP/0.0",
        b"GET / HTTP/1.99",
        b"GET / HTTP/2.1",
        b"GET / HTTP/02.0",
        b"GET /a /b HTTP/2.0",
        b"GET /a /b HTTP/1.1",
        b"GET /a /b FOO",
        b"A B C D E",
        b"GET / 'x\"",
        b"GET / it's",
        b"GET / \"q\"",
        b"POST '/",
        b"P\xc3\xa9 /",
        b"PUT /\xe4 HTTP/1.1",
        b"GET ////// HTTP/1.1",
        b"GET // HTTP/1.1",
        b"GET /// ",
        b"GET //x",
        b"   \t  \r\n",
        b"\x1c\x1d\r\n",
        b"\xa0",
        b"GET",
        b"G",
        b"GET /",
        b"get /",
        b"GET /\\ HTTP/1.0\\",
    ]
    .iter()
    .map(|l| l.to_vec())
    .collect();
    // The longest line the handler passes on (65536 bytes with the CRLF).
    let mut long = b"GET /".to_vec();
    long.resize(65536 - b" HTTP/1.0\r\n".len(), b'a');
    long.extend_from_slice(b" HTTP/1.0\r\n");
    v.push(long);
    let mut long_bad = b"GET /".to_vec();
    long_bad.resize(60000, b'a');
    long_bad.extend_from_slice(b" x HTTP/1.0\r\n");
    v.push(long_bad);
    v
}

fn generated_lines(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let words: &[&[u8]] = &[
        b"GET",
        b"POST",
        b"get",
        b"HEAD",
        b"/",
        b"//a",
        b"/a//b",
        b"*",
        b"HTTP/1.1",
        b"HTTP/1.0",
        b"HTTP/0.9",
        b"HTTP/2.0",
        b"HTTP/1.",
        b"HTTP/11.22",
        b"HTTP/1.1.1",
        b"http/1.1",
        b"FOO",
        b"'",
        b"\"",
        b"\\",
        b"\xe4",
        b"\x85",
        b"\xa0",
        b"\x00",
        b"\x1b",
        b"x",
        b"HTTP/",
        b"HTTP/00.09",
        b"HTTP/1.0000000000",
    ];
    let seps: &[&[u8]] = &[
        b" ", b" ", b" ", b"  ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x1f", b"\x85", b"\xa0", b"",
    ];
    let ends: &[&[u8]] = &[b"\r\n", b"\n", b"", b"\r", b"\r\r\n", b" \r\n"];
    (0..n)
        .map(|_| {
            let mut l = Vec::new();
            if rng.below(5) == 0 {
                l.extend_from_slice(rng.pick(seps));
            }
            let count = rng.below(6);
            for i in 0..count {
                if i > 0 {
                    l.extend_from_slice(rng.pick(seps));
                }
                l.extend_from_slice(rng.pick(words));
                if rng.below(4) == 0 {
                    l.extend_from_slice(rng.pick(words));
                }
            }
            l.extend_from_slice(rng.pick(ends));
            l
        })
        .collect()
}

fn hand_written_blocks() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b"\r\n"[..],
        b"\n",
        b"",
        b"Host: x\r\n\r\n",
        b"Host: x\r\n\r\nbody after the head",
        b"Host: x\r\n",
        b"Host: x",
        b"NoColonHere\r\nX: 1\r\n\r\n",
        b"X: 1\r\nNoColonHere\r\nY: 2\r\n\r\n",
        b"X : spaced\r\n\r\n",
        b"X: 1\r\n  continued\r\n\r\n",
        b"X: 1\r\n\tcontinued\r\nY: 2\r\n\r\n",
        b"X:\r\n  cont\r\n\r\n",
        b"X:  \t \r\n\r\n",
        b"X: 1\r\n \r\n\r\n",
        b"X: 1\r\n\t\r\n\r\n",
        b"X: 1 \r\n  2\r\n\r\n",
        b"X: 1  \r\n  2 \r\n\r\n",
        b"X: 1\t \r\n \t2\r\n\r\n",
        b"X: 1\r\n  a: b\r\n\r\n",
        b"X: a\rY: b\r\n\r\n",
        b"X: a\r\r\nY: b\r\n\r\n",
        b"X: a\r\n\rY: b\r\n\r\n",
        b"X: \xe4\xff\r\n\r\n",
        b"X\xe4: 1\r\n\r\n",
        b"Host: a\r\nHost: b\r\nhost: c\r\n\r\n",
        b"X: a\x0bb\r\n\r\n",
        b"X: a\x0cb\x1cc\r\n\r\n",
        b"X: a\x1fb\r\n\r\n",
        b"X: a\x85b\r\n\r\n",
        b"X: a\x00b\r\n\r\n",
        b"From me\r\nX: 1\r\n\r\n",
        b"X: 1\r\nFrom me\r\n\r\n",
        b"X: 1\r\n  c\r\nFrom me\r\n\r\n",
        b"X: 1\r\nFrom me\r\nY: 2\r\n\r\n",
        b"X: 1\r\nFrom me\r\n  cont\r\nY: 2\r\n\r\n",
        b"X: 1\r\nFrom me\r\n\rY: 2\r\n\r\n",
        b"X: 1\r\nFrom me\r\nnot a header\r\n\r\n",
        b"From me\r\n\r\n",
        b"From me",
        b"From: me\r\n\r\n",
        b"From  me\r\nX: 1\r\nFrom you\r\n\r\n",
        b":x\r\n  c\r\nY: 1\r\n\r\n",
        b"X: 1\r\n:x\r\n  c\r\nY: 1\r\n\r\n",
        b" leading continuation\r\nX: 1\r\n\r\n",
        b"X: a   \r\n\r\n",
        b"X-\x7e!#$%&'*+.^_`|~09: v\r\n\r\n",
        b"X;: v\r\n\r\n",
        b"X\x7f: v\r\n\r\n",
        b"Content-Type: multipart/form-data; boundary=xx\r\n\r\n",
        b"Content-Type: multipart/form-data\r\n\r\n",
        b"Content-Type: multipart/form-data\r\nbody\r\n\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: Message/RFC822 ; x=y\r\n\r\n",
        b"Content-Type: message/rfc822\r\nX: 1\r\n\r\n",
        b"Content-Type: message/rfc822\r\n\rX: 1\r\n\rbody\r\n\r\n",
        b"Content-Type: message/rfc822\r\nFrom me\r\n\rX: 1\r\n\r\n",
        b"Content-Type: message/delivery-status\r\n\r\n",
        b"Content-Type: message\r\n\rX: 1\r\n\r\n",
        b"Content-Type: a/b/c\r\n\rX: 1\r\n\r\n",
        b"Content-Type: \xa0message/x\xa0\r\n\rX: 1\r\n\r\n",
        b"X: 1\r\nbody\r\nmore\r\n\r\n",
        b"X: 1\r\nbody\rmore\n\r\n",
        b"Connection: close\r\nExpect: 100-continue\r\n\r\n",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    // Line limits (§2.6 test_header_length; the exact boundary).
    let mut at_limit = b"X-Foo: ".to_vec();
    at_limit.resize(MAXLINE - 2, b'r');
    at_limit.extend_from_slice(b"\r\n\r\n");
    v.push(at_limit);
    let mut over = b"X-Foo: bar".to_vec();
    over.resize(over.len() + 65537, b'r');
    over.extend_from_slice(b"\r\n\r\n");
    v.push(over);
    let mut over_by_one = b"X-Foo: ".to_vec();
    over_by_one.resize(MAXLINE - 1, b'r');
    over_by_one.extend_from_slice(b"\r\n\r\n");
    v.push(over_by_one);
    // Header counts: 99 accepted; 100 and 101 refused (the blank line counts).
    for n in [MAXHEADERS - 1, MAXHEADERS, MAXHEADERS + 1] {
        let mut b = b"X-Foo: bar\r\n".repeat(n);
        b.extend_from_slice(b"\r\n");
        v.push(b);
    }
    // 100 lines and EOF without a blank line: accepted.
    v.push(b"X-Foo: bar\r\n".repeat(MAXHEADERS));
    v
}

fn generated_blocks(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let names: &[&[u8]] = &[
        b"Host",
        b"X",
        b"content-type",
        b"Content-Type",
        b"From",
        b"From ",
        b"",
        b" ",
        b"\t",
        b"X\xc4",
        b"A B",
        b"Connection",
        b"Expect",
        b"\x00",
    ];
    let seps: &[&[u8]] = &[b":", b": ", b" : ", b":\t", b"", b":  "];
    let values: &[&[u8]] = &[
        b"1",
        b"a b ",
        b"  ",
        b"\xe4",
        b"message/rfc822",
        b"multipart/x; boundary=b",
        b"text/plain",
        b"\x0b",
        b"\x00",
        b"a\rb",
        b"--b",
        b"",
        b"close",
        b"keep-alive",
        b"x:y",
        b" ",
        b"From me",
    ];
    let ends: &[&[u8]] = &[b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b" \r\n"];
    (0..n)
        .map(|_| {
            let mut b = Vec::new();
            for _ in 0..rng.below(8) {
                b.extend_from_slice(rng.pick(names));
                b.extend_from_slice(rng.pick(seps));
                b.extend_from_slice(rng.pick(values));
                b.extend_from_slice(rng.pick(ends));
            }
            match rng.below(5) {
                0 => {}
                1 => b.extend_from_slice(b"\n"),
                2 => b.extend_from_slice(b"\r\nbody"),
                _ => b.extend_from_slice(b"\r\n"),
            }
            b
        })
        .collect()
}

#[test]
fn differential_against_cpython() {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let lines: Vec<Vec<u8>> = hand_written_lines()
        .into_iter()
        .chain(generated_lines(&mut rng, 250))
        .collect();
    let blocks: Vec<Vec<u8>> = hand_written_blocks()
        .into_iter()
        .chain(generated_blocks(&mut rng, 250))
        .collect();
    let mut input = String::new();
    for l in &lines {
        input.push_str(&format!("L {}\n", hex(l)));
    }
    for b in &blocks {
        input.push_str(&format!("B {}\n", hex(b)));
    }
    let Some(answers) =
        common::diff::run_oracle("differential_against_cpython", "parse_oracle.py", &input)
    else {
        return;
    };
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(
        answers.len(),
        lines.len() + blocks.len(),
        "one answer per case"
    );

    let mut failures = Vec::new();
    for (l, want) in lines.iter().zip(&answers) {
        let got = ours_line(l);
        if got != *want {
            failures.push(format!(
                "request line {:?}\n  cpython: {want}\n  ours:    {got}",
                String::from_utf8_lossy(l)
            ));
        }
    }
    for (b, want) in blocks.iter().zip(&answers[lines.len()..]) {
        let skip_str = want.split(' ').nth(2) == Some("!skip");
        // Both ways of reading a block: the two steps, and `read_from` (which parses
        // while it reads when the block is in the buffer whole) at several buffer sizes.
        let ways: [(&str, &ReadFn); 4] = [
            ("read_header_block + parse", &two_steps),
            ("read_from, 8 KiB buffer", &|d| read_from(d, 8192)),
            ("read_from, 128 KiB buffer", &|d| read_from(d, 1 << 17)),
            ("read_from, 7-byte buffer", &|d| read_from(d, 7)),
        ];
        for (how, read) in ways {
            let got = ours_block(b, skip_str, read);
            if got != *want {
                failures.push(format!(
                    "header block {:?} ({how})\n  cpython: {want}\n  ours:    {got}",
                    String::from_utf8_lossy(&b[..b.len().min(200)])
                ));
            }
        }
    }
    println!(
        "differential: {} request lines, {} header blocks, {} mismatches",
        lines.len(),
        blocks.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from CPython:\n{}",
        failures.len(),
        lines.len() + blocks.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Property tests: no input makes the parser panic, and where both it and httparse accept
// a request head they read the same method, path, version and headers.
// ---------------------------------------------------------------------------------------

use proptest::prelude::*;

type Head = (String, String, (u32, u32), Vec<(String, String)>);

/// The whole head as the handler reads it: the request line (`readline(65537)`), then
/// the header block. `None` where CPython would answer with an error (or, for HTTP/0.9,
/// where httparse has no counterpart).
fn ours_head(input: &[u8]) -> Option<Head> {
    let mut r = input;
    let mut raw = Vec::new();
    read_line(&mut r, MAXLINE + 1, &mut raw).ok()?;
    if raw.len() > MAXLINE {
        return None;
    }
    let mut line = String::new();
    decode_request_line(&raw, &mut line);
    let rl = parse_request_line(&line).ok()?;
    rl.version?;
    let mut m = HttpMessage::new();
    m.read_from(&mut r).ok()?.ok()?;
    let headers = m
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    Some((
        rl.command.to_owned(),
        rl.path.to_owned(),
        rl.version_number,
        headers,
    ))
}

/// httparse's reading of the same bytes, normalised to compare with ours: text decoded
/// as Latin-1 (as CPython decodes it), the `//` collapse CPython applies to the path,
/// and the path cut at the first U+0085 or U+00A0.
///
/// That cut is a real difference between the two: httparse takes a UTF-8 target such as
/// `/Å` (bytes `C3 85`) whole, while CPython decodes it as Latin-1 (`/Ã\x85`) and its
/// `str.split()` treats U+0085 (and U+00A0) as whitespace. When CPython still sees three
/// words, the byte was at the end of the target and CPython's path is the part before it.
fn httparse_head(input: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(input) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let latin1 = |b: &[u8]| {
        let mut s = String::new();
        decode_latin1(b, &mut s);
        s
    };
    let mut path = latin1(req.path?.as_bytes());
    if let Some(cut) = path.find(['\u{85}', '\u{a0}']) {
        path.truncate(cut);
    }
    if path.starts_with("//") {
        path = format!("/{}", path.trim_start_matches('/'));
    }
    let headers = req
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), latin1(h.value)))
        .collect();
    Some((
        req.method?.to_owned(),
        path,
        (1, u32::from(req.version?)),
        headers,
    ))
}

/// Bytes of the request-target: ASCII visible characters and UTF-8 text. (A UTF-8
/// sequence with a 0x85 or 0xA0 byte, such as `Å` or `à`, makes CPython split the line
/// there; the well-formed heads below avoid them so that both parsers accept every one,
/// and the mutations bring them in.)
fn target_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (0x21u8..0x7f).prop_map(|b| vec![b]),
        1 => Just("é".as_bytes().to_vec()),
        1 => Just("€".as_bytes().to_vec()),
        1 => Just("日本".as_bytes().to_vec()),
        1 => Just(b"/".to_vec()),
    ]
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn value_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => 0x20u8..0x7f,
        1 => Just(b'\t'),
        1 => 0x80u8..=0xff,
    ]
}

prop_compose! {
    /// A request head httparse accepts (before `mutate`).
    fn request_head()(
        method in "[A-Z]{1,7}|[a-z!#$%&'*+.^_`|~-]{1,5}",
        slashes in 1usize..4,
        target in proptest::collection::vec(target_piece(), 0..12),
        minor in 0u8..2,
        headers in proptest::collection::vec(
            (token(), prop_oneof![Just(":"), Just(": "), Just(":  "), Just(":\t")],
             proptest::collection::vec(value_byte(), 0..24), prop_oneof![Just("\r\n"), Just("\n")]),
            0..10),
        end in prop_oneof![Just("\r\n"), Just("\n")],
        body in proptest::collection::vec(any::<u8>(), 0..8),
    ) -> Vec<u8> {
        let mut b = method.into_bytes();
        b.push(b' ');
        b.extend(std::iter::repeat_n(b'/', slashes));
        b.extend(target.concat());
        b.extend_from_slice(format!(" HTTP/1.{minor}").as_bytes());
        b.extend_from_slice(end.as_bytes());
        for (name, sep, value, eol) in headers {
            b.extend_from_slice(name.as_bytes());
            b.extend_from_slice(sep.as_bytes());
            b.extend_from_slice(&value);
            b.extend_from_slice(eol.as_bytes());
        }
        b.extend_from_slice(end.as_bytes());
        b.extend_from_slice(&body);
        b
    }
}

/// Bytes that steer random input towards the parser's decisions: half are any byte,
/// half come from the characters the parser looks at. (A byte map, not a per-byte
/// `prop_oneof!`, which is slow to generate.)
fn steer(n: u16) -> u8 {
    const PICKS: &[u8] = b"\r\n \t:/\x85\xa0FromX\r\n:";
    let [hi, lo] = n.to_be_bytes();
    if hi < 128 {
        lo
    } else {
        PICKS[usize::from(lo) % PICKS.len()]
    }
}

fn interesting_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u16>(), 0..max).prop_map(|v| v.into_iter().map(steer).collect())
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    any::<u16>().prop_map(steer)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn request_line_never_panics(raw in interesting_bytes(120)) {
        let mut s = String::new();
        decode_latin1(&raw, &mut s);
        match parse_request_line(s.trim_end_matches(['\r', '\n'])) {
            Ok(rl) => {
                prop_assert!(!rl.command.is_empty() && !rl.path.is_empty());
                prop_assert!(!rl.path.starts_with("//"));
            }
            Err(e) => {
                let _ = (e.code(), e.message(), e.to_string());
            }
        }
    }

    #[test]
    fn header_block_never_panics(raw in interesting_bytes(600)) {
        let mut r = raw.as_slice();
        let mut block = Vec::new();
        let res = read_header_block(&mut r, &mut block).unwrap();
        prop_assert_eq!(block.len() + r.len(), raw.len());
        prop_assert!(block.as_slice() == &raw[..block.len()]);
        if res.is_ok() {
            let m = HttpMessage::parse(&block);
            for (name, value) in m.iter() {
                prop_assert!(!name.is_empty() && !name.contains(':'));
                prop_assert!(!value.ends_with(['\r', '\n']));
                prop_assert_eq!(m.get(name).is_some(), true);
            }
            let _ = m.to_string();
        }
        // Any bytes at all, too.
        let m = HttpMessage::parse(&raw);
        let _ = (m.len(), m.to_string(), format!("{m:?}"));
    }

    #[test]
    fn any_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = ours_head(&raw);
        let _ = HttpMessage::parse(&raw).to_string();
    }

    #[test]
    fn agrees_with_httparse(
        head in request_head(),
        mutation in proptest::option::of((any::<prop::sample::Index>(), interesting_byte(), any::<bool>())),
    ) {
        let mut input = head;
        let mutated = mutation.is_some();
        if let Some((at, byte, insert)) = mutation {
            let i = at.index(input.len());
            if insert { input.insert(i, byte) } else { input[i] = byte }
        }
        let ours = ours_head(&input);
        let theirs = httparse_head(&input);
        if !mutated {
            // Well-formed input: both must accept it.
            prop_assert!(ours.is_some(), "we refused {:?}", String::from_utf8_lossy(&input));
            prop_assert!(theirs.is_some(), "httparse refused {:?}", String::from_utf8_lossy(&input));
        }
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            let trim = |h: Vec<(String, String)>| -> Vec<(String, String)> {
                // httparse drops trailing spaces and tabs from values; CPython keeps them.
                h.into_iter().map(|(n, v)| (n, v.trim_end_matches([' ', '\t']).to_owned())).collect()
            };
            prop_assert_eq!(&ours.0, &theirs.0, "method");
            prop_assert_eq!(&ours.1, &theirs.1, "path");
            prop_assert_eq!(ours.2, theirs.2, "version");
            prop_assert_eq!(trim(ours.3), trim(theirs.3), "headers");
        }
    }

    /// `read_from` (parsing while it reads when it can) gives exactly what reading the
    /// block and then parsing it gives — outcome, bytes consumed, headers, `str()` — on
    /// well-formed, mutated and random input, whatever the reader's buffer size.
    #[test]
    fn read_from_is_read_header_block_then_parse(
        head in request_head(),
        mutation in proptest::option::of((any::<prop::sample::Index>(), interesting_byte(), any::<bool>())),
        noise in interesting_bytes(300),
        cap in prop_oneof![Just(8192usize), 1usize..80],
    ) {
        let mut block = head[head.iter().position(|&b| b == b'\n').unwrap() + 1..].to_vec();
        if let Some((at, byte, insert)) = mutation {
            let i = at.index(block.len());
            if insert { block.insert(i, byte) } else { block[i] = byte }
        }
        for input in [&block, &noise] {
            let (want_res, want_used, want) = two_steps(input);
            let (res, used, got) = read_from(input, cap);
            prop_assert_eq!(res, want_res);
            prop_assert_eq!(used, want_used);
            if res.is_ok() {
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(got.to_string(), want.to_string());
            } else {
                prop_assert!(got.is_empty());
            }
        }
    }
}
