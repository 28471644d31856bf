"""CPython's answers for the request-head parser's differential test.

Reads cases from stdin, one per line, and writes one answer line per case:

  L <hex>   a raw request line (as `rfile.readline()` returned it) → what
            BaseHTTPRequestHandler.parse_request makes of it:
              OK x<command> x<path> x<version>|- <major> <minor>
              ERR <code> x<message>
              EMPTY
  B <hex>   the bytes left in rfile after the request line → what
            http.client.parse_headers makes of them:
              HOK <consumed> x<str(msg)>|!skip <n> (x<name> x<value>)*n
              HERR <LineTooLong|TooManyHeaders> <consumed> x<str(err)>

`x<...>` is the hex of the UTF-8 text, prefixed with `x` so that an empty string is
still a field. `!skip` replaces str(msg) where the Rust port documents a difference:
str() raised, a value is not ASCII (Python writes RFC 2047 words), or a multipart or
delivery-status payload was split into parts.

Run as: PYENV_VERSION=3.13.0 python3 tests/oracle/parse_oracle.py < cases
"""

import http.client
import io
import sys
from http.server import BaseHTTPRequestHandler

assert sys.version_info[:3] == (3, 13, 0), sys.version


def x(s):
    return "x" + s.encode("utf-8", "surrogatepass").hex()


class Handler(BaseHTTPRequestHandler):
    """parse_request without a socket: errors are recorded, not sent."""

    def __init__(self, raw):
        self.raw_requestline = raw
        self.rfile = io.BytesIO(b"\r\n")
        self.wfile = io.BytesIO()
        self.error = None

    def send_error(self, code, message=None, explain=None):
        if self.error is None:
            self.error = (int(code), message)


def request_line(raw):
    h = Handler(raw)
    ok = h.parse_request()
    if h.error is not None:
        code, message = h.error
        return "ERR %d %s" % (code, x(message))
    if not ok:
        return "EMPTY"
    words = h.requestline.split()
    if len(words) == 2:
        version, numbers = "-", (0, 9)
    else:
        version = x(h.request_version)
        base = h.request_version.split("/", 1)[1].split(".")
        numbers = tuple(min(int(n), 2**32 - 1) for n in base)
    return "OK %s %s %s %d %d" % (x(h.command), x(h.path), version, *numbers)


def skip_str(msg):
    for part in msg.walk():
        for value in part.values():
            if not value.isascii():
                return True
        ctype = part.get_content_type()
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            return True
        if ctype == "message/delivery-status" and part.get_payload():
            return True
    return False


def header_block(data):
    fp = io.BytesIO(data)
    try:
        msg = http.client.parse_headers(fp)
    except http.client.LineTooLong as e:
        return "HERR LineTooLong %d %s" % (fp.tell(), x(str(e)))
    except http.client.HTTPException as e:
        return "HERR TooManyHeaders %d %s" % (fp.tell(), x(str(e)))
    consumed = fp.tell()
    try:
        text = "!skip" if skip_str(msg) else x(str(msg))
    except Exception:
        text = "!skip"
    items = msg.items()
    fields = " ".join("%s %s" % (x(k), x(v)) for k, v in items)
    return ("HOK %d %s %d %s" % (consumed, text, len(items), fields)).rstrip()


def main():
    out = []
    for line in sys.stdin:
        kind, _, data = line.strip("\n").partition(" ")
        raw = bytes.fromhex(data)
        if kind == "L":
            out.append(request_line(raw))
        elif kind == "B":
            out.append(header_block(raw))
        else:
            raise SystemExit("bad case kind %r" % kind)
    sys.stdout.write("\n".join(out) + "\n")


main()
