"""Differential oracle for the crate's pure http.server helpers (CPython 3.13.0).

Usage: python3.13 oracle.py MODE [ARGS...]
Reads one input per line on stdin, ">" + hex of its UTF-8 (for quote_fs: of the raw
name; for guess_type: of the path bytes), and writes one answer per line, ">" + hex of the result, "None" or "E:<what>". The Rust tests in
tests/simple_http_oracle.rs drive it; see tests/oracle/mod.rs.
"""

import sys

# The crate embeds CPython's built-in MIME table only: never read /etc/mime.types.
import mimetypes
mimetypes.knownfiles = []

import datetime
import email.utils
import io
import os
import urllib.parse
from http.server import SimpleHTTPRequestHandler, _url_collapse_path


def handler(directory, path="/"):
    """A SimpleHTTPRequestHandler without a socket (as test_httpservers does)."""
    h = SimpleHTTPRequestHandler.__new__(SimpleHTTPRequestHandler)
    h.directory = directory
    h.path = path
    h.sent = []
    h.send_response = lambda code, msg=None: h.sent.append(code)
    h.send_header = lambda k, v: h.sent.append((k, v))
    h.end_headers = lambda: None
    h.send_error = lambda code, msg=None, explain=None: h.sent.append(("error", code))
    return h


def hexs(s):
    return s.encode("utf-8", "surrogatepass").hex()


def decoded_path(path):
    """unquote(errors='surrogatepass') with translate_path's fallback."""
    try:
        return urllib.parse.unquote(path, errors="surrogatepass")
    except UnicodeDecodeError:
        return urllib.parse.unquote(path)


def translate(path):
    h = handler("/d")
    result = h.translate_path(path)
    # 3.13.0 computes the trailing slash on the raw path; the crate follows gh-134098
    # (the decoded path). Without its trailing slash the result never ends with '/'.
    if result.endswith("/"):
        result = result[:-1]
    trailing = decoded_path(path.split("#", 1)[0].split("?", 1)[0]).endswith("/")
    if trailing:
        result += "/"
    try:
        b = os.fsencode(result)
    except UnicodeEncodeError:
        return "E:enc:%d" % trailing
    if b"\0" in b:
        return "E:nul:%d" % trailing
    return b.hex()


def unquote_fs(s):
    try:
        return os.fsencode(decoded_path(s)).hex()
    except UnicodeEncodeError:
        return "E:enc"


def split(s):
    try:
        p = urllib.parse.urlsplit(s)
    except ValueError:
        return "E:ValueError"
    return " ".join(hexs(x) or "-" for x in p)


def redirect(s):
    try:
        parts = urllib.parse.urlsplit(s)
    except ValueError:
        return "E:ValueError"
    if parts.path.endswith(("/", "%2f", "%2F")):
        return "None"
    # The crate's one deliberate difference (docs/python-differences.md, http.server row
    # 14): a backslash in the redirect's path is sent as %5C, so that browsers, which
    # read it as a slash, stay on the host.
    path = (parts[2] + "/").replace("\\", "%5C")
    return hexs(urllib.parse.urlunsplit((parts[0], parts[1], path, parts[3], parts[4])))


def collapse(s):
    try:
        return hexs(_url_collapse_path(s))
    except IndexError:
        return "None"


GUESS = handler("/d")


def ims(s):
    try:
        dt = email.utils.parsedate_to_datetime(s)
    except (TypeError, IndexError, OverflowError, ValueError):
        return "None"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    if dt.tzinfo is not datetime.timezone.utc:
        return "None"
    return str(int(dt.timestamp()))


def mtime(s):
    sec, nsec = (int(x) for x in s.split())
    # os.stat builds st_mtime as sec + nsec * 1e-9 (a float).
    dt = datetime.datetime.fromtimestamp(sec + nsec * 1e-9, datetime.timezone.utc)
    return str(int(dt.replace(microsecond=0).timestamp()))


MODES = {
    "mtime": mtime,
    "quote": lambda s: urllib.parse.quote(s),
    "quote_fs": None,  # raw bytes, below
    "unquote": lambda s: hexs(urllib.parse.unquote(s)),
    "unquote_fs": unquote_fs,
    "translate": translate,
    "urlsplit": split,
    "redirect": redirect,
    "collapse": collapse,
    "guess_type": None,  # file-system bytes, below
    "ims": ims,
}


def listing(directory, path):
    """CPython's list_directory page for `directory`, requested as `path`."""
    h = handler(directory, path)
    try:
        f = h.list_directory(directory)
    except UnicodeEncodeError:
        return "E:enc"
    if f is None:
        return "E:" + repr(h.sent)
    return f.read().hex()


def main():
    mode = sys.argv[1]
    if mode == "version":
        print("%d.%d.%d" % sys.version_info[:3])
        return
    if mode == "mimetable":
        mimetypes.init()
        for ext, t in sorted(mimetypes.types_map.items()):
            print(ext, t)
        return
    out = []
    for line in sys.stdin.read().split("\n"):
        if not line.startswith(">"):
            continue
        raw = bytes.fromhex(line[1:])
        if mode == "listing":
            directory, path = raw.split(b"\0")
            out.append(listing(os.fsdecode(directory), path.decode("utf-8")))
            continue
        if mode == "guess_type":
            out.append(GUESS.guess_type(os.fsdecode(raw)))
            continue
        if mode == "quote_fs":
            out.append(urllib.parse.quote(os.fsdecode(raw), errors="surrogatepass"))
            continue
        out.append(MODES[mode](raw.decode("utf-8")))
    sys.stdout.write("".join(">" + x + "\n" for x in out))


main()
