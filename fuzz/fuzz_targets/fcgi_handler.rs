//! A whole FastCGI responder on arbitrary bytes: the record stream a web server would
//! send, through the connection's read buffer, request state machine and
//! `FcgiHandler::handle`, which reads the body and echoes a few params.
//! Properties: no panic; the answer is a sequence of well-formed records (version 1,
//! declared lengths present), whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketserver::fcgi::record::unpack_rec;
use socketserver::fcgi::{FcgiHandler, FcgiRequest};

struct Echo;

impl FcgiHandler for Echo {
    fn handle(&self, req: &mut FcgiRequest) -> socketserver::Result<()> {
        let n = req.read_stdin()?.len();
        let uri = req.params.get("REQUEST_URI").unwrap_or("-").to_owned();
        req.send(
            format!("Content-Type: text/plain\r\n\r\n{uri} {n}\n"),
            false,
        )?;
        if n > 10 {
            req.send("long body", true)?;
        }
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let (_result, out) = socketserver::__fuzz::serve_bytes(&Echo, data);
    let mut i = 0;
    while i < out.len() {
        match unpack_rec(&out, i) {
            Ok(Some((next, _rec))) => i = next,
            other => panic!("malformed answer at {i}: {other:?}"),
        }
    }
});
