//! Property tests of the pure `SimpleHTTPRequestHandler` helpers: no input makes them
//! panic, `translate_path` never leaves its directory, and file names survive the round
//! trip through the listing's links.

use proptest::prelude::*;
use socketserver::http::listing::{list_directory_html, Entry};
use socketserver::http::mime::{self, ExtensionsMap};
use socketserver::http::parsedate;
use socketserver::http::url;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// Pieces of hostile request paths.
const TOKENS: &[&str] = &[
    "/",
    "//",
    ".",
    "..",
    "...",
    "%2e",
    "%2E%2e",
    "%2f",
    "%2F",
    "%5c",
    "\\",
    "%00",
    "%ff",
    "%ed%b3%bf",
    "%ed%a0%80",
    "%c3",
    "%C3%A9",
    "\u{e9}",
    "\u{ff}",
    "?",
    "#",
    "%",
    "%4",
    " ",
    "a",
    "etc",
    "passwd",
    "c:",
    "http:",
    "[",
    "]",
    ":",
    "@",
    "\u{ff0f}",
    "\u{2100}",
];

fn hostile_path() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..16)
            .prop_map(|parts| parts.concat()),
        any::<String>(),
    ]
}

fn directory() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(&["/srv/www", "/srv/www/", "", "rel/dir", "/"][..])
}

fn date_like() -> impl Strategy<Value = String> {
    let words = &[
        "Thu,",
        "Thu",
        "02",
        "2",
        "Jan",
        "jan",
        "January",
        "2020",
        "20",
        "03:04:05",
        "03.04",
        "GMT",
        "+0000",
        "-0000",
        "+0200",
        "UTC",
        "-",
        ",",
        "99999999999999999999",
        "\u{b2}",
        "\u{ff10}",
        "1_0",
        ":",
        "::",
        "..",
    ][..];
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(words), 0..8).prop_map(|w| w.join(" ")),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn translate_path_stays_inside(path in hostile_path(), dir in directory()) {
        match url::translate_path(&path, Path::new(dir)) {
            Ok(p) => {
                let bytes = p.as_os_str().as_bytes();
                prop_assert!(bytes.starts_with(dir.as_bytes()), "{:?}", p);
                let rest = &bytes[dir.len()..];
                for comp in rest.split(|&b| b == b'/') {
                    prop_assert!(comp != b".." && comp != b".", "{:?} from {:?}", p, path);
                    prop_assert!(!comp.contains(&0));
                }
            }
            Err(e) => {
                // Only lone surrogates and NUL make a path unusable.
                prop_assert!(path.contains('%'), "{:?}: {}", path, e);
            }
        }
    }

    #[test]
    fn url_functions_never_panic(s in hostile_path()) {
        prop_assert!(url::quote(&s).is_ascii());
        let _ = url::unquote(&s);
        let _ = url::unquote_to_bytes(&s);
        let _ = url::unquote_fs(&s);
        if let Ok(parts) = url::urlsplit(&s) {
            let _ = url::urlunsplit(&parts);
        }
        let _ = url::directory_redirect_location(&s);
        if let Some(c) = url::url_collapse_path(&s) {
            prop_assert!(c.starts_with('/'));
        }
        let _ = mime::guess_type(&s);
        let _ = mime::guess_file_type(&s);
    }

    #[test]
    fn fs_names_round_trip(name in proptest::collection::vec(any::<u8>(), 0..40)) {
        let quoted = url::quote_fs_name(&name);
        prop_assert!(quoted.is_ascii());
        prop_assert_eq!(url::unquote_fs(&quoted).unwrap(), name.clone());
        prop_assert!(url::quote_bytes(&name).is_ascii());
        let path = OsStr::from_bytes(&name);
        let _ = mime::guess_type(path);
        let _ = ExtensionsMap::new().guess_type(path);
    }

    #[test]
    fn listing_never_panics(
        path in hostile_path(),
        names in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..12), any::<bool>(), any::<bool>()),
            0..12,
        ),
    ) {
        let mut entries: Vec<Entry> = names
            .into_iter()
            .map(|(n, d, l)| Entry::new(OsString::from_vec(n), d, l))
            .collect();
        if let Ok(page) = list_directory_html(&path, &mut entries) {
            prop_assert!(page.ends_with(b"</html>\n"));
        }
    }

    #[test]
    fn dates_never_panic(s in date_like(), sec in any::<i64>(), nsec in any::<i64>()) {
        let _ = parsedate::parse_if_modified_since(&s);
        let _ = parsedate::mtime_seconds(sec, nsec);
        let _ = parsedate::is_not_modified(&s, sec, nsec);
    }
}
