//! The request line and header parser: `read_line`, `decode_request_line`,
//! `parse_request_line`, `read_header_block` and `HttpMessage::parse`, on arbitrary bytes.
//! Properties: no panic; the limits hold (a line is at most MAXLINE + 1 bytes, a block
//! at most (MAXHEADERS + 1) lines of MAXLINE + 1 bytes); the header map holds no more than the block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketserver::http::headers::HttpMessage;
use socketserver::http::parse::{
    decode_request_line, parse_request_line, read_header_block, read_line, MAXHEADERS, MAXLINE,
};

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let mut raw = Vec::new();
    let n = read_line(&mut input, MAXLINE + 1, &mut raw).unwrap();
    assert_eq!(n, raw.len());
    assert!(raw.len() <= MAXLINE + 1);
    let mut line = String::new();
    decode_request_line(&raw, &mut line);
    match parse_request_line(&line) {
        Ok(rl) => {
            assert!(!rl.command.is_empty());
            assert!(!rl.path.starts_with("//"));
        }
        Err(e) => {
            let code = e.code();
            assert!(code == 0 || (400..600).contains(&code), "{code}");
            let _ = e.message();
        }
    }
    let mut block = Vec::new();
    let before = input.len();
    match read_header_block(&mut input, &mut block).unwrap() {
        Ok(()) => {
            assert_eq!(before - input.len(), block.len());
            assert!(block.len() <= (MAXHEADERS + 1) * (MAXLINE + 1));
            let msg = HttpMessage::parse(&block);
            for (name, value) in msg.iter() {
                assert!(name.len() + value.len() <= 2 * block.len());
            }
            // Not MAXHEADERS: like CPython's email parser, a bare CR also ends a header
            // line, so 100 lines can hold more headers; never more than the block's bytes.
            assert!(msg.len() <= block.len());
        }
        Err(e) => {
            let _ = (e.message(), e.explain());
        }
    }
});
