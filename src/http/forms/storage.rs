//! `cgi.FieldStorage`: a whole form read into fields, text values in memory, uploaded
//! files in unlinked temporary files.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{FormError, Limits};
use super::multipart::PartInfo;
use super::qs::{parse_qsl, read_urlencoded, QsOptions};
use super::reader::MultipartReader;
use crate::http::HttpMessage;

/// How a form is read: `cgi.FieldStorage`'s keyword arguments and the limits.
#[derive(Debug, Clone, Default)]
pub struct FormOptions {
    /// `keep_blank_values`, `strict_parsing` and `separator` for urlencoded data.
    pub qs: QsOptions,
    /// The limits; see [`Limits`] for the defaults.
    pub limits: Limits,
    /// Also read the query string's fields on a POST (first, as Python puts
    /// `qs_on_post` first for multipart and last for urlencoded bodies). Python does
    /// so when `FieldStorage` builds its headers from a CGI environment, not when it is
    /// given `headers=` as the PyMOTW handler does; [`FieldStorage::from_environ`] turns
    /// it on, [`FieldStorage::from_request`] leaves it as set here (off by default).
    pub include_query: bool,
    /// Where uploaded files go; [`std::env::temp_dir`] when `None`.
    pub temp_dir: Option<PathBuf>,
}

/// An uploaded file: the content of a part that had a filename, in a temporary file
/// that no other process can open (it is removed from its directory as soon as it is
/// created, as Python's `tempfile.TemporaryFile` is) and that disappears when dropped.
#[derive(Debug)]
pub struct UploadedFile {
    file: File,
    len: u64,
}

impl UploadedFile {
    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file, rewound to its start (Python's `field.file`, which `cgi` rewinds).
    pub fn file(&self) -> &File {
        let mut f = &self.file;
        // A seek on a regular file only fails for a bad offset; 0 is never one.
        let _ = f.seek(SeekFrom::Start(0));
        f
    }

    /// The whole content (Python's `field.value` for a file: it reads the file).
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.file().read_to_end(&mut out)?;
        Ok(out)
    }

    /// Copies the content to `path` (a new file), for callers who keep uploads.
    pub fn save_as(&self, path: impl AsRef<std::path::Path>) -> io::Result<u64> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        io::copy(&mut self.file(), &mut out)
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a file with `O_EXCL` and mode 0600 in `dir` and unlinks it at once.
fn make_file(dir: Option<&PathBuf>) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = dir.cloned().unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for _ in 0..100 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(
            ".socketserver-upload-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary file name for an upload",
    ))
}

/// What a field holds.
#[derive(Debug)]
enum Content {
    Text(String),
    File(UploadedFile),
}

/// A field's value as Python's `field.value` gives it: a string for a text field, the
/// file for an upload (whose bytes [`UploadedFile::read_all`] reads).
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// A text field (`str` in Python).
    Str(&'a str),
    /// An uploaded file (`bytes` in Python).
    File(&'a UploadedFile),
}

impl<'a> Value<'a> {
    /// The text, for a text field.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            Value::File(_) => None,
        }
    }

    /// The bytes: a text field's UTF-8, or the file's content.
    pub fn to_bytes(&self) -> io::Result<Vec<u8>> {
        match self {
            Value::Str(s) => Ok(s.as_bytes().to_vec()),
            Value::File(f) => f.read_all(),
        }
    }
}

/// Python's `form[key]`: one field, or a list when the name repeats.
#[derive(Debug, Clone)]
pub enum OneOrList<T> {
    /// The name occurs once.
    One(T),
    /// The name occurs more than once, in the order received.
    List(Vec<T>),
}

/// One field of a form: Python's `FieldStorage` for a part, or `MiniFieldStorage` for
/// an urlencoded pair (no headers, no filename).
#[derive(Debug)]
pub struct Field {
    /// Python's `field.name` (`None` for a part without a `name`).
    pub name: Option<String>,
    /// Python's `field.filename`: set for an upload, even when empty (`""` is what a
    /// browser sends for a file input left empty).
    pub filename: Option<String>,
    /// The part's content type, `text/plain` if it had none; `None` for an urlencoded
    /// field (Python's `field.type`).
    #[doc(alias = "type")]
    pub content_type: Option<String>,
    /// Python's `field.type_options`.
    pub type_options: Vec<(String, String)>,
    /// Python's `field.disposition` (`form-data`).
    pub disposition: Option<String>,
    /// Python's `field.disposition_options`.
    pub disposition_options: Vec<(String, String)>,
    /// The part's headers (empty for an urlencoded field).
    pub headers: HttpMessage,
    content: Content,
}

impl Field {
    fn text(name: String, value: String) -> Field {
        Field {
            name: Some(name),
            filename: None,
            content_type: None,
            type_options: Vec::new(),
            disposition: None,
            disposition_options: Vec::new(),
            headers: HttpMessage::new(),
            content: Content::Text(value),
        }
    }

    fn from_part(info: PartInfo, content: Content) -> Field {
        Field {
            name: info.name,
            filename: info.filename,
            content_type: Some(info.content_type),
            type_options: info.type_options,
            disposition: Some(info.disposition),
            disposition_options: info.disposition_options,
            headers: info.headers,
            content,
        }
    }

    /// The name, `""` when the part had none.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Python's `field.value`.
    pub fn value(&self) -> Value<'_> {
        match &self.content {
            Content::Text(s) => Value::Str(s),
            Content::File(f) => Value::File(f),
        }
    }

    /// The text of a text field (`None` for an upload).
    pub fn text_value(&self) -> Option<&str> {
        self.value().as_str()
    }

    /// Python's `field.file` for an upload, rewound; `None` for a text field (Python
    /// gives a `StringIO` there).
    pub fn file(&self) -> Option<&File> {
        self.upload().map(UploadedFile::file)
    }

    /// The upload, for a part that had a filename.
    pub fn upload(&self) -> Option<&UploadedFile> {
        match &self.content {
            Content::File(f) => Some(f),
            Content::Text(_) => None,
        }
    }

    /// The content's size in bytes.
    pub fn len(&self) -> u64 {
        match &self.content {
            Content::Text(s) => s.len() as u64,
            Content::File(f) => f.len(),
        }
    }

    /// True when the content is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Python's `cgi.FieldStorage` for a whole form: its fields in the order they came,
/// looked up by name.
///
/// ```
/// use socketserver::http::forms::{FieldStorage, FormOptions, OneOrList};
///
/// let body = &b"name=dhellmann&foo=bar&foo=baz"[..];
/// let form = FieldStorage::read_urlencoded(body, &FormOptions::default()).unwrap();
/// assert_eq!(form.keys(), ["name", "foo"]);
/// assert_eq!(form.getfirst("name").and_then(|v| v.as_str()), Some("dhellmann"));
/// assert_eq!(form.getlist("foo").iter().filter_map(|v| v.as_str()).collect::<Vec<_>>(), ["bar", "baz"]);
/// assert!(matches!(form.getitem("foo"), Some(OneOrList::List(_))));
/// ```
#[derive(Debug, Default)]
#[doc(alias = "cgi.FieldStorage")]
#[doc(alias = "MiniFieldStorage")]
pub struct FieldStorage {
    /// Every field, in the order received (Python's `form.list`).
    pub list: Vec<Field>,
}

impl FieldStorage {
    /// Reads an `application/x-www-form-urlencoded` body.
    pub fn read_urlencoded<R: Read>(
        body: R,
        options: &FormOptions,
    ) -> Result<FieldStorage, FormError> {
        let pairs = read_urlencoded(body, &options.qs, &options.limits)?;
        Ok(FieldStorage::from_pairs(pairs))
    }

    /// The fields of a query string (Python's `FieldStorage` on a GET).
    pub fn from_query(query: &str, options: &FormOptions) -> Result<FieldStorage, FormError> {
        let pairs = parse_qsl(query, &options.qs, Some(options.limits.max_fields))?;
        Ok(FieldStorage::from_pairs(pairs))
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> FieldStorage {
        FieldStorage {
            list: pairs.into_iter().map(|(k, v)| Field::text(k, v)).collect(),
        }
    }

    /// Reads a `multipart/form-data` body with `boundary`: text parts into memory,
    /// parts with a filename into temporary files, as they arrive. On an error every
    /// temporary file made so far is gone.
    pub fn read_multipart<R: Read>(
        body: R,
        boundary: &[u8],
        options: &FormOptions,
    ) -> Result<FieldStorage, FormError> {
        let mut form = FieldStorage::default();
        form.read_multipart_into(body, boundary, options, options.limits.max_fields)?;
        Ok(form)
    }

    fn read_multipart_into<R: Read>(
        &mut self,
        body: R,
        boundary: &[u8],
        options: &FormOptions,
        max_parts: usize,
    ) -> Result<(), FormError> {
        let limits = &options.limits;
        let mut reader = MultipartReader::new(body, boundary, limits.clone())?;
        reader.set_max_parts(max_parts);
        let mut buf = vec![0u8; 64 * 1024];
        while let Some(mut part) = reader.next_part()? {
            let info = part.take_info();
            let content = if info.filename.is_some() {
                let mut file = make_file(options.temp_dir.as_ref())?;
                let mut len = 0u64;
                loop {
                    let n = part.read_content(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    len += n as u64;
                    if len > limits.max_file_size {
                        return Err(FormError::FileTooLarge {
                            name: info.name.clone(),
                            limit: limits.max_file_size,
                        });
                    }
                    file.write_all(&buf[..n])?;
                }
                file.flush()?;
                Content::File(UploadedFile { file, len })
            } else {
                let mut bytes = Vec::new();
                loop {
                    let n = part.read_content(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    if bytes.len() + n > limits.max_field_size {
                        return Err(FormError::FieldTooLarge {
                            name: info.name.clone(),
                            limit: limits.max_field_size,
                        });
                    }
                    bytes.extend_from_slice(&buf[..n]);
                }
                Content::Text(match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                })
            };
            self.list.push(Field::from_part(info, content));
        }
        Ok(())
    }

    /// Reads a body of content type `content_type` (the header's value): urlencoded,
    /// or multipart with its boundary. `query` (with `include_query`) adds the query
    /// string's fields where Python's `qs_on_post` puts them.
    pub fn read_body<R: Read>(
        body: R,
        content_type: Option<&str>,
        query: Option<&str>,
        options: &FormOptions,
    ) -> Result<FieldStorage, FormError> {
        let ctype = super::header::parse_header(
            content_type.unwrap_or("application/x-www-form-urlencoded"),
        );
        let query = query.filter(|q| options.include_query && !q.is_empty());
        if ctype.value == "application/x-www-form-urlencoded" {
            let mut form = FieldStorage::read_urlencoded(body, options)?;
            if let Some(q) = query {
                // Python appends '&' + QUERY_STRING to the body before parsing.
                let budget = options.limits.max_fields.saturating_sub(form.list.len());
                let extra = parse_qsl(q, &options.qs, Some(budget))?;
                form.list.extend(FieldStorage::from_pairs(extra).list);
            }
            Ok(form)
        } else if ctype.value.starts_with("multipart/") {
            let boundary = ctype.param("boundary").unwrap_or("");
            let mut form = match query {
                Some(q) => FieldStorage::from_query(q, options)?,
                None => FieldStorage::default(),
            };
            let budget = options.limits.max_fields.saturating_sub(form.list.len());
            form.read_multipart_into(body, boundary.as_bytes(), options, budget)?;
            Ok(form)
        } else {
            Err(FormError::UnsupportedType(ctype.value))
        }
    }

    /// The distinct field names, in the order each first appears (Python's `keys()`
    /// returns them in a set's order). Parts without a name are left out.
    pub fn keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.list {
            if let Some(n) = f.name.as_deref() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// The number of distinct names (Python's `len(form)`).
    pub fn len(&self) -> usize {
        self.keys().len()
    }

    /// True when the form has no fields (Python's `not form`).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Python's `key in form`.
    #[doc(alias = "__contains__")]
    pub fn contains(&self, key: &str) -> bool {
        self.list.iter().any(|f| f.name.as_deref() == Some(key))
    }

    /// The fields named `key`, in order.
    pub fn fields<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a Field> + 'k
    where
        'a: 'k,
    {
        self.list
            .iter()
            .filter(move |f| f.name.as_deref() == Some(key))
    }

    /// The first field named `key`.
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.fields(key).next()
    }

    /// Python's `form[key]`: the field, or all of them when the name repeats; `None`
    /// where Python raises `KeyError`.
    #[doc(alias = "__getitem__")]
    pub fn getitem(&self, key: &str) -> Option<OneOrList<&Field>> {
        let mut found: Vec<&Field> = self.fields(key).collect();
        match found.len() {
            0 => None,
            1 => found.pop().map(OneOrList::One),
            _ => Some(OneOrList::List(found)),
        }
    }

    /// Python's `form.getvalue(key)`: the value, or a list of values when the name
    /// repeats.
    pub fn getvalue(&self, key: &str) -> Option<OneOrList<Value<'_>>> {
        self.getitem(key).map(|item| match item {
            OneOrList::One(f) => OneOrList::One(f.value()),
            OneOrList::List(fs) => OneOrList::List(fs.iter().map(|f| f.value()).collect()),
        })
    }

    /// Python's `form.getfirst(key)`.
    pub fn getfirst(&self, key: &str) -> Option<Value<'_>> {
        self.get(key).map(Field::value)
    }

    /// Python's `form.getlist(key)` (empty when the name is absent).
    pub fn getlist(&self, key: &str) -> Vec<Value<'_>> {
        self.fields(key).map(Field::value).collect()
    }

    /// The fields in order (Python's `iter(form.list)`).
    pub fn iter(&self) -> std::slice::Iter<'_, Field> {
        self.list.iter()
    }
}

impl<'a> IntoIterator for &'a FieldStorage {
    type Item = &'a Field;
    type IntoIter = std::slice::Iter<'a, Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
