//! The urlencoded form parser: `parse_qsl` on the whole body (decoded as Python decodes
//! it) against `read_urlencoded` streaming the bytes from a reader that hands them out in
//! small pieces. The first byte picks the options and the field limit.
//! Properties: no panic; both agree on the pairs and on a field-count refusal; never more
//! pairs than pieces; a field-size limit is an error, never a longer value.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use socketserver::http::forms::{parse_qsl, read_urlencoded, FormError, Limits, QsOptions};

/// Hands out at most `step` bytes per `read`.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else {
        return;
    };
    let options = QsOptions {
        keep_blank_values: ctl & 1 != 0,
        strict_parsing: ctl & 2 != 0,
        separator: [";", "&", "&&", "=&"][usize::from(ctl >> 2 & 3)].to_owned(),
    };
    let max_fields = [1000, 3, 1, 0][usize::from(ctl >> 4 & 3)];
    let step = usize::from(ctl >> 6) * 5 + 1;
    let text = String::from_utf8_lossy(body);
    let whole = parse_qsl(&text, &options, Some(max_fields));
    let limits = Limits {
        max_fields,
        ..Limits::default()
    };
    let streamed = read_urlencoded(Trickle { data: body, step }, &options, &limits);
    let pieces = if body.is_empty() {
        0
    } else {
        1 + text.matches(options.separator.as_str()).count()
    };
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            assert!(a.len() <= pieces);
        }
        // Python counts the fields before parsing any; the reader counts them as they
        // arrive, so a strict-parsing error may come first there.
        (Err(FormError::TooManyFields { .. }), Err(FormError::TooManyFields { .. })) => {}
        (Err(FormError::TooManyFields { .. }), Err(FormError::Malformed(_)))
            if options.strict_parsing => {}
        (Err(FormError::Malformed(_)), Err(FormError::Malformed(_))) => {}
        (a, b) => panic!("whole {a:?} streamed {b:?}"),
    }
    // A small field-size limit: the same pairs, or a refusal.
    let small = Limits {
        max_field_size: 8,
        ..Limits::default()
    };
    match read_urlencoded(Trickle { data: body, step }, &options, &small) {
        Ok(pairs) => {
            if let Ok(a) = &whole {
                assert_eq!(a, &pairs);
            }
        }
        Err(e) => assert!((400..600).contains(&e.status()), "{e:?}"),
    }
});
