//! `translate_path` on arbitrary request paths. Property: the result never leaves the
//! root — it begins with the root's components and every component after them is a
//! plain name (no `..`, no `.`, no second root); a usable path holds no NUL.
#![no_main]

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use socketserver::http::url::translate_path;

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    let root = Path::new("/srv/www");
    let check = |p: &Path| {
        assert!(
            p.starts_with(root),
            "{p:?} is outside {root:?} (from {path:?})"
        );
        let rest = p.strip_prefix(root).unwrap();
        for c in rest.components() {
            assert!(
                matches!(c, Component::Normal(_)),
                "{c:?} in {p:?} (from {path:?})"
            );
        }
    };
    match translate_path(&path, root) {
        Ok(p) => {
            check(&p);
            assert!(!p.as_os_str().as_bytes().contains(&0), "NUL in {p:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
