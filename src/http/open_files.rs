//! The files a [`SimpleHttpRequestHandler`](super::SimpleHttpRequestHandler) served
//! lately, kept open: a request for one of them costs a `stat` of its path instead of
//! an `open`, an `fstat` and a `close` (about 1 µs of the ~12 µs a small file costs).
//!
//! A kept file is used only while `stat` of its path still names the same file: same
//! device and inode — not replaced, not renamed over, not another symlink target (an
//! inode number cannot be reused while the descriptor holds it open) — and the same
//! mode, owner, size and times. Content written in place is the inode's, so it is read
//! through the kept descriptor as through a new one, and the length sent is the fresh
//! `stat`'s; a `chmod` or `chown` makes the file be opened again, with the error that
//! open gives, as Python opens every time. A path that is gone or now a directory
//! fails the check and is handled as before. Only regular files of at most
//! [`MAX_SIZE`] bytes are kept — where the `open` is a real part of the cost, and so
//! that a removed file held open here pins little disk space — and at most
//! [`CAPACITY`] of them.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::server::lock;

/// How many files stay open (descriptors the handler holds beyond its requests).
pub(crate) const CAPACITY: usize = 32;
/// The largest file kept open.
pub(crate) const MAX_SIZE: u64 = 64 * 1024;

/// What must not have changed for a kept file to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    mode: u32,
    owner: (u32, u32),
}

impl Identity {
    fn of(meta: &Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            mode: meta.mode(),
            owner: (meta.uid(), meta.gid()),
        }
    }
}

#[derive(Debug)]
struct Kept {
    path: PathBuf,
    identity: Identity,
    file: Arc<File>,
}

/// What a path names, from one `stat`: its metadata (`None`: nothing there, or no
/// access), and for a regular file that could be opened, the open file.
#[derive(Debug)]
pub(crate) struct Lookup {
    pub(crate) meta: Option<Metadata>,
    pub(crate) file: Option<Arc<File>>,
}

impl Lookup {
    /// The open regular file and its metadata.
    pub(crate) fn file(self) -> Option<(Arc<File>, Metadata)> {
        Some((self.file?, self.meta?))
    }
}

/// The kept files of one handler (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct OpenFiles {
    kept: Mutex<(Vec<Kept>, usize)>,
}

impl OpenFiles {
    /// Looks `path` up (following symlinks, as Python does) with one `stat`, and opens
    /// it for reading if it is a regular file — from the kept files when `path` still
    /// names the kept file unchanged. Anything else (a directory, a FIFO) is not opened.
    pub(crate) fn open(&self, path: &Path) -> Lookup {
        let meta = std::fs::metadata(path).ok();
        {
            let mut kept = lock(&self.kept);
            if let Some(i) = kept.0.iter().position(|k| k.path == path) {
                if meta.as_ref().map(Identity::of) == Some(kept.0[i].identity) {
                    return Lookup {
                        file: Some(kept.0[i].file.clone()),
                        meta,
                    };
                }
                // Changed or gone: let the old descriptor go.
                kept.0.swap_remove(i);
            }
        }
        if !meta.as_ref().is_some_and(Metadata::is_file) {
            return Lookup { meta, file: None };
        }
        // Non-blocking, in case the path turned into a FIFO since the `stat`.
        let Some((file, meta)) = open_any(path).filter(|(_, m)| m.is_file()) else {
            return Lookup { meta, file: None };
        };
        let file = Arc::new(file);
        if meta.len() <= MAX_SIZE {
            self.keep(path, Identity::of(&meta), &file);
        }
        Lookup {
            meta: Some(meta),
            file: Some(file),
        }
    }

    fn keep(&self, path: &Path, identity: Identity, file: &Arc<File>) {
        let mut guard = lock(&self.kept);
        let (kept, next) = &mut *guard;
        let entry = Kept {
            path: path.to_owned(),
            identity,
            file: file.clone(),
        };
        if let Some(k) = kept.iter_mut().find(|k| k.path == path) {
            *k = entry;
        } else if kept.len() < CAPACITY {
            kept.push(entry);
        } else {
            // Replace in turn: the oldest entry goes first.
            kept[*next] = entry;
            *next = (*next + 1) % CAPACITY;
        }
    }

    /// How many files are kept open.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.kept).0.len()
    }
}

/// Opens `path` for reading with its metadata, non-blocking: Python would open a FIFO
/// or a device and wait.
fn open_any(path: &Path) -> Option<(File, Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    Some((file, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    fn read(file: &File) -> String {
        let mut s = String::new();
        (&*file).read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn kept_files_are_reused_only_while_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "one").unwrap();
        let files = OpenFiles::default();
        let (a, _) = files.open(&p).file().unwrap();
        let (b, _) = files.open(&p).file().unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second request reuses the open file"
        );

        // Rewritten in place, longer: the new content and the new length.
        std::fs::write(&p, "two!").unwrap();
        let (c, meta) = files.open(&p).file().unwrap();
        assert_eq!(read(&c), "two!");
        assert_eq!(meta.len(), 4);

        // Replaced by another file (rename over it): a new inode.
        let q = dir.path().join("b.txt");
        std::fs::write(&q, "three").unwrap();
        std::fs::rename(&q, &p).unwrap();
        let (d, meta) = files.open(&p).file().unwrap();
        assert_eq!(read(&d), "three");
        assert_eq!(meta.len(), 5);

        // Removed: not served from the kept descriptor, which is let go.
        std::fs::remove_file(&p).unwrap();
        assert!(files.open(&p).file().is_none());
        assert_eq!(files.len(), 0);

        // A directory is opened, not kept; nor is a large file.
        let lookup = files.open(dir.path());
        assert!(lookup.file.is_none());
        let meta = lookup.meta.unwrap();
        assert!(meta.is_dir());
        let big = dir.path().join("big.bin");
        std::fs::write(&big, vec![0u8; MAX_SIZE as usize + 1]).unwrap();
        let (a, _) = files.open(&big).file().unwrap();
        let (b, _) = files.open(&big).file().unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(files.len(), 0);
    }

    #[test]
    fn a_file_made_unreadable_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.txt");
        std::fs::write(&p, "x").unwrap();
        let files = OpenFiles::default();
        let (a, _) = files.open(&p).file().unwrap();
        if is_root() {
            // Root opens mode-000 files: check that a change of owner is seen instead.
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
            let (b, _) = files.open(&p).file().unwrap();
            assert!(
                !Arc::ptr_eq(&a, &b),
                "the chown is seen, the file opened again"
            );
            return;
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        assert!(
            files.open(&p).file().is_none(),
            "the chmod is seen, the open fails"
        );
    }

    /// Root opens mode-000 files, so the permission test means nothing as root.
    fn is_root() -> bool {
        std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }

    #[test]
    fn at_most_capacity_files_stay_open() {
        let dir = tempfile::tempdir().unwrap();
        let files = OpenFiles::default();
        for i in 0..CAPACITY + 10 {
            let p = dir.path().join(format!("{i}.txt"));
            std::fs::write(&p, i.to_string()).unwrap();
            let (f, _) = files.open(&p).file().unwrap();
            assert_eq!(read(&f), i.to_string());
        }
        assert_eq!(files.len(), CAPACITY);
        // The newest are kept, the oldest replaced.
        let newest = dir.path().join(format!("{}.txt", CAPACITY + 9));
        assert!(lock(&files.kept).0.iter().any(|k| k.path == newest));
        let oldest = dir.path().join("0.txt");
        assert!(!lock(&files.kept).0.iter().any(|k| k.path == oldest));
    }
}
