//! The blocking, streaming face of the multipart parser: parts pulled one at a time
//! from a [`Read`], each part itself a [`Read`].

use std::io::{self, Read};

use super::error::{FormError, Limits};
use super::multipart::{Event, MultipartParser, PartInfo};

/// Read size for the body.
const CHUNK: usize = 64 * 1024;

/// Parts of a `multipart/form-data` body, read as they arrive.
///
/// ```
/// use socketserver::http::forms::{Limits, MultipartReader};
///
/// let body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n\r\n\
///              \x00\x01\r\n--b--\r\n";
/// let mut parts = MultipartReader::new(&body[..], b"b", Limits::default()).unwrap();
/// while let Some(mut part) = parts.next_part().unwrap() {
///     assert_eq!(part.info().filename.as_deref(), Some("x.bin"));
///     let mut sink = Vec::new(); // or a file, a socket, a hasher...
///     std::io::copy(&mut part, &mut sink).unwrap();
///     assert_eq!(sink, b"\x00\x01");
/// }
/// ```
#[derive(Debug)]
pub struct MultipartReader<R> {
    body: R,
    parser: MultipartParser,
    chunk: Vec<u8>,
    total: u64,
    limits: Limits,
    /// A part was handed out and its content is not read to its end yet.
    in_part: bool,
    done: bool,
}

impl<R: Read> MultipartReader<R> {
    /// Reads `body`, a multipart body whose content type named `boundary`.
    pub fn new(body: R, boundary: &[u8], limits: Limits) -> Result<MultipartReader<R>, FormError> {
        let parser = MultipartParser::new(boundary, limits.max_header_size, limits.max_fields)?;
        Ok(MultipartReader {
            body,
            parser,
            chunk: vec![0; CHUNK],
            total: 0,
            limits,
            in_part: false,
            done: false,
        })
    }

    /// Lowers the part budget (fields already counted elsewhere, such as a query string).
    pub(crate) fn set_max_parts(&mut self, max_parts: usize) {
        self.parser.set_max_parts(max_parts);
    }

    /// Bytes of the body read so far.
    pub fn bytes_read(&self) -> u64 {
        self.total
    }

    /// Reads more of the body into the parser.
    fn fill(&mut self) -> Result<(), FormError> {
        let n = loop {
            match self.body.read(&mut self.chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FormError::from_io(e)),
            }
        };
        if n == 0 {
            self.parser.feed_eof();
            return Ok(());
        }
        self.total += n as u64;
        if self.total > self.limits.max_total_size {
            return Err(FormError::BodyTooLarge {
                limit: self.limits.max_total_size,
            });
        }
        self.parser.feed(&self.chunk[..n]);
        Ok(())
    }

    /// The next part, `None` after the closing boundary (the epilogue is then read and
    /// dropped, so the body is consumed to its end). The rest of an unread part is
    /// skipped first.
    pub fn next_part(&mut self) -> Result<Option<Part<'_, R>>, FormError> {
        if self.done {
            return Ok(None);
        }
        loop {
            match self.parser.next_event(usize::MAX)? {
                Some(Event::Part(info)) => {
                    self.in_part = true;
                    return Ok(Some(Part { reader: self, info }));
                }
                Some(Event::Data(_)) | Some(Event::PartEnd) => self.in_part = false,
                Some(Event::End) => {
                    self.done = true;
                    self.drain()?;
                    return Ok(None);
                }
                None => self.fill()?,
            }
        }
    }

    /// Reads the epilogue to the end of the body.
    fn drain(&mut self) -> Result<(), FormError> {
        loop {
            let n = loop {
                match self.body.read(&mut self.chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(FormError::from_io(e)),
                }
            };
            if n == 0 {
                return Ok(());
            }
            self.total += n as u64;
            if self.total > self.limits.max_total_size {
                return Err(FormError::BodyTooLarge {
                    limit: self.limits.max_total_size,
                });
            }
        }
    }

    /// Copies up to `out.len()` bytes of the current part; 0 at its end.
    fn read_part(&mut self, out: &mut [u8]) -> Result<usize, FormError> {
        if !self.in_part || out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.parser.next_event(out.len())? {
                Some(Event::Data(d)) => {
                    out[..d.len()].copy_from_slice(d);
                    return Ok(d.len());
                }
                Some(Event::PartEnd) => {
                    self.in_part = false;
                    return Ok(0);
                }
                Some(Event::Part(_)) | Some(Event::End) => {
                    // Not reachable inside a part; end it rather than misreport.
                    self.in_part = false;
                    return Ok(0);
                }
                None => self.fill()?,
            }
        }
    }
}

/// One part of a multipart body: its headers ([`info`](Part::info)) and, through
/// [`Read`], its content as it arrives.
///
/// A read error wraps the [`FormError`] in an [`io::Error`] (kind `InvalidData`, or
/// the original kind for an I/O failure); [`FormError::from_part_read`] unwraps it.
#[derive(Debug)]
pub struct Part<'r, R> {
    reader: &'r mut MultipartReader<R>,
    info: Box<PartInfo>,
}

impl<R: Read> Part<'_, R> {
    /// The part's headers and what they say.
    pub fn info(&self) -> &PartInfo {
        &self.info
    }

    /// Takes the headers out of the part (reading can go on).
    pub fn take_info(&mut self) -> PartInfo {
        std::mem::take(&mut *self.info)
    }

    /// Reads content, reporting a [`FormError`] as it is.
    pub fn read_content(&mut self, out: &mut [u8]) -> Result<usize, FormError> {
        self.reader.read_part(out)
    }
}

impl<R: Read> Read for Part<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reader.read_part(out).map_err(|e| match e {
            FormError::Io(io) => io,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        })
    }
}

impl FormError {
    /// The [`FormError`] inside an [`io::Error`] from [`Part`]'s `read`, or the I/O
    /// error itself.
    pub fn from_part_read(e: io::Error) -> FormError {
        if e.get_ref().is_some_and(|inner| inner.is::<FormError>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(form) = inner.downcast::<FormError>() {
                    return *form;
                }
            }
            return FormError::Malformed("unreadable part".to_owned());
        }
        FormError::Io(e)
    }
}
