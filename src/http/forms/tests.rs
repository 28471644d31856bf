//! Unit tests of the multipart parser and `FieldStorage`: every split of the input
//! across reads gives the same form.

use std::io::{self, Read};

use super::*;

/// A reader that hands out its bytes in pieces of the given sizes (cycled).
struct Chunked<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    i: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.i % self.sizes.len()].max(1);
        self.i += 1;
        let n = size.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// (name, filename, content) of every field.
fn summary(form: &FieldStorage) -> Vec<(Option<String>, Option<String>, Vec<u8>)> {
    form.iter()
        .map(|f| {
            (
                f.name.clone(),
                f.filename.clone(),
                f.value().to_bytes().unwrap(),
            )
        })
        .collect()
}

fn parse(body: &[u8], boundary: &str, sizes: Vec<usize>) -> Result<FieldStorage, FormError> {
    let reader = Chunked {
        data: body,
        sizes,
        i: 0,
    };
    FieldStorage::read_body(
        reader,
        Some(&format!("multipart/form-data; boundary={boundary}")),
        None,
        &FormOptions::default(),
    )
}

const CURL: &[u8] = b"--------------------------d74496d66958873e\r\n\
Content-Disposition: form-data; name=\"name\"\r\n\r\n\
dhellmann\r\n\
--------------------------d74496d66958873e\r\n\
Content-Disposition: form-data; name=\"datafile\"; filename=\"a.txt\"\r\n\
Content-Type: text/plain\r\n\r\n\
line one\r\n--not a boundary\r\n\r\n\r\n\
--------------------------d74496d66958873e--\r\n";
const CURL_B: &str = "------------------------d74496d66958873e";

#[test]
fn curl_body_every_split() {
    let whole = summary(&parse(CURL, CURL_B, vec![usize::MAX]).unwrap());
    assert_eq!(
        whole,
        vec![
            (Some("name".into()), None, b"dhellmann".to_vec()),
            (
                Some("datafile".into()),
                Some("a.txt".into()),
                b"line one\r\n--not a boundary\r\n\r\n".to_vec()
            ),
        ]
    );
    for size in 1..40 {
        let split = summary(&parse(CURL, CURL_B, vec![size]).unwrap());
        assert_eq!(split, whole, "reads of {size} bytes");
    }
    for first in 0..CURL.len() {
        let split = summary(&parse(CURL, CURL_B, vec![first, usize::MAX]).unwrap());
        assert_eq!(split, whole, "split at {first}");
    }
}

#[test]
fn bare_lf_preamble_epilogue_and_whitespace() {
    let body = b"preamble line\n--b\nContent-Disposition: form-data; name=a\n\nx\r\n\n--b  \t\n\
Content-Disposition: form-data; name=\"e\"\n\n\n--b--   \nepilogue\n--b\nignored";
    let form = parse(body, "b", vec![3]).unwrap();
    assert_eq!(
        summary(&form),
        vec![
            (Some("a".into()), None, b"x\r\n".to_vec()),
            (Some("e".into()), None, b"".to_vec()),
        ]
    );
}

#[test]
fn carriage_returns_before_the_boundary() {
    // "x\r" + "\r\n--b": the last CRLF goes, the lone CR stays (Python's delim rule).
    let body = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\r\n--b--\r\n";
    for size in 1..8 {
        let form = parse(body, "b", vec![size]).unwrap();
        assert_eq!(form.get("a").unwrap().text_value(), Some("x\r"));
    }
}

#[test]
fn truncated_and_missing_boundaries() {
    let cut = &CURL[..CURL.len() - 10];
    assert!(matches!(
        parse(cut, CURL_B, vec![7]),
        Err(FormError::Truncated(_))
    ));
    assert!(matches!(
        parse(
            b"--b\r\nContent-Disposition: form-data; name=a\r\n",
            "b",
            vec![7]
        ),
        Err(FormError::Truncated(_))
    ));
    assert!(matches!(
        parse(b"no boundary here\r\n", "b", vec![7]),
        Err(FormError::Truncated(_))
    ));
    // An empty body is an empty form, as in Python.
    assert!(parse(b"", "b", vec![7]).unwrap().is_empty());
    let e = FieldStorage::read_body(
        &b""[..],
        Some("multipart/form-data"),
        None,
        &FormOptions::default(),
    );
    assert!(matches!(e, Err(FormError::InvalidBoundary(_))));
    assert_eq!(e.unwrap_err().status(), 400);
}

#[test]
fn limits() {
    let mut big_header = b"--b\r\nX-Big: ".to_vec();
    big_header.extend(std::iter::repeat_n(b'a', 20_000));
    big_header.extend_from_slice(b"\r\n\r\nx\r\n--b--\r\n");
    let e = parse(&big_header, "b", vec![1000]).unwrap_err();
    assert!(matches!(e, FormError::HeaderTooLarge { .. }), "{e}");
    assert_eq!(e.status(), 413);

    let mut many = Vec::new();
    for _ in 0..1001 {
        many.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n");
    }
    many.extend_from_slice(b"--b--\r\n");
    assert!(matches!(
        parse(&many, "b", vec![4096]),
        Err(FormError::TooManyFields { limit: 1000 })
    ));

    let options = FormOptions {
        limits: Limits {
            max_field_size: 4,
            max_file_size: 4,
            ..Limits::default()
        },
        ..FormOptions::default()
    };
    let ct = Some("multipart/form-data; boundary=b");
    let text = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n12345\r\n--b--\r\n";
    assert!(matches!(
        FieldStorage::read_body(&text[..], ct, None, &options),
        Err(FormError::FieldTooLarge { .. })
    ));
    let file =
        b"--b\r\nContent-Disposition: form-data; name=a; filename=f\r\n\r\n12345\r\n--b--\r\n";
    assert!(matches!(
        FieldStorage::read_body(&file[..], ct, None, &options),
        Err(FormError::FileTooLarge { .. })
    ));
    let ok = b"--b\r\nContent-Disposition: form-data; name=a; filename=f\r\n\r\n1234\r\n--b--\r\n";
    let form = FieldStorage::read_body(&ok[..], ct, None, &options).unwrap();
    assert_eq!(form.get("a").unwrap().len(), 4);
}

#[test]
fn names_filenames_and_lookups() {
    let body = "--b\r\nContent-Disposition: form-data; name=\"q\\\"uote\"; filename=\"dir\\\\x.txt\"\r\n\r\n\
1\r\n--b\r\nContent-Disposition: form-data; name=\"u\"; filename*=UTF-8''%E2%82%AC.txt\r\n\r\n\
2\r\n--b\r\nContent-Disposition: form-data; name=\"r\"\r\n\r\nA\r\n\
--b\r\nContent-Disposition: form-data; name=\"r\"\r\n\r\n\u{e9}\r\n\
--b\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n";
    let form = parse(body.as_bytes(), "b", vec![5]).unwrap();
    assert_eq!(form.keys(), ["q\"uote", "u", "r", "empty"]);
    assert_eq!(
        form.get("q\"uote").unwrap().filename.as_deref(),
        Some("dir\\x.txt")
    );
    assert_eq!(form.get("u").unwrap().filename.as_deref(), Some("€.txt"));
    let r: Vec<&str> = form.getlist("r").iter().filter_map(Value::as_str).collect();
    assert_eq!(r, ["A", "é"]);
    assert!(matches!(form.getvalue("r"), Some(OneOrList::List(v)) if v.len() == 2));
    let empty = form.get("empty").unwrap();
    assert_eq!(empty.filename.as_deref(), Some(""));
    assert!(empty.upload().unwrap().is_empty());
    assert_eq!(
        empty.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert!(form.getfirst("missing").is_none());
    assert!(form.getlist("missing").is_empty());
    assert!(form.contains("u") && !form.contains("missing"));
}

#[test]
fn streaming_parts_without_storage() {
    let mut reader = MultipartReader::new(
        Chunked {
            data: CURL,
            sizes: vec![3],
            i: 0,
        },
        CURL_B.as_bytes(),
        Limits::default(),
    )
    .unwrap();
    let mut seen = Vec::new();
    while let Some(mut part) = reader.next_part().unwrap() {
        let name = part.info().name.clone();
        // Read only the first byte of each part: the rest is skipped for us.
        let mut one = [0u8; 1];
        part.read_exact(&mut one).unwrap();
        seen.push((name, one[0]));
    }
    assert_eq!(
        seen,
        vec![(Some("name".into()), b'd'), (Some("datafile".into()), b'l')]
    );
    assert_eq!(reader.bytes_read(), CURL.len() as u64);
}

#[test]
fn urlencoded_and_query() {
    let options = FormOptions::default();
    let form = FieldStorage::read_body(
        &b"a=1&b=%zz"[..],
        None,
        Some("q=2"),
        &FormOptions {
            include_query: true,
            ..FormOptions::default()
        },
    )
    .unwrap();
    let keys: Vec<_> = form.keys();
    assert_eq!(keys, ["a", "b", "q"]);
    assert_eq!(form.getfirst("b").unwrap().as_str(), Some("%zz"));
    let form = FieldStorage::read_body(&b"a=1"[..], None, Some("q=2"), &options).unwrap();
    assert_eq!(form.keys(), ["a"]);
    assert!(matches!(
        FieldStorage::read_body(&b"x"[..], Some("text/plain"), None, &options),
        Err(FormError::UnsupportedType(_))
    ));
}

#[test]
fn no_temporary_file_is_left() {
    let dir = std::env::temp_dir().join(format!("forms-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = FormOptions {
        temp_dir: Some(dir.clone()),
        ..FormOptions::default()
    };
    let ct = Some("multipart/form-data; boundary=b");
    let ok = b"--b\r\nContent-Disposition: form-data; name=a; filename=f\r\n\r\n1234\r\n--b--\r\n";
    let form = FieldStorage::read_body(&ok[..], ct, None, &options).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    assert_eq!(
        form.get("a").unwrap().upload().unwrap().read_all().unwrap(),
        b"1234"
    );
    let cut = &ok[..ok.len() - 5];
    assert!(FieldStorage::read_body(cut, ct, None, &options).is_err());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir(&dir).unwrap();
}

/// A boundary line with trailing whitespace is a boundary (as `cgi` strips the line) up
/// to `max_header_size` bytes after the delimiter, and content beyond — the same however
/// the body is cut (found by the `forms_multipart` fuzz target: in pieces, a line longer
/// than the parser waits for was content, whole it was a boundary).
#[test]
fn a_boundary_line_padded_with_whitespace_is_read_the_same_in_any_pieces() {
    for (pad, is_boundary) in [(100, true), (16 * 1024, true), (16 * 1024 + 1, false)] {
        let mut body = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b".to_vec();
        body.extend(std::iter::repeat_n(b'\t', pad));
        body.extend_from_slice(b"\nContent-Disposition: form-data; name=c\r\n\r\ny\r\n--b--\r\n");
        let mut answers = Vec::new();
        for sizes in [vec![body.len()], vec![1], vec![99], vec![4096, 7]] {
            let form = parse(&body, "b", sizes).unwrap();
            answers.push(summary(&form));
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "pad {pad}");
        assert_eq!(
            answers[0].len() == 2,
            is_boundary,
            "pad {pad}: {:?}",
            answers[0].len()
        );
    }
}

/// The same for the first boundary line, after a preamble: padded past what the parser
/// waits for (the line, its `\r` included, longer than the delimiter + `max_header_size`),
/// it is preamble, whole or in pieces (the `forms_multipart` fuzz target's second find).
#[test]
fn a_first_boundary_line_padded_with_whitespace_is_read_the_same_in_any_pieces() {
    let cap = "--b".len() + 16 * 1024;
    for (pad, is_boundary) in [(100, true), (cap - 4, true), (cap - 3, false)] {
        let mut body = b"preamble\r\n--b".to_vec();
        body.extend(std::iter::repeat_n(b' ', pad));
        body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n");
        let mut answers = Vec::new();
        for sizes in [vec![body.len()], vec![1], vec![99], vec![4096, 7]] {
            answers.push(
                parse(&body, "b", sizes)
                    .map(|f| summary(&f))
                    .map_err(|e| e.to_string()),
            );
        }
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "pad {pad}: {answers:?}"
        );
        assert_eq!(
            answers[0].is_ok(),
            is_boundary,
            "pad {pad}: {:?}",
            answers[0]
        );
    }
}
