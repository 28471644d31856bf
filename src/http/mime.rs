//! MIME types as `SimpleHTTPRequestHandler.guess_type` finds them, with CPython 3.13's
//! built-in `mimetypes` table embedded: the answer never depends on `/etc/mime.types`.
//!
//! `guess_type(path)` of the handler looks the extension up in its `extensions_map`
//! (exact case, then lower-cased), then asks `mimetypes.guess_file_type(path)`, and falls
//! back to `application/octet-stream`:
//!
//! ```
//! use socketserver::http::mime::guess_type;
//!
//! assert_eq!(guess_type("/srv/index.html"), "text/html");
//! assert_eq!(guess_type("G.PNG"), "image/png");
//! assert_eq!(guess_type("f.tar.gz"), "application/gzip"); // extensions_map wins
//! assert_eq!(guess_type("x.svgz"), "image/svg+xml");       // .svgz means .svg.gz
//! assert_eq!(guess_type("README"), "application/octet-stream");
//! ```
//!
//! A handler that wants other answers changes its [`ExtensionsMap`], as Python code
//! changes `extensions_map`.
//!
//! Paths are taken as the bytes the file system uses and read as Python reads them
//! (UTF-8, undecodable bytes as lone surrogates that match nothing). Residual difference:
//! a request that spells a UTF-8 character as encoded surrogates (`%ED%B3%A2…`) holds
//! surrogates in Python but the character here, which only matters for an extension
//! whose lower-cased form becomes ASCII (U+212A KELVIN SIGN) or for a non-ASCII key added
//! to the [`ExtensionsMap`].

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::http::url::pystr;

/// What `guess_type` answers when nothing matches.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

/// `SimpleHTTPRequestHandler.extensions_map` of CPython 3.13 (only overrides since 3.9):
/// compressed files are served as themselves, not as their content type.
pub static DEFAULT_EXTENSIONS_MAP: &[(&str, &str)] = &[
    (".gz", "application/gzip"),
    (".Z", "application/octet-stream"),
    (".bz2", "application/x-bzip2"),
    (".xz", "application/x-xz"),
];

/// Where `posixpath.splitext(p)` splits: the index of the extension's dot, or `p.len()`
/// when there is no extension (leading dots of the last component do not count).
fn ext_start(p: &[u8]) -> usize {
    let name_start = p.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    match p[name_start..].iter().rposition(|&b| b == b'.') {
        Some(dot) if p[name_start..name_start + dot].iter().any(|&b| b != b'.') => name_start + dot,
        _ => p.len(),
    }
}

/// Python's `ext.lower()` of a file-system name (generalized UTF-8).
fn lower(ext: &[u8]) -> Vec<u8> {
    pystr::lower(&pystr::fsdecode(ext))
}

fn lookup(table: &'static [(&'static str, &'static str)], key: &[u8]) -> Option<&'static str> {
    table
        .binary_search_by(|(k, _)| k.as_bytes().cmp(key))
        .ok()
        .map(|i| table[i].1)
}

/// Python's `mimetypes.guess_file_type(path)` (strict) with the built-in table: the
/// content type and the encoding (`gzip`, `compress`, `bzip2`, `xz`, `br`).
///
/// `.tgz`, `.taz`, `.tz`, `.svgz`, `.tbz2`, `.txz` stand for two extensions (any case);
/// an encoding extension is matched case-sensitively and the type then comes from the
/// extension before it; the type extension is matched lower-cased.
///
/// ```
/// use socketserver::http::mime::guess_file_type;
/// assert_eq!(guess_file_type("a.TGZ"), (Some("application/x-tar"), Some("gzip")));
/// assert_eq!(guess_file_type("a.tar.GZ"), (None, None));
/// assert_eq!(guess_file_type("notes.TXT"), (Some("text/plain"), None));
/// ```
pub fn guess_file_type(path: impl AsRef<Path>) -> (Option<&'static str>, Option<&'static str>) {
    let mut path = path.as_ref().as_os_str().as_bytes().to_vec();
    let mut start = ext_start(&path);
    // The built-in suffix map ends every chain after one step; the bound only guards the
    // loop should the table ever change.
    for _ in 0..8 {
        let Some(replacement) = lookup(SUFFIX_MAP, &lower(&path[start..])) else {
            break;
        };
        path.truncate(start);
        path.extend_from_slice(replacement.as_bytes());
        start = ext_start(&path);
    }
    let encoding = lookup(ENCODINGS_MAP, &path[start..]);
    if encoding.is_some() {
        path.truncate(start);
        start = ext_start(&path);
    }
    (lookup(TYPES_MAP, &lower(&path[start..])), encoding)
}

/// `SimpleHTTPRequestHandler.guess_type(path)` with the default `extensions_map`
/// ([`DEFAULT_EXTENSIONS_MAP`]).
pub fn guess_type(path: impl AsRef<Path>) -> &'static str {
    let path = path.as_ref().as_os_str().as_bytes();
    let ext = &path[ext_start(path)..];
    lookup_unsorted(DEFAULT_EXTENSIONS_MAP, ext)
        .or_else(|| lookup_unsorted(DEFAULT_EXTENSIONS_MAP, &lower(ext)))
        .or_else(|| guess_file_type(Path::new(std::ffi::OsStr::from_bytes(path))).0)
        .unwrap_or(DEFAULT_TYPE)
}

fn lookup_unsorted(
    table: &'static [(&'static str, &'static str)],
    key: &[u8],
) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _)| k.as_bytes() == key)
        .map(|(_, v)| *v)
}

/// A handler's `extensions_map`: extension (with its dot, `".gz"`) → content type, looked
/// up before the built-in table, first with the extension as written, then lower-cased.
///
/// ```
/// use socketserver::http::mime::ExtensionsMap;
///
/// let mut map = ExtensionsMap::new(); // Python's defaults
/// map.insert(".md", "text/markdown; charset=utf-8");
/// map.insert("", "text/plain"); // files without an extension
/// assert_eq!(map.guess_type("README.MD"), "text/markdown; charset=utf-8");
/// assert_eq!(map.guess_type("LICENSE"), "text/plain");
/// assert_eq!(map.guess_type("a.tar.gz"), "application/gzip");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionsMap {
    map: HashMap<String, String>,
}

impl Default for ExtensionsMap {
    fn default() -> Self {
        ExtensionsMap::new()
    }
}

impl ExtensionsMap {
    /// CPython 3.13's `SimpleHTTPRequestHandler.extensions_map` ([`DEFAULT_EXTENSIONS_MAP`]).
    pub fn new() -> Self {
        DEFAULT_EXTENSIONS_MAP.iter().copied().collect()
    }

    /// A map without entries: only the built-in `mimetypes` table answers.
    pub fn empty() -> Self {
        ExtensionsMap {
            map: HashMap::new(),
        }
    }

    /// Maps `ext` (with its dot; `""` for names without an extension) to `content_type`;
    /// returns the type it replaces.
    pub fn insert(
        &mut self,
        ext: impl Into<String>,
        content_type: impl Into<String>,
    ) -> Option<String> {
        self.map.insert(ext.into(), content_type.into())
    }

    /// Removes `ext`; returns its type.
    pub fn remove(&mut self, ext: &str) -> Option<String> {
        self.map.remove(ext)
    }

    /// The type mapped to exactly `ext`.
    pub fn get(&self, ext: &str) -> Option<&str> {
        self.map.get(ext).map(String::as_str)
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `SimpleHTTPRequestHandler.guess_type(path)` with this map: the extension as
    /// written, then lower-cased, then [`guess_file_type`], then [`DEFAULT_TYPE`].
    pub fn guess_type(&self, path: impl AsRef<Path>) -> &str {
        let path = path.as_ref();
        let bytes = path.as_os_str().as_bytes();
        let ext = &bytes[ext_start(bytes)..];
        let find = |key: Vec<u8>| {
            // A key with a lone surrogate (an undecodable byte) matches no `String`.
            String::from_utf8(key)
                .ok()
                .and_then(|k| self.map.get(&k))
                .map(String::as_str)
        };
        find(pystr::fsdecode(ext))
            .or_else(|| find(lower(ext)))
            .or_else(|| guess_file_type(path).0)
            .unwrap_or(DEFAULT_TYPE)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtensionsMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = ExtensionsMap::empty();
        map.extend(iter);
        map
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for ExtensionsMap {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

// BEGIN GENERATED by tools/gen_mime_table.py (do not edit)
/// `mimetypes.types_map` of CPython 3.13.0 without `/etc/mime.types` (strict types;
/// keys are lower-case), sorted by extension.
pub static TYPES_MAP: &[(&str, &str)] = &[
    (".3g2", "audio/3gpp2"),
    (".3gp", "audio/3gpp"),
    (".3gpp", "audio/3gpp"),
    (".3gpp2", "audio/3gpp2"),
    (".a", "application/octet-stream"),
    (".aac", "audio/aac"),
    (".adts", "audio/aac"),
    (".ai", "application/postscript"),
    (".aif", "audio/x-aiff"),
    (".aifc", "audio/x-aiff"),
    (".aiff", "audio/x-aiff"),
    (".ass", "audio/aac"),
    (".au", "audio/basic"),
    (".avi", "video/x-msvideo"),
    (".avif", "image/avif"),
    (".bat", "text/plain"),
    (".bcpio", "application/x-bcpio"),
    (".bin", "application/octet-stream"),
    (".bmp", "image/bmp"),
    (".c", "text/plain"),
    (".cdf", "application/x-netcdf"),
    (".cpio", "application/x-cpio"),
    (".csh", "application/x-csh"),
    (".css", "text/css"),
    (".csv", "text/csv"),
    (".dll", "application/octet-stream"),
    (".doc", "application/msword"),
    (".dot", "application/msword"),
    (".dvi", "application/x-dvi"),
    (".eml", "message/rfc822"),
    (".eps", "application/postscript"),
    (".etx", "text/x-setext"),
    (".exe", "application/octet-stream"),
    (".gif", "image/gif"),
    (".gtar", "application/x-gtar"),
    (".h", "text/plain"),
    (".h5", "application/x-hdf5"),
    (".hdf", "application/x-hdf"),
    (".heic", "image/heic"),
    (".heif", "image/heif"),
    (".htm", "text/html"),
    (".html", "text/html"),
    (".ico", "image/vnd.microsoft.icon"),
    (".ief", "image/ief"),
    (".jpe", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".js", "text/javascript"),
    (".json", "application/json"),
    (".ksh", "text/plain"),
    (".latex", "application/x-latex"),
    (".loas", "audio/aac"),
    (".m1v", "video/mpeg"),
    (".m3u", "application/vnd.apple.mpegurl"),
    (".m3u8", "application/vnd.apple.mpegurl"),
    (".man", "application/x-troff-man"),
    (".markdown", "text/markdown"),
    (".md", "text/markdown"),
    (".me", "application/x-troff-me"),
    (".mht", "message/rfc822"),
    (".mhtml", "message/rfc822"),
    (".mif", "application/x-mif"),
    (".mjs", "text/javascript"),
    (".mov", "video/quicktime"),
    (".movie", "video/x-sgi-movie"),
    (".mp2", "audio/mpeg"),
    (".mp3", "audio/mpeg"),
    (".mp4", "video/mp4"),
    (".mpa", "video/mpeg"),
    (".mpe", "video/mpeg"),
    (".mpeg", "video/mpeg"),
    (".mpg", "video/mpeg"),
    (".ms", "application/x-troff-ms"),
    (".n3", "text/n3"),
    (".nc", "application/x-netcdf"),
    (".nq", "application/n-quads"),
    (".nt", "application/n-triples"),
    (".nws", "message/rfc822"),
    (".o", "application/octet-stream"),
    (".obj", "application/octet-stream"),
    (".oda", "application/oda"),
    (".opus", "audio/opus"),
    (".p12", "application/x-pkcs12"),
    (".p7c", "application/pkcs7-mime"),
    (".pbm", "image/x-portable-bitmap"),
    (".pdf", "application/pdf"),
    (".pfx", "application/x-pkcs12"),
    (".pgm", "image/x-portable-graymap"),
    (".pl", "text/plain"),
    (".png", "image/png"),
    (".pnm", "image/x-portable-anymap"),
    (".pot", "application/vnd.ms-powerpoint"),
    (".ppa", "application/vnd.ms-powerpoint"),
    (".ppm", "image/x-portable-pixmap"),
    (".pps", "application/vnd.ms-powerpoint"),
    (".ppt", "application/vnd.ms-powerpoint"),
    (".ps", "application/postscript"),
    (".pwz", "application/vnd.ms-powerpoint"),
    (".py", "text/x-python"),
    (".pyc", "application/x-python-code"),
    (".pyo", "application/x-python-code"),
    (".qt", "video/quicktime"),
    (".ra", "audio/x-pn-realaudio"),
    (".ram", "application/x-pn-realaudio"),
    (".ras", "image/x-cmu-raster"),
    (".rdf", "application/xml"),
    (".rgb", "image/x-rgb"),
    (".roff", "application/x-troff"),
    (".rst", "text/x-rst"),
    (".rtf", "text/rtf"),
    (".rtx", "text/richtext"),
    (".sgm", "text/x-sgml"),
    (".sgml", "text/x-sgml"),
    (".sh", "application/x-sh"),
    (".shar", "application/x-shar"),
    (".snd", "audio/basic"),
    (".so", "application/octet-stream"),
    (".src", "application/x-wais-source"),
    (".srt", "text/plain"),
    (".sv4cpio", "application/x-sv4cpio"),
    (".sv4crc", "application/x-sv4crc"),
    (".svg", "image/svg+xml"),
    (".swf", "application/x-shockwave-flash"),
    (".t", "application/x-troff"),
    (".tar", "application/x-tar"),
    (".tcl", "application/x-tcl"),
    (".tex", "application/x-tex"),
    (".texi", "application/x-texinfo"),
    (".texinfo", "application/x-texinfo"),
    (".tif", "image/tiff"),
    (".tiff", "image/tiff"),
    (".tr", "application/x-troff"),
    (".trig", "application/trig"),
    (".tsv", "text/tab-separated-values"),
    (".txt", "text/plain"),
    (".ustar", "application/x-ustar"),
    (".vcf", "text/x-vcard"),
    (".vtt", "text/vtt"),
    (".wasm", "application/wasm"),
    (".wav", "audio/x-wav"),
    (".webm", "video/webm"),
    (".webmanifest", "application/manifest+json"),
    (".webp", "image/webp"),
    (".wiz", "application/msword"),
    (".wsdl", "application/xml"),
    (".xbm", "image/x-xbitmap"),
    (".xlb", "application/vnd.ms-excel"),
    (".xls", "application/vnd.ms-excel"),
    (".xml", "text/xml"),
    (".xpdl", "application/xml"),
    (".xpm", "image/x-xpixmap"),
    (".xsl", "application/xml"),
    (".xwd", "image/x-xwindowdump"),
    (".zip", "application/zip"),
];
/// `mimetypes.suffix_map`: an extension that stands for two (looked up lower-cased).
pub static SUFFIX_MAP: &[(&str, &str)] = &[
    (".svgz", ".svg.gz"),
    (".taz", ".tar.gz"),
    (".tbz2", ".tar.bz2"),
    (".tgz", ".tar.gz"),
    (".txz", ".tar.xz"),
    (".tz", ".tar.gz"),
];
/// `mimetypes.encodings_map`: compression extensions (case-sensitive).
pub static ENCODINGS_MAP: &[(&str, &str)] = &[
    (".Z", "compress"),
    (".br", "br"),
    (".bz2", "bzip2"),
    (".gz", "gzip"),
    (".xz", "xz"),
];
// END GENERATED

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for table in [TYPES_MAP, SUFFIX_MAP, ENCODINGS_MAP] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn splitext_like_posixpath() {
        fn split(p: &str) -> (&str, &str) {
            p.split_at(ext_start(p.as_bytes()))
        }
        assert_eq!(split("a.b.c"), ("a.b", ".c"));
        assert_eq!(split(".bashrc"), (".bashrc", ""));
        assert_eq!(split("..x"), ("..x", ""));
        assert_eq!(split("..x.y"), ("..x", ".y"));
        assert_eq!(split("/d.ir/file"), ("/d.ir/file", ""));
        assert_eq!(split("/dir/.x.gz"), ("/dir/.x", ".gz"));
        assert_eq!(split("a."), ("a", "."));
        assert_eq!(split(""), ("", ""));
    }

    #[test]
    fn research_examples() {
        // §1.3.12 (EXP on 3.13.0; these do not depend on /etc/mime.types).
        for (path, ctype) in [
            ("a.txt", "text/plain"),
            ("a.js", "text/javascript"),
            ("a.json", "application/json"),
            ("a.html", "text/html"),
            ("a.css", "text/css"),
            ("G.PNG", "image/png"),
            ("a.gz", "application/gzip"),
            ("f.tar.gz", "application/gzip"),
            ("test", "application/octet-stream"),
            ("x.Z", "application/octet-stream"),
            ("x.z", "application/octet-stream"),
            ("x.BZ2", "application/x-bzip2"),
            ("x.tgz", "application/x-tar"),
            ("x.tar.br", "application/x-tar"),
        ] {
            assert_eq!(guess_type(path), ctype, "{path}");
        }
    }

    #[test]
    fn extensions_map_overrides() {
        let mut map = ExtensionsMap::empty();
        assert_eq!(map.guess_type("a.gz"), "application/octet-stream");
        assert_eq!(map.guess_type("a.tar.gz"), "application/x-tar");
        map.insert(".TXT", "text/x-upper");
        map.insert(".txt", "text/x-lower");
        assert_eq!(map.guess_type("a.TXT"), "text/x-upper");
        assert_eq!(map.guess_type("a.Txt"), "text/x-lower");
        assert_eq!(map.remove(".txt").as_deref(), Some("text/x-lower"));
        assert_eq!(map.guess_type("a.Txt"), "text/plain");
        assert_eq!(
            ExtensionsMap::new().get(".Z"),
            Some("application/octet-stream")
        );
        assert_eq!(ExtensionsMap::default().iter().count(), 4);
    }
}
