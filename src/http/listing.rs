//! The directory listing page of `SimpleHTTPRequestHandler.list_directory`, byte-exact with
//! CPython 3.13 (and its gh-133889 fix: the title shows only the decoded path, without
//! query or fragment).
//!
//! ```
//! use socketserver::http::listing::{list_directory_html, Entry};
//!
//! let mut entries = vec![Entry::new("inner.css", false, false)];
//! let page = list_directory_html("/sub/", &mut entries).unwrap();
//! assert_eq!(page, &b"<!DOCTYPE HTML>
//! <html lang=\"en\">
//! <head>
//! <meta charset=\"utf-8\">
//! <title>Directory listing for /sub/</title>
//! </head>
//! <body>
//! <h1>Directory listing for /sub/</h1>
//! <hr>
//! <ul>
//! <li><a href=\"inner.css\">inner.css</a></li>
//! </ul>
//! <hr>
//! </body>
//! </html>
//! "[..]);
//! ```

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::http::pyrepr::html_escape_into;
use crate::http::url::{self, pystr, UnencodableError};

/// The `Content-type` the listing is sent with (`text/html; charset=<file system
/// encoding>`, with a space, unlike error pages).
pub const LISTING_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// One name in a directory, as `list_directory` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name as the file system gives it (any bytes but `/` and NUL).
    pub name: OsString,
    /// `os.path.isdir(fullname)`: a directory, or a symlink to one.
    pub is_dir: bool,
    /// `os.path.islink(fullname)`.
    pub is_symlink: bool,
}

impl Entry {
    /// An entry from its parts.
    pub fn new(name: impl Into<OsString>, is_dir: bool, is_symlink: bool) -> Entry {
        Entry {
            name: name.into(),
            is_dir,
            is_symlink,
        }
    }

    /// The entries of `dir` in the order the file system lists them, as Python's
    /// `os.listdir` (without `.` and `..`) plus `os.path.isdir` (following symlinks) and
    /// `os.path.islink` on each; a failing `stat` counts as "no".
    ///
    /// This is the one function here that touches the file system. An error is what makes
    /// Python answer `404 No permission to list directory`.
    pub fn read_dir(dir: &Path) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let is_symlink = entry.file_type().is_ok_and(|t| t.is_symlink());
            let is_dir = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
            entries.push(Entry::new(entry.file_name(), is_dir, is_symlink));
        }
        Ok(entries)
    }
}

/// Sorts `entries` as `list.sort(key=lambda a: a.lower())` does: by Python's `str.lower()`
/// of the name decoded with `surrogateescape` (full Unicode lower-casing; an undecodable
/// byte sorts as its surrogate U+DC80–U+DCFF, between U+D7FF and U+E000), comparing code
/// points; names with equal keys keep their order (Python's sort is stable).
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by_cached_key(|e| pystr::lower(&pystr::fsdecode(e.name.as_bytes())));
}

/// The page `list_directory` writes for the request path `request_path` (Python's
/// `self.path`) listing `entries`, which are sorted first ([`sort_entries`]).
///
/// * Title and heading: `Directory listing for ` + `html.escape(unquote(path,
///   errors='surrogatepass'), quote=False)` of the path before the first `?` or `#`
///   (gh-133889; 3.13.0 showed the whole target).
/// * A directory gets `/` after both its text and its link; a symlink gets `@` after its
///   text only (a symlink to a directory reads `name@` and links to `name/`).
/// * The link is `quote(name, errors='surrogatepass')` ([`url::quote_fs_name`]); the text
///   is the name with `&`, `<`, `>` escaped. Python encodes the page with
///   `surrogateescape`, so a byte that is not UTF-8 comes back as itself.
///
/// `Err` where Python's `encode` raises `UnicodeEncodeError`: the decoded title holds a
/// lone surrogate outside U+DC80–U+DCFF (e.g. `/%ED%A0%80/../dir/`); the request then ends
/// in `handle_error` with no response.
pub fn list_directory_html(
    request_path: &str,
    entries: &mut [Entry],
) -> Result<Vec<u8>, UnencodableError> {
    sort_entries(entries);

    let mut title = Vec::new();
    html_escape_into(
        &url::unquote_surrogatepass(url::before_query(request_path)),
        false,
        &mut title,
    );
    let title = pystr::fsencode(&title).ok_or(UnencodableError)?;

    let names: usize = entries.iter().map(|e| e.name.len()).sum();
    let mut page = Vec::with_capacity(200 + 2 * title.len() + 8 * names + 30 * entries.len());
    page.extend_from_slice(
        b"<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
          <title>Directory listing for ",
    );
    page.extend_from_slice(&title);
    page.extend_from_slice(b"</title>\n</head>\n<body>\n<h1>Directory listing for ");
    page.extend_from_slice(&title);
    page.extend_from_slice(b"</h1>\n<hr>\n<ul>\n");
    for entry in entries.iter() {
        let name = entry.name.as_bytes();
        page.extend_from_slice(b"<li><a href=\"");
        page.extend_from_slice(url::quote_fs_name(name).as_bytes());
        if entry.is_dir {
            page.push(b'/');
        }
        page.extend_from_slice(b"\">");
        html_escape_into(name, false, &mut page);
        if entry.is_symlink {
            page.push(b'@');
        } else if entry.is_dir {
            page.push(b'/');
        }
        page.extend_from_slice(b"</a></li>\n");
    }
    page.extend_from_slice(b"</ul>\n<hr>\n</body>\n</html>\n");
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn items(page: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(page)
            .lines()
            .filter(|l| l.starts_with("<li>"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn escaping_examples_of_research_2_1_3() {
        let mut entries = vec![
            Entry::new("q?.txt", false, false),
            Entry::new("sp ace.txt", false, false),
            Entry::new("<test&>.txt", false, false),
            Entry::new("etclink", true, true),
            Entry::new("G.PNG", false, false),
            Entry::new("f.tar.gz", false, false),
            Entry::new("filelink", false, true),
            Entry::new("sub", true, false),
        ];
        let page = list_directory_html("/", &mut entries).unwrap();
        assert_eq!(
            items(&page),
            [
                "<li><a href=\"%3Ctest%26%3E.txt\">&lt;test&amp;&gt;.txt</a></li>",
                "<li><a href=\"etclink/\">etclink@</a></li>",
                "<li><a href=\"f.tar.gz\">f.tar.gz</a></li>",
                "<li><a href=\"filelink\">filelink@</a></li>",
                "<li><a href=\"G.PNG\">G.PNG</a></li>",
                "<li><a href=\"q%3F.txt\">q?.txt</a></li>",
                "<li><a href=\"sp%20ace.txt\">sp ace.txt</a></li>",
                "<li><a href=\"sub/\">sub/</a></li>",
            ]
        );
        let mut entries = vec![Entry::new("inner.css", false, false)];
        assert_eq!(
            list_directory_html("/sub/", &mut entries).unwrap().len(),
            238,
            "Content-Length of §2.1.3"
        );
    }

    #[test]
    fn title_is_the_decoded_path_component() {
        let page = list_directory_html("/a%20b/<i>/?x=%bb#frag", &mut []).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("<title>Directory listing for /a b/&lt;i&gt;/</title>"));
        assert!(page.contains("<h1>Directory listing for /a b/&lt;i&gt;/</h1>"));
        let page = list_directory_html("/%E2%82%AC/%ff/", &mut []).unwrap();
        assert!(String::from_utf8(page)
            .unwrap()
            .contains("for /\u{20ac}/\u{fffd}/</title>"));
        // An encoded U+DCFF is written as the byte it stands for.
        let page = list_directory_html("/%ED%B3%BF/", &mut []).unwrap();
        assert!(page.windows(7).any(|w| w == b"for /\xff/"));
        assert_eq!(
            list_directory_html("/%ED%A0%80/../d/", &mut []),
            Err(UnencodableError)
        );
    }

    #[test]
    fn undecodable_names_come_back_as_bytes() {
        let mut entries = vec![
            Entry::new(OsString::from_vec(b"b\xff<.txt".to_vec()), false, false),
            Entry::new(OsString::from_vec(b"B\xfe".to_vec()), true, false),
        ];
        let page = list_directory_html("/", &mut entries).unwrap();
        let expected: &[u8] = b"<li><a href=\"B%ED%B3%BE/\">B\xfe/</a></li>\n\
            <li><a href=\"b%ED%B3%BF%3C.txt\">b\xff&lt;.txt</a></li>\n";
        assert!(page.windows(expected.len()).any(|w| w == expected));
    }

    #[test]
    fn sort_is_by_python_lower_and_stable() {
        let mut entries: Vec<Entry> = ["b", "B", "a", "\u{c9}", "\u{e9}", "e", "Z", "_", "\u{3a3}"]
            .iter()
            .map(|n| Entry::new(n, false, false))
            .collect();
        sort_entries(&mut entries);
        let names: Vec<_> = entries.iter().map(|e| e.name.to_str().unwrap()).collect();
        assert_eq!(
            names,
            ["_", "a", "b", "B", "e", "Z", "\u{c9}", "\u{e9}", "\u{3a3}"]
        );
    }
}
