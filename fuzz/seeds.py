#!/usr/bin/env python3
"""Builds fuzz/corpus/<target>/ seeds from the differential and interop tests' inputs.

Run from the repository root: python3 fuzz/seeds.py. HTTP seeds are the request byte
strings of tests/http_diff.rs, tests/simple_diff.rs, tests/http.rs and
tests/http_parse.rs; FastCGI seeds are the record streams tests/fcgi_raw.rs and the
nginx interop test exchange (BEGIN_REQUEST, PARAMS, STDIN, ABORT, GET_VALUES); the
CGI and path seeds follow tests/cgi_diff.rs and src/http/url.rs's cases.
"""
import ast, hashlib, os, re, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rust_bytes(lit):
    """A Rust b"..." literal's bytes (the escapes the tests use)."""
    body = lit[2:-1]
    body = re.sub(r"\\\n\s*", "", body)
    return ast.literal_eval("b'" + body.replace("'", "\\'") + "'")


requests = set()
for f in ["http_diff.rs", "simple_diff.rs", "http.rs", "http_parse.rs", "cgi_diff.rs"]:
    src = open(os.path.join(ROOT, "tests", f)).read()
    for lit in re.findall(r'b"(?:[^"\\]|\\.)*"', src, re.S):
        try:
            b = rust_bytes(lit)
        except Exception:
            continue
        if b"HTTP/" in b or b.startswith((b"GET ", b"POST ", b"HEAD ")):
            if len(b) <= 4096:
                requests.add(b)
    for lit in re.findall(r'"((?:GET|POST|HEAD|PUT) [^"]*)"', src):
        try:
            b = ast.literal_eval('"' + lit + '"').encode("latin-1")
        except Exception:
            continue
        requests.add(b)

for r in sorted(requests):
    put("http_head", r)
    put("http_handler", b"\x00" + r)
    put("http_handler", b"\x01" + r)
    if r.startswith(b"POST "):
        nl = r.find(b"\n")
        put("http_body", r[nl + 1:])
for extra in [
    b"Content-Length: 5\r\n\r\nhello",
    b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"Content-Length: -1\r\n\r\n",
    b"Content-Length: 99999999999999999999\r\n\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    b"Content-Length: 3\r\n\r\nabcPOST /again HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
    b"Content-Length:\r\n 4\r\n\r\nbody",
]:
    put("http_body", extra)
    put("http_handler", b"\x01POST / HTTP/1.1\r\n" + extra)

# FastCGI (the records tests/fcgi_raw.rs and nginx send).
def rec(typ, rid, content, pad=None):
    if pad is None:
        pad = (-len(content)) % 8
    return struct.pack(">BBHHBB", 1, typ, rid, len(content), pad, 0) + content + b"\0" * pad

def ln(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)

def pairs(d):
    return b"".join(ln(len(k)) + ln(len(v)) + k + v for k, v in d)

params = [(b"REQUEST_METHOD", b"POST"), (b"REQUEST_URI", b"/echo?x=1"),
          (b"SCRIPT_NAME", b"/echo"), (b"CONTENT_LENGTH", b"5"),
          (b"HTTP_HOST", b"localhost"), (b"LONG", b"v" * 200)]
p = pairs(params)
begin = lambda rid, keep: rec(1, rid, struct.pack(">HB5x", 1, keep))
streams = [
    begin(1, 0) + rec(4, 1, p) + rec(4, 1, b"") + rec(5, 1, b"hello") + rec(5, 1, b""),
    begin(1, 1) + rec(4, 1, p) + rec(4, 1, b"") + rec(5, 1, b"") +
    begin(2, 1) + rec(4, 2, p[:7]) + rec(4, 2, p[7:]) + rec(4, 2, b"") + rec(5, 2, b"ab") + rec(2, 2, b""),
    begin(1, 1) + rec(4, 1, p) + rec(2, 1, b"") + rec(4, 1, b"") + rec(5, 1, b""),
    rec(9, 0, pairs([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b""), (b"FCGI_MPXS_CONNS", b"")])),
    rec(42, 0, b""),
    begin(1, 0) + rec(4, 1, pairs([(b"X" * 130, b"y" * 300)])) + rec(4, 1, b"") + rec(5, 1, b""),
    begin(1, 0) + rec(8, 1, b"") + rec(4, 1, p) + rec(4, 1, b""),
]
for s in streams:
    put("fcgi_records", s)
    put("fcgi_handler", s)
for d in [params, [(b"", b"")], [(b"N" * 127, b"")], [(b"N" * 128, b"v" * 1000)]]:
    for step in [0, 3, 16]:
        put("fcgi_params", bytes([step]) + pairs(d))

# translate_path (src/http/url.rs's cases and CVE shapes).
for path in ["/a/b.txt?x=1#f", "/../../etc/passwd", "/%2e%2e/sub/", "/file%2f", "//x//y",
             "/a/./b/../../c", "/%00", "/%ED%A0%80", "/a%5c..%5cb", "/\\..\\x", "/C:/x",
             "/..%2f..%2fetc", "/" + "x/" * 50, "/%zz", "/a?b/../../c", "/\u00e9t\u00e9/"]:
    put("translate_path", path.encode())

# CGI script output (tests/cgi_diff.rs's scripts).
for out in [b"Content-Type: text/plain\n\nhi\n",
            b"Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<p>",
            b"Location: /elsewhere\n\n", b"Status: 200\n\n", b"Status: abc\n\n",
            b"X-A: 1\nX-B:  2 \n\nbody", b"no colon line\n\n", b"Content-Type: a\n",
            b"Status: 999 Odd\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n"]:
    for step in [0, 5]:
        put("cgi_output", bytes([step]) + out)

# Forms (tests/forms_diff.rs's shapes). forms_urlencoded: a control byte (options,
# field limit, piece size), then the body.
for qs in [b"a=1&b=x+y&a=%C3%A9&bad=%zz&empty=", b"a;b=2;;c=%3B", b"&&=&a", b"x=\xff\xfe&y=\xe2\x82",
           b"name=dhellmann&foo=bar", b"a=" + b"%41" * 40, b"=&=&=", b"k==v&&k2=v2=v3"]:
    for ctl in [0x04, 0x05, 0x07, 0x24, 0xc4, 0x00, 0x08]:
        put("forms_urlencoded", bytes([ctl]) + qs)

# forms_multipart: a control byte (boundary 0..3 of the target's list, piece and slice
# sizes), then the body: curl's -F shape, a browser shape, LF lines, a preamble and
# epilogue, RFC 2231 filenames, an unterminated body.
def part(b, disp, content, ctype=None, nl=b"\r\n"):
    h = b"--" + b + nl + b"Content-Disposition: form-data; " + disp + nl
    if ctype:
        h += b"Content-Type: " + ctype + nl
    return h + nl + content + nl

for i, b in enumerate([b"XyZ", b"------------------------d74496d66958873e", b"a", b"b c"]):
    for nl in [b"\r\n", b"\n"]:
        body = (b"preamble" + nl + part(b, b'name="name"', b"dhellmann", nl=nl)
                + part(b, b'name="foo"', b"bar", nl=nl)
                + part(b, b'name="datafile"; filename="BaseHTTPServer_GET.py"',
                       b"line1" + nl + b"--" + b + b"x" + nl + bytes(range(256)), b"text/x-python", nl)
                + part(b, b"name=\"f\"; filename*=UTF-8''%C3%A9t%C3%A9.txt", b"", b"application/octet-stream", nl)
                + part(b, b'name="q\\"uote"; filename="a\\\\b.txt"', b"x", nl=nl)
                + b"--" + b + b"--" + nl + b"epilogue")
        for ctl in [i, i | 0x04, i | 0x3c, i | 0xc0, i | 0x44]:
            put("forms_multipart", bytes([ctl]) + body)
            put("forms_multipart", bytes([ctl]) + body[: len(body) // 2])
