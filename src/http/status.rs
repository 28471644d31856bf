//! The status table: Python's `BaseHTTPRequestHandler.responses` (from `http.HTTPStatus`).
//!
//! Generated from CPython 3.13.0's `http.HTTPStatus` (phrase and description of every
//! member); a test compares it with the interpreter when one is installed.

/// `(phrase, description)` for a status code Python knows, as
/// `BaseHTTPRequestHandler.responses[code]`.
///
/// The phrase is the reason phrase `send_response` writes; the description is the
/// `explain` text `send_error` puts in the error page. Codes Python does not know give
/// `None` (`send_error` then uses `???`, `send_response_only` an empty phrase).
///
/// ```
/// use socketserver::http::status::responses;
/// assert_eq!(responses(404), Some(("Not Found", "Nothing matches the given URI")));
/// assert_eq!(responses(102), Some(("Processing", "")));
/// assert_eq!(responses(999), None);
/// ```
pub fn responses(code: u16) -> Option<(&'static str, &'static str)> {
    Some(match code {
        100 => ("Continue", "Request received, please continue"),
        101 => ("Switching Protocols", "Switching to new protocol; obey Upgrade header"),
        102 => ("Processing", ""),
        103 => ("Early Hints", ""),
        200 => ("OK", "Request fulfilled, document follows"),
        201 => ("Created", "Document created, URL follows"),
        202 => ("Accepted", "Request accepted, processing continues off-line"),
        203 => ("Non-Authoritative Information", "Request fulfilled from cache"),
        204 => ("No Content", "Request fulfilled, nothing follows"),
        205 => ("Reset Content", "Clear input form for further input"),
        206 => ("Partial Content", "Partial content follows"),
        207 => ("Multi-Status", ""),
        208 => ("Already Reported", ""),
        226 => ("IM Used", ""),
        300 => ("Multiple Choices", "Object has several resources -- see URI list"),
        301 => ("Moved Permanently", "Object moved permanently -- see URI list"),
        302 => ("Found", "Object moved temporarily -- see URI list"),
        303 => ("See Other", "Object moved -- see Method and URL list"),
        304 => ("Not Modified", "Document has not changed since given time"),
        305 => ("Use Proxy", "You must use proxy specified in Location to access this resource"),
        307 => ("Temporary Redirect", "Object moved temporarily -- see URI list"),
        308 => ("Permanent Redirect", "Object moved permanently -- see URI list"),
        400 => ("Bad Request", "Bad request syntax or unsupported method"),
        401 => ("Unauthorized", "No permission -- see authorization schemes"),
        402 => ("Payment Required", "No payment -- see charging schemes"),
        403 => ("Forbidden", "Request forbidden -- authorization will not help"),
        404 => ("Not Found", "Nothing matches the given URI"),
        405 => ("Method Not Allowed", "Specified method is invalid for this resource"),
        406 => ("Not Acceptable", "URI not available in preferred format"),
        407 => ("Proxy Authentication Required", "You must authenticate with this proxy before proceeding"),
        408 => ("Request Timeout", "Request timed out; try again later"),
        409 => ("Conflict", "Request conflict"),
        410 => ("Gone", "URI no longer exists and has been permanently removed"),
        411 => ("Length Required", "Client must specify Content-Length"),
        412 => ("Precondition Failed", "Precondition in headers is false"),
        413 => ("Content Too Large", "Content is too large"),
        414 => ("URI Too Long", "URI is too long"),
        415 => ("Unsupported Media Type", "Entity body in unsupported format"),
        416 => ("Range Not Satisfiable", "Cannot satisfy request range"),
        417 => ("Expectation Failed", "Expect condition could not be satisfied"),
        418 => ("I'm a Teapot", "Server refuses to brew coffee because it is a teapot."),
        421 => ("Misdirected Request", "Server is not able to produce a response"),
        422 => ("Unprocessable Content", ""),
        423 => ("Locked", ""),
        424 => ("Failed Dependency", ""),
        425 => ("Too Early", ""),
        426 => ("Upgrade Required", ""),
        428 => ("Precondition Required", "The origin server requires the request to be conditional"),
        429 => ("Too Many Requests", "The user has sent too many requests in a given amount of time (\"rate limiting\")"),
        431 => ("Request Header Fields Too Large", "The server is unwilling to process the request because its header fields are too large"),
        451 => ("Unavailable For Legal Reasons", "The server is denying access to the resource as a consequence of a legal demand"),
        500 => ("Internal Server Error", "Server got itself in trouble"),
        501 => ("Not Implemented", "Server does not support this operation"),
        502 => ("Bad Gateway", "Invalid responses from another server/proxy"),
        503 => ("Service Unavailable", "The server cannot process the request due to a high load"),
        504 => ("Gateway Timeout", "The gateway server did not receive a timely response"),
        505 => ("HTTP Version Not Supported", "Cannot fulfill request"),
        506 => ("Variant Also Negotiates", ""),
        507 => ("Insufficient Storage", ""),
        508 => ("Loop Detected", ""),
        510 => ("Not Extended", ""),
        511 => ("Network Authentication Required", "The client needs to authenticate to gain network access"),
        _ => return None,
    })
}

/// Every code in the table, ascending (the members of `http.HTTPStatus`).
pub const CODES: [u16; 62] = [
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 510, 511,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pyrepr::tests::python;

    #[test]
    fn table_entries() {
        assert_eq!(
            responses(200),
            Some(("OK", "Request fulfilled, document follows"))
        );
        assert_eq!(responses(418).map(|r| r.0), Some("I'm a Teapot"));
        assert_eq!(
            responses(431),
            Some((
                "Request Header Fields Too Large",
                "The server is unwilling to process the request because its header fields are too large"
            ))
        );
        assert_eq!(
            responses(505),
            Some(("HTTP Version Not Supported", "Cannot fulfill request"))
        );
        assert_eq!(responses(413).map(|r| r.0), Some("Content Too Large"));
        assert_eq!(responses(422).map(|r| r.0), Some("Unprocessable Content"));
        for code in [0, 1, 99, 199, 306, 419, 430, 509, 600, 999, u16::MAX] {
            assert_eq!(responses(code), None, "{code}");
        }
        let known = (0..=u16::MAX).filter(|&c| responses(c).is_some()).count();
        assert_eq!(known, CODES.len());
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(CODES.iter().all(|&c| responses(c).is_some()));
    }

    #[test]
    fn table_is_cpythons() {
        let Some(out) = python(
            "from http.server import BaseHTTPRequestHandler as H\n\
             for code, (phrase, desc) in sorted(H.responses.items()):\n\
             \x20   print('%d\\t%s\\t%s' % (code, phrase, desc))",
        ) else {
            return;
        };
        let mut ours = String::new();
        for code in CODES {
            if let Some((phrase, desc)) = responses(code) {
                ours.push_str(&format!("{code}\t{phrase}\t{desc}\n"));
            }
        }
        assert_eq!(ours, out);
    }
}
