"""`python -m http.server --cgi` of CPython 3.13.0, with the later fixes the crate follows.

Usage: python3.13 -u cgi_oracle.py [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [port]

The same as 3.13.0's `http/server.py` __main__ block with `--cgi` (argparse,
DualStackServer, http.server.test, CGIHTTPRequestHandler), except that:

* the MIME table is CPython's built-in one (mimetypes.knownfiles = []), as the crate
  embeds it;
* the fixes of cpython_fixes.FixedSimpleHandler apply (gh-54930, gh-70765, gh-134098,
  gh-133889) — to the files CGIHTTPRequestHandler serves as SimpleHTTPRequestHandler
  does, and to the translate_path run_cgi calls;
* DeprecationWarnings are not printed (CGIHTTPRequestHandler's own, and fork()'s in a
  threaded process), so stderr holds only the handler's log and the scripts' stderr;
* the server exits when stdin reaches EOF, so it never outlives the test process.

tests/cgi_diff.rs starts it beside the crate's `http_server --cgi`.
"""

import warnings
warnings.simplefilter('ignore', DeprecationWarning)

import mimetypes
mimetypes.knownfiles = []
mimetypes.init()

import argparse
import contextlib
import os
import socket
import sys
import threading
from http.server import (CGIHTTPRequestHandler, SimpleHTTPRequestHandler,
                         ThreadingHTTPServer, test)

from cpython_fixes import FixedSimpleHandler


class Handler(FixedSimpleHandler, CGIHTTPRequestHandler):

    def send_head(self):
        # CGIHTTPRequestHandler.send_head, falling back to the fixed
        # SimpleHTTPRequestHandler.send_head (3.13.0 names the base class explicitly).
        if self.is_cgi():
            return self.run_cgi()
        return FixedSimpleHandler.send_head(self)


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
