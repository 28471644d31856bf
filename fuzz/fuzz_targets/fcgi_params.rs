//! The FastCGI name–value pair decoders: `unpack_pairs` on a whole buffer against
//! `PairDecoder` fed the same bytes in pieces (piece sizes taken from the first input
//! byte). Properties: no panic; both agree on every complete stream; the decoder keeps
//! no more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketserver::fcgi::record::{unpack_pairs, PairDecoder, MAX_PARAMS_SIZE};

fuzz_target!(|data: &[u8]| {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 17) + 1;

    let whole: Result<Vec<(&[u8], &[u8])>, _> = unpack_pairs(data).collect();

    let mut decoder = PairDecoder::new(MAX_PARAMS_SIZE);
    let mut fed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut ok = true;
    for piece in data.chunks(step) {
        if decoder
            .feed(piece, |n, v| fed.push((n.to_vec(), v.to_vec())))
            .is_err()
        {
            ok = false;
            break;
        }
    }
    let ok = ok && decoder.finish().is_ok();
    let emitted: usize = fed.iter().map(|(n, v)| n.len() + v.len()).sum();
    assert!(emitted <= data.len());

    match whole {
        Ok(pairs) => {
            assert!(ok, "the decoder refused what unpack_pairs accepts");
            assert_eq!(pairs.len(), fed.len());
            for ((n, v), (fn_, fv)) in pairs.iter().zip(&fed) {
                assert_eq!(n, fn_);
                assert_eq!(v, fv);
            }
        }
        Err(_) => assert!(!ok, "the decoder accepted what unpack_pairs refuses"),
    }
});
