"""cgi.FieldStorage and urllib.parse.parse_qsl of CPython 3.12, for tests/forms_diff.rs.

Usage: python3.12 forms_oracle.py version | python3.12 forms_oracle.py < cases

Each input line is one case, its words hex-encoded (`-` for None):

    multipart CONTENT_TYPE BODY      FieldStorage(fp=BytesIO(BODY), headers={...},
                                     environ={'REQUEST_METHOD': 'POST'}), as PyMOTW calls it
    urlencoded BODY                  the same with application/x-www-form-urlencoded
    qsl KEEP STRICT SEP MAX QS       parse_qsl(QS, KEEP, STRICT, max_num_fields=MAX,
                                     separator=SEP)

For each case the output is one line: `error TYPE`, or `ok` or `truncated` followed by
one word per field or pair: NAME,FILENAME,ISFILE,VALUE (hex; `-` for None). A multipart
form is `truncated` when Python accepted it although the body ended before the closing
boundary (no part, or a last part that did not end with `--boundary--`): the crate
refuses those (docs/python-differences.md).
"""

import warnings
warnings.simplefilter('ignore', DeprecationWarning)

import cgi
import io
import sys
import urllib.parse


def h(b):
    if b is None:
        return '-'
    if isinstance(b, str):
        b = b.encode('utf-8', 'surrogatepass')
    return b.hex() or '.'


def u(word):
    if word == '-':
        return None
    if word == '.':
        return b''
    return bytes.fromhex(word)


def fields(form):
    out = []
    for f in form.list:
        is_file = f.filename is not None
        value = f.value
        out.append(','.join([h(f.name), h(f.filename), '1' if is_file else '0', h(value)]))
    return out


def run(words):
    kind = words[0]
    if kind == 'multipart':
        ctype, body = u(words[1]).decode(), u(words[2])
        headers = {'content-type': ctype, 'content-length': str(len(body))}
        form = cgi.FieldStorage(fp=io.BytesIO(body), headers=headers,
                                environ={'REQUEST_METHOD': 'POST'})
        complete = not body or (form.list and getattr(form.list[-1], 'done', 0) == 1)
        return ('ok' if complete else 'truncated'), fields(form)
    if kind == 'urlencoded':
        body = u(words[1])
        headers = {'content-type': 'application/x-www-form-urlencoded',
                   'content-length': str(len(body))}
        form = cgi.FieldStorage(fp=io.BytesIO(body), headers=headers,
                                environ={'REQUEST_METHOD': 'POST'})
        return 'ok', fields(form)
    if kind == 'qsl':
        keep, strict = words[1] == '1', words[2] == '1'
        sep = u(words[3]).decode()
        mx = None if words[4] == '-' else int(words[4])
        qs = u(words[5]).decode('utf-8', 'surrogateescape')
        pairs = urllib.parse.parse_qsl(qs, keep, strict, max_num_fields=mx, separator=sep)
        return 'ok', [','.join([h(k), '-', '0', h(v)]) for k, v in pairs]
    raise SystemExit('unknown case ' + kind)


def main():
    if sys.argv[1:] == ['version']:
        import platform
        print(platform.python_version())
        return
    for line in sys.stdin:
        words = line.split()
        try:
            status, found = run(words)
            out = [status] + found
        except Exception as e:
            out = ['error', type(e).__name__]
        print(' '.join(out), flush=True)


main()
