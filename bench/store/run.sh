#!/bin/sh
# Store benchmark: builds bench_store and runs it RUNS times (default 3), then prints
# the median of each figure. Usage: bench/store/run.sh [BUILD_DIR] [RUNS]
# Scratch data goes to a temp dir on the same disk as /tmp.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-store}
RUNS=${2:-3}
cmake --build "$BUILD" --target bench_store -j2 >/dev/null
OUT=$(mktemp)
trap 'rm -f "$OUT"; rm -rf "${SCRATCH:-}"' EXIT
i=0
while [ "$i" -lt "$RUNS" ]; do
  SCRATCH=$(mktemp -d)
  "$BUILD/bin/bench_store" "$SCRATCH/b" | tee -a "$OUT"
  rm -rf "$SCRATCH"
  i=$((i + 1))
done
echo "--- medians of $RUNS runs"
/usr/bin/python3 - "$OUT" <<'PY'
import sys, statistics, collections
vals = collections.OrderedDict()
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3:
        vals.setdefault(parts[0], (parts[2], []))[1].append(float(parts[1]))
for k, (unit, v) in vals.items():
    print(f"{k} {statistics.median(v):.1f} {unit}")
PY
