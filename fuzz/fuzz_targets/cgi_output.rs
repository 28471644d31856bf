//! The CGI script output header parser: `HeaderBlockFinder` fed the output in pieces
//! against one call on the whole output, then `parse_script_headers` on the block.
//! Properties: no panic; the finder's answer does not depend on how the output is cut;
//! a parsed status is a three-digit code; names and values hold no line break.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketserver::http::cgi::{parse_script_headers, HeaderBlockFinder, MAX_SCRIPT_HEADERS};

fuzz_target!(|data: &[u8]| {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 13) + 1;
    let whole = HeaderBlockFinder::default().find(data);
    let mut finder = HeaderBlockFinder::default();
    let mut pieces = None;
    let mut end = 0;
    while end < data.len() {
        end = (end + step).min(data.len());
        if let Some(n) = finder.find(&data[..end]) {
            pieces = Some(n);
            break;
        }
    }
    assert_eq!(whole, pieces);
    let block = match whole {
        Some(n) => &data[..n],
        None => data,
    };
    match parse_script_headers(block) {
        Ok(h) => {
            assert!(whole.is_some());
            assert!(h.headers.len() <= MAX_SCRIPT_HEADERS);
            let (code, _reason) = h.status();
            assert!((100..=999).contains(&code), "{code}");
            for (n, v) in &h.headers {
                assert!(
                    !n.contains(['\r', '\n']) && !v.contains(['\r', '\n']),
                    "{n:?}: {v:?}"
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
