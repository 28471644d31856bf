#!/bin/sh
# The smallest CGI script: a header block, an empty line, the body.
printf 'Content-Type: text/plain\n\nHello, world!\n'
