//! Python's text conventions the HTTP layer reproduces byte for byte: `repr()` of a
//! string, `html.escape`, and the control-character escaping of `log_message`.
//!
//! STUB: signatures only; the implementation lands separately.
#![allow(dead_code, unused_variables)]

/// Python's `repr(s)` of a `str` (quotes chosen as Python chooses them, escapes as
/// Python writes them).
pub fn py_repr(s: &str) -> String {
    todo!()
}

/// Python's `html.escape(s, quote)`: `&`, `<`, `>` always; `"` and `'` when `quote`.
pub fn html_escape(s: &str, quote: bool) -> String {
    todo!()
}

/// Appends `s` to `out` with `http.server`'s `_control_char_table` applied: U+0000–U+001F
/// and U+007F–U+009F become `\xHH`, and `\` becomes `\\` (gh-100001).
pub fn escape_control_chars(s: &str, out: &mut String) {
    todo!()
}
