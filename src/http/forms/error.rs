//! The limits a form is parsed under, and the one error type of the module.

use std::io;

/// Bounds on what a client may send in one form. Every limit is checked as the bytes
/// arrive; none is sized by a number the client sent.
///
/// | limit | default | error | status |
/// |---|---|---|---|
/// | [`max_fields`](Limits::max_fields) | 1000 | [`FormError::TooManyFields`] | 413 |
/// | [`max_field_size`](Limits::max_field_size) | 1 MiB | [`FormError::FieldTooLarge`] | 413 |
/// | [`max_file_size`](Limits::max_file_size) | `u64::MAX` (only the total bounds a file) | [`FormError::FileTooLarge`] | 413 |
/// | [`max_total_size`](Limits::max_total_size) | 1 GiB | [`FormError::BodyTooLarge`] | 413 |
/// | [`max_header_size`](Limits::max_header_size) | 16 KiB | [`FormError::HeaderTooLarge`] | 413 |
///
/// Python's `cgi.FieldStorage` has none of them but `max_num_fields` (default `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(alias = "max_num_fields")]
pub struct Limits {
    /// Most fields in one form: urlencoded pieces (empty ones included, as Python's
    /// `max_num_fields` counts them), multipart parts, and query-string fields merged in.
    pub max_fields: usize,
    /// Largest value held in memory: a text part (one without a filename) or one
    /// urlencoded `name=value` piece.
    pub max_field_size: usize,
    /// Largest file part (one with a filename), which goes to a temporary file.
    pub max_file_size: u64,
    /// Largest request body, preamble and epilogue included.
    pub max_total_size: u64,
    /// Largest header block of one part (its lines and the empty line after them).
    pub max_header_size: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_fields: 1000,
            max_field_size: 1024 * 1024,
            max_file_size: u64::MAX,
            max_total_size: 1024 * 1024 * 1024,
            max_header_size: 16 * 1024,
        }
    }
}

/// Why a form could not be read. [`status`](FormError::status) is the HTTP status to
/// answer with; `From<FormError> for socketserver::Error` carries it as
/// [`Error::Http`](crate::Error::Http).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A `multipart/*` content type without a usable `boundary` parameter (Python:
    /// `ValueError: Invalid boundary in multipart form`).
    #[error("Invalid boundary in multipart form: {0:?}")]
    InvalidBoundary(String),
    /// The body ended before the closing boundary, or before `Content-Length` bytes.
    #[error("the form body ended early: {0}")]
    Truncated(&'static str),
    /// A body that breaks the format in a way Python would also refuse
    /// (`strict_parsing`, an empty separator, a boundary line that never ends).
    #[error("malformed form: {0}")]
    Malformed(String),
    /// More fields than [`Limits::max_fields`] (Python: `Max number of fields exceeded`).
    #[error("Max number of fields exceeded (limit {limit})")]
    TooManyFields {
        /// The limit.
        limit: usize,
    },
    /// A value held in memory above [`Limits::max_field_size`].
    #[error("form field {name:?} is larger than {limit} bytes")]
    FieldTooLarge {
        /// The field's name, when known.
        name: Option<String>,
        /// The limit.
        limit: usize,
    },
    /// A file part above [`Limits::max_file_size`].
    #[error("uploaded file {name:?} is larger than {limit} bytes")]
    FileTooLarge {
        /// The field's name, when known.
        name: Option<String>,
        /// The limit.
        limit: u64,
    },
    /// A body above [`Limits::max_total_size`] (announced or received).
    #[error("the form body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// A part's header block above [`Limits::max_header_size`].
    #[error("a form part's header block is larger than {limit} bytes")]
    HeaderTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A request whose content type is neither urlencoded nor multipart (Python stores
    /// such a body as one unnamed value; `keys()` then raises `TypeError`).
    #[error("unsupported form content type {0:?}")]
    UnsupportedType(String),
    /// An invalid `Content-Length`, or a `Transfer-Encoding` body (status in the value).
    #[error("{message}")]
    Request {
        /// The HTTP status to answer with (400, 411, 413).
        code: u16,
        /// What was wrong.
        message: String,
    },
    /// Reading the body or writing a temporary file failed.
    #[error("I/O error while reading a form: {0}")]
    Io(#[from] io::Error),
}

impl FormError {
    /// The HTTP status for this error: 413 for a limit, 415 for an unknown content type,
    /// 500 for a local I/O failure, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            FormError::TooManyFields { .. }
            | FormError::FieldTooLarge { .. }
            | FormError::FileTooLarge { .. }
            | FormError::BodyTooLarge { .. }
            | FormError::HeaderTooLarge { .. } => 413,
            FormError::UnsupportedType(_) => 415,
            FormError::Request { code, .. } => *code,
            FormError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => 400,
            FormError::Io(_) => 500,
            _ => 400,
        }
    }

    /// An I/O error from the body reader: an early end becomes [`FormError::Truncated`].
    pub(crate) fn from_io(e: io::Error) -> FormError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            FormError::Truncated("the client sent less than Content-Length")
        } else {
            FormError::Io(e)
        }
    }

    /// True when the error came from the connection (a timeout, a reset) rather than
    /// from what the client sent; there is then no one to answer.
    pub fn is_connection_error(&self) -> bool {
        matches!(self, FormError::Io(e) if !matches!(e.kind(), io::ErrorKind::UnexpectedEof))
    }
}

impl From<FormError> for crate::Error {
    fn from(e: FormError) -> crate::Error {
        match e {
            FormError::Io(io) => crate::Error::Io(io),
            other => crate::Error::handler(other.status(), other.to_string()),
        }
    }
}
