//! The crate's forms against CPython 3.12's `cgi.FieldStorage` and
//! `urllib.parse.parse_qsl`: the same bodies — curl's own `-F` output, browser-shaped
//! forms, odd ones — must give the same names, filenames, values and file bytes.

mod forms_common;

use forms_common::{curl_request, have_curl, hex, oracle};
use socketserver::http::forms::{parse_qsl, FieldStorage, FormOptions, QsOptions};

/// One comparison: the oracle's input line and a label.
struct Case {
    label: String,
    line: String,
    ours: String,
}

fn describe_form(form: Result<FieldStorage, socketserver::http::forms::FormError>) -> String {
    match form {
        Err(_) => "error".to_owned(),
        Ok(form) => {
            let mut out = vec!["ok".to_owned()];
            for f in &form {
                let value = f.value().to_bytes().unwrap();
                out.push(format!(
                    "{},{},{},{}",
                    hex(f.name.as_deref().map(str::as_bytes)),
                    hex(f.filename.as_deref().map(str::as_bytes)),
                    if f.upload().is_some() { 1 } else { 0 },
                    hex(Some(&value))
                ));
            }
            out.join(" ")
        }
    }
}

fn multipart_case(label: &str, content_type: &str, body: &[u8]) -> Case {
    let ours = FieldStorage::read_body(body, Some(content_type), None, &FormOptions::default());
    Case {
        label: label.to_owned(),
        line: format!(
            "multipart {} {}",
            hex(Some(content_type.as_bytes())),
            hex(Some(body))
        ),
        ours: describe_form(ours),
    }
}

fn urlencoded_case(body: &[u8]) -> Case {
    let ours = FieldStorage::read_body(body, None, None, &FormOptions::default());
    Case {
        label: format!("urlencoded {:?}", String::from_utf8_lossy(body)),
        line: format!("urlencoded {}", hex(Some(body))),
        ours: describe_form(ours),
    }
}

fn qsl_case(qs: &str, keep: bool, strict: bool, sep: &str, max: Option<usize>) -> Case {
    let options = QsOptions {
        keep_blank_values: keep,
        strict_parsing: strict,
        separator: sep.to_owned(),
    };
    let ours = match parse_qsl(qs, &options, max) {
        Err(_) => "error".to_owned(),
        Ok(pairs) => {
            let mut out = vec!["ok".to_owned()];
            for (k, v) in pairs {
                out.push(format!(
                    "{},-,0,{}",
                    hex(Some(k.as_bytes())),
                    hex(Some(v.as_bytes()))
                ));
            }
            out.join(" ")
        }
    };
    Case {
        label: format!("parse_qsl({qs:?}, keep={keep}, strict={strict}, sep={sep:?}, max={max:?})"),
        line: format!(
            "qsl {} {} {} {} {}",
            keep as u8,
            strict as u8,
            hex(Some(sep.as_bytes())),
            max.map_or("-".to_owned(), |m| m.to_string()),
            hex(Some(qs.as_bytes()))
        ),
        ours,
    }
}

/// Compares every case; the oracle's "error TYPE" matches any error of ours, and so does
/// "truncated" (a body Python accepts without its closing boundary; the crate refuses).
fn compare(test: &str, cases: &[Case]) {
    let Some(py) = oracle(test) else { return };
    let lines: Vec<String> = cases.iter().map(|c| c.line.clone()).collect();
    let theirs = py.run(&lines);
    let mut failures = Vec::new();
    for (case, py) in cases.iter().zip(&theirs) {
        let py = if py.starts_with("error") || py.starts_with("truncated") {
            "error"
        } else {
            py
        };
        if case.ours != py {
            failures.push(format!(
                "{}\n  python: {py}\n  crate:  {}",
                case.label, case.ours
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{test}: {} cases agree with CPython 3.12", cases.len());
}

/// Bytes 0..=255, CRLF and LF lines, lines that start like a boundary.
fn tricky_file() -> Vec<u8> {
    let mut f: Vec<u8> = (0..=255u8).collect();
    f.extend_from_slice(b"\r\n--\r\n----\n--x\r\n\r\n\n\r\rend\r");
    f
}

#[test]
fn curl_bodies_match_cgi_fieldstorage() {
    if !have_curl("curl_bodies_match_cgi_fieldstorage") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(p("data.py"), tricky_file()).unwrap();
    std::fs::write(p("empty"), b"").unwrap();
    std::fs::write(p("one"), b"x").unwrap();
    std::fs::write(p("text.txt"), "línea 1\r\nline 2\n\n").unwrap();
    let file = |field: &str, path: &str| format!("{field}=@{}", p(path));
    let sets: Vec<(&str, Vec<String>)> = vec![
        (
            "the PyMOTW request",
            vec![
                "name=dhellmann".into(),
                "foo=bar".into(),
                file("datafile", "data.py"),
            ],
        ),
        (
            "repeated and empty values",
            vec!["a=1".into(), "a=2".into(), "a=".into(), "b=".into()],
        ),
        (
            "quotes and odd filenames",
            vec![
                "quote=\"hi\" 'there'".into(),
                format!("f1=@{};filename=we\"ird\\name;x.txt", p("one")),
                format!("f2=@{};filename=a b%22c.txt", p("one")),
                format!("f3=@{};filename=..\\..\\etc\\passwd", p("one")),
            ],
        ),
        (
            "empty and one-byte files",
            vec![file("empty", "empty"), file("one", "one")],
        ),
        (
            "UTF-8 names and filenames",
            vec![
                "ü=é€".into(),
                format!("utf=@{};filename=naïve €.txt", p("one")),
                format!("typed=@{};type=image/png", p("data.py")),
            ],
        ),
        (
            "a text field from a file",
            vec![format!("txt=<{}", p("text.txt"))],
        ),
    ];
    let mut cases = Vec::new();
    for (label, fields) in &sets {
        let mut args = Vec::new();
        for f in fields {
            args.push("-F");
            args.push(f.as_str());
        }
        let (ctype, body) = curl_request(&args);
        assert!(
            ctype.starts_with("multipart/form-data; boundary="),
            "{ctype}"
        );
        cases.push(multipart_case(&format!("curl: {label}"), &ctype, &body));
        // The same body with bare LF line endings outside the file contents.
        let lf = String::from_utf8_lossy(&body).replace("\r\n", "\n");
        if lf.is_char_boundary(0) && !body.contains(&0xff) {
            cases.push(multipart_case(
                &format!("curl, bare LF: {label}"),
                &ctype,
                lf.as_bytes(),
            ));
        }
    }
    compare("curl_bodies_match_cgi_fieldstorage", &cases);
}

const CHROME_B: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

fn chrome_body() -> Vec<u8> {
    let b = CHROME_B;
    format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello \"world\"\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"quote%22and%0Anewline.txt\"\r\n\
Content-Type: text/plain\r\n\r\nfile body\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"nothing\"; filename=\"\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"check\"\r\n\r\non\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"check\"\r\n\r\noff\r\n\
--{b}--\r\n"
    )
    .into_bytes()
}

#[test]
fn browser_and_odd_bodies_match_cgi_fieldstorage() {
    let ct = |b: &str| format!("multipart/form-data; boundary={b}");
    let mut cases = vec![
        multipart_case("Chrome-shaped form", &ct(CHROME_B), &chrome_body()),
        multipart_case(
            "Firefox-shaped form, quoted boundary",
            "multipart/form-data; boundary=\"---------------------------9051914041544843365972754266\"",
            b"-----------------------------9051914041544843365972754266\r\n\
Content-Disposition: form-data; name=\"text\"\r\n\r\ntext default\r\n\
-----------------------------9051914041544843365972754266\r\n\
Content-Disposition: form-data; name=\"file1\"; filename=\"a.txt\"\r\n\
Content-Type: text/plain\r\n\r\nContent of a.txt.\n\r\n\
-----------------------------9051914041544843365972754266--\r\n",
        ),
    ];
    let odd: &[(&str, &[u8])] = &[
        ("bare LF", b"--b\nContent-Disposition: form-data; name=a\n\nx\n--b--\n"),
        (
            "preamble and epilogue",
            b"This is a preamble.\r\n\r\n--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\nepilogue\r\n--b\r\nContent-Disposition: form-data; name=late\r\n\r\ny\r\n",
        ),
        (
            "whitespace around boundaries",
            b"  --b \r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b \t\r\nContent-Disposition: form-data; name=c\r\n\r\ny\r\n--b--  \r\n",
        ),
        (
            "boundary-like content",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n--bb\r\n--b-\r\n x--b\r\n--b--x\r\n\r\n--b--\r\n",
        ),
        (
            "lone CRs",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\r\n--b\r\nContent-Disposition: form-data; name=c\r\n\r\n\r\r--b\r\n\r\n--b--\r\n",
        ),
        (
            "headers: case, folding, no name, extra",
            b"--b\r\ncontent-disposition: FORM-DATA;\r\n\tname=\"folded\"\r\nX-Other: 1\r\n\r\nv1\r\n--b\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--b\r\nContent-Disposition: form-data; name=p; filename=f.bin\r\nContent-Type: application/octet-stream; x=\"y\"\r\nContent-Length: 999\r\n\r\n\x00\x01\r\n--b--\r\n",
        ),
        (
            "quoting in Content-Disposition",
            b"--b\r\nContent-Disposition: form-data; name=\"a;b\"; filename=\"c\\\"d\\\\e.txt\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"dup\"; name=\"second\"\r\n\r\n2\r\n--b\r\nContent-Disposition: form-data;name=unquoted;filename=plain.txt\r\n\r\n3\r\n--b--\r\n",
        ),
        (
            "invalid UTF-8 in a value and a name",
            b"--b\r\nContent-Disposition: form-data; name=\"n\xff\"\r\n\r\nv\xc3\x28\xff\r\n--b--\r\n",
        ),
        (
            "a header line that is not a header",
            b"--b\r\nContent-Disposition: form-data; name=a\r\nnot a header\r\nContent-Type: image/png\r\n\r\nx\r\n--b--\r\n",
        ),
        ("an empty body", b""),
        ("no content at all in a part", b"--b\r\n\r\n\r\n--b--\r\n"),
    ];
    for (label, body) in odd {
        cases.push(multipart_case(label, &ct("b"), body));
    }
    // Boundaries cgi accepts and refuses.
    let long = "x".repeat(201);
    let too_long = "x".repeat(202);
    for b in [
        "a b",
        "'()+_,-./:=?",
        long.as_str(),
        too_long.as_str(),
        "trailing ",
    ] {
        let body =
            format!("--{b}\r\nContent-Disposition: form-data; name=k\r\n\r\nv\r\n--{b}--\r\n");
        let quoted = format!("multipart/form-data; boundary=\"{b}\"");
        cases.push(multipart_case(
            &format!("boundary {b:?}"),
            &quoted,
            body.as_bytes(),
        ));
    }
    cases.push(multipart_case(
        "no boundary parameter",
        "multipart/form-data",
        b"--b\r\n",
    ));
    compare("browser_and_odd_bodies_match_cgi_fieldstorage", &cases);
}

#[test]
fn urlencoded_and_parse_qsl_match_python() {
    let mut cases = Vec::new();
    for body in [
        &b"a=1&b=2"[..],
        b"name=dhellmann&foo=bar&foo=baz",
        b"a=%zz&b=+x+&c=%C3%A9&d=%ff&e=%2",
        b"\xff=\xc3&caf\xc3\xa9=%C3",
        b"&&a&=b&c=&=",
        b"a=1;b=2",
        b"k=v=w&%3D=%26",
        b"",
    ] {
        cases.push(urlencoded_case(body));
    }
    let queries = [
        "",
        "a",
        "a=",
        "=",
        "&",
        "a=1&&b=2",
        "a=1;b=2&c=3",
        "x=%E2%82%AC&y=%E2%82",
        "+=+",
        "a=b=c",
        "%zz=%",
        "é=€",
        "a=1ab=2",
        "a;b;c",
    ];
    for qs in queries {
        for (keep, strict) in [(false, false), (true, false), (false, true), (true, true)] {
            for sep in ["&", ";", "ab"] {
                cases.push(qsl_case(qs, keep, strict, sep, None));
            }
        }
        cases.push(qsl_case(qs, false, false, "&", Some(1)));
        cases.push(qsl_case(qs, true, false, "&", Some(2)));
    }
    compare("urlencoded_and_parse_qsl_match_python", &cases);
}

/// Where the crate deliberately differs (docs/forms.md): RFC 2231 `filename*`, and a
/// body that ends before its closing boundary.
#[test]
fn documented_differences_from_cgi_fieldstorage() {
    let Some(py) = oracle("documented_differences_from_cgi_fieldstorage") else {
        return;
    };
    let ct = "multipart/form-data; boundary=b";
    let star = b"--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%E2%82%AC.txt\r\n\r\nx\r\n--b--\r\n";
    let cut = b"--b\r\nContent-Disposition: form-data; name=f\r\n\r\npartial";
    let cases = [
        multipart_case("filename*", ct, star),
        multipart_case("truncated", ct, cut),
    ];
    let lines: Vec<String> = cases.iter().map(|c| c.line.clone()).collect();
    let theirs = py.run(&lines);
    // Python ignores filename*: a text field named f.
    assert_eq!(theirs[0], format!("ok {},-,0,78", hex(Some(b"f"))));
    assert_eq!(
        cases[0].ours,
        format!(
            "ok {},{},1,78",
            hex(Some(b"f")),
            hex(Some("€.txt".as_bytes()))
        )
    );
    // Python keeps what arrived; the crate refuses the form.
    assert_eq!(
        theirs[1],
        format!(
            "truncated {},-,0,{}",
            hex(Some(b"f")),
            hex(Some(b"partial"))
        )
    );
    assert_eq!(cases[1].ours, "error");
}

/// Bodies assembled at random from the pieces that matter (boundaries with and without
/// their dashes, CR, LF, spaces, header lines, content bytes), always closed by a final
/// boundary; 400 of them from a fixed seed (`FORMS_DIFF_CASES=N` for more). Where Python
/// takes a boundary line for a header line and so reaches the end without the closing
/// boundary, the oracle says `truncated` and the crate must refuse the body.
#[test]
fn random_bodies_match_cgi_fieldstorage() {
    const PIECES: &[&[u8]] = &[
        b"--b",
        b"--b--",
        b"--bb",
        b"\r\n",
        b"\n",
        b"\r",
        b" ",
        b"\t",
        b"-",
        b"x",
        b"\xc3\xa9",
        b"\xff",
        b"Content-Disposition: form-data; name=\"n\"",
        b"Content-Disposition: form-data; name=n2; filename=\"f.txt\"",
        b"Content-Disposition: form-data; name=\"q;\\\"\"",
        b"Content-Type: text/plain",
        b"X: y",
        b":bad",
        b"\r\n\r\n",
        b"\n\n",
        b"\r\n--b \r\n",
        b"\n--b--x",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut cases = Vec::new();
    let n: usize = std::env::var("FORMS_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for i in 0..n {
        let mut body = Vec::new();
        if next(3) == 0 {
            body.extend_from_slice(b"preamble\r\n");
        }
        body.extend_from_slice(b"--b\r\n");
        for _ in 0..next(40) {
            body.extend_from_slice(PIECES[next(PIECES.len())]);
        }
        body.extend_from_slice(if next(2) == 0 {
            b"\r\n--b--\r\n"
        } else {
            b"\n--b--"
        });
        cases.push(multipart_case(
            &format!("random body {i}: {:?}", String::from_utf8_lossy(&body)),
            "multipart/form-data; boundary=b",
            &body,
        ));
    }
    compare("random_bodies_match_cgi_fieldstorage", &cases);
}
