"""`python -m http.server` of CPython 3.13.0, with the later fixes the crate follows.

Usage: python3.13 -u simple_oracle.py [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [port]

The same as 3.13.0's `http/server.py` __main__ block (argparse, DualStackServer,
http.server.test), except that:

* the MIME table is CPython's built-in one (mimetypes.knownfiles = [] before the first
  use), as the crate embeds it, instead of whatever /etc/mime.types says;
* the handler is SimpleHTTPRequestHandler with cpython_fixes.FixedSimpleHandler mixed in
  (gh-54930, gh-70765, gh-134098, gh-133889);
* the server exits when stdin reaches EOF, so it never outlives the test process.

tests/simple_diff.rs starts it beside the crate's `http_server` example.
"""

import mimetypes
mimetypes.knownfiles = []
mimetypes.init()

import argparse
import contextlib
import os
import socket
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer, test

from cpython_fixes import FixedSimpleHandler


class Handler(FixedSimpleHandler, SimpleHTTPRequestHandler):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-b', '--bind', metavar='ADDRESS')
    parser.add_argument('-d', '--directory', default=os.getcwd())
    parser.add_argument('-p', '--protocol', metavar='VERSION', default='HTTP/1.0')
    parser.add_argument('port', default=8000, type=int, nargs='?')
    args = parser.parse_args()

    class DualStackServer(ThreadingHTTPServer):

        def server_bind(self):
            with contextlib.suppress(Exception):
                self.socket.setsockopt(
                    socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            return super().server_bind()

        def finish_request(self, request, client_address):
            self.RequestHandlerClass(request, client_address, self,
                                     directory=args.directory)

    def exit_at_eof():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_at_eof, daemon=True).start()
    test(
        HandlerClass=Handler,
        ServerClass=DualStackServer,
        port=args.port,
        bind=args.bind,
        protocol=args.protocol,
    )


if __name__ == '__main__':
    main()
