//! Round-trip properties of the FastCGI record codec.

use proptest::prelude::*;
use socketserver::fcgi::record::{
    pack_pair, pack_rec_into, pack_stream_into, unpack_content, unpack_pairs, unpack_rec, Content,
    Header, PairDecoder, Request, FCGI_MAX_LENGTH,
};

fn any_request() -> impl Strategy<Value = Request> {
    (1u8..=11).prop_map(|n| Request::from_u8(n).unwrap())
}

/// Bytes, biased towards the interesting lengths around 127/128.
fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..8),
        proptest::collection::vec(any::<u8>(), 120..136),
        proptest::collection::vec(any::<u8>(), 0..max),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any header, content and padding written by hand parses back, also when the
    /// bytes arrive in two pieces (the first piece alone is "not yet").
    #[test]
    fn any_record_round_trips(
        typ in any::<u8>(),
        id in any::<u16>(),
        content in bytes(3000),
        pad in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let h = Header { version: 1, record_type: typ, request_id: id,
                         content_length: content.len() as u16, padding_length: pad };
        let mut wire = h.to_bytes().to_vec();
        wire.extend_from_slice(&content);
        wire.extend(std::iter::repeat_n(0x5a, pad as usize));
        let (end, rec) = unpack_rec(&wire, 0).unwrap().unwrap();
        prop_assert_eq!(end, wire.len());
        prop_assert_eq!(rec.header, h);
        prop_assert_eq!(rec.content, &content[..]);
        let cut = cut.index(wire.len());
        prop_assert_eq!(unpack_rec(&wire[..cut], 0), Ok(None));
    }

    /// pack_rec_into splits any content into valid records whose contents join back.
    #[test]
    fn streams_split_and_join(
        typ in any_request(),
        id in any::<u16>(),
        len in prop_oneof![0usize..100, 65530usize..65540, 0usize..200_000],
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let mut wire = Vec::new();
        pack_stream_into(&mut wire, typ, id, &data);
        let mut i = 0;
        let mut joined = Vec::new();
        let mut records = Vec::new();
        while let Some((next, rec)) = unpack_rec(&wire, i).unwrap() {
            prop_assert_eq!(rec.header.kind(), Some(typ));
            prop_assert_eq!(rec.header.request_id, id);
            prop_assert!(rec.content.len() <= FCGI_MAX_LENGTH);
            prop_assert_eq!((next - i) % 8, 0);
            joined.extend_from_slice(rec.content);
            records.push(rec.content.len());
            i = next;
        }
        prop_assert_eq!(i, wire.len());
        prop_assert_eq!(joined, data);
        // Exactly one empty record, at the end.
        prop_assert_eq!(records.iter().filter(|&&n| n == 0).count(), 1);
        prop_assert_eq!(*records.last().unwrap(), 0);
    }

    /// Any name-value pairs survive packing, whole-buffer parsing, and incremental
    /// decoding fed in arbitrary pieces (pairs split across PARAMS records).
    #[test]
    fn pairs_round_trip_in_any_pieces(
        pairs in proptest::collection::vec((bytes(300), bytes(300)), 0..12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut stream = Vec::new();
        for (n, v) in &pairs {
            pack_pair(&mut stream, n, v);
        }
        let whole: Vec<(Vec<u8>, Vec<u8>)> = unpack_pairs(&stream)
            .map(|p| p.map(|(n, v)| (n.to_vec(), v.to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(&whole, &pairs);

        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.sort();
        let mut d = PairDecoder::new(1 << 20);
        let mut got = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([stream.len()]) {
            d.feed(&stream[start..p], |n, v| got.push((n.to_vec(), v.to_vec()))).unwrap();
            start = p;
        }
        d.finish().unwrap();
        prop_assert_eq!(got, pairs);
    }

    /// Arbitrary bytes never panic the decoders, and the pair decoder never holds more
    /// than it was fed.
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut i = 0;
        while let Ok(Some((next, rec))) = unpack_rec(&data, i) {
            if let Some(t) = rec.header.kind() {
                let _ = unpack_content(t, rec.content);
            }
            i = next;
        }
        for p in unpack_pairs(&data) {
            let _ = p;
        }
        let mut d = PairDecoder::new(1000);
        let mut held = 0;
        let _ = d.feed(&data, |n, v| held += n.len() + v.len());
        prop_assert!(held <= data.len());
        let _ = d.finish();
    }

    /// BEGIN_REQUEST bodies round-trip through unpack_content.
    #[test]
    fn begin_bodies(role in any::<u16>(), flags in any::<u8>()) {
        let body = socketserver::fcgi::record::pack_begin_request(role, flags);
        let mut wire = Vec::new();
        pack_rec_into(&mut wire, Request::BeginRequest, 1, &body);
        let (_, rec) = unpack_rec(&wire, 0).unwrap().unwrap();
        prop_assert_eq!(
            unpack_content(Request::BeginRequest, rec.content),
            Ok(Content::BeginRequest { role, flags })
        );
    }
}
