#!/usr/bin/env bash
# Benchmark `dmumatch evaluate` over a generated CSV export: contacts/s and peak RSS.
#
#   scripts/bench-evaluate.sh [N] [--format ndjson|csv|table] [--threads T]
#
# N defaults to 1,000,000. The CSV is generated once (seeded) under target/bench/
# and reused. Runs the release binary with output to /dev/null, timed with
# /usr/bin/time -v when present (else /proc), and prints one JSON line last:
#   {"bench":"evaluate","contacts":N,"seconds":…,"contacts_per_s":…,"peak_rss_mb":…}
# Targets: ≥ 300,000 contacts/s and peak RSS < 100 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
shift || true
extra=("$@")
[[ " ${extra[*]} " == *" --format "* ]] || extra+=(--format ndjson)

mkdir -p target/bench
data=target/bench/contacts-$n.csv
if [[ ! -s $data ]]; then
  echo "== generating $n contacts → $data" >&2
  python3 scripts/gen-bench-contacts.py "$n" > "$data.tmp" && mv "$data.tmp" "$data"
fi
echo "== building the release binary" >&2
cargo build --release --quiet
bin=target/release/dmumatch
campaign=examples/campaigns/itsm-launch.json
args=(evaluate --contacts "$data" --campaign "$campaign" --as-of 2026-12-01T00:00:00Z "${extra[@]}")
echo "== $bin ${args[*]} > /dev/null" >&2
log=target/bench/evaluate-$n.time
# The machine may be shared: say how busy it was.
load=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
if [[ -x /usr/bin/time ]]; then
  /usr/bin/time -v "$bin" "${args[@]}" > /dev/null 2> "$log" || [[ $? == 1 ]]
  peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$log")
else
  # No GNU time: sample VmHWM from /proc while it runs.
  "$bin" "${args[@]}" > /dev/null 2> "$log" &
  pid=$!
  peak_kb=0
  while kill -0 "$pid" 2>/dev/null; do
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    (( hwm > peak_kb )) && peak_kb=$hwm
    sleep 0.05
  done
  wait "$pid" || [[ $? == 1 ]]
fi
end=$(date +%s.%N)
grep -E "^dmumatch evaluate:|ELIGIBLE  |NEEDS_" "$log" | head -6 >&2 || true
python3 - "$n" "$start" "$end" "$peak_kb" "$load" "$(nproc)" <<'PY'
import json, sys
n, start, end, peak_kb = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4] or 0)
s = end - start
print(json.dumps({"bench": "evaluate", "contacts": n, "seconds": round(s, 3),
                  "contacts_per_s": round(n / s), "peak_rss_mb": round(peak_kb / 1024, 1),
                  "load_before": float(sys.argv[5]), "cores": int(sys.argv[6])}))
PY
