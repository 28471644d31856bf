"""CPython 3.13.0 side of tests/http_diff.rs: four BaseHTTPRequestHandler servers.

Usage: python3.13 -u http_oracle.py

Binds one ThreadingHTTPServer per handler on 127.0.0.1 port 0, prints
"PORTS stock=N ths=N echo=N post=N" and serves until stdin reaches EOF (the test
process holds the other end, so the servers never outlive it). tests/http_diff.rs
writes the same four handlers with the crate; keep the two in step.
"""

import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cpython_fixes import FixedParseRequest


class Quiet:
    def log_message(self, format, *args):
        pass


class Stock(Quiet, FixedParseRequest, BaseHTTPRequestHandler):
    """The stock handler: HTTP/1.0, default_request_version HTTP/0.9, no do_* methods."""


class Ths(Quiet, FixedParseRequest, BaseHTTPRequestHandler):
    """test_httpservers.BaseHTTPServerTestCase.request_handler (3.13.0)."""
    protocol_version = 'HTTP/1.1'
    default_request_version = 'HTTP/1.1'

    def do_TEST(self):
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Connection', 'close')
        self.end_headers()

    def do_KEEP(self):
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Connection', 'keep-alive')
        self.end_headers()

    def do_KEYERROR(self):
        self.send_error(999)

    def do_NOTFOUND(self):
        self.send_error(HTTPStatus.NOT_FOUND)

    def do_EXPLAINERROR(self):
        self.send_error(999, "Short Message",
                        "This is a long \n explanation")

    def do_CUSTOM(self):
        self.send_response(999)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Connection', 'close')
        self.end_headers()

    def do_LATINONEHEADER(self):
        self.send_response(999)
        self.send_header('X-Special', 'Dängerous Mind')
        self.send_header('Connection', 'close')
        self.end_headers()
        body = self.headers['x-special-incoming'].encode('utf-8')
        self.wfile.write(body)

    def do_SEND_ERROR(self):
        self.send_error(int(self.path[1:]))

    def do_HEAD(self):
        self.send_error(int(self.path[1:]))


class Echo(Quiet, FixedParseRequest, BaseHTTPRequestHandler):
    """Answers GET with what it parsed: command, path, version, request line, headers
    (and str(headers) for paths starting /str). Keep-alive with Content-Length."""
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        lines = ['%r %r %r %r' % (self.command, self.path, self.request_version,
                                  self.requestline)]
        lines += ['%r: %r' % kv for kv in self.headers.items()]
        text = '\n'.join(lines) + '\n'
        if self.path.startswith('/str'):
            text += str(self.headers)
        body = text.encode('utf-8')
        self.send_response(HTTPStatus.OK)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_INJECT(self):
        # Reflects a request header into a response header. A folded request value
        # carries CR LF: CPython writes it; the crate refuses (a documented difference).
        self.send_response(HTTPStatus.OK)
        self.send_header('X-Reflected', self.headers.get('X-In', ''))
        self.send_header('Content-Length', '0')
        self.end_headers()


class Post(Quiet, FixedParseRequest, BaseHTTPRequestHandler):
    """do_POST reads the Content-Length body and echoes it; refuses 100-continue for
    /refuse with 417."""
    protocol_version = 'HTTP/1.1'

    def handle_expect_100(self):
        if self.path == '/refuse':
            self.send_error(HTTPStatus.EXPECTATION_FAILED)
            return False
        return super().handle_expect_100()

    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(n)
        reply = b'%d of %d bytes to %s: ' % (len(body), n, self.path.encode('latin-1')) + body
        self.send_response(HTTPStatus.OK)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    ports = []
    for name, cls in (('stock', Stock), ('ths', Ths), ('echo', Echo), ('post', Post)):
        server = ThreadingHTTPServer(('127.0.0.1', 0), cls)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports.append('%s=%d' % (name, server.server_port))
    print('PORTS ' + ' '.join(ports), flush=True)
    sys.stdin.buffer.read()
    os._exit(0)


if __name__ == '__main__':
    main()
