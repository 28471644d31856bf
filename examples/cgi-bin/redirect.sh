#!/bin/sh
# A redirect. CPython (and the crate by default) answer "200 Script output follows" and
# pass these lines on as they are; in RFC 3875 mode (cgi_server --rfc3875) they become
# the status line "302 Found" and a Location header.
printf 'Status: 302 Found\nLocation: /cgi-bin/hello.sh\nContent-Type: text/plain\n\nsee /cgi-bin/hello.sh\n'
