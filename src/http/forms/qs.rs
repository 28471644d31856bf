//! `application/x-www-form-urlencoded` and query strings: `urllib.parse.parse_qsl` of
//! CPython 3.12/3.13, from a string or streamed from a reader.

use std::io::Read;

use super::error::{FormError, Limits};
use crate::http::url::unquote;

/// The options `urllib.parse.parse_qsl` takes (its `encoding` is always UTF-8 and its
/// `errors` always `'replace'`, Python's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QsOptions {
    /// Keep `a=` and a bare `a` as `("a", "")` instead of dropping them (Python's
    /// `keep_blank_values`, default `False`).
    pub keep_blank_values: bool,
    /// Raise on an empty field or a field without `=` (Python's `strict_parsing`).
    pub strict_parsing: bool,
    /// The field separator (Python's `separator`, default `&`). Must not be empty.
    pub separator: String,
}

impl Default for QsOptions {
    fn default() -> QsOptions {
        QsOptions {
            keep_blank_values: false,
            strict_parsing: false,
            separator: "&".to_owned(),
        }
    }
}

/// Python's `urllib.parse.parse_qsl(qs, keep_blank_values, strict_parsing,
/// max_num_fields=max_num_fields, separator=...)`: the name/value pairs in order,
/// repeated names kept, `+` read as a space, `%XX` decoded as UTF-8 with
/// `errors='replace'`, an invalid escape such as `%zz` kept as it is.
///
/// `max_num_fields` counts every piece between separators, empty ones included, as
/// Python does; more than that is [`FormError::TooManyFields`].
///
/// ```
/// use socketserver::http::forms::{parse_qsl, QsOptions};
///
/// let pairs = parse_qsl("a=1&b=x+y&a=%C3%A9&bad=%zz&empty=", &QsOptions::default(), None).unwrap();
/// let expect = [("a", "1"), ("b", "x y"), ("a", "é"), ("bad", "%zz")];
/// assert_eq!(pairs, expect.map(|(k, v)| (k.to_owned(), v.to_owned())));
/// ```
#[doc(alias = "parse_qs")]
#[doc(alias = "urllib.parse.parse_qsl")]
pub fn parse_qsl(
    qs: &str,
    options: &QsOptions,
    max_num_fields: Option<usize>,
) -> Result<Vec<(String, String)>, FormError> {
    check_separator(&options.separator)?;
    if let Some(max) = max_num_fields {
        let num_fields = if qs.is_empty() {
            0
        } else {
            1 + qs.matches(options.separator.as_str()).count()
        };
        if num_fields > max {
            return Err(FormError::TooManyFields { limit: max });
        }
    }
    let mut out = Vec::new();
    if qs.is_empty() {
        return Ok(out);
    }
    for piece in qs.split(options.separator.as_str()) {
        if let Some(pair) = parse_pair(piece, options)? {
            out.push(pair);
        }
    }
    Ok(out)
}

fn check_separator(separator: &str) -> Result<(), FormError> {
    if separator.is_empty() {
        return Err(FormError::Malformed(
            "Separator must be of type string or bytes.".to_owned(),
        ));
    }
    Ok(())
}

/// One `name=value` piece, as `parse_qsl`'s loop body treats it.
fn parse_pair(piece: &str, options: &QsOptions) -> Result<Option<(String, String)>, FormError> {
    if piece.is_empty() && !options.strict_parsing {
        return Ok(None);
    }
    let (name, value) = match piece.split_once('=') {
        Some(nv) => nv,
        None => {
            if options.strict_parsing {
                return Err(FormError::Malformed(format!(
                    "bad query field: {}",
                    crate::http::pyrepr::py_repr(piece)
                )));
            }
            if !options.keep_blank_values {
                return Ok(None);
            }
            (piece, "")
        }
    };
    if value.is_empty() && !options.keep_blank_values {
        return Ok(None);
    }
    Ok(Some((unquote_plus(name), unquote_plus(value))))
}

/// Python's `urllib.parse.unquote_plus(s)`: `+` becomes a space, then [`unquote`].
///
/// ```
/// assert_eq!(socketserver::http::forms::unquote_plus("a+b%2Bc%zz"), "a b+c%zz");
/// ```
pub fn unquote_plus(s: &str) -> String {
    if s.contains('+') {
        unquote(&s.replace('+', " "))
    } else {
        unquote(s)
    }
}

/// Reads an urlencoded body from `body` and parses it as `cgi.FieldStorage` does (the
/// bytes decoded as UTF-8 with `errors='replace'`, then [`parse_qsl`]) — a piece at a
/// time, so memory is bounded by [`Limits::max_field_size`] (one `name=value` piece) and
/// [`Limits::max_fields`], whatever the body's length.
///
/// Splitting the bytes at the separator before decoding gives Python's answer: an
/// invalid UTF-8 sequence never swallows the first byte of a valid character.
pub fn read_urlencoded<R: Read>(
    mut body: R,
    options: &QsOptions,
    limits: &Limits,
) -> Result<Vec<(String, String)>, FormError> {
    check_separator(&options.separator)?;
    let sep = options.separator.as_bytes();
    let mut out = Vec::new();
    let mut piece: Vec<u8> = Vec::new();
    let mut pieces = 0usize;
    let mut total = 0u64;
    let mut any = false;
    let mut chunk = vec![0u8; 16 * 1024];
    // Python counts the pieces before parsing any of them; counting as they arrive
    // refuses the same bodies, sooner.
    let mut finish_piece = |piece: &mut Vec<u8>, out: &mut Vec<(String, String)>| {
        pieces += 1;
        if pieces > limits.max_fields {
            return Err(FormError::TooManyFields {
                limit: limits.max_fields,
            });
        }
        let text = String::from_utf8_lossy(piece);
        if let Some(pair) = parse_pair(&text, options)? {
            out.push(pair);
        }
        piece.clear();
        Ok(())
    };
    loop {
        let n = match body.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FormError::from_io(e)),
        };
        total += n as u64;
        if total > limits.max_total_size {
            return Err(FormError::BodyTooLarge {
                limit: limits.max_total_size,
            });
        }
        any = true;
        for &b in &chunk[..n] {
            piece.push(b);
            if piece.ends_with(sep) {
                piece.truncate(piece.len() - sep.len());
                finish_piece(&mut piece, &mut out)?;
            } else if piece.len() > limits.max_field_size.saturating_add(sep.len()) {
                return Err(FormError::FieldTooLarge {
                    name: None,
                    limit: limits.max_field_size,
                });
            }
        }
    }
    if any {
        finish_piece(&mut piece, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qsl(qs: &str, keep: bool) -> Vec<(String, String)> {
        let options = QsOptions {
            keep_blank_values: keep,
            ..QsOptions::default()
        };
        parse_qsl(qs, &options, None).unwrap()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn python_examples() {
        assert_eq!(qsl("", true), pairs(&[]));
        assert_eq!(qsl("&", true), pairs(&[]));
        assert_eq!(qsl("a", true), pairs(&[("a", "")]));
        assert_eq!(qsl("a", false), pairs(&[]));
        assert_eq!(qsl("a=", false), pairs(&[]));
        assert_eq!(qsl("=a", false), pairs(&[("", "a")]));
        assert_eq!(qsl("a=b=c", false), pairs(&[("a", "b=c")]));
        assert_eq!(qsl("a=1;b=2", false), pairs(&[("a", "1;b=2")]));
        assert_eq!(qsl("%ff=%C3", false), pairs(&[("\u{fffd}", "\u{fffd}")]));
    }

    #[test]
    fn max_num_fields_counts_empty_pieces() {
        let o = QsOptions::default();
        assert!(parse_qsl("a=1&&", &o, Some(3)).is_ok());
        assert!(matches!(
            parse_qsl("a=1&&&", &o, Some(3)),
            Err(FormError::TooManyFields { .. })
        ));
    }

    #[test]
    fn strict_parsing_refuses_empty_and_bare_names() {
        let o = QsOptions {
            strict_parsing: true,
            ..QsOptions::default()
        };
        assert!(parse_qsl("a=1&&b=2", &o, None).is_err());
        assert!(parse_qsl("a", &o, None).is_err());
        assert_eq!(parse_qsl("a=1", &o, None).unwrap(), pairs(&[("a", "1")]));
    }

    #[test]
    fn streamed_body_equals_parse_qsl() {
        let body = "a=1&b=%E2%82&c=\u{20ac}&&d=x+y&e";
        let limits = Limits::default();
        for sep in ["&", ";", "\u{20ac}", "ab"] {
            let o = QsOptions {
                keep_blank_values: true,
                separator: sep.to_owned(),
                ..QsOptions::default()
            };
            let streamed = read_urlencoded(body.as_bytes(), &o, &limits).unwrap();
            assert_eq!(streamed, parse_qsl(body, &o, None).unwrap(), "sep {sep}");
        }
        let lossy =
            read_urlencoded(&b"a=\xff\xc3&b=2"[..], &QsOptions::default(), &limits).unwrap();
        assert_eq!(lossy, pairs(&[("a", "\u{fffd}\u{fffd}"), ("b", "2")]));
    }

    #[test]
    fn streamed_body_is_bounded() {
        let limits = Limits {
            max_field_size: 10,
            max_fields: 3,
            ..Limits::default()
        };
        let o = QsOptions::default();
        assert!(matches!(
            read_urlencoded(&b"a=12345678901"[..], &o, &limits),
            Err(FormError::FieldTooLarge { .. })
        ));
        assert!(matches!(
            read_urlencoded(&b"a&b&c&d"[..], &o, &limits),
            Err(FormError::TooManyFields { .. })
        ));
    }
}
