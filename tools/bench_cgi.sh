#!/usr/bin/env bash
# The CGI benchmark of docs/cgi.md: a hello-world CGI script (examples/cgi-bin/hello.sh)
# through the crate's `http_server --cgi` and through CPython 3.13's
# `python3 -m http.server --cgi`, side by side in one run: `wrk -t1 -c16 -d5s
# -H 'Connection: close'`, the server pinned to CPU 0 and wrk to CPU 1, alternating
# the two servers for REPS repetitions (default 3), each after a 1 s warm-up.
#
# Per run it prints requests/s and the server's CPU time per request: utime + stime of
# the server process and of the children it waited for (the scripts: cutime + cstime),
# from /proc/PID/stat, over the measured 5 s. Then the median of each column.
#
# Usage: tools/bench_cgi.sh [REPS]    (from the crate's root; needs wrk and taskset)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
duration=${BENCH_DURATION:-5}
for tool in wrk taskset; do
  command -v "$tool" >/dev/null || { echo "bench_cgi: $tool not found (apt-get install $tool)" >&2; exit 2; }
done
cargo build --release --example http_server -q
bin=target/release/examples/http_server
python=$(PYENV_VERSION=3.13.0 python3 -c 'import sys; print(sys.executable)')

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/cgi-bin"
cp examples/cgi-bin/hello.sh "$dir/cgi-bin/"
chmod 755 "$dir" "$dir/cgi-bin" "$dir/cgi-bin/hello.sh"
tck=$(getconf CLK_TCK)

# The CPU ticks of process $1: itself, and the children it waited for.
ticks() { awk '{ print $14 + $15, $16 + $17 }' "/proc/$1/stat"; }

run_one() { # name port command...
  local name=$1 port=$2; shift 2
  taskset -c 0 "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/cgi-bin/hello.sh" && break
    sleep 0.1
  done
  local url="http://127.0.0.1:$port/cgi-bin/hello.sh"
  taskset -c 1 wrk -t1 -c16 -d1s -H 'Connection: close' "$url" >/dev/null
  local s0 c0; read -r s0 c0 < <(ticks "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c16 -d"${duration}s" -H 'Connection: close' "$url")
  local s1 c1; read -r s1 c1 < <(ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local requests; requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  local errors; errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ { print }' | tr '\n' ' ')
  awk -v n="$name" -v r="$requests" -v d="$duration" -v s=$((s1 - s0)) -v c=$((c1 - c0)) \
    -v hz="$tck" -v e="$errors" 'BEGIN { us = 1e6 / hz / r;
      printf "%-8s %10.0f req/s %10.0f us CPU/request (server %.0f, scripts %.0f)  %s\n",
        n, r / d, (s + c) * us, s * us, c * us, e }'
}

results=$(mktemp)
for rep in $(seq "$reps"); do
  echo "rep $rep" >&2
  run_one crate 18301 "$bin" --cgi -b 127.0.0.1 -d "$dir" 18301 | tee -a "$results"
  run_one cpython 18302 env PYENV_VERSION=3.13.0 "$python" -W ignore -m http.server --cgi -b 127.0.0.1 -d "$dir" 18302 | tee -a "$results"
done
echo "median of $reps:"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for name in crate cpython; do
  rps=$(awk -v n="$name" '$1 == n { print $2 }' "$results" | median)
  cpu=$(awk -v n="$name" '$1 == n { print $4 }' "$results" | median)
  printf '%-8s %10s req/s %10s us CPU/request\n' "$name" "$rps" "$cpu"
done
rm -f "$results"
