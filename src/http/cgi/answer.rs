//! How a script's output becomes the answer: passed on as it is after CPython's
//! `200 Script output follows` ([`PassThrough`]), or, in RFC 3875 mode, with its header
//! block parsed into the status line and headers ([`Rfc3875Output`]).

use std::io::Write;

use super::output::{
    parse_script_headers, HeaderBlockFinder, ScriptOutputError, MAX_SCRIPT_HEADER_BLOCK,
};
use super::run::{Flow, Output};
use crate::error::Result;
use crate::http::handler::HttpRequest;

/// CPython's answer: the output as it is, after the status line sent before the run.
pub(super) struct PassThrough;

impl Output for PassThrough {
    fn stdout(&mut self, h: &mut HttpRequest<'_>, data: &[u8]) -> Result<Flow> {
        h.wfile.write_all(data)?;
        Ok(Flow::More)
    }

    fn stderr_line(&mut self, h: &mut HttpRequest<'_>, line: &[u8]) {
        log_stderr(h, line);
    }
}

fn log_stderr(h: &HttpRequest<'_>, line: &[u8]) {
    h.log_error(format_args!("{}", String::from_utf8_lossy(line)));
}

/// RFC 3875 §6: the header block is read and parsed first.
pub(super) enum Rfc3875Output {
    /// Collecting the header block.
    Head(Vec<u8>, HeaderBlockFinder),
    /// Passing the body on.
    Body,
    /// A `HEAD` request: the body is read and dropped.
    Discard,
}

impl Output for Rfc3875Output {
    fn stdout(&mut self, h: &mut HttpRequest<'_>, data: &[u8]) -> Result<Flow> {
        let Rfc3875Output::Head(buf, finder) = self else {
            if let Rfc3875Output::Body = self {
                h.wfile.write_all(data)?;
            }
            return Ok(Flow::More);
        };
        buf.extend_from_slice(data);
        let Some(end) = finder.find(buf) else {
            if buf.len() > MAX_SCRIPT_HEADER_BLOCK {
                bad_gateway(h, &ScriptOutputError::TooLarge)?;
                return Ok(Flow::Stop);
            }
            return Ok(Flow::More);
        };
        let head = match parse_script_headers(&buf[..end]) {
            Ok(head) => head,
            Err(e) => {
                bad_gateway(h, &e)?;
                return Ok(Flow::Stop);
            }
        };
        let (code, reason) = head.status();
        h.send_response_message(code, Some(&reason))?;
        for (name, value) in &head.headers {
            h.send_header(name, value)?;
        }
        h.end_headers()?;
        let body = buf.split_off(end);
        if h.command == "HEAD" {
            *self = Rfc3875Output::Discard;
        } else {
            *self = Rfc3875Output::Body;
            h.wfile.write_all(&body)?;
        }
        h.wfile.flush()?;
        Ok(Flow::More)
    }

    fn stderr_line(&mut self, h: &mut HttpRequest<'_>, line: &[u8]) {
        log_stderr(h, line);
    }
}

pub(super) fn bad_gateway(h: &mut HttpRequest<'_>, e: &ScriptOutputError) -> Result<()> {
    h.log_error(format_args!("malformed header from CGI script: {e}"));
    h.send_error(502)
}
