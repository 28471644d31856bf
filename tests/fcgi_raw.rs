//! FastCGI over raw sockets: what no web server sends (GET_VALUES, unknown types, other
//! roles, padding 255, split pairs, other ids, aborts, a second BEGIN), bad input, and
//! every server and mix-in.

mod common;
mod fcgi_common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Kind, Running};
use fcgi_common::*;
use socketserver::fcgi::record::{pack_pair, pack_rec_into, Header, Request};
use socketserver::fcgi::{fastcgi_server, remove_stale_socket, FnHandler};
use socketserver::{
    BaseServer, TcpServer, ThreadPoolTcpServer, ThreadPoolUnixStreamServer, ThreadingTcpServer,
    ThreadingUnixStreamServer, UnixStreamServer,
};

struct Served {
    _dir: tempfile::TempDir,
    path: PathBuf,
    _running: common::Served,
    probe: Arc<Probe>,
}

/// The probe, shared with the test so that it can read the call count.
struct SharedProbe(Arc<Probe>);

impl socketserver::fcgi::FcgiHandler for SharedProbe {
    fn max_conns(&self) -> usize {
        self.0.max_conns()
    }
    fn handle(&self, req: &mut socketserver::fcgi::FcgiRequest) -> socketserver::Result<()> {
        self.0.handle(req)
    }
}

impl Served {
    fn calls(&self) -> usize {
        self.probe.calls.load(Ordering::SeqCst)
    }
}

/// The probe on a unix socket, served by a server of `kind`.
fn serve(kind: Kind) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fcgi.sock");
    let probe = Arc::new(Probe::default());
    let server = UnixStreamServer::new(&path, SharedProbe(probe.clone())).unwrap();
    Served {
        _dir: dir,
        path,
        _running: common::serve(kind, server),
        probe,
    }
}

fn pairs_of(stream: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    socketserver::fcgi::record::unpack_pairs(stream)
        .map(|p| p.map(|(n, v)| (n.to_vec(), v.to_vec())).unwrap())
        .collect()
}

each_kind! {
fn get_values_is_answered_on_request_id_0(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    // Written out by hand: GET_VALUES, id 0, three names with empty values and one
    // unknown name.
    let mut content = Vec::new();
    for name in [
        "FCGI_MAX_CONNS",
        "FCGI_MAX_REQS",
        "FCGI_MPXS_CONNS",
        "FCGI_NOPE",
    ] {
        content.push(name.len() as u8);
        content.push(0);
        content.extend_from_slice(name.as_bytes());
    }
    let mut rec = vec![1, 9, 0, 0, 0, content.len() as u8, 0, 0];
    rec.extend_from_slice(&content);
    c.write_all(&rec).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    let got = r.next().unwrap();
    assert_eq!((got.typ, got.id), (10, 0), "GET_VALUES_RESULT on id 0");
    assert_eq!(
        pairs_of(&got.content),
        [
            (b"FCGI_MAX_CONNS".to_vec(), b"42".to_vec()),
            (b"FCGI_MAX_REQS".to_vec(), b"42".to_vec()),
            (b"FCGI_MPXS_CONNS".to_vec(), b"0".to_vec()),
        ]
    );
    // The connection still serves a request afterwards, and GET_VALUES in the middle
    // of a request is answered too.
    let mut req = get(1, false, "/x", "a=1");
    let split = req.len() - 8;
    req.splice(split..split, rec.iter().copied());
    c.write_all(&req).unwrap();
    let first = r.next().unwrap();
    assert_eq!((first.typ, first.id), (10, 0));
    let reply = r.until_end(1);
    reply.assert_well_formed(1);
    assert_eq!(reply.body(), b"GET a=1\n");
    assert!(r.at_eof(), "closed after a request without FCGI_KEEP_CONN");
}
}

each_kind! {
fn unknown_management_types_get_unknown_type(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut out = Vec::new();
    for typ in [0u8, 12, 200, 255, 10] {
        out.extend_from_slice(
            &Header {
                version: 1,
                record_type: typ,
                request_id: 0,
                content_length: 3,
                padding_length: 5,
            }
            .to_bytes(),
        );
        out.extend_from_slice(b"abc\0\0\0\0\0");
    }
    c.write_all(&out).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    for typ in [0u8, 12, 200, 255, 10] {
        let got = r.next().unwrap();
        assert_eq!((got.typ, got.id), (11, 0));
        assert_eq!(got.content, [typ, 0, 0, 0, 0, 0, 0, 0]);
    }
    // Unknown types for a request id are ignored, as the spec says.
    let mut req = Vec::new();
    begin(&mut req, 1, 1, 0);
    req.extend_from_slice(
        &Header {
            version: 1,
            record_type: 99,
            request_id: 1,
            content_length: 2,
            padding_length: 0,
        }
        .to_bytes(),
    );
    req.extend_from_slice(b"zz");
    params(
        &mut req,
        1,
        &[(b"SCRIPT_NAME", b"/t"), (b"REQUEST_METHOD", b"GET")],
    );
    stdin(&mut req, 1, b"", 1);
    c.write_all(&req).unwrap();
    let reply = r.until_end(1);
    reply.assert_well_formed(1);
    assert_eq!(reply.body(), b"GET \n");
}
}

each_kind! {
fn other_roles_get_unknown_role_without_reaching_the_handler(kind) {
    let s = serve(kind);
    for role in [2u16, 3, 0, 99] {
        // With FCGI_KEEP_CONN: the refusal, then a Responder request on the same
        // connection.
        let mut c = unix(&s.path);
        let mut out = Vec::new();
        begin(&mut out, 5, role, 1);
        params(&mut out, 5, &[(b"SCRIPT_NAME", b"/x")]);
        stdin(&mut out, 5, b"ignored", 100);
        out.extend_from_slice(&get(6, true, "/after", "role"));
        c.write_all(&out).unwrap();
        let mut r = Reader::new(c.try_clone().unwrap());
        let refused = r.next().unwrap();
        assert_eq!((refused.typ, refused.id), (3, 5));
        assert_eq!(
            refused.content,
            [0, 0, 0, 0, 3, 0, 0, 0],
            "FCGI_UNKNOWN_ROLE"
        );
        let reply = r.until_end(6);
        reply.assert_well_formed(6);
        assert_eq!(reply.body(), b"GET role\n");
        // Without it: the refusal, then the connection closes.
        let mut c = unix(&s.path);
        let mut out = Vec::new();
        begin(&mut out, 1, role, 0);
        params(&mut out, 1, &[(b"SCRIPT_NAME", b"/x")]);
        stdin(&mut out, 1, b"", 100);
        c.write_all(&out).unwrap();
        let mut r = Reader::new(c);
        let refused = r.next().unwrap();
        assert_eq!((refused.typ, refused.id, refused.content[4]), (3, 1, 3));
        assert!(r.at_eof());
    }
    assert_eq!(s.calls(), 4, "only the Responder requests reached handle");
}
}

each_kind! {
fn padding_up_to_255_is_skipped(kind) {
    let s = serve(kind);
    for pad in [0u8, 1, 7, 127, 128, 200, 255] {
        let mut out = Vec::new();
        let mut rec = |typ: u8, content: &[u8]| {
            out.extend_from_slice(
                &Header {
                    version: 1,
                    record_type: typ,
                    request_id: 1,
                    content_length: content.len() as u16,
                    padding_length: pad,
                }
                .to_bytes(),
            );
            out.extend_from_slice(content);
            out.extend(std::iter::repeat_n(0xa5, pad as usize));
        };
        rec(1, &[0, 1, 0, 0, 0, 0, 0, 0]);
        let mut p = Vec::new();
        pack_pair(&mut p, b"SCRIPT_NAME", b"/echo");
        pack_pair(&mut p, b"REQUEST_METHOD", b"POST");
        rec(4, &p);
        rec(4, b"");
        rec(5, b"hello ");
        rec(5, b"padding");
        rec(5, b"");
        let reply = exchange_unix(&s.path, &out, 1);
        reply.assert_well_formed(1);
        assert_eq!(reply.body(), b"hello padding", "padding {pad}");
    }
}
}

each_kind! {
fn pairs_split_across_params_records_at_every_point(kind) {
    let s = serve(kind);
    let mut stream = Vec::new();
    pack_pair(&mut stream, b"SCRIPT_NAME", b"/params");
    pack_pair(&mut stream, b"HTTP_USER_AGENT", &[b'u'; 300]);
    pack_pair(&mut stream, &[b'N'; 200], b"long name");
    pack_pair(&mut stream, b"HTTP_X_BIN", b"\xff\x00\xfe");
    pack_pair(&mut stream, b"CONTENT_LENGTH", b"");
    let want = {
        let mut w = Vec::new();
        for (n, v) in socketserver::fcgi::record::unpack_pairs(&stream).map(Result::unwrap) {
            w.extend_from_slice(n);
            w.push(b'=');
            w.extend_from_slice(v);
            w.push(b'\n');
        }
        w
    };
    let mut c = unix(&s.path);
    let mut r = Reader::new(c.try_clone().unwrap());
    // One kept connection, one request per split point (pairs, lengths, names, values
    // all get cut somewhere), each with its own id.
    for (k, cut) in (1..stream.len())
        .step_by(7)
        .chain([2, 3, 4, 5, stream.len() - 1])
        .enumerate()
    {
        let id = (k + 1) as u16;
        let mut out = Vec::new();
        begin(&mut out, id, 1, 1);
        pack_rec_into(&mut out, Request::Params, id, &stream[..cut]);
        pack_rec_into(&mut out, Request::Params, id, &stream[cut..]);
        pack_rec_into(&mut out, Request::Params, id, b"");
        stdin(&mut out, id, b"", 1);
        c.write_all(&out).unwrap();
        let reply = r.until_end(id);
        reply.assert_well_formed(id);
        assert_eq!(reply.body(), want, "cut at {cut}");
    }
}
}

each_kind! {
fn records_arriving_one_byte_at_a_time(kind) {
    // fast.ai parsed each recv() as whole records (bug #4).
    let s = serve(kind);
    let body: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::new();
    begin(&mut out, 1, 1, 0);
    params(
        &mut out,
        1,
        &[(b"SCRIPT_NAME", b"/e"), (b"HTTP_USER_AGENT", &[b'a'; 200])],
    );
    stdin(&mut out, 1, &body, 1000);
    let mut c = unix(&s.path);
    for b in &out {
        c.write_all(std::slice::from_ref(b)).unwrap();
    }
    let reply = Reader::new(c).until_end(1);
    reply.assert_well_formed(1);
    assert_eq!(reply.body(), body);
}
}

each_kind! {
fn request_ids_other_than_1_are_echoed(kind) {
    // fast.ai answered every request with id 1 (bug #9).
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut r = Reader::new(c.try_clone().unwrap());
    for id in [7u16, 2, 256, 0xffff, 1] {
        c.write_all(&get(id, true, "/id", "")).unwrap();
        let reply = r.until_end(id);
        reply.assert_well_formed(id);
        assert!(reply.stdout_str().contains(&format!("X-Id: {id}\r\n")));
    }
}
}

each_kind! {
fn abort_before_handle_answers_end_request_alone(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut out = Vec::new();
    begin(&mut out, 3, 1, 1);
    pack_rec_into(&mut out, Request::Params, 3, b"\x0b\x02SCRIPT_NAME/x");
    pack_rec_into(&mut out, Request::AbortRequest, 3, b"");
    c.write_all(&out).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    let end = r.next().unwrap();
    assert_eq!((end.typ, end.id, end.content.clone()), (3, 3, vec![0; 8]));
    // The rest of the aborted request is ignored; the connection serves the next one.
    let mut rest = Vec::new();
    pack_rec_into(&mut rest, Request::Params, 3, b"");
    stdin(&mut rest, 3, b"late", 10);
    rest.extend_from_slice(&get(4, false, "/next", "q"));
    c.write_all(&rest).unwrap();
    let reply = r.until_end(4);
    reply.assert_well_formed(4);
    assert_eq!(reply.body(), b"GET q\n");
    assert_eq!(s.calls(), 1);
}
}

each_kind! {
fn abort_while_handle_reads_stdin(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut out = Vec::new();
    begin(&mut out, 9, 1, 1);
    params(&mut out, 9, &[(b"SCRIPT_NAME", b"/abortwatch")]);
    pack_rec_into(&mut out, Request::Stdin, 9, b"part of a body");
    // The abort follows the first part of the body: the handler reads those 14 bytes,
    // then its next read meets the abort.
    pack_rec_into(&mut out, Request::AbortRequest, 9, b"");
    c.write_all(&out).unwrap();
    let mut r = Reader::new(c.try_clone().unwrap());
    let reply = r.until_end(9);
    reply.assert_well_formed(9);
    assert_eq!(reply.body(), b"ConnectionAborted after 14 aborted=true");
    assert_eq!(reply.end(), Some((0, 0)), "FCGI_REQUEST_COMPLETE");
    // Kept connection: the next request works.
    c.write_all(&get(10, false, "/n", "")).unwrap();
    r.until_end(10).assert_well_formed(10);
}
}

each_kind! {
fn second_begin_on_a_busy_connection_gets_cant_mpx_conn(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut out = Vec::new();
    begin(&mut out, 1, 1, 0);
    params(
        &mut out,
        1,
        &[(b"SCRIPT_NAME", b"/echo"), (b"REQUEST_METHOD", b"POST")],
    );
    pack_rec_into(&mut out, Request::Stdin, 1, b"first ");
    // A second request while the first is in progress: refused at once.
    begin(&mut out, 2, 1, 0);
    params(&mut out, 2, &[(b"SCRIPT_NAME", b"/other")]);
    stdin(&mut out, 2, b"second body", 100);
    pack_rec_into(&mut out, Request::Stdin, 1, b"half");
    pack_rec_into(&mut out, Request::Stdin, 1, b"");
    c.write_all(&out).unwrap();
    let mut r = Reader::new(c);
    let mut cant = None;
    let mut reply = Reply::default();
    while let Some(rec) = r.next() {
        if rec.id == 2 {
            cant = Some(rec);
            continue;
        }
        let done = rec.typ == 3;
        reply.records.push(rec);
        if done {
            break;
        }
    }
    let cant = cant.expect("a reply for request 2");
    assert_eq!(
        (cant.typ, cant.content.clone()),
        (3, vec![0, 0, 0, 0, 1, 0, 0, 0])
    );
    reply.assert_well_formed(1);
    assert_eq!(
        reply.body(),
        b"first half",
        "request 2's body did not leak into 1's"
    );
    assert!(r.at_eof());
}
}

each_kind! {
fn a_second_begin_for_the_same_id_closes_the_connection(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut out = Vec::new();
    begin(&mut out, 1, 1, 0);
    begin(&mut out, 1, 1, 0);
    c.write_all(&out).unwrap();
    assert!(Reader::new(c).at_eof());
    // The server keeps serving.
    exchange_unix(&s.path, &get(1, false, "/", ""), 1).assert_well_formed(1);
}
}

each_kind! {
fn keep_conn_serves_requests_in_turn_and_drains_unread_bodies(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    let mut r = Reader::new(c.try_clone().unwrap());
    let big = vec![b'b'; 1 << 20];
    // A handler that does not read a 1 MiB body, then more requests on the connection.
    c.write_all(&request(
        1,
        true,
        &[(b"SCRIPT_NAME", b"/noread")],
        &big[..100],
    ))
    .unwrap();
    assert_eq!(r.until_end(1).body(), b"unread");
    let writer = {
        let mut c = c.try_clone().unwrap();
        let big = big.clone();
        std::thread::spawn(move || {
            c.write_all(&request(2, true, &[(b"SCRIPT_NAME", b"/noread")], &big))
                .unwrap();
            c.write_all(&get(3, true, "/third", "")).unwrap();
            c.write_all(&request(4, true, &[(b"SCRIPT_NAME", b"/echo")], b"fourth"))
                .unwrap();
        })
    };
    assert_eq!(r.until_end(2).body(), b"unread");
    assert_eq!(r.until_end(3).body(), b"GET \n");
    assert_eq!(r.until_end(4).body(), b"fourth");
    writer.join().unwrap();
    // The web server closing a kept connection ends the handler quietly.
    c.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(r.at_eof());
    assert_eq!(s.calls(), 4);
}
}

each_kind! {
/// The web server closing a kept connection between requests — with a FIN, or with a
/// reset (a socket closed with our answer unread in it, which nginx does when its client
/// went away) — is the normal end of a connection, not an error.
fn a_kept_connection_closed_or_reset_between_requests_is_no_error(kind) {
    let server = Counting::new(TcpServer::new(("127.0.0.1", 0), Probe::default()).unwrap());
    let errors = server.errors.clone();
    let addr = server.inner.server_address;
    let r = common::serve(kind, server);
    // Closed after reading the answer.
    let mut c = tcp(addr);
    c.write_all(&get(1, true, "/", "")).unwrap();
    let mut rd = Reader::new(c.try_clone().unwrap());
    rd.until_end(1).assert_well_formed(1);
    drop((c, rd));
    // Closed without reading it: the kernel resets the connection, and the server's
    // next read gets ECONNRESET.
    let mut c = tcp(addr);
    c.write_all(&get(1, true, "/", "unread")).unwrap();
    let mut buf = vec![0u8; 65536];
    wait_for("the whole answer, unread", 10, || {
        let n = c.peek(&mut buf).unwrap();
        let mut i = 0;
        while let Ok(Some((next, rec))) = socketserver::fcgi::record::unpack_rec(&buf[..n], i) {
            if rec.header.record_type == 3 {
                return true;
            }
            i = next;
        }
        false
    });
    drop(c);
    // Both handlers have returned once the server has stopped (it joins its threads).
    drop(r);
    assert_eq!(errors.load(Ordering::SeqCst), 0, "nothing reported");
}
}

each_kind! {
fn without_keep_conn_the_server_closes_after_the_request(kind) {
    let s = serve(kind);
    let mut c = unix(&s.path);
    c.write_all(&get(1, false, "/", "")).unwrap();
    // Another request on the same connection is not served.
    let _ = c.write_all(&get(2, false, "/", ""));
    let mut r = Reader::new(c);
    r.until_end(1).assert_well_formed(1);
    assert!(r.at_eof());
}
}

each_kind! {
fn body_ends_at_the_empty_stdin_record_whatever_content_length_says(kind) {
    // fast.ai: int('') on nginx's empty CONTENT_LENGTH (bug #6); a body larger than one
    // recv (bug #4); HTTP_CONTENT_LENGTH instead of the stream's end (bug #7).
    let s = serve(kind);
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    for cl in [&b""[..], b"5", b"not a number"] {
        let mut pairs: Vec<(&[u8], &[u8])> =
            vec![(b"SCRIPT_NAME", b"/echo"), (b"CONTENT_LENGTH", cl)];
        let reply = exchange_unix(&s.path, &request(1, false, &pairs, &body), 1);
        reply.assert_well_formed(1);
        assert_eq!(reply.body(), body);
        pairs.pop();
        let reply = exchange_unix(&s.path, &request(1, false, &pairs, b""), 1);
        assert!(reply.stdout_str().contains("X-Length: None"));
    }
    let reply = exchange_unix(
        &s.path,
        &request(1, false, &[(b"CONTENT_LENGTH", b"12")], b"twelve bytes"),
        1,
    );
    assert!(reply.stdout_str().contains("X-Length: Some(12)"));
}
}

each_kind! {
fn stdin_works_as_a_bufread(kind) {
    let s = serve(kind);
    let body = b"one\ntwo\nthree\n".repeat(5000);
    let reply = exchange_unix(
        &s.path,
        &{
            let mut out = Vec::new();
            begin(&mut out, 1, 1, 0);
            params(&mut out, 1, &[(b"SCRIPT_NAME", b"/bufread")]);
            stdin(&mut out, 1, &body, 777);
            out
        },
        1,
    );
    assert_eq!(reply.body(), format!("15000 {}", body.len()).as_bytes());
}
}

each_kind! {
fn empty_output_still_ends_stdout_and_stderr_is_its_own_stream(kind) {
    // fast.ai's released versions never sent the empty STDOUT record (bug #10).
    let s = serve(kind);
    let reply = exchange_unix(&s.path, &get(1, false, "/empty", ""), 1);
    let kinds: Vec<(u8, usize)> = reply
        .records
        .iter()
        .map(|r| (r.typ, r.content.len()))
        .collect();
    assert_eq!(kinds, [(6, 0), (3, 8)]);
    assert_eq!(reply.end(), Some((0, 0)));

    let reply = exchange_unix(&s.path, &get(1, false, "/stderr", ""), 1);
    reply.assert_well_formed(1);
    assert_eq!(reply.stderr(), b"problem one\nproblem two\n");
    assert_eq!(reply.body(), b"out");
}
}

each_kind! {
fn app_status_and_handler_failures(kind) {
    let s = serve(kind);
    let reply = exchange_unix(&s.path, &get(1, false, "/status7", ""), 1);
    reply.assert_well_formed(1);
    assert_eq!(reply.end(), Some((7, 0)));
    for script in ["/panic", "/fail"] {
        let reply = exchange_unix(&s.path, &get(1, true, script, ""), 1);
        reply.assert_well_formed(1);
        assert!(reply
            .stdout_str()
            .starts_with("Status: 500 Internal Server Error\r\n"));
        assert_eq!(reply.end(), Some((1, 0)));
    }
    // The server goes on serving.
    exchange_unix(&s.path, &get(1, false, "/", ""), 1).assert_well_formed(1);
}
}

each_kind! {
/// A panic in `setup` or `finish` is answered like one in `handle` (500, END_REQUEST
/// with appStatus 1), not with a dropped connection (nginx's 502).
fn panics_in_setup_and_finish_are_answered(kind) {
    struct Panicky;
    impl socketserver::fcgi::FcgiHandler for Panicky {
        fn setup(&self, req: &mut socketserver::fcgi::FcgiRequest) -> socketserver::Result<()> {
            assert_ne!(
                req.params.get("SCRIPT_NAME"),
                Some("/setup"),
                "setup panics"
            );
            Ok(())
        }
        fn handle(&self, _: &mut socketserver::fcgi::FcgiRequest) -> socketserver::Result<()> {
            Ok(())
        }
        fn finish(&self, req: &mut socketserver::fcgi::FcgiRequest) -> socketserver::Result<()> {
            assert_ne!(
                req.params.get("SCRIPT_NAME"),
                Some("/finish"),
                "finish panics"
            );
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("panicky.sock");
    let _r = common::serve(kind, UnixStreamServer::new(&path, Panicky).unwrap());
    for script in ["/setup", "/finish"] {
        let reply = exchange_unix(&path, &get(1, false, script, ""), 1);
        reply.assert_well_formed(1);
        assert!(
            reply
                .stdout_str()
                .starts_with("Status: 500 Internal Server Error\r\n"),
            "{script}"
        );
        assert_eq!(reply.end(), Some((1, 0)), "{script}");
    }
}
}

each_kind! {
fn large_output_is_split_into_records_of_at_most_65535_bytes(kind) {
    let s = serve(kind);
    for n in [0usize, 1, 65535, 65536, 200_000, 1 << 20] {
        let reply = exchange_unix(&s.path, &get(1, false, "/big", &n.to_string()), 1);
        reply.assert_well_formed(1);
        let body = reply.body();
        assert_eq!(body.len(), n);
        assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }
}
}

each_kind! {
fn non_utf8_and_long_params_arrive_intact(kind) {
    // fast.ai: values of 128+ bytes raised TypeError (bug #1); UTF-8 decoding (bug #16).
    let s = serve(kind);
    let long_value = vec![b'v'; 70_000];
    let pairs: Vec<(&[u8], &[u8])> = vec![
        (b"SCRIPT_NAME", b"/params"),
        (b"HTTP_X_LATIN1", b"caf\xe9"),
        (b"HTTP_X_LONG", &long_value),
        (b"HTTP_X_EMPTY", b""),
    ];
    // 70,000 bytes of params do not fit one record: split over two.
    let mut stream = Vec::new();
    for (n, v) in &pairs {
        pack_pair(&mut stream, n, v);
    }
    let mut out = Vec::new();
    begin(&mut out, 1, 1, 0);
    pack_rec_into(&mut out, Request::Params, 1, &stream);
    pack_rec_into(&mut out, Request::Params, 1, b"");
    stdin(&mut out, 1, b"", 1);
    let reply = exchange_unix(&s.path, &out, 1);
    reply.assert_well_formed(1);
    let mut want = Vec::new();
    for (n, v) in &pairs {
        want.extend_from_slice(n);
        want.push(b'=');
        want.extend_from_slice(v);
        want.push(b'\n');
    }
    assert_eq!(reply.body(), want);
}
}

each_kind! {
fn bad_input_closes_the_connection_without_harm(kind) {
    let s = serve(kind);
    let garbage: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        // Version 2.
        vec![2, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        // BEGIN_REQUEST with 3 content bytes.
        vec![1, 1, 0, 1, 0, 3, 0, 0, 0, 1, 0],
        // A pair declaring a 2 GiB value.
        {
            let mut v = Vec::new();
            begin(&mut v, 1, 1, 0);
            pack_rec_into(
                &mut v,
                Request::Params,
                1,
                &[0x01, 0xff, 0xff, 0xff, 0xff, b'A', b'x'],
            );
            v
        },
        // PARAMS over the 1 MiB cap, in full records.
        {
            let mut v = Vec::new();
            begin(&mut v, 1, 1, 0);
            for _ in 0..20 {
                let mut c = Vec::new();
                pack_pair(&mut c, b"HTTP_X", &[b'x'; 60000]);
                pack_rec_into(&mut v, Request::Params, 1, &c);
            }
            v
        },
        // 60,000 distinct tiny pairs (300 kB): over the pair cap, refused fast.
        {
            let mut v = Vec::new();
            begin(&mut v, 1, 1, 0);
            let mut c = Vec::new();
            for i in 0..60_000u32 {
                let name = [
                    b'a' + (i % 26) as u8,
                    b'a' + (i / 26 % 26) as u8,
                    b'a' + (i / 676 % 26) as u8,
                    b'a' + (i / 17576) as u8,
                ];
                pack_pair(&mut c, &name, b"");
                if c.len() > 60_000 {
                    pack_rec_into(&mut v, Request::Params, 1, &c);
                    c.clear();
                }
            }
            pack_rec_into(&mut v, Request::Params, 1, &c);
            pack_rec_into(&mut v, Request::Params, 1, b"");
            v
        },
        // A truncated pair at the end of PARAMS.
        {
            let mut v = Vec::new();
            begin(&mut v, 1, 1, 0);
            pack_rec_into(&mut v, Request::Params, 1, &[5, 5, b'a']);
            pack_rec_into(&mut v, Request::Params, 1, b"");
            stdin(&mut v, 1, b"", 1);
            v
        },
    ];
    for g in &garbage {
        let mut c = unix(&s.path);
        // The server may close before reading everything.
        let _ = c.write_all(g);
        let mut r = Reader::new(c);
        let start = Instant::now();
        // EOF, or a reset when the server closed with input unread.
        assert!(
            r.until_end_or_closed(1).is_none(),
            "closed without a reply: {:?}",
            &g[..g.len().min(16)]
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    assert_eq!(s.calls(), 0);
    exchange_unix(&s.path, &get(1, false, "/", ""), 1).assert_well_formed(1);
}
}

each_kind! {
fn a_peer_closing_mid_request_costs_only_its_connection(kind) {
    let s = serve(kind);
    let full = request(1, false, &[(b"SCRIPT_NAME", b"/echo")], &[b'x'; 100_000]);
    // Cut everywhere interesting: in a header, in PARAMS, in STDIN, before its end.
    for cut in [3, 8, 12, 30, 60, 5000, full.len() - 8, full.len() - 3] {
        let mut c = unix(&s.path);
        c.write_all(&full[..cut]).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut r = Reader::new(c);
        // Cut before the end of PARAMS: the handler never runs, the connection closes.
        // Cut in the body: the handler's read fails, the request ends with a 500 (this
        // peer only half-closed, so it can read it), the connection closes.
        let mut reply = Reply::default();
        while let Some(rec) = r.next() {
            reply.records.push(rec);
        }
        if cut < 60 {
            assert!(reply.records.is_empty(), "cut {cut}: {:?}", reply.records);
        } else {
            reply.assert_well_formed(1);
            assert!(reply.stdout_str().starts_with("Status: 500 "));
            assert_eq!(reply.end(), Some((1, 0)));
        }
    }
    // Each EOF above means its handler returned (the server closes a connection only
    // then): none spins on the closed socket. (tests/fcgi_process.rs checks CPU time.)
    exchange_unix(&s.path, &get(1, false, "/", ""), 1).assert_well_formed(1);
}
}

#[test]
fn a_stalled_peer_is_timed_out_by_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.idle_timeout = Some(Duration::from_millis(200));
    let _running = Running::start(server);
    let mut c = unix(&path);
    // Half a request, then silence: the worker gives up after the idle timeout.
    c.write_all(&get(1, false, "/", "")[..20]).unwrap();
    let start = Instant::now();
    assert!(Reader::new(c).at_eof());
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// A peer that sends a request's head a byte at a time, each byte well within the idle
/// timeout, is cut off by the pool's header timeout: it cannot hold a worker for as
/// long as it likes.
#[test]
fn a_trickling_peer_is_cut_off_by_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.header_timeout = Some(Duration::from_millis(300));
    let _running = Running::start(server);
    let mut c = unix(&path);
    let bytes = get(1, false, "/", "");
    let start = Instant::now();
    // One byte every 25 ms: the head would take about 2.5 s in all.
    let sent = bytes
        .iter()
        .take_while(|b| {
            std::thread::sleep(Duration::from_millis(25));
            c.write_all(std::slice::from_ref(*b)).is_ok()
        })
        .count();
    let cut_after = start.elapsed();
    assert!(
        sent < bytes.len(),
        "the whole head went through: {sent} bytes"
    );
    assert!(
        cut_after >= Duration::from_millis(300) && cut_after < Duration::from_secs(2),
        "cut after {cut_after:?}"
    );
    assert!(Reader::new(c).at_eof(), "no answer to a timed-out head");
}

fn check_server(path_or_tcp: Result<&Path, std::net::SocketAddr>) {
    let send = |bytes: &[u8], id: u16| -> Reply {
        match path_or_tcp {
            Ok(p) => exchange_unix(p, bytes, id),
            Err(a) => {
                let mut c = tcp(a);
                c.write_all(bytes).unwrap();
                Reader::new(c).until_end(id)
            }
        }
    };
    let reply = send(
        &request(1, false, &[(b"SCRIPT_NAME", b"/e")], b"mix-in body"),
        1,
    );
    reply.assert_well_formed(1);
    assert_eq!(reply.body(), b"mix-in body");
    // Keep-conn on the same server type.
    let mut both = get(1, true, "/a", "1");
    both.extend_from_slice(&get(2, false, "/b", "2"));
    let reply = send(&both, 2);
    assert_eq!(reply.records.iter().filter(|r| r.typ == 3).count(), 2);
    assert!(reply.stdout_str().ends_with("GET 2\n"));
    // TCP connections get TCP_NODELAY (FcgiHandler::disable_nagle_algorithm).
    let want: &[u8] = match path_or_tcp {
        Ok(_) => b"None",
        Err(_) => b"Some(true)",
    };
    assert_eq!(send(&get(1, false, "/nodelay", ""), 1).body(), want);
}

#[test]
fn every_stream_server_and_mixin_serves_fastcgi() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);

    // Python's plain UnixStreamServer with handle_request(), as in fast.ai's notebook.
    let plain = Arc::new(UnixStreamServer::new(p("plain.sock"), Probe::default()).unwrap());
    let s = plain.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..3 {
            s.handle_request().unwrap();
        }
    });
    check_server(Ok(&p("plain.sock")));
    t.join().unwrap();

    let tcp_plain = Arc::new(TcpServer::new(("127.0.0.1", 0), Probe::default()).unwrap());
    let addr = tcp_plain.server_address;
    let s = tcp_plain.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..3 {
            s.handle_request().unwrap();
        }
    });
    check_server(Err(addr));
    t.join().unwrap();

    let r = Running::start(ThreadingUnixStreamServer::new(p("t.sock"), Probe::default()).unwrap());
    check_server(Ok(&p("t.sock")));
    drop(r);
    let r = Running::start(ThreadingTcpServer::new(("127.0.0.1", 0), Probe::default()).unwrap());
    check_server(Err(r.server.server_address));
    drop(r);
    let r =
        Running::start(ThreadPoolUnixStreamServer::new(p("pool.sock"), Probe::default()).unwrap());
    check_server(Ok(&p("pool.sock")));
    drop(r);
    let r = Running::start(ThreadPoolTcpServer::new(("127.0.0.1", 0), Probe::default()).unwrap());
    check_server(Err(r.server.server_address));
    drop(r);
    // ForkingUnixStreamServer: tests/fcgi_forking.rs (it needs a single-threaded process).
}

#[test]
fn stale_socket_files_are_removed_only_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    assert!(!remove_stale_socket(&path).unwrap(), "nothing there");
    // A live listener: refused, file kept.
    let l = UnixListener::bind(&path).unwrap();
    let e = remove_stale_socket(&path).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    assert!(path.exists());
    // The listener is gone, the file stays (a killed server): removed.
    drop(l);
    assert!(path.exists());
    assert!(
        UnixStreamServer::new(&path, Probe::default()).is_err(),
        "Python refuses the path"
    );
    assert!(remove_stale_socket(&path).unwrap());
    assert!(!path.exists());
    let server = UnixStreamServer::new(&path, Probe::default()).unwrap();
    drop(server);
    // Not a socket: refused, file kept.
    std::fs::write(&path, b"data").unwrap();
    let e = remove_stale_socket(&path).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
}

#[test]
fn fastcgi_serves_a_closure_on_a_path_or_host_port() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deco.sock");
    // A stale file from a killed run is replaced.
    drop(UnixListener::bind(&path).unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let handler = move |req: &mut socketserver::fcgi::FcgiRequest| {
        h.fetch_add(1, Ordering::SeqCst);
        let q = req.params.get("QUERY_STRING").unwrap_or("").to_owned();
        req.send(format!("Content-Type: text/plain\r\n\r\nhi {q}"), false)?;
        Ok(())
    };
    for address in [path.to_str().unwrap().to_owned(), "127.0.0.1:0".to_owned()] {
        let server = Arc::new(fastcgi_server(&address, handler.clone()).unwrap());
        let s = server.clone();
        let t = std::thread::spawn(move || s.serve_forever(Duration::from_millis(20)));
        let reply = match server.server_address() {
            socketserver::Address::Unix(p) => exchange_unix(&p, &get(1, false, "/", "unix"), 1),
            socketserver::Address::Inet(a) => {
                let mut c = tcp(a);
                c.write_all(&get(1, false, "/", "tcp")).unwrap();
                Reader::new(c).until_end(1)
            }
        };
        reply.assert_well_formed(1);
        assert!(reply.body().starts_with(b"hi "));
        server.shutdown();
        t.join().unwrap().unwrap();
        server.server_close();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(!path.exists(), "the socket file is removed on close");
    assert!(fastcgi_server("no-port", handler).is_err());
}

each_kind! {
fn fnhandler_runs_on_any_server(kind) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fn.sock");
    let server = UnixStreamServer::new(
        &path,
        FnHandler(|req: &mut socketserver::fcgi::FcgiRequest| {
            req.send("Content-Type: text/plain\r\n\r\nfn", false)?;
            Ok(())
        }),
    )
    .unwrap();
    let _r = common::serve(kind, server);
    assert_eq!(
        exchange_unix(&path, &get(1, false, "/", ""), 1).body(),
        b"fn"
    );
}
}

/// Pool starvation without nginx: one worker, a kept connection that goes idle, a
/// second connection that needs the worker.
#[test]
fn idle_kept_connections_give_their_worker_to_waiting_ones() {
    let dir = tempfile::tempdir().unwrap();

    // Without parking: the second connection waits behind the idle one.
    let path = dir.path().join("pool.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.park_idle = false;
    server.max_workers = 1;
    let _r = Running::start(server);
    let mut a = unix(&path);
    a.write_all(&get(1, true, "/", "a")).unwrap();
    let mut ra = Reader::new(a.try_clone().unwrap());
    ra.until_end(1).assert_well_formed(1);
    let mut b = unix(&path);
    b.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    b.write_all(&get(1, false, "/", "b")).unwrap();
    let mut buf = [0u8; 8];
    let starved = b.read(&mut buf);
    assert!(
        starved.is_err(),
        "without parking: B waits while A idles (the problem)"
    );

    // Parking: A is parked (not closed), B is served at once, then A again.
    let path = dir.path().join("fpool.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 1;
    let r = Running::start(server);
    let mut a = unix(&path);
    a.write_all(&get(1, true, "/", "a")).unwrap();
    let mut ra = Reader::new(a.try_clone().unwrap());
    ra.until_end(1).assert_well_formed(1);
    wait_for("A parked as soon as it is idle", 10, || {
        r.server.stats().parked == 1
    });
    // A is idle now; B arrives.
    let start = Instant::now();
    let mut b = unix(&path);
    b.write_all(&get(1, false, "/", "b")).unwrap();
    let reply = Reader::new(b).until_end(1);
    reply.assert_well_formed(1);
    assert_eq!(reply.body(), b"GET b\n");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(r.server.stats().parked, 1, "A stays parked");
    // A's next request brings it back to a worker.
    for i in 2..5u16 {
        a.write_all(&get(i, true, "/", "a again")).unwrap();
        assert_eq!(ra.until_end(i).body(), b"GET a again\n");
    }
    a.write_all(&get(5, false, "/", "last")).unwrap();
    assert_eq!(ra.until_end(5).body(), b"GET last\n");
    assert!(ra.at_eof());
    wait_for("nothing parked once A is closed", 10, || {
        r.server.stats().parked == 0
    });

    // Not saturated: a kept connection stays open while another is served.
    let mut server =
        ThreadPoolUnixStreamServer::new(dir.path().join("f2.sock"), Probe::default()).unwrap();
    server.max_workers = 2;
    let _r2 = Running::start(server);
    let mut a = unix(&dir.path().join("f2.sock"));
    let mut ra = Reader::new(a.try_clone().unwrap());
    a.write_all(&get(1, true, "/", "a")).unwrap();
    ra.until_end(1).assert_well_formed(1);
    exchange_unix(&dir.path().join("f2.sock"), &get(1, false, "/", "b"), 1).assert_well_formed(1);
    a.write_all(&get(2, true, "/", "again")).unwrap();
    assert_eq!(ra.until_end(2).body(), b"GET again\n", "A was kept");
}

#[test]
fn a_busy_kept_connection_is_not_cut_and_hands_over_after_its_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 1;
    let r = Running::start(server);
    let mut a = unix(&path);
    let mut ra = Reader::new(a.try_clone().unwrap());
    // A's request takes 300 ms; B arrives once it has started.
    a.write_all(&get(1, true, "/sleep", "300")).unwrap();
    wait_for("A's request to start", 10, || {
        r.server.handler().calls.load(Ordering::SeqCst) == 1
    });
    let mut b = unix(&path);
    b.write_all(&get(1, false, "/", "b")).unwrap();
    let reply = ra.until_end(1);
    reply.assert_well_formed(1);
    // Then A's connection is parked and B served; A still works.
    assert_eq!(Reader::new(b).until_end(1).body(), b"GET b\n");
    a.write_all(&get(2, false, "/", "a")).unwrap();
    assert_eq!(ra.until_end(2).body(), b"GET a\n");
    assert!(ra.at_eof());
}

#[test]
fn parked_connections_time_out_and_close_with_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("park.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 1;
    server.idle_timeout = Some(Duration::from_millis(300));
    let r = Running::start(server);
    // Park A (B arrives while A idles), then leave A alone: closed after the timeout.
    let mut a = unix(&path);
    let mut ra = Reader::new(a.try_clone().unwrap());
    a.write_all(&get(1, true, "/", "a")).unwrap();
    ra.until_end(1).assert_well_formed(1);
    exchange_unix(&path, &get(1, false, "/", "b"), 1).assert_well_formed(1);
    assert_eq!(r.server.stats().parked, 1);
    let start = Instant::now();
    assert!(
        ra.at_eof(),
        "a parked connection is closed after idle_timeout"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    // Park C, then close the server: C is closed, server_close returns.
    let mut c = unix(&path);
    let mut rc = Reader::new(c.try_clone().unwrap());
    c.write_all(&get(1, true, "/", "c")).unwrap();
    rc.until_end(1).assert_well_formed(1);
    exchange_unix(&path, &get(1, false, "/", "d"), 1).assert_well_formed(1);
    assert_eq!(r.server.stats().parked, 1);
    let server = r.stop();
    assert_eq!(server.stats().parked, 0);
    assert!(rc.at_eof());
}

#[test]
fn server_close_ends_idle_kept_connections_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("close.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 4;
    let r = Running::start(server);
    // Three kept connections idle on their workers (the pool is not saturated).
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut c = unix(&path);
        c.write_all(&get(1, true, "/", "")).unwrap();
        let mut rd = Reader::new(c.try_clone().unwrap());
        rd.until_end(1).assert_well_formed(1);
        readers.push((c, rd));
    }
    let start = Instant::now();
    r.stop();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "server_close waited for the idle timeout"
    );
    for (_c, mut rd) in readers {
        assert!(rd.at_eof());
    }
}

/// Through the parking lot: 100 kept connections on 2 workers, each sending 5
/// requests one after another, all answered, none closed by the server.
#[test]
fn a_hundred_kept_connections_share_two_workers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hundred.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 2;
    let _r = Running::start(server);
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut c = unix(&path);
                let mut r = Reader::new(c.try_clone().unwrap());
                for k in 1..=5u16 {
                    c.write_all(&get(k, k < 5, "/", &format!("{i}-{k}")))
                        .unwrap();
                    let reply = r.until_end(k);
                    reply.assert_well_formed(k);
                    assert_eq!(reply.body(), format!("GET {i}-{k}\n").as_bytes());
                }
                assert!(r.at_eof());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn pool_workers_start_as_needed_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 6;
    let r = Running::start(server);
    for _ in 0..5 {
        exchange_unix(&path, &get(1, false, "/", ""), 1).assert_well_formed(1);
    }
    // One at a time: one worker, or two when a connection arrives while the previous
    // one's worker is still closing it.
    assert!(
        r.server.stats().started <= 2,
        "{} workers",
        r.server.stats().started
    );
    // 10 requests of 200 ms at once: 6 workers, not more.
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                exchange_unix(&path, &get(1, false, "/sleep", "200"), 1).assert_well_formed(1)
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(r.server.stats().started, 6);
}

#[test]
fn many_connections_at_once_on_a_small_fcgi_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.sock");
    let mut server = ThreadPoolUnixStreamServer::new(&path, Probe::default()).unwrap();
    server.max_workers = 2;
    let _r = Running::start(server);
    // 40 clients, each with 5 keep-conn requests: every one is answered (idle kept
    // connections make room; the closed ones reconnect, as nginx does).
    let threads: Vec<_> = (0..40)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut done = 0;
                while done < 5 {
                    let mut c = UnixStream::connect(&path).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut r = Reader::new(c.try_clone().unwrap());
                    while done < 5 {
                        if c.write_all(&get(1, true, "/", &format!("{i}-{done}")))
                            .is_err()
                        {
                            break;
                        }
                        let Some(reply) = r.until_end_or_closed(1) else {
                            break; // released between requests: reconnect
                        };
                        assert_eq!(reply.body(), format!("GET {i}-{done}\n").as_bytes());
                        done += 1;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
