#!/usr/bin/env bash
# Runs fuzz targets one after another, each for SECONDS (default 5), one libFuzzer job
# each, at the lowest CPU priority. New inputs go to fuzz/work/<target>/ (not committed);
# the committed seeds in fuzz/corpus/<target>/ are read. A crash stops the script, and
# its input is in fuzz/artifacts/<target>/; the script goes on to the next target and
# fails at the end.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     (all targets when none is named)
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-5}"
# The crate is safe Rust outside src/sys: no sanitizer by default (several times the
# executions per second); FUZZ_SANITIZER=address to run under ASan.
sanitizer="${FUZZ_SANITIZER:-none}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
failed=()
for t in "${targets[@]}"; do
  mkdir -p "work/$t" "corpus/$t"
  echo "+ fuzz $t for ${secs}s"
  # -close_fd_mask=2: the file server logs each request to stderr; libFuzzer keeps its own.
  nice -n 19 cargo +nightly fuzz run -s "$sanitizer" "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -close_fd_mask=2 -print_final_stats=1 2>&1 |
    tee "work/$t.log" | grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+== ERROR|SUMMARY|Done)" || true
  if grep -qE "ERROR: libFuzzer|panicked|SUMMARY: " "work/$t.log"; then
    echo "crash in $t: see fuzz/work/$t.log and fuzz/artifacts/$t/"
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]}"
  exit 1
fi
