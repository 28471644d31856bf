//! The multipart parser: the body fed in pieces of varying size (and content handed out
//! in small slices) against one `feed` of the whole body. The first byte picks the
//! boundary, the piece size and the slice size.
//! Properties: no panic, no loop; the same parts (headers, name, filename, content
//! bytes) and the same ending (complete, or the same error) however the body is cut;
//! no content slice above the size asked for; never more content than input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketserver::http::forms::{Event, MultipartParser};

const BOUNDARIES: [&[u8]; 4] = [
    b"XyZ",
    b"------------------------d74496d66958873e",
    b"a",
    b"b c",
];

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Part(
        Option<String>,
        Option<String>,
        String,
        Vec<(String, String)>,
    ),
    Data(Vec<u8>),
    PartEnd,
    End,
}

/// Runs the parser over `body` fed `step` bytes at a time, content asked for `max_data`
/// bytes at a time; the events (adjacent content joined) and how it ended.
fn run(boundary: &[u8], body: &[u8], step: usize, max_data: usize) -> (Vec<Ev>, String) {
    let mut p = MultipartParser::new(boundary, 256, 20).expect("a valid boundary");
    let mut events: Vec<Ev> = Vec::new();
    let mut fed = 0;
    let mut eof = false;
    let mut rounds = 0usize;
    loop {
        rounds += 1;
        assert!(rounds < 4 * body.len() + 64, "the parser does not progress");
        match p.next_event(max_data) {
            Ok(Some(Event::Part(info))) => {
                let headers = info
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                events.push(Ev::Part(
                    info.name.clone(),
                    info.filename.clone(),
                    info.content_type.clone(),
                    headers,
                ));
            }
            Ok(Some(Event::Data(d))) => {
                assert!(
                    !d.is_empty() && d.len() <= max_data,
                    "{} > {max_data}",
                    d.len()
                );
                match events.last_mut() {
                    Some(Ev::Data(v)) => v.extend_from_slice(d),
                    _ => events.push(Ev::Data(d.to_vec())),
                }
            }
            Ok(Some(Event::PartEnd)) => events.push(Ev::PartEnd),
            Ok(Some(Event::End)) => {
                events.push(Ev::End);
                return (events, "end".to_owned());
            }
            Ok(None) if fed < body.len() => {
                let n = step.min(body.len() - fed);
                p.feed(&body[fed..fed + n]);
                fed += n;
            }
            Ok(None) if !eof => {
                p.feed_eof();
                eof = true;
            }
            Ok(None) => return (events, "needs more after eof".to_owned()),
            Err(e) => return (events, format!("{} {e}", e.status())),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else {
        return;
    };
    let boundary = BOUNDARIES[usize::from(ctl & 3)];
    let step = usize::from(ctl >> 2 & 15) * 7 + 1;
    let max_data = usize::from(ctl >> 6) * 11 + 1;
    let (whole, whole_end) = run(boundary, body, body.len().max(1), usize::MAX);
    let (pieces, pieces_end) = run(boundary, body, step, max_data);
    assert_eq!(whole_end, pieces_end);
    assert_eq!(whole, pieces);
    let content: usize = whole
        .iter()
        .map(|e| match e {
            Ev::Data(d) => d.len(),
            _ => 0,
        })
        .sum();
    assert!(content <= body.len());
});
