//! Python's `http.server`: [`BaseHttpRequestHandler`]-style handlers, the HTTP servers,
//! fast.ai's `MinimalHTTPHandler`, and the sans-IO pieces they are built from.

pub mod headers;
pub mod listing;
pub mod mime;
pub mod parse;
pub mod parsedate;
pub mod pyrepr;
pub mod status;
pub mod url;
