"""CPython's answers to the adversarial requests of tests/adversarial.rs.

Reads cases from stdin, one per line: `<handler> <hex request>` where handler is
`simple` (SimpleHTTPRequestHandler on an empty directory) or `post` (a
BaseHTTPRequestHandler whose do_POST reads Content-Length bytes, HTTP/1.1). For each,
starts nothing new: both servers run for the whole input. Prints one line per case:
the status code of the first answer, `bare<code>` for an error page sent without a
status line (HTTP/0.9 style), or `close` when the connection closed without
one, then ` alive` or ` dead` for whether the server answered a fresh GET afterwards.
"""
import http.server, re, socket, sys, tempfile, threading


class Post(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address


def first_status(addr, data):
    """The first answer's status, read while the request is still being written (a
    server that closes with unread input resets the connection, which would discard an
    answer not yet read)."""
    s = socket.create_connection(addr, timeout=10)

    def write():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    out = b""
    reset = False
    writer = threading.Thread(target=write)
    writer.start()
    try:
        while not (out.startswith(b"HTTP/") and b"\n" in out):
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                reset = True
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        writer.join()
        s.close()
    if out.startswith(b"HTTP/"):
        return out.split(b" ")[1].decode(), reset
    m = re.search(rb"Error code: (\d+)", out)
    if m:
        # An error page without a status line: the answer to a request whose version
        # was not understood (HTTP/0.9 style).
        return "bare" + m.group(1).decode(), reset
    return "close", reset


def main():
    d = tempfile.mkdtemp()

    class Simple(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=d, **k)

        def log_message(self, *a):
            pass

    addrs = {"simple": serve(Simple), "post": serve(Post)}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        which, hexed = line.split(" ")
        addr = addrs[which]
        # A reset may discard an answer not yet read (the server closed with unread
        # input): try again, as tests/adversarial.rs does.
        for _ in range(6):
            status, reset = first_status(addr, bytes.fromhex(hexed))
            if not (status == "close" and reset):
                break
        alive = first_status(addr, b"GET / HTTP/1.0\r\n\r\n")[0] == "200"
        print(status, "alive" if alive else "dead", flush=True)


main()
