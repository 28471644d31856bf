//! The FastCGI record codec, sans-IO: bytes in, values out, and values in, bytes out.
//!
//! Nothing here touches a socket, so every function is tested (and fuzzable) on plain
//! byte slices. The names follow fast.ai's `fastcgi` module — [`Request`], [`Role`],
//! [`Status`], [`pack_rec`], [`unpack_rec`], [`unpack_content`] — with the values of the
//! FastCGI 1.0 specification (fast.ai's `Status` starts at 1; the spec's
//! `FCGI_REQUEST_COMPLETE` is 0).
//!
//! A record is an 8-byte [`Header`] (version 1, type, request id, content length,
//! padding length, reserved), then at most 65,535 content bytes, then 0–255 padding
//! bytes that the receiver skips.
//!
//! ```
//! use socketserver::fcgi::record::{pack_rec, unpack_rec, Request};
//!
//! let bytes = pack_rec(Request::Stdout, 7, b"Status: 200 OK\r\n\r\nhi");
//! let (end, rec) = unpack_rec(&bytes, 0).unwrap().unwrap();
//! assert_eq!(end, bytes.len());
//! assert_eq!(rec.header.kind(), Some(Request::Stdout));
//! assert_eq!(rec.header.request_id, 7);
//! assert_eq!(rec.content, b"Status: 200 OK\r\n\r\nhi");
//! ```

use std::fmt;
use std::io;

/// `FCGI_VERSION_1`: the only protocol version.
pub const FCGI_VERSION_1: u8 = 1;
/// `FCGI_HEADER_LEN`: every record starts with 8 header bytes.
pub const FCGI_HEADER_LEN: usize = 8;
/// `FCGI_MAX_LENGTH`: the most content one record carries (65,535 bytes).
pub const FCGI_MAX_LENGTH: usize = 0xffff;
/// `FCGI_NULL_REQUEST_ID`: the request id of management records.
pub const FCGI_NULL_REQUEST_ID: u16 = 0;
/// `FCGI_KEEP_CONN`: the BEGIN_REQUEST flag asking the application to keep the
/// connection open after the request.
pub const FCGI_KEEP_CONN: u8 = 1;
/// `FCGI_MAX_CONNS`: the GET_VALUES name for the most concurrent connections.
pub const FCGI_MAX_CONNS: &str = "FCGI_MAX_CONNS";
/// `FCGI_MAX_REQS`: the GET_VALUES name for the most concurrent requests.
pub const FCGI_MAX_REQS: &str = "FCGI_MAX_REQS";
/// `FCGI_MPXS_CONNS`: the GET_VALUES name for "multiplexes connections" (`0` or `1`).
pub const FCGI_MPXS_CONNS: &str = "FCGI_MPXS_CONNS";
/// The default cap on a request's PARAMS stream (1 MiB): more is refused with
/// [`ProtocolError::ParamsTooLarge`]. nginx never sends more than 64 KiB.
pub const MAX_PARAMS_SIZE: usize = 1 << 20;
/// The cap on the number of PARAMS pairs in one request: more is refused with
/// [`ProtocolError::TooManyParams`] (nginx sends about 20 plus one per HTTP header).
pub const MAX_PARAMS_PAIRS: usize = 10_000;

/// FastCGI record types (`FCGI_BEGIN_REQUEST` … `FCGI_UNKNOWN_TYPE`).
///
/// fast.ai calls this enum `Request` (and its released versions `Record`); it lacks
/// `UNKNOWN_TYPE`, which is here.
///
/// ```
/// use socketserver::fcgi::Request;
/// assert_eq!(Request::BeginRequest as u8, 1);
/// assert_eq!(Request::from_u8(11), Some(Request::UnknownType));
/// assert_eq!(Request::from_u8(12), None);
/// assert_eq!(Request::Stdin.name(), "STDIN");
/// ```
#[doc(alias = "Record")]
#[doc(alias = "FCGI_TYPE")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Request {
    /// `FCGI_BEGIN_REQUEST` (1): web server → application; starts a request.
    #[doc(alias = "BEGIN_REQUEST")]
    BeginRequest = 1,
    /// `FCGI_ABORT_REQUEST` (2): web server → application; the client went away.
    #[doc(alias = "ABORT_REQUEST")]
    AbortRequest = 2,
    /// `FCGI_END_REQUEST` (3): application → web server; the request is done.
    #[doc(alias = "END_REQUEST")]
    EndRequest = 3,
    /// `FCGI_PARAMS` (4): web server → application; the CGI environment as name–value
    /// pairs.
    #[doc(alias = "PARAMS")]
    Params = 4,
    /// `FCGI_STDIN` (5): web server → application; the request body.
    #[doc(alias = "STDIN")]
    Stdin = 5,
    /// `FCGI_STDOUT` (6): application → web server; the CGI response.
    #[doc(alias = "STDOUT")]
    Stdout = 6,
    /// `FCGI_STDERR` (7): application → web server; error output (nginx logs it).
    #[doc(alias = "STDERR")]
    Stderr = 7,
    /// `FCGI_DATA` (8): web server → application; the Filter role's file data.
    #[doc(alias = "DATA")]
    Data = 8,
    /// `FCGI_GET_VALUES` (9): management query from the web server.
    #[doc(alias = "GET_VALUES")]
    GetValues = 9,
    /// `FCGI_GET_VALUES_RESULT` (10): the application's answer to GET_VALUES.
    #[doc(alias = "GET_VALUES_RESULT")]
    GetValuesResult = 10,
    /// `FCGI_UNKNOWN_TYPE` (11): the application's answer to a management record of a
    /// type it does not know.
    #[doc(alias = "UNKNOWN_TYPE")]
    UnknownType = 11,
}

impl Request {
    /// Every record type, in numeric order.
    pub const ALL: [Request; 11] = [
        Request::BeginRequest,
        Request::AbortRequest,
        Request::EndRequest,
        Request::Params,
        Request::Stdin,
        Request::Stdout,
        Request::Stderr,
        Request::Data,
        Request::GetValues,
        Request::GetValuesResult,
        Request::UnknownType,
    ];

    /// The type with this number, if the spec defines one (1–11).
    pub fn from_u8(value: u8) -> Option<Request> {
        match value {
            1..=11 => Some(Request::ALL[usize::from(value) - 1]),
            _ => None,
        }
    }

    /// The spec's name without the `FCGI_` prefix, as fast.ai prints it
    /// (`BEGIN_REQUEST`).
    pub fn name(self) -> &'static str {
        match self {
            Request::BeginRequest => "BEGIN_REQUEST",
            Request::AbortRequest => "ABORT_REQUEST",
            Request::EndRequest => "END_REQUEST",
            Request::Params => "PARAMS",
            Request::Stdin => "STDIN",
            Request::Stdout => "STDOUT",
            Request::Stderr => "STDERR",
            Request::Data => "DATA",
            Request::GetValues => "GET_VALUES",
            Request::GetValuesResult => "GET_VALUES_RESULT",
            Request::UnknownType => "UNKNOWN_TYPE",
        }
    }

    /// The type named `name`, case-insensitively, with or without the `FCGI_` prefix
    /// (fast.ai's `Request[k.upper()]`, used by `self['stdin']`).
    ///
    /// ```
    /// use socketserver::fcgi::Request;
    /// assert_eq!(Request::from_name("stdin"), Some(Request::Stdin));
    /// assert_eq!(Request::from_name("FCGI_PARAMS"), Some(Request::Params));
    /// ```
    pub fn from_name(name: &str) -> Option<Request> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("FCGI_").unwrap_or(&upper);
        Request::ALL.into_iter().find(|r| r.name() == bare)
    }

    /// True for the stream types (PARAMS, STDIN, STDOUT, STDERR, DATA): zero or more
    /// non-empty records ended by an empty one.
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            Request::Params | Request::Stdin | Request::Stdout | Request::Stderr | Request::Data
        )
    }
}

impl TryFrom<u8> for Request {
    type Error = u8;
    fn try_from(value: u8) -> Result<Request, u8> {
        Request::from_u8(value).ok_or(value)
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FCGI_{}", self.name())
    }
}

/// The roles of BEGIN_REQUEST (`FCGI_RESPONDER` = 1, `FCGI_AUTHORIZER` = 2,
/// `FCGI_FILTER` = 3). This crate serves the Responder role; the others are answered
/// with END_REQUEST [`Status::UnknownRole`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Role {
    /// `FCGI_RESPONDER` (1): CGI/1.1 — PARAMS and STDIN in, STDOUT out.
    #[doc(alias = "RESPONDER")]
    Responder = 1,
    /// `FCGI_AUTHORIZER` (2).
    #[doc(alias = "AUTHORIZER")]
    Authorizer = 2,
    /// `FCGI_FILTER` (3).
    #[doc(alias = "FILTER")]
    Filter = 3,
}

impl Role {
    /// The role with this number, if defined.
    pub fn from_u16(value: u16) -> Option<Role> {
        match value {
            1 => Some(Role::Responder),
            2 => Some(Role::Authorizer),
            3 => Some(Role::Filter),
            _ => None,
        }
    }
}

/// END_REQUEST's `protocolStatus`, with the **spec's** values: `FCGI_REQUEST_COMPLETE`
/// is 0.
///
/// fast.ai's `Status` enum starts at 1, so its servers answer every request with 1
/// (`FCGI_CANT_MPX_CONN`); nginx ignores that, `cgi-fcgi` fails with exit code 253.
///
/// ```
/// use socketserver::fcgi::Status;
/// assert_eq!(Status::RequestComplete as u8, 0);
/// assert_eq!(Status::UnknownRole as u8, 3);
/// ```
#[doc(alias = "ProtocolStatus")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// `FCGI_REQUEST_COMPLETE` (0): normal end of a request.
    #[doc(alias = "REQUEST_COMPLETE")]
    RequestComplete = 0,
    /// `FCGI_CANT_MPX_CONN` (1): a second request arrived on a connection that serves
    /// one at a time.
    #[doc(alias = "CANT_MPX_CONN")]
    CantMpxConn = 1,
    /// `FCGI_OVERLOADED` (2): the application is out of some resource.
    #[doc(alias = "OVERLOADED")]
    Overloaded = 2,
    /// `FCGI_UNKNOWN_ROLE` (3): the application does not serve the requested role.
    #[doc(alias = "UNKNOWN_ROLE")]
    UnknownRole = 3,
}

impl Status {
    /// The status with this number, if defined.
    pub fn from_u8(value: u8) -> Option<Status> {
        match value {
            0 => Some(Status::RequestComplete),
            1 => Some(Status::CantMpxConn),
            2 => Some(Status::Overloaded),
            3 => Some(Status::UnknownRole),
            _ => None,
        }
    }
}

/// What is wrong with bytes a peer sent.
///
/// Converted into an [`io::Error`] of kind [`io::ErrorKind::InvalidData`] where the
/// handler reads from a connection; the connection is then closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A record header whose version is not 1.
    UnsupportedVersion(u8),
    /// The PARAMS stream (or one pair in it) is longer than the limit.
    ParamsTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The PARAMS stream has more pairs than [`MAX_PARAMS_PAIRS`].
    TooManyParams {
        /// The limit.
        limit: usize,
    },
    /// A name–value stream ended in the middle of a pair.
    TruncatedPair,
    /// A discrete record whose content has the wrong size (BEGIN_REQUEST needs 8 bytes).
    BadContentLength {
        /// The record type.
        record: Request,
        /// The content length it came with.
        length: usize,
    },
    /// A BEGIN_REQUEST for the request id that is already in progress.
    DuplicateRequest(u16),
    /// A record type where it makes no sense.
    UnexpectedRecord(u8),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnsupportedVersion(v) => {
                write!(f, "FastCGI record with version {v} (only version 1 exists)")
            }
            ProtocolError::ParamsTooLarge { limit } => {
                write!(f, "FastCGI PARAMS longer than the limit of {limit} bytes")
            }
            ProtocolError::TooManyParams { limit } => {
                write!(f, "FastCGI PARAMS with more than {limit} pairs")
            }
            ProtocolError::TruncatedPair => {
                write!(f, "FastCGI name-value stream ends in the middle of a pair")
            }
            ProtocolError::BadContentLength { record, length } => {
                write!(f, "{record} record with {length} content bytes")
            }
            ProtocolError::DuplicateRequest(id) => write!(
                f,
                "FCGI_BEGIN_REQUEST for request id {id}, which is already in progress"
            ),
            ProtocolError::UnexpectedRecord(t) => write!(f, "unexpected FastCGI record type {t}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<ProtocolError> for io::Error {
    fn from(e: ProtocolError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// A record header (`FCGI_Header`): 8 bytes, big-endian.
///
/// `record_type` stays a number, so that types this crate does not know (which a
/// peer may send) can be answered with UNKNOWN_TYPE; [`kind`](Self::kind) names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// `version`: 1.
    pub version: u8,
    /// `type`: see [`Request`].
    pub record_type: u8,
    /// `requestId`: 0 for management records.
    pub request_id: u16,
    /// `contentLength`: 0–65,535.
    pub content_length: u16,
    /// `paddingLength`: 0–255 bytes after the content, skipped by the receiver.
    pub padding_length: u8,
}

impl Header {
    /// A version-1 header.
    pub fn new(typ: Request, request_id: u16, content_length: u16, padding_length: u8) -> Header {
        Header {
            version: FCGI_VERSION_1,
            record_type: typ as u8,
            request_id,
            content_length,
            padding_length,
        }
    }

    /// Reads a header from its 8 bytes (no check; see [`unpack_rec`] for one that
    /// checks the version). The reserved byte is ignored.
    pub fn from_bytes(b: [u8; FCGI_HEADER_LEN]) -> Header {
        Header {
            version: b[0],
            record_type: b[1],
            request_id: u16::from_be_bytes([b[2], b[3]]),
            content_length: u16::from_be_bytes([b[4], b[5]]),
            padding_length: b[6],
        }
    }

    /// The 8 bytes of this header (reserved byte 0).
    pub fn to_bytes(&self) -> [u8; FCGI_HEADER_LEN] {
        let id = self.request_id.to_be_bytes();
        let len = self.content_length.to_be_bytes();
        [
            self.version,
            self.record_type,
            id[0],
            id[1],
            len[0],
            len[1],
            self.padding_length,
            0,
        ]
    }

    /// The record type, if the spec defines it.
    pub fn kind(&self) -> Option<Request> {
        Request::from_u8(self.record_type)
    }

    /// Header + content + padding: the record's size on the wire.
    pub fn record_len(&self) -> usize {
        FCGI_HEADER_LEN + usize::from(self.content_length) + usize::from(self.padding_length)
    }
}

/// Reads the header at the start of `c`; `None` if fewer than 8 bytes are there.
pub fn unpack_header(c: &[u8]) -> Option<Header> {
    let b: [u8; FCGI_HEADER_LEN] = c.get(..FCGI_HEADER_LEN)?.try_into().ok()?;
    Some(Header::from_bytes(b))
}

/// The padding that rounds `content_len` up to a multiple of 8 (the spec's
/// recommendation, which this crate follows for every record it sends).
pub fn padding_for(content_len: usize) -> u8 {
    (content_len.wrapping_neg() & 7) as u8
}

/// Zero bytes for padding.
pub(crate) const ZEROS: [u8; 256] = [0; 256];

/// Appends a record of type `typ` for `request_id` carrying `content` to `out`, padded
/// to a multiple of 8 bytes.
///
/// Content longer than 65,535 bytes is split over several records of the same type,
/// so the output is always valid. An empty `content` appends one empty record — the
/// end of a stream.
pub fn pack_rec_into(out: &mut Vec<u8>, typ: Request, request_id: u16, content: &[u8]) {
    let mut chunks = content.chunks(FCGI_MAX_LENGTH);
    let first = chunks.next().unwrap_or(&[]);
    for chunk in std::iter::once(first).chain(chunks) {
        let pad = padding_for(chunk.len());
        out.reserve(FCGI_HEADER_LEN + chunk.len() + usize::from(pad));
        // `chunks(FCGI_MAX_LENGTH)` makes every chunk fit in a u16.
        let len = chunk.len() as u16;
        out.extend_from_slice(&Header::new(typ, request_id, len, pad).to_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(&ZEROS[..usize::from(pad)]);
    }
}

/// fast.ai's `pack_rec(typ, c=b'')`: one record (or several, for content over 65,535
/// bytes) as a new vector. Unlike fast.ai's, the request id is a parameter (fast.ai
/// always wrote 1, and nginx rejects a reply whose id differs from the request's).
///
/// ```
/// use socketserver::fcgi::record::{pack_rec, Request};
/// assert_eq!(pack_rec(Request::Stdout, 1, b""), [1, 6, 0, 1, 0, 0, 0, 0]);
/// assert_eq!(pack_rec(Request::Stdout, 1, b"hi"), [1, 6, 0, 1, 0, 2, 6, 0, b'h', b'i', 0, 0, 0, 0, 0, 0]);
/// ```
pub fn pack_rec(typ: Request, request_id: u16, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FCGI_HEADER_LEN + content.len() + 8);
    pack_rec_into(&mut out, typ, request_id, content);
    out
}

/// Appends a whole stream: `data` in records of at most 65,535 bytes, then the empty
/// record that ends the stream.
pub fn pack_stream_into(out: &mut Vec<u8>, typ: Request, request_id: u16, data: &[u8]) {
    if !data.is_empty() {
        pack_rec_into(out, typ, request_id, data);
    }
    pack_rec_into(out, typ, request_id, b"");
}

/// The content of a BEGIN_REQUEST record (`FCGI_BeginRequestBody`): role, flags, 5
/// reserved bytes.
pub fn pack_begin_request(role: u16, flags: u8) -> [u8; 8] {
    let r = role.to_be_bytes();
    [r[0], r[1], flags, 0, 0, 0, 0, 0]
}

/// The content of an END_REQUEST record (`FCGI_EndRequestBody`): appStatus,
/// protocolStatus, 3 reserved bytes.
///
/// ```
/// use socketserver::fcgi::{record::pack_end_request, Status};
/// assert_eq!(pack_end_request(0, Status::RequestComplete), [0; 8]);
/// assert_eq!(pack_end_request(7, Status::UnknownRole), [0, 0, 0, 7, 3, 0, 0, 0]);
/// ```
pub fn pack_end_request(app_status: u32, status: Status) -> [u8; 8] {
    let a = app_status.to_be_bytes();
    [a[0], a[1], a[2], a[3], status as u8, 0, 0, 0]
}

/// The content of an UNKNOWN_TYPE record (`FCGI_UnknownTypeBody`): the type, 7 reserved
/// bytes.
pub fn pack_unknown_type(record_type: u8) -> [u8; 8] {
    [record_type, 0, 0, 0, 0, 0, 0, 0]
}

/// The largest name or value length a pair can encode (2³¹ − 1).
pub const MAX_PAIR_LENGTH: usize = 0x7fff_ffff;

/// Appends a name–value pair length: one byte below 128, else four bytes with the top
/// bit set.
///
/// # Panics
///
/// If `len` is over [`MAX_PAIR_LENGTH`] (2 GiB), which no record stream can carry.
pub fn pack_len(out: &mut Vec<u8>, len: usize) {
    assert!(
        len <= MAX_PAIR_LENGTH,
        "name-value length {len} over 2^31-1"
    );
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.extend_from_slice(&(len as u32 | 0x8000_0000).to_be_bytes());
    }
}

/// Appends one name–value pair (`FCGI_NameValuePair11` … `44`).
///
/// ```
/// use socketserver::fcgi::record::pack_pair;
/// let mut out = Vec::new();
/// pack_pair(&mut out, b"A", &[b'x'; 200]);
/// assert_eq!(&out[..5], [1, 0x80, 0, 0, 200]);
/// ```
///
/// # Panics
///
/// If the name or the value is longer than [`MAX_PAIR_LENGTH`].
pub fn pack_pair(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    pack_len(out, name.len());
    pack_len(out, value.len());
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

/// fast.ai's `_param_sz`, fixed: reads a pair length at `c[i..]` (one byte, or four
/// with the top bit set and masked off with `0x7fffffff`). Returns the offset after it
/// and the length; `None` if `c` ends first.
///
/// ```
/// use socketserver::fcgi::record::unpack_len;
/// assert_eq!(unpack_len(&[5], 0), Some((1, 5)));
/// assert_eq!(unpack_len(&[0x80, 0, 1, 0x2c], 0), Some((4, 300)));
/// assert_eq!(unpack_len(&[0xff, 0xff, 0xff, 0xff], 0), Some((4, 0x7fff_ffff)));
/// assert_eq!(unpack_len(&[0x80, 0], 0), None);
/// ```
pub fn unpack_len(c: &[u8], i: usize) -> Option<(usize, usize)> {
    let first = *c.get(i)?;
    if first & 0x80 == 0 {
        return Some((i + 1, usize::from(first)));
    }
    let b: [u8; 4] = c.get(i..i + 4)?.try_into().ok()?;
    Some((i + 4, (u32::from_be_bytes(b) & 0x7fff_ffff) as usize))
}

/// Parses a complete name–value stream (a GET_VALUES body, or PARAMS content already
/// joined). Yields `(name, value)` slices; a pair cut short yields
/// [`ProtocolError::TruncatedPair`] and ends the iteration.
///
/// ```
/// use socketserver::fcgi::record::{pack_pair, unpack_pairs};
/// let mut c = Vec::new();
/// pack_pair(&mut c, b"QUERY_STRING", b"a=1");
/// pack_pair(&mut c, b"CONTENT_LENGTH", b"");
/// let pairs: Vec<_> = unpack_pairs(&c).collect::<Result<_, _>>().unwrap();
/// assert_eq!(pairs, [(&b"QUERY_STRING"[..], &b"a=1"[..]), (&b"CONTENT_LENGTH"[..], &b""[..])]);
/// ```
pub fn unpack_pairs(c: &[u8]) -> Pairs<'_> {
    Pairs { c, i: 0 }
}

/// The iterator of [`unpack_pairs`].
#[derive(Clone, Debug)]
pub struct Pairs<'a> {
    c: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.c.len() {
            return None;
        }
        let parsed = (|| {
            let (i, nl) = unpack_len(self.c, self.i)?;
            let (i, vl) = unpack_len(self.c, i)?;
            let name_end = i.checked_add(nl)?;
            let value_end = name_end.checked_add(vl)?;
            let name = self.c.get(i..name_end)?;
            let value = self.c.get(name_end..value_end)?;
            Some((value_end, name, value))
        })();
        match parsed {
            Some((end, name, value)) => {
                self.i = end;
                Some(Ok((name, value)))
            }
            None => {
                self.i = self.c.len();
                Some(Err(ProtocolError::TruncatedPair))
            }
        }
    }
}

/// One record, borrowed from the bytes it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The header.
    pub header: Header,
    /// The content (padding excluded).
    pub content: &'a [u8],
}

/// fast.ai's `unpack_rec(c, i)`: parses the record starting at offset `i` of `c`.
///
/// Returns the offset after the record (padding skipped) and the record, or `Ok(None)`
/// if `c` does not yet hold the whole record — the caller reads more and tries again.
/// A version other than 1 is [`ProtocolError::UnsupportedVersion`]. Any padding length
/// (0–255) is accepted (fast.ai read it as a signed byte, so 128–255 broke the stream).
///
/// ```
/// use socketserver::fcgi::record::{pack_rec, unpack_rec, Request};
/// let two = [pack_rec(Request::Stdin, 1, b"abc"), pack_rec(Request::Stdin, 1, b"")].concat();
/// let (i, first) = unpack_rec(&two, 0).unwrap().unwrap();
/// assert_eq!(first.content, b"abc");
/// let (j, second) = unpack_rec(&two, i).unwrap().unwrap();
/// assert!(second.content.is_empty());
/// assert_eq!(j, two.len());
/// assert_eq!(unpack_rec(&two[..5], 0), Ok(None));
/// ```
pub fn unpack_rec(c: &[u8], i: usize) -> Result<Option<(usize, Record<'_>)>, ProtocolError> {
    let Some(header) = c.get(i..).and_then(unpack_header) else {
        return Ok(None);
    };
    if header.version != FCGI_VERSION_1 {
        return Err(ProtocolError::UnsupportedVersion(header.version));
    }
    let start = i + FCGI_HEADER_LEN;
    let end = start + usize::from(header.content_length);
    let next = end + usize::from(header.padding_length);
    if c.len() < next {
        return Ok(None);
    }
    Ok(Some((
        next,
        Record {
            header,
            content: &c[start..end],
        },
    )))
}

/// A record's content, decoded by type ([`unpack_content`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content<'a> {
    /// BEGIN_REQUEST: the role number (see [`Role::from_u16`]) and the flags
    /// ([`FCGI_KEEP_CONN`]).
    BeginRequest {
        /// `role`.
        role: u16,
        /// `flags`.
        flags: u8,
    },
    /// ABORT_REQUEST (no content).
    AbortRequest,
    /// END_REQUEST.
    EndRequest {
        /// `appStatus`: the CGI exit status.
        app_status: u32,
        /// `protocolStatus` (see [`Status::from_u8`]).
        protocol_status: u8,
    },
    /// UNKNOWN_TYPE: the type that was not understood.
    UnknownType {
        /// `type`.
        record_type: u8,
    },
    /// The content of a stream record (PARAMS, STDIN, STDOUT, STDERR, DATA); empty ends
    /// the stream.
    Stream(&'a [u8]),
    /// GET_VALUES or GET_VALUES_RESULT: name–value pairs ([`unpack_pairs`]).
    Pairs(&'a [u8]),
}

/// fast.ai's `unpack_content(typ, c)`, for every type (fast.ai's handled only
/// BEGIN_REQUEST and ABORT_REQUEST and raised on the rest).
///
/// A discrete record shorter than its body is [`ProtocolError::BadContentLength`];
/// longer content is accepted and the extra bytes ignored, as the reserved bytes are.
///
/// ```
/// use socketserver::fcgi::record::{pack_begin_request, unpack_content, Content, Request};
/// let body = pack_begin_request(1, 1);
/// assert_eq!(
///     unpack_content(Request::BeginRequest, &body),
///     Ok(Content::BeginRequest { role: 1, flags: 1 })
/// );
/// ```
pub fn unpack_content(typ: Request, c: &[u8]) -> Result<Content<'_>, ProtocolError> {
    let short = || ProtocolError::BadContentLength {
        record: typ,
        length: c.len(),
    };
    Ok(match typ {
        Request::BeginRequest => {
            let b = c.get(..3).ok_or_else(short)?;
            if c.len() < 8 {
                return Err(short());
            }
            Content::BeginRequest {
                role: u16::from_be_bytes([b[0], b[1]]),
                flags: b[2],
            }
        }
        Request::AbortRequest => Content::AbortRequest,
        Request::EndRequest => {
            let b: [u8; 8] = c
                .get(..8)
                .ok_or_else(short)?
                .try_into()
                .map_err(|_| short())?;
            Content::EndRequest {
                app_status: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                protocol_status: b[4],
            }
        }
        Request::UnknownType => {
            if c.len() < 8 {
                return Err(short());
            }
            Content::UnknownType { record_type: c[0] }
        }
        Request::GetValues | Request::GetValuesResult => Content::Pairs(c),
        Request::Params | Request::Stdin | Request::Stdout | Request::Stderr | Request::Data => {
            Content::Stream(c)
        }
    })
}

/// An incremental name–value pair decoder, for PARAMS streams whose pairs may be split
/// anywhere across records (the spec allows it; nginx never does it, other clients may).
///
/// Feed it each record's content as it arrives; it calls back with every complete
/// pair. Memory is bounded: it keeps at most the one pair in progress, grown only by
/// bytes that arrived, and the whole stream is capped at `limit` bytes — a pair that
/// *declares* more than the limit is refused before anything is stored for it.
///
/// ```
/// use socketserver::fcgi::record::{pack_pair, PairDecoder};
/// let mut stream = Vec::new();
/// pack_pair(&mut stream, b"HTTP_USER_AGENT", &[b'x'; 300]);
/// let mut d = PairDecoder::new(1 << 20);
/// let mut got = Vec::new();
/// for piece in stream.chunks(7) {
///     d.feed(piece, |n, v| got.push((n.to_vec(), v.len()))).unwrap();
/// }
/// d.finish().unwrap();
/// assert_eq!(got, [(b"HTTP_USER_AGENT".to_vec(), 300)]);
/// ```
#[derive(Debug, Clone)]
pub struct PairDecoder {
    limit: usize,
    total: usize,
    /// Bytes of the two lengths seen so far, when they straddle a feed.
    lengths: [u8; 8],
    lengths_len: usize,
    /// The pair in progress: its name and value lengths, and the bytes received.
    body: Option<(usize, usize)>,
    pending: Vec<u8>,
}

impl PairDecoder {
    /// A decoder that refuses streams longer than `limit` bytes.
    pub fn new(limit: usize) -> PairDecoder {
        PairDecoder {
            limit,
            total: 0,
            lengths: [0; 8],
            lengths_len: 0,
            body: None,
            pending: Vec::new(),
        }
    }

    /// Forgets everything (for the next request), keeping the allocation.
    pub fn reset(&mut self) {
        self.total = 0;
        self.lengths_len = 0;
        self.body = None;
        self.pending.clear();
    }

    /// Sets the limit for the next stream.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Decodes `data`, calling `emit(name, value)` for every pair it completes.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        mut emit: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), ProtocolError> {
        self.total = self.total.saturating_add(data.len());
        if self.total > self.limit {
            return Err(ProtocolError::ParamsTooLarge { limit: self.limit });
        }
        while !data.is_empty() {
            if let Some((nl, vl)) = self.body {
                let need = nl + vl - self.pending.len();
                let take = need.min(data.len());
                self.pending.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.pending.len() == nl + vl {
                    emit(&self.pending[..nl], &self.pending[nl..]);
                    self.pending.clear();
                    self.body = None;
                }
                continue;
            }
            if self.lengths_len == 0 {
                // Fast path: the lengths (and often the whole pair) are in `data`.
                if let Some((i, nl, vl)) = parse_lengths(data) {
                    self.check_pair(nl, vl)?;
                    if data.len() - i >= nl + vl {
                        emit(&data[i..i + nl], &data[i + nl..i + nl + vl]);
                        data = &data[i + nl + vl..];
                    } else {
                        self.body = Some((nl, vl));
                        data = &data[i..];
                    }
                    continue;
                }
            }
            // The lengths straddle feeds: collect them a byte at a time.
            self.lengths[self.lengths_len] = data[0];
            self.lengths_len += 1;
            data = &data[1..];
            if let Some((i, nl, vl)) = parse_lengths(&self.lengths[..self.lengths_len]) {
                debug_assert_eq!(i, self.lengths_len);
                self.check_pair(nl, vl)?;
                self.lengths_len = 0;
                self.body = Some((nl, vl));
                if nl + vl == 0 {
                    emit(b"", b"");
                    self.body = None;
                }
            }
        }
        Ok(())
    }

    /// The stream has ended: an error if a pair is incomplete.
    pub fn finish(&mut self) -> Result<(), ProtocolError> {
        if self.lengths_len != 0 || self.body.is_some() {
            return Err(ProtocolError::TruncatedPair);
        }
        Ok(())
    }

    /// A pair that declares more bytes than the limit allows is refused at once, before
    /// anything is stored for it.
    fn check_pair(&self, nl: usize, vl: usize) -> Result<(), ProtocolError> {
        if nl + vl > self.limit {
            return Err(ProtocolError::ParamsTooLarge { limit: self.limit });
        }
        Ok(())
    }
}

/// Both lengths of a pair at the start of `c`: (bytes used, name length, value length).
fn parse_lengths(c: &[u8]) -> Option<(usize, usize, usize)> {
    let (i, nl) = unpack_len(c, 0)?;
    let (i, vl) = unpack_len(c, i)?;
    Some((i, nl, vl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_layout() {
        let h = Header::new(Request::Stdout, 0x0102, 0x0304, 0xff);
        assert_eq!(h.to_bytes(), [1, 6, 1, 2, 3, 4, 0xff, 0]);
        assert_eq!(Header::from_bytes(h.to_bytes()), h);
        assert_eq!(h.record_len(), 8 + 0x0304 + 255);
    }

    #[test]
    fn request_type_values_match_the_spec() {
        let table = [
            (Request::BeginRequest, 1, "BEGIN_REQUEST"),
            (Request::AbortRequest, 2, "ABORT_REQUEST"),
            (Request::EndRequest, 3, "END_REQUEST"),
            (Request::Params, 4, "PARAMS"),
            (Request::Stdin, 5, "STDIN"),
            (Request::Stdout, 6, "STDOUT"),
            (Request::Stderr, 7, "STDERR"),
            (Request::Data, 8, "DATA"),
            (Request::GetValues, 9, "GET_VALUES"),
            (Request::GetValuesResult, 10, "GET_VALUES_RESULT"),
            (Request::UnknownType, 11, "UNKNOWN_TYPE"),
        ];
        for (r, n, name) in table {
            assert_eq!(r as u8, n);
            assert_eq!(Request::from_u8(n), Some(r));
            assert_eq!(r.name(), name);
            assert_eq!(Request::from_name(&name.to_lowercase()), Some(r));
        }
        assert_eq!(Request::from_u8(0), None);
        assert_eq!(Request::from_u8(12), None);
        assert_eq!(Request::from_u8(255), None);
        assert_eq!(Request::from_name("nope"), None);
        assert_eq!(Role::from_u16(1), Some(Role::Responder));
        assert_eq!(Role::from_u16(4), None);
        for (s, n) in [
            (Status::RequestComplete, 0),
            (Status::CantMpxConn, 1),
            (Status::Overloaded, 2),
            (Status::UnknownRole, 3),
        ] {
            assert_eq!(s as u8, n);
            assert_eq!(Status::from_u8(n), Some(s));
        }
    }

    #[test]
    fn padding_rounds_to_eight() {
        let table = [(0, 0), (1, 7), (7, 1), (8, 0), (9, 7), (65535, 1)];
        for (len, pad) in table {
            assert_eq!(padding_for(len), pad, "len {len}");
        }
    }

    #[test]
    fn pair_lengths_table() {
        // (length, encoding)
        let table: [(usize, &[u8]); 6] = [
            (0, &[0]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0x80, 0, 0, 0x80]),
            (300, &[0x80, 0, 1, 0x2c]),
            (MAX_PAIR_LENGTH, &[0xff, 0xff, 0xff, 0xff]),
        ];
        for (len, enc) in table {
            let mut out = Vec::new();
            pack_len(&mut out, len);
            assert_eq!(out, enc, "len {len}");
            assert_eq!(unpack_len(enc, 0), Some((enc.len(), len)));
        }
        // fast.ai's mask was 0x7fffff: 8 MiB and up were truncated (bug #2).
        assert_eq!(unpack_len(&[0x80, 0x80, 0, 0], 0), Some((4, 0x80_0000)));
        // fast.ai read the first byte as signed (bug #3); 0x80..0xff is the 4-byte form.
        assert_eq!(unpack_len(&[0xff, 0, 0, 1], 0), Some((4, 0x7f00_0001)));
        assert_eq!(unpack_len(&[], 0), None);
        assert_eq!(unpack_len(&[0x80, 0, 0], 0), None);
    }

    #[test]
    fn the_four_pair_forms() {
        let short = b"n".to_vec();
        let long = vec![b'v'; 200];
        for (name, value) in [
            (&short, &short),
            (&short, &long),
            (&long, &short),
            (&long, &long),
        ] {
            let mut c = Vec::new();
            pack_pair(&mut c, name, value);
            let pairs: Vec<_> = unpack_pairs(&c).collect();
            assert_eq!(pairs, [Ok((&name[..], &value[..]))]);
        }
    }

    #[test]
    fn truncated_pairs_are_errors() {
        let mut c = Vec::new();
        pack_pair(&mut c, b"NAME", b"value");
        for cut in 1..c.len() {
            let mut it = unpack_pairs(&c[..cut]);
            assert_eq!(
                it.next(),
                Some(Err(ProtocolError::TruncatedPair)),
                "cut {cut}"
            );
            assert_eq!(it.next(), None);
            let mut d = PairDecoder::new(1024);
            let mut n = 0;
            d.feed(&c[..cut], |_, _| n += 1).unwrap();
            assert_eq!(n, 0);
            assert_eq!(d.finish(), Err(ProtocolError::TruncatedPair));
        }
        // Huge declared lengths do not overflow or allocate.
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'x'];
        assert_eq!(
            unpack_pairs(&huge).next(),
            Some(Err(ProtocolError::TruncatedPair))
        );
    }

    #[test]
    fn decoder_refuses_a_pair_declared_over_the_limit_before_storing_it() {
        let mut d = PairDecoder::new(1000);
        let r = d.feed(&[0x80, 0, 0x10, 0, 1, b'x'], |_, _| {});
        assert_eq!(r, Err(ProtocolError::ParamsTooLarge { limit: 1000 }));
        assert_eq!(d.pending.capacity(), 0);
        // And the running total is capped too.
        let mut d = PairDecoder::new(10);
        let mut c = Vec::new();
        pack_pair(&mut c, b"AB", b"CD");
        d.feed(&c, |_, _| {}).unwrap();
        assert!(d.feed(&c, |_, _| {}).is_err());
    }

    #[test]
    fn decoder_holds_only_what_arrived_of_a_long_pair() {
        // A name of 1 byte and a value announced at 900 KiB, of which 10 bytes arrive.
        let mut d = PairDecoder::new(MAX_PARAMS_SIZE);
        let mut start = vec![1u8, 0x80, 0x0e, 0x10, 0x00, b'A'];
        start.extend_from_slice(b"0123456789");
        d.feed(&start, |_, _| panic!("incomplete")).unwrap();
        assert!(d.pending.capacity() < 1024, "{}", d.pending.capacity());
        assert_eq!(d.finish(), Err(ProtocolError::TruncatedPair));
    }

    #[test]
    fn decoder_handles_every_split_point() {
        let mut c = Vec::new();
        pack_pair(&mut c, b"A", b"1");
        pack_pair(&mut c, b"", b"");
        pack_pair(&mut c, &[b'N'; 130], &[b'V'; 131]);
        pack_pair(&mut c, b"EMPTY", b"");
        let want: Vec<(Vec<u8>, Vec<u8>)> = unpack_pairs(&c)
            .map(|p| p.map(|(n, v)| (n.to_vec(), v.to_vec())).unwrap())
            .collect();
        assert_eq!(want.len(), 4);
        for a in 0..=c.len() {
            for b in a..=c.len() {
                let mut d = PairDecoder::new(1 << 20);
                let mut got = Vec::new();
                for piece in [&c[..a], &c[a..b], &c[b..]] {
                    d.feed(piece, |n, v| got.push((n.to_vec(), v.to_vec())))
                        .unwrap();
                }
                d.finish().unwrap();
                assert_eq!(got, want, "split at {a}, {b}");
            }
        }
    }

    #[test]
    fn records_with_any_padding_and_bad_versions() {
        for pad in [0u8, 1, 7, 127, 128, 200, 255] {
            let mut c = Header::new(Request::Stdin, 3, 2, pad).to_bytes().to_vec();
            c.extend_from_slice(b"ab");
            c.extend(std::iter::repeat_n(0xee, pad as usize));
            c.extend_from_slice(&pack_rec(Request::Stdin, 3, b""));
            let (i, rec) = unpack_rec(&c, 0).unwrap().unwrap();
            assert_eq!(rec.content, b"ab");
            assert_eq!(i, 10 + pad as usize);
            let (j, end) = unpack_rec(&c, i).unwrap().unwrap();
            assert!(end.content.is_empty());
            assert_eq!(j, c.len());
            // Incomplete anywhere → None.
            for cut in 0..i {
                assert_eq!(unpack_rec(&c[..cut], 0), Ok(None));
            }
        }
        let mut bad = pack_rec(Request::Stdin, 1, b"x");
        bad[0] = 2;
        assert_eq!(
            unpack_rec(&bad, 0),
            Err(ProtocolError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn large_content_is_split_into_valid_records() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        pack_stream_into(&mut out, Request::Stdout, 9, &data);
        let mut i = 0;
        let mut joined = Vec::new();
        let mut lens = Vec::new();
        while let Some((next, rec)) = unpack_rec(&out, i).unwrap() {
            assert_eq!(rec.header.request_id, 9);
            assert!(rec.content.len() <= FCGI_MAX_LENGTH);
            assert_eq!(
                (8 + rec.content.len() + rec.header.padding_length as usize) % 8,
                0
            );
            lens.push(rec.content.len());
            joined.extend_from_slice(rec.content);
            i = next;
        }
        assert_eq!(i, out.len());
        assert_eq!(joined, data);
        assert_eq!(lens, [65535, 65535, 65535, 3395, 0]);
    }

    #[test]
    fn content_decoding_table() {
        assert_eq!(
            unpack_content(Request::BeginRequest, &pack_begin_request(3, 0)),
            Ok(Content::BeginRequest { role: 3, flags: 0 })
        );
        assert_eq!(
            unpack_content(Request::BeginRequest, &[0, 1, 1]),
            Err(ProtocolError::BadContentLength {
                record: Request::BeginRequest,
                length: 3
            })
        );
        assert_eq!(
            unpack_content(
                Request::EndRequest,
                &pack_end_request(938, Status::RequestComplete)
            ),
            Ok(Content::EndRequest {
                app_status: 938,
                protocol_status: 0
            })
        );
        assert_eq!(
            unpack_content(Request::UnknownType, &pack_unknown_type(42)),
            Ok(Content::UnknownType { record_type: 42 })
        );
        assert_eq!(
            unpack_content(Request::AbortRequest, b""),
            Ok(Content::AbortRequest)
        );
        assert_eq!(
            unpack_content(Request::Stdin, b"abc"),
            Ok(Content::Stream(b"abc"))
        );
        assert_eq!(
            unpack_content(Request::GetValues, b"\x0e\x00FCGI_MAX_CONNS"),
            Ok(Content::Pairs(b"\x0e\x00FCGI_MAX_CONNS"))
        );
    }
}
