//! The connection side of a FastCGI responder: reading records into a bounded buffer,
//! answering the records the library owns (GET_VALUES, unknown management types, a
//! second BEGIN_REQUEST), and writing STDOUT/STDERR as records.
//!
//! Everything here is per connection and reused from request to request when the web
//! server keeps the connection open.

use std::io::{self, IoSlice};
use std::time::Instant;

use super::params::Params;
use super::record::{
    pack_end_request, pack_pair, pack_rec_into, pack_unknown_type, padding_for, unpack_pairs,
    Header, PairDecoder, ProtocolError, Request, Status, FCGI_HEADER_LEN, FCGI_MAX_CONNS,
    FCGI_MAX_LENGTH, FCGI_MAX_REQS, FCGI_MPXS_CONNS, FCGI_VERSION_1, MAX_PARAMS_PAIRS, ZEROS,
};
use crate::socket::{check_deadline, Connection};

/// The read buffer's size (libfcgi's too). Requests from nginx (one PARAMS record of a
/// few hundred bytes, the empty PARAMS and STDIN records) arrive in one read; reads of
/// the body this large or larger go straight into the caller's buffer
/// ([`ReadBuf::read_into`]).
pub(crate) const READ_BUF: usize = 8 * 1024;

/// STDOUT/STDERR bytes collected before they are sent; a write of this size or more
/// flushes.
pub(crate) const OUT_FLUSH: usize = 64 * 1024;

/// A write at least this long skips the buffer: its records leave with one `writev`
/// (header, the caller's bytes, padding), without a copy.
pub(crate) const BIG_WRITE: usize = 16 * 1024;

/// How much of a request body a handler left unread is read and dropped before the
/// connection is given up (the next request on a kept connection comes after it, and
/// closing a socket with unread data makes the kernel send a reset).
pub(crate) const DRAIN_LIMIT: u64 = 64 << 20;

pub(crate) fn unexpected_eof(during: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the web server closed the FastCGI connection {during}"),
    )
}

pub(crate) fn aborted_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the web server aborted the request (FCGI_ABORT_REQUEST)",
    )
}

/// A fixed-size read buffer over a connection.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// A read that returns after this fails with `TimedOut` (the pool's header timeout
    /// while a request's head — BEGIN_REQUEST and PARAMS — arrives).
    deadline: Option<Instant>,
    /// The last read returned less than there was room for: the socket was empty then.
    drained: bool,
}

impl ReadBuf {
    pub(crate) fn new() -> ReadBuf {
        ReadBuf {
            buf: vec![0; READ_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            deadline: None,
            drained: false,
        }
    }

    /// True when nothing is buffered and the last read emptied a plain socket: the next
    /// bytes will come with a readiness event.
    pub(crate) fn is_drained(&self, conn: &Connection) -> bool {
        self.is_empty() && self.drained && !conn.is_tls() && !conn.has_buffered_input()
    }

    /// With nothing buffered, one read of what has arrived, without waiting: `None` when
    /// nothing has; `Some(0)` at end of file.
    pub(crate) fn fill_nowait(&mut self, conn: &Connection) -> io::Result<Option<usize>> {
        self.start = 0;
        self.end = 0;
        match conn.recv_nowait(&mut self.buf) {
            Ok(n) => {
                self.end = n;
                self.drained = n < self.buf.len();
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets (or clears) the time after which a read fails with `TimedOut`, however
    /// much it returned: a peer that trickles bytes cannot hold the worker past it.
    pub(crate) fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// One read from the connection into the free space; 0 at end of file.
    fn fill(&mut self, conn: &Connection) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            let room = self.buf.len() - self.end;
            match conn.recv(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    self.drained = n < room;
                    check_deadline(self.deadline)?;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next record header; `None` at a clean end of file (between records).
    fn read_header(&mut self, conn: &Connection) -> io::Result<Option<Header>> {
        while self.end - self.start < FCGI_HEADER_LEN {
            if self.fill(conn)? == 0 {
                if self.is_empty() {
                    return Ok(None);
                }
                return Err(unexpected_eof("in the middle of a record header"));
            }
        }
        let mut b = [0u8; FCGI_HEADER_LEN];
        b.copy_from_slice(&self.buf[self.start..self.start + FCGI_HEADER_LEN]);
        self.consume(FCGI_HEADER_LEN);
        let h = Header::from_bytes(b);
        if h.version != FCGI_VERSION_1 {
            return Err(ProtocolError::UnsupportedVersion(h.version).into());
        }
        Ok(Some(h))
    }

    /// At most `max` bytes of content: what is buffered, or one read when nothing is.
    /// An end of file here is an error (the record was announced longer).
    fn content(&mut self, conn: &Connection, max: usize) -> io::Result<&[u8]> {
        if self.is_empty() && self.fill(conn)? == 0 {
            return Err(unexpected_eof("in the middle of a record"));
        }
        let n = max.min(self.end - self.start);
        let s = self.start;
        self.consume(n);
        Ok(&self.buf[s..s + n])
    }

    /// Reads and drops `n` bytes.
    fn skip(&mut self, conn: &Connection, mut n: usize) -> io::Result<()> {
        while n > 0 {
            n -= self.content(conn, n)?.len();
        }
        Ok(())
    }

    /// Copies content into `dst` (at most `dst.len()` bytes): from the buffer if it
    /// holds any, else with one read — straight into `dst` when `dst` is at least as big
    /// as the buffer, so large bodies are not copied twice.
    fn read_into(&mut self, conn: &Connection, dst: &mut [u8]) -> io::Result<usize> {
        if self.is_empty() && dst.len() >= self.buf.len() {
            loop {
                match conn.recv(dst) {
                    Ok(0) => return Err(unexpected_eof("in the middle of a STDIN record")),
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let src = self.content(conn, dst.len())?;
        dst[..src.len()].copy_from_slice(src);
        Ok(src.len())
    }
}

/// What the record reader found for the request in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A BEGIN_REQUEST while no request is active.
    Begin { id: u16, role: u16, flags: u8 },
    /// A PARAMS record of the active request; its content is next in the reader.
    Params { len: usize },
    /// A STDIN record of the active request; its content is next in the reader.
    Stdin { len: usize },
    /// An ABORT_REQUEST for the active request.
    Abort,
    /// The web server closed the connection between records.
    Eof,
}

/// The input half of a connection: the read buffer and where the active request's
/// streams stand.
#[derive(Debug)]
pub(crate) struct Input {
    pub(crate) rbuf: ReadBuf,
    /// The request in progress (BEGIN received, END_REQUEST not yet sent).
    pub(crate) active: Option<u16>,
    /// Content bytes of the current PARAMS or STDIN record not yet consumed.
    cur_left: usize,
    /// Whether that record is a STDIN record (its content is the body).
    cur_stdin: bool,
    /// Padding after the current record, skipped before the next header.
    cur_pad: usize,
    pub(crate) stdin_done: bool,
    pub(crate) aborted: bool,
    pub(crate) stdin_received: u64,
    /// What GET_VALUES answers.
    pub(crate) max_conns: usize,
    pub(crate) max_reqs: usize,
    scratch: Vec<u8>,
}

impl Input {
    pub(crate) fn new() -> Input {
        Input {
            rbuf: ReadBuf::new(),
            active: None,
            cur_left: 0,
            cur_stdin: false,
            cur_pad: 0,
            stdin_done: false,
            aborted: false,
            stdin_received: 0,
            max_conns: 1,
            max_reqs: 1,
            scratch: Vec::new(),
        }
    }

    /// Forgets any previous connection's state, keeping the buffers.
    pub(crate) fn reset(&mut self) {
        self.rbuf.start = 0;
        self.rbuf.end = 0;
        self.rbuf.deadline = None;
        self.rbuf.drained = false;
        self.active = None;
        self.cur_left = 0;
        self.cur_stdin = false;
        self.cur_pad = 0;
        self.stdin_done = false;
        self.aborted = false;
        self.stdin_received = 0;
        self.scratch.clear();
    }

    /// Frees the GET_VALUES scratch buffer if it grew past `max`.
    pub(crate) fn trim(&mut self, max: usize) {
        if self.scratch.capacity() > max {
            self.scratch = Vec::new();
        }
    }

    /// Makes `id` the active request.
    pub(crate) fn start(&mut self, id: u16) {
        self.active = Some(id);
        self.stdin_done = false;
        self.aborted = false;
        self.stdin_received = 0;
    }

    /// True between requests with nothing buffered: a read timeout or the web server
    /// closing the connection here loses nothing.
    pub(crate) fn at_boundary(&self) -> bool {
        self.active.is_none() && self.rbuf.is_empty() && self.cur_left == 0 && self.cur_pad == 0
    }

    /// Reads records until one concerns the active request (or, with none active, until
    /// a BEGIN_REQUEST). Management records are answered, a BEGIN_REQUEST for another
    /// id is refused with FCGI_CANT_MPX_CONN, records of inactive ids and types a
    /// Responder does not use are skipped.
    pub(crate) fn next_event(&mut self, conn: &Connection) -> io::Result<Event> {
        let leftover = self.cur_left + self.cur_pad;
        self.cur_left = 0;
        self.cur_pad = 0;
        self.cur_stdin = false;
        self.rbuf.skip(conn, leftover)?;
        loop {
            let Some(h) = self.rbuf.read_header(conn)? else {
                return Ok(Event::Eof);
            };
            let len = usize::from(h.content_length);
            let pad = usize::from(h.padding_length);
            if h.request_id == 0 {
                self.management(conn, h)?;
                continue;
            }
            let kind = h.kind();
            if kind == Some(Request::BeginRequest) {
                let body = self.small_content(conn, len, pad)?;
                if len < 8 {
                    return Err(ProtocolError::BadContentLength {
                        record: Request::BeginRequest,
                        length: len,
                    }
                    .into());
                }
                let role = u16::from_be_bytes([body[0], body[1]]);
                match self.active {
                    None => {
                        return Ok(Event::Begin {
                            id: h.request_id,
                            role,
                            flags: body[2],
                        })
                    }
                    Some(a) if a == h.request_id => {
                        return Err(ProtocolError::DuplicateRequest(a).into())
                    }
                    Some(_) => {
                        let end = pack_end_request(0, Status::CantMpxConn);
                        reply(conn, Request::EndRequest, h.request_id, &end)?;
                        continue;
                    }
                }
            }
            if self.active != Some(h.request_id) {
                self.rbuf.skip(conn, len + pad)?;
                continue;
            }
            match kind {
                Some(Request::AbortRequest) => {
                    self.rbuf.skip(conn, len + pad)?;
                    self.aborted = true;
                    return Ok(Event::Abort);
                }
                Some(Request::Params) => {
                    self.cur_left = len;
                    self.cur_pad = pad;
                    return Ok(Event::Params { len });
                }
                Some(Request::Stdin) => {
                    self.cur_left = len;
                    self.cur_pad = pad;
                    self.cur_stdin = true;
                    return Ok(Event::Stdin { len });
                }
                // DATA (a Filter's), records only an application sends, unknown types.
                _ => self.rbuf.skip(conn, len + pad)?,
            }
        }
    }

    /// The first 8 content bytes of a discrete record (zero-filled if shorter); the rest
    /// and the padding are skipped.
    fn small_content(&mut self, conn: &Connection, len: usize, pad: usize) -> io::Result<[u8; 8]> {
        let mut body = [0u8; 8];
        let mut got = 0;
        while got < len.min(8) {
            let c = self.rbuf.content(conn, len.min(8) - got)?;
            body[got..got + c.len()].copy_from_slice(c);
            got += c.len();
        }
        self.rbuf.skip(conn, len - got + pad)?;
        Ok(body)
    }

    /// A record with request id 0: GET_VALUES is answered with the values this
    /// responder knows, any other type with UNKNOWN_TYPE.
    fn management(&mut self, conn: &Connection, h: Header) -> io::Result<()> {
        let len = usize::from(h.content_length);
        let pad = usize::from(h.padding_length);
        if h.kind() != Some(Request::GetValues) {
            self.rbuf.skip(conn, len + pad)?;
            return reply(
                conn,
                Request::UnknownType,
                0,
                &pack_unknown_type(h.record_type),
            );
        }
        // At most 65,535 bytes, collected as they arrive.
        self.scratch.clear();
        while self.scratch.len() < len {
            let c = self.rbuf.content(conn, len - self.scratch.len())?;
            self.scratch.extend_from_slice(c);
        }
        self.rbuf.skip(conn, pad)?;
        let mut answer = Vec::new();
        let conns = self.max_conns.to_string();
        let reqs = self.max_reqs.to_string();
        for (name, _) in unpack_pairs(&self.scratch).map_while(Result::ok) {
            let value = match name {
                n if n == FCGI_MAX_CONNS.as_bytes() => conns.as_bytes(),
                n if n == FCGI_MAX_REQS.as_bytes() => reqs.as_bytes(),
                n if n == FCGI_MPXS_CONNS.as_bytes() => b"0",
                _ => continue,
            };
            if answer.len() + name.len() + value.len() + 8 <= FCGI_MAX_LENGTH {
                pack_pair(&mut answer, name, value);
            }
        }
        reply(conn, Request::GetValuesResult, 0, &answer)
    }

    /// Feeds the current PARAMS record's content to the pair decoder.
    pub(crate) fn read_params(
        &mut self,
        conn: &Connection,
        decoder: &mut PairDecoder,
        params: &mut Params,
    ) -> io::Result<()> {
        while self.cur_left > 0 {
            let chunk = self.rbuf.content(conn, self.cur_left)?;
            self.cur_left -= chunk.len();
            decoder.feed(chunk, |n, v| params.insert(n, v))?;
            // Checked per chunk: at most one buffer's worth of pairs over the cap.
            if params.len() > MAX_PARAMS_PAIRS {
                return Err(ProtocolError::TooManyParams {
                    limit: MAX_PARAMS_PAIRS,
                }
                .into());
            }
        }
        Ok(())
    }

    /// Moves to STDIN content: true when body bytes are buffered and ready, false at the
    /// end of the body. An ABORT_REQUEST is an error ([`io::ErrorKind::ConnectionAborted`]).
    fn ensure_stdin(&mut self, conn: &Connection) -> io::Result<bool> {
        loop {
            if self.cur_stdin && self.cur_left > 0 {
                if self.rbuf.is_empty() && self.rbuf.fill(conn)? == 0 {
                    return Err(unexpected_eof("in the middle of a STDIN record"));
                }
                return Ok(true);
            }
            if self.aborted {
                return Err(aborted_error());
            }
            if self.stdin_done {
                return Ok(false);
            }
            match self.next_event(conn)? {
                Event::Stdin { len: 0 } => self.stdin_done = true,
                Event::Stdin { .. } | Event::Params { .. } => {}
                Event::Abort => return Err(aborted_error()),
                Event::Eof => return Err(unexpected_eof("before the end of the request body")),
                Event::Begin { .. } => {
                    return Err(ProtocolError::UnexpectedRecord(Request::BeginRequest as u8).into())
                }
            }
        }
    }

    /// `Read::read` for the body.
    pub(crate) fn read_stdin(&mut self, conn: &Connection, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        // Without buffered bytes, a large `dst` is read into directly.
        let direct = self.cur_stdin && self.cur_left > 0 && dst.len() >= READ_BUF;
        if !direct && !self.ensure_stdin(conn)? {
            return Ok(0);
        }
        let max = dst.len().min(self.cur_left);
        let n = self.rbuf.read_into(conn, &mut dst[..max])?;
        self.cur_left -= n;
        self.stdin_received += n as u64;
        Ok(n)
    }

    /// `BufRead::fill_buf` for the body.
    pub(crate) fn fill_stdin(&mut self, conn: &Connection) -> io::Result<&[u8]> {
        if !self.ensure_stdin(conn)? {
            return Ok(&[]);
        }
        let avail = self.rbuf.available();
        Ok(&avail[..avail.len().min(self.cur_left)])
    }

    /// `BufRead::consume` for the body.
    pub(crate) fn consume_stdin(&mut self, n: usize) {
        let n = n.min(self.cur_left).min(self.rbuf.end - self.rbuf.start);
        self.rbuf.consume(n);
        self.cur_left -= n;
        self.stdin_received += n as u64;
    }

    /// Reads and drops what is left of the active request's body, up to `limit` bytes.
    /// True when the body ended (or the request was aborted): the connection is at the
    /// next request. False at end of file or past the limit.
    pub(crate) fn drain_stdin(&mut self, conn: &Connection, limit: u64) -> io::Result<bool> {
        let mut drained = 0u64;
        loop {
            if self.stdin_done || self.aborted {
                return Ok(true);
            }
            drained += self.cur_left as u64;
            if drained > limit {
                return Ok(false);
            }
            match self.next_event(conn)? {
                Event::Stdin { len: 0 } => self.stdin_done = true,
                Event::Stdin { .. } | Event::Params { .. } | Event::Abort => {}
                Event::Eof => return Ok(false),
                Event::Begin { .. } => {
                    return Err(ProtocolError::UnexpectedRecord(Request::BeginRequest as u8).into())
                }
            }
        }
    }
}

/// Sends one record at once (replies the library makes on its own). Safe beside
/// buffered STDOUT: the output buffer only ever sends whole records.
pub(crate) fn reply(conn: &Connection, typ: Request, id: u16, content: &[u8]) -> io::Result<()> {
    let mut rec = Vec::with_capacity(FCGI_HEADER_LEN + content.len() + 8);
    pack_rec_into(&mut rec, typ, id, content);
    conn.sendall(&rec)
}

/// STDOUT and STDERR of the active request, as records.
///
/// Small writes are appended to one open record (up to 65,535 bytes) in a buffer of
/// [`OUT_FLUSH`] bytes, so a small response and its END_REQUEST leave in one `write`;
/// large writes go out at once with `writev`. Only whole records are ever sent.
#[derive(Debug)]
pub(crate) struct OutBuf {
    buf: Vec<u8>,
    /// The record being filled: where its header is, and its type.
    open: Option<(usize, Request)>,
    id: u16,
    pub(crate) stdout_used: bool,
    pub(crate) stderr_used: bool,
}

impl OutBuf {
    pub(crate) fn new() -> OutBuf {
        OutBuf {
            buf: Vec::with_capacity(1024),
            open: None,
            id: 0,
            stdout_used: false,
            stderr_used: false,
        }
    }

    pub(crate) fn start(&mut self, id: u16) {
        self.buf.clear();
        self.open = None;
        self.id = id;
        self.stdout_used = false;
        self.stderr_used = false;
    }

    /// Frees the buffer if it grew past `max` (it is empty between requests).
    pub(crate) fn trim(&mut self, max: usize) {
        if self.buf.capacity() > max {
            self.buf = Vec::with_capacity(1024);
        }
    }

    /// Bytes buffered (for tests of the bound).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Fills in the open record's header and pads it; drops it if it is empty (an
    /// empty record would end the stream).
    fn close_open(&mut self) {
        if let Some((pos, typ)) = self.open.take() {
            let len = self.buf.len() - pos - FCGI_HEADER_LEN;
            if len == 0 {
                self.buf.truncate(pos);
                return;
            }
            let pad = padding_for(len);
            // An open record never holds more than FCGI_MAX_LENGTH bytes.
            let header = Header::new(typ, self.id, len as u16, pad).to_bytes();
            self.buf[pos..pos + FCGI_HEADER_LEN].copy_from_slice(&header);
            self.buf.extend_from_slice(&ZEROS[..usize::from(pad)]);
        }
    }

    /// Writes `data` to STDOUT or STDERR.
    pub(crate) fn write(
        &mut self,
        conn: &Connection,
        typ: Request,
        mut data: &[u8],
    ) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        match typ {
            Request::Stderr => self.stderr_used = true,
            _ => self.stdout_used = true,
        }
        while !data.is_empty() {
            if data.len() >= BIG_WRITE {
                self.close_open();
                let chunk = &data[..data.len().min(FCGI_MAX_LENGTH)];
                let pad = usize::from(padding_for(chunk.len()));
                let header = Header::new(typ, self.id, chunk.len() as u16, pad as u8).to_bytes();
                let mut iov = [
                    IoSlice::new(&self.buf),
                    IoSlice::new(&header),
                    IoSlice::new(chunk),
                    IoSlice::new(&ZEROS[..pad]),
                ];
                let sent = conn.write_all_vectored(&mut iov);
                self.buf.clear();
                sent?;
                data = &data[chunk.len()..];
                continue;
            }
            if let Some((pos, t)) = self.open {
                if t != typ || self.buf.len() - pos - FCGI_HEADER_LEN >= FCGI_MAX_LENGTH {
                    self.close_open();
                }
            }
            if self.buf.len() >= OUT_FLUSH {
                self.flush(conn)?;
            }
            let pos = match self.open {
                Some((pos, _)) => pos,
                None => {
                    let pos = self.buf.len();
                    self.buf.extend_from_slice(&[0; FCGI_HEADER_LEN]);
                    self.open = Some((pos, typ));
                    pos
                }
            };
            let room = FCGI_MAX_LENGTH - (self.buf.len() - pos - FCGI_HEADER_LEN);
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if self.buf.len() >= OUT_FLUSH {
            self.flush(conn)?;
        }
        Ok(())
    }

    /// Sends every buffered record now.
    pub(crate) fn flush(&mut self, conn: &Connection) -> io::Result<()> {
        self.close_open();
        if self.buf.is_empty() {
            return Ok(());
        }
        let sent = conn.sendall(&self.buf);
        self.buf.clear();
        sent
    }

    /// Ends the request: the empty STDOUT record (always: the spec requires the
    /// stream), the empty STDERR record if STDERR was used, END_REQUEST — all with
    /// whatever output is still buffered, in one write.
    pub(crate) fn end_request(&mut self, conn: &Connection, app_status: u32) -> io::Result<()> {
        self.close_open();
        pack_rec_into(&mut self.buf, Request::Stdout, self.id, b"");
        if self.stderr_used {
            pack_rec_into(&mut self.buf, Request::Stderr, self.id, b"");
        }
        let end = pack_end_request(app_status, Status::RequestComplete);
        pack_rec_into(&mut self.buf, Request::EndRequest, self.id, &end);
        self.flush(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fcgi::record::unpack_rec;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    fn pair() -> (Connection, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        (Connection::Unix(a), b)
    }

    fn records(bytes: &[u8]) -> Vec<(u8, u16, Vec<u8>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some((next, r)) = unpack_rec(bytes, i).unwrap() {
            out.push((
                r.header.record_type,
                r.header.request_id,
                r.content.to_vec(),
            ));
            i = next;
        }
        assert_eq!(i, bytes.len(), "trailing bytes");
        out
    }

    #[test]
    fn small_writes_share_one_record_and_one_send() {
        let (conn, mut peer) = pair();
        let mut out = OutBuf::new();
        out.start(5);
        out.write(&conn, Request::Stdout, b"Status: 200 OK\r\n")
            .unwrap();
        out.write(&conn, Request::Stdout, b"\r\nhello").unwrap();
        out.write(&conn, Request::Stdout, b"").unwrap();
        out.end_request(&conn, 0).unwrap();
        drop(conn);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        let recs = records(&got);
        assert_eq!(
            recs,
            [
                (6, 5, b"Status: 200 OK\r\n\r\nhello".to_vec()),
                (6, 5, vec![]),
                (3, 5, vec![0; 8]),
            ]
        );
    }

    #[test]
    fn interleaved_stderr_and_large_output_keep_order_and_bounds() {
        let (conn, mut peer) = pair();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).unwrap();
            got
        });
        let mut out = OutBuf::new();
        out.start(1);
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        out.write(&conn, Request::Stdout, b"head").unwrap();
        out.write(&conn, Request::Stderr, b"warn").unwrap();
        for piece in big.chunks(1000) {
            out.write(&conn, Request::Stdout, piece).unwrap();
            assert!(out.buffered() < OUT_FLUSH + FCGI_MAX_LENGTH);
        }
        out.write(&conn, Request::Stdout, &big).unwrap();
        assert!(out.buffered() < OUT_FLUSH);
        out.end_request(&conn, 3).unwrap();
        drop(conn);
        let got = reader.join().unwrap();
        let recs = records(&got);
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        for (t, id, c) in &recs {
            assert_eq!(*id, 1);
            assert!(c.len() <= FCGI_MAX_LENGTH);
            match t {
                6 => stdout.extend_from_slice(c),
                7 => stderr.extend_from_slice(c),
                _ => {}
            }
        }
        assert_eq!(&stdout[..4], b"head");
        assert_eq!(&stdout[4..300_004], &big[..]);
        assert_eq!(&stdout[300_004..], &big[..]);
        assert_eq!(stderr, b"warn");
        let n = recs.len();
        assert_eq!(recs[n - 3], (6, 1, vec![]));
        assert_eq!(recs[n - 2], (7, 1, vec![]));
        assert_eq!(recs[n - 1], (3, 1, vec![0, 0, 0, 3, 0, 0, 0, 0]));
        // Only the last record of each stream is empty.
        assert_eq!(recs.iter().filter(|r| r.2.is_empty()).count(), 2);
    }
}
