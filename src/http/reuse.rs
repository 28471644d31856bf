//! The storage an [`HttpRequest`](super::HttpRequest) leaves behind for the next one on
//! the same thread.
//!
//! One `HttpRequest` lives as long as its handler runs on a connection, and refills its
//! strings and buffers for each request it reads. On a pool worker that is one *turn*:
//! the handler returns, and the connection parks, whenever the next request has not
//! arrived yet — which under keep-alive load is after nearly every request. Without
//! this module every turn would allocate (and the read buffer zero) its storage again:
//! nine allocations and an 8 KiB `memset` per request, measured. With it, a worker
//! allocates once and then reuses: the request value takes the storage the thread's
//! previous one gave back when it was dropped.
//!
//! Storage that grew large for one unusual request is not kept (see [`KEEP`]), so a
//! thread holds at most a few tens of KiB. Only pool workers keep any: on a
//! thread-per-connection server the request value lives as long as its thread, so there
//! is nothing to hand on (and the short-lived thread need not register a thread-local
//! destructor).

use std::cell::Cell;

use super::headers::HttpMessage;
use crate::server::park;

/// Buffers larger than this are dropped rather than kept for the next request.
const KEEP: usize = 64 * 1024;

/// The growable storage of an `HttpRequest`; everything in it is empty (only the
/// read buffer has a length: its initialised bytes).
#[derive(Default)]
pub(crate) struct Storage {
    pub rbuf: Vec<u8>,
    pub wbuf: Vec<u8>,
    pub headers_buffer: Vec<u8>,
    pub raw_requestline: Vec<u8>,
    pub command: String,
    pub path: String,
    pub request_version: String,
    pub requestline: String,
    pub headers: HttpMessage,
}

impl Storage {
    /// Storage for a thread that serves one connection: what an ordinary request fills
    /// is allocated once, where growing from empty took 15 reallocations on its first
    /// request (`docs/performance.md`, "A new connection on a thread-per-connection
    /// server").
    fn for_a_connection() -> Storage {
        Storage {
            headers_buffer: Vec::with_capacity(256),
            raw_requestline: Vec::with_capacity(128),
            path: String::with_capacity(64),
            requestline: String::with_capacity(128),
            ..Storage::default()
        }
    }
}

thread_local! {
    static SPARE: Cell<Option<Storage>> = const { Cell::new(None) };
}

/// The storage the thread's last request gave back, or new storage.
pub(crate) fn take() -> Storage {
    if !park::on_pool_worker() {
        return Storage::for_a_connection();
    }
    SPARE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Keeps `storage` for the thread's next request, emptied.
pub(crate) fn give_back(mut s: Storage) {
    if !park::on_pool_worker() {
        return;
    }
    fn bytes(v: &mut Vec<u8>) {
        v.clear();
        if v.capacity() > KEEP {
            *v = Vec::new();
        }
    }
    fn text(v: &mut String) {
        v.clear();
        if v.capacity() > KEEP {
            *v = String::new();
        }
    }
    if s.rbuf.len() > KEEP {
        s.rbuf = Vec::new();
    }
    bytes(&mut s.wbuf);
    bytes(&mut s.headers_buffer);
    bytes(&mut s.raw_requestline);
    for t in [
        &mut s.command,
        &mut s.path,
        &mut s.request_version,
        &mut s.requestline,
    ] {
        text(t);
    }
    if s.headers.storage_size() > KEEP {
        s.headers = HttpMessage::new();
    } else {
        s.headers.clear();
    }
    // During the thread's exit the storage is simply dropped.
    let _ = SPARE.try_with(|spare| spare.set(Some(s)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_comes_back_empty_and_large_buffers_are_dropped() {
        park::run_turn(park::Turn::default(), || {
            let mut s = take();
            s.rbuf.resize(8192, 7);
            s.wbuf.extend_from_slice(&[1; 2 * KEEP]);
            s.path.push_str("/index.html");
            s.headers.add_header("Host", "x");
            let rbuf = s.rbuf.as_ptr();
            give_back(s);
            let s = take();
            assert_eq!(
                (s.rbuf.len(), s.rbuf.as_ptr()),
                (8192, rbuf),
                "the read buffer is kept as is"
            );
            assert_eq!(s.wbuf.capacity(), 0, "a buffer past KEEP is not kept");
            assert!(s.path.is_empty() && s.path.capacity() >= 11);
            assert!(s.headers.is_empty());
            assert!(take().rbuf.is_empty(), "taken once");
        });
    }

    #[test]
    fn nothing_is_kept_off_a_pool_worker() {
        let mut s = take();
        s.rbuf.resize(8192, 7);
        give_back(s);
        assert!(take().rbuf.is_empty());
        assert!(SPARE.with(|spare| spare.take().is_none()));
    }
}
