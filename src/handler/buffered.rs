//! [`BufferedReader`]: Python's `io.BufferedReader`, the type of an HTTP handler's
//! `rfile`.
//!
//! It reads as std's `BufReader` does — a read as large as the buffer, with the buffer
//! empty, goes straight to the inner reader; otherwise reads are served from one
//! buffer-sized read at a time — with one difference: the buffer can be taken back out
//! and given to the next reader. A pool worker serves a connection one turn at a time,
//! with a fresh handler value each turn; handing the buffer on means it is allocated and
//! initialised once per worker rather than once per request (std's `BufReader` zeroes
//! its buffer before the first read into it).

use std::fmt;
use std::io::{self, BufRead, Read};

/// A buffered reader whose buffer outlives it (see the [module docs](self)).
///
/// ```
/// use std::io::{BufRead, Read};
/// use socketserver::handler::BufferedReader;
///
/// let mut r = BufferedReader::with_capacity(4, &b"GET / HTTP/1.0\r\n"[..]);
/// let mut line = String::new();
/// r.read_line(&mut line).unwrap();
/// assert_eq!(line, "GET / HTTP/1.0\r\n");
/// assert_eq!(r.read(&mut [0; 8]).unwrap(), 0);
/// ```
#[doc(alias = "io.BufferedReader")]
pub struct BufferedReader<R> {
    inner: R,
    /// All initialised; its length is the capacity.
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
}

impl<R> BufferedReader<R> {
    /// A reader with a buffer of `capacity` bytes (at least one).
    pub fn with_capacity(capacity: usize, inner: R) -> BufferedReader<R> {
        BufferedReader::with_buffer(Vec::new(), capacity, inner)
    }

    /// A reader that uses `buf`'s storage as its buffer of `capacity` bytes: the bytes
    /// `buf` holds are overwritten, not zeroed again, so a buffer taken from an earlier
    /// reader with [`take_buffer`](Self::take_buffer) costs nothing to set up.
    pub(crate) fn with_buffer(mut buf: Vec<u8>, capacity: usize, inner: R) -> BufferedReader<R> {
        let capacity = capacity.max(1);
        if buf.len() >= capacity {
            buf.truncate(capacity);
        } else {
            buf.resize(capacity, 0);
        }
        BufferedReader {
            inner,
            buf,
            pos: 0,
            filled: 0,
        }
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably (reading from it directly skips what is buffered).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The bytes read from the inner reader and not consumed yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// The buffer's size.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The inner reader; anything buffered is lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Takes the buffer's storage for another reader, dropping what it holds. For the
    /// end of a reader's life: without a buffer, `read` goes to the inner reader and
    /// `fill_buf` returns nothing.
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        self.pos = 0;
        self.filled = 0;
        std::mem::take(&mut self.buf)
    }
}

impl<R: Read> Read for BufferedReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }

    fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let buffered = self.filled - self.pos;
        out.extend_from_slice(self.buffer());
        self.pos = self.filled;
        Ok(buffered + self.inner.read_to_end(out)?)
    }
}

impl<R: Read> BufRead for BufferedReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled && !self.buf.is_empty() {
            let n = self.inner.read(&mut self.buf)?;
            self.pos = 0;
            self.filled = n;
        }
        Ok(self.buffer())
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

impl<R: fmt::Debug> fmt::Debug for BufferedReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferedReader")
            .field("reader", &self.inner)
            .field("buffered", &(self.filled - self.pos))
            .field("capacity", &self.buf.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out `chunks` one per read, recording the size of each ask.
    struct Chunks(Vec<&'static [u8]>, Vec<usize>);

    impl Read for Chunks {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.1.push(out.len());
            if self.0.is_empty() {
                return Ok(0);
            }
            let c = self.0.remove(0);
            out[..c.len()].copy_from_slice(c);
            Ok(c.len())
        }
    }

    #[test]
    fn reads_as_std_bufreader_does() {
        let input: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for cap in [1, 7, 64, 1000, 4096] {
            for ask in [1, 5, 63, 64, 65, 999, 5000] {
                let mut ours = BufferedReader::with_capacity(cap, input.as_slice());
                let mut std = io::BufReader::with_capacity(cap, input.as_slice());
                let (mut a, mut b) = (vec![0; ask], vec![0; ask]);
                loop {
                    let (n, m) = (ours.read(&mut a).unwrap(), std.read(&mut b).unwrap());
                    assert_eq!((n, &a[..n]), (m, &b[..m]), "cap {cap} ask {ask}");
                    assert_eq!(ours.buffer(), std.buffer());
                    if n == 0 {
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn a_large_read_with_the_buffer_empty_bypasses_it() {
        let mut r = BufferedReader::with_capacity(4, Chunks(vec![b"abcdefgh", b"ij"], vec![]));
        let mut out = [0; 8];
        assert_eq!(r.read(&mut out).unwrap(), 8);
        assert_eq!(r.read(&mut [0; 1]).unwrap(), 1);
        assert_eq!(r.buffer(), b"j");
        assert_eq!(r.get_ref().1, [8, 4]);
    }

    #[test]
    fn a_taken_buffer_is_reused_without_reinitialising() {
        let mut r = BufferedReader::with_capacity(8, &b"hello world"[..]);
        let mut word = Vec::new();
        r.read_until(b' ', &mut word).unwrap();
        let buf = r.take_buffer();
        assert_eq!(buf.len(), 8);
        let ptr = buf.as_ptr();
        let mut next = BufferedReader::with_buffer(buf, 8, &b"second"[..]);
        let mut rest = String::new();
        next.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "second");
        let again = next.take_buffer();
        assert_eq!(again.as_ptr(), ptr, "the same storage");
        let smaller = BufferedReader::with_buffer(vec![1; 16], 4, &b""[..]);
        assert_eq!(smaller.capacity(), 4);
        assert_eq!(
            BufferedReader::with_buffer(vec![], 0, &b""[..]).capacity(),
            1
        );
    }

    #[test]
    fn read_to_end_keeps_the_buffered_bytes_first() {
        let mut r = BufferedReader::with_capacity(4, Chunks(vec![b"ab", b"cdef", b"g"], vec![]));
        assert_eq!(r.fill_buf().unwrap(), b"ab");
        r.consume(1);
        let mut all = Vec::new();
        assert_eq!(r.read_to_end(&mut all).unwrap(), 6);
        assert_eq!(all, b"bcdefg");
    }
}
