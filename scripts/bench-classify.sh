#!/usr/bin/env bash
# `dmumatch classify --input` on a 1,000,000-row CRM-style CSV against the ceiling
# harness's `csv` subcommand (read + rewrite with three more fields, the I/O floor of a
# CSV-in, CSV-out tool), back to back. Prints both figures and the ratio (target >= 0.12).
#
#   scripts/bench-classify.sh [ROWS] [RUNS]
#
# CEILING_DIR (default ../shared/bench/ceiling from the repository root) is built into
# target/ceiling, so the shared folder stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${1:-1000000}
RUNS=${2:-3}
CEILING_DIR=${CEILING_DIR:-${DMUMATCH_SHARED:-$ROOT/../shared}/bench/ceiling}
FILE=$ROOT/target/bench-titles-$ROWS.csv

cargo build --release --quiet --bin dmumatch
cargo build --release --quiet --manifest-path "$CEILING_DIR/Cargo.toml" --target-dir "$ROOT/target/ceiling"
CEILING=$ROOT/target/ceiling/release/ceiling

if [ ! -s "$FILE" ]; then
  # A CRM export: id, title, lang, country, email domain. Titles are drawn (seeded)
  # from the labelled sets, with some made longer or noisier the way CRM fields are.
  python3 - "$ROWS" "$FILE" <<'PY'
import csv, random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(42)
titles = []
for f in ["tests/data/crm_titles.csv", "tests/data/crm_titles_blind.csv", "tests/data/titles_dev.csv"]:
    titles += [(r["title"], r["lang"]) for r in csv.DictReader(open(f, encoding="utf-8"))]
noise = ["", "", "", " (m/w/d)", " a.i.", " - Benelux", " | EMEA", " bij Gemeente Utrecht", " at Acme Corp"]
country = {"nl": "NL", "en": "GB", "de": "DE", "fr": "FR"}
with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "title", "lang", "country", "email_domain"])
    for i in range(rows):
        t, l = rnd.choice(titles)
        t += rnd.choice(noise)
        lang = l if rnd.random() < 0.7 else ""
        w.writerow([i + 1, t, lang, country[l], f"example{i % 997}.com"])
PY
fi
echo "input: $FILE ($(wc -l < "$FILE") lines, $(du -h "$FILE" | cut -f1))"

best_ceiling=0
best_ours=0
for run in $(seq "$RUNS"); do
  c=$("$CEILING" csv --input "$FILE" | python3 -c 'import json,sys; print(int(json.loads(sys.stdin.readline())["rows_per_s"]))')
  start=$(date +%s.%N)
  "$ROOT/target/release/dmumatch" classify --input "$FILE" > /dev/null
  end=$(date +%s.%N)
  o=$(python3 -c "print(int($ROWS / ($end - $start)))")
  echo "run $run: ceiling csv $c rows/s, dmumatch classify $o rows/s"
  [ "$c" -gt "$best_ceiling" ] && best_ceiling=$c
  [ "$o" -gt "$best_ours" ] && best_ours=$o
done
python3 -c "print(f'best of $RUNS: ceiling csv $best_ceiling rows/s, dmumatch classify $best_ours rows/s, ratio {$best_ours/$best_ceiling:.3f} (target >= 0.12)')"
