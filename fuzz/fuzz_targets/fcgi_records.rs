//! The FastCGI record stream: `unpack_rec` over arbitrary bytes, each record's content
//! through `unpack_content`, PARAMS streams through `PairDecoder`, headers round-tripped.
//! Properties: no panic; each record moves forward and ends inside the input; content is
//! exactly `contentLength` bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketserver::fcgi::record::{
    unpack_content, unpack_header, unpack_rec, Content, Header, PairDecoder, Request,
    FCGI_HEADER_LEN,
};

fuzz_target!(|data: &[u8]| {
    let mut decoder = PairDecoder::new(64 * 1024);
    let mut i = 0;
    while let Ok(Some((next, rec))) = unpack_rec(data, i) {
        assert!(next > i && next <= data.len());
        assert_eq!(rec.content.len(), usize::from(rec.header.content_length));
        assert_eq!(next - i, rec.header.record_len());
        let raw: [u8; FCGI_HEADER_LEN] = data[i..i + FCGI_HEADER_LEN].try_into().unwrap();
        assert_eq!(Header::from_bytes(raw).to_bytes()[..7], raw[..7]);
        assert_eq!(unpack_header(&raw), Some(rec.header));
        if let Some(kind) = rec.header.kind() {
            assert_eq!(kind as u8, rec.header.record_type);
            if let Ok(content) = unpack_content(kind, rec.content) {
                if let (Request::Params, Content::Stream(c)) = (kind, content) {
                    if c.is_empty() {
                        let _ = decoder.finish();
                        decoder.reset();
                    } else if decoder.feed(c, |_, _| {}).is_err() {
                        decoder.reset();
                    }
                }
            }
        }
        i = next;
    }
});
