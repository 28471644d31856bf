#!/usr/bin/env python3
"""Echoes what a CGI script receives: the request's CGI variables, the fields of the
query string and, for a POST, of the urlencoded body read from stdin."""

import os
import sys
from urllib.parse import parse_qsl

VARIABLES = (
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING",
    "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_ADDR", "REMOTE_USER", "AUTH_TYPE",
    "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
    "GATEWAY_INTERFACE", "HTTP_ACCEPT", "HTTP_USER_AGENT", "HTTP_COOKIE", "HTTP_REFERER",
)

body = b""
length = os.environ.get("CONTENT_LENGTH", "")
if length.isdigit():
    body = sys.stdin.buffer.read(int(length))

out = ["Content-Type: text/plain; charset=utf-8", ""]
for name in VARIABLES:
    if name in os.environ:
        out.append(f"{name}={os.environ[name]}")
out.append(f"argv={sys.argv[1:]}")
for name, value in parse_qsl(os.environ.get("QUERY_STRING", ""), keep_blank_values=True):
    out.append(f"query {name}={value}")
if os.environ.get("CONTENT_TYPE") == "application/x-www-form-urlencoded":
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        out.append(f"form {name}={value}")
else:
    out.append(f"body {len(body)} bytes")
sys.stdout.write("\n".join(out) + "\n")
