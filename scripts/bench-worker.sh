#!/usr/bin/env bash
# The worker's throughput against what the local RabbitMQ and PostgreSQL allow, back to
# back, RUNS rounds (default 3). Each round:
#   ceiling relay --messages 100000 --ack-every 100 --queue-type quorum
#   dmumatch bench worker --events EVENTS --campaigns 3          (ratio to relay_per_s)
#   ceiling amqp  --messages 200000 --queue-type quorum
#   dmumatch bench fanout --contacts CONTACTS                    (ratio to publish_per_s)
# Prints every JSON line, the ratios per round, and last the medians with the targets
# (events/s and decisions/s >= 0.5 x their ceiling, peak RSS < 150 MB).
#
# For context, not as the target, each round also runs the two ceilings through a topic
# exchange (a copy of the ceiling with scripts/ceiling-topic.patch, CEILING_EXCHANGE=topic,
# 500-byte messages, about a decision event's size): the contract makes every exchange of
# ours a topic exchange, while the ceiling publishes through the default exchange.
#
#   scripts/bench-worker.sh [RUNS] [EVENTS] [CONTACTS]
#
# Needs RabbitMQ and PostgreSQL on the machine (AMQP_URL / DATABASE_URL as for the
# worker; defaults: guest@127.0.0.1:5672, postgres@127.0.0.1:5432). CEILING_DIR (default
# ../shared/bench/ceiling) is built once, in its own target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-3}
EVENTS=${2:-20000}
CONTACTS=${3:-100000}
CEILING_DIR=${CEILING_DIR:-${DMUMATCH_SHARED:-$ROOT/../shared}/bench/ceiling}

cargo build --release --quiet --bin dmumatch
cargo build --release --quiet --manifest-path "$CEILING_DIR/Cargo.toml"
CEILING=$CEILING_DIR/target/release/ceiling
DMUMATCH=$ROOT/target/release/dmumatch
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

# The topic-exchange copy of the ceiling, in our own target directory.
TOPIC_DIR=$ROOT/target/ceiling-topic
rm -rf "$TOPIC_DIR/src"
mkdir -p "$TOPIC_DIR"
cp -r "$CEILING_DIR/Cargo.toml" "$CEILING_DIR/Cargo.lock" "$CEILING_DIR/src" "$TOPIC_DIR/"
(cd "$TOPIC_DIR" && git apply "$ROOT/scripts/ceiling-topic.patch")
cargo build --release --quiet --manifest-path "$TOPIC_DIR/Cargo.toml"
TOPIC=$TOPIC_DIR/target/release/ceiling

# The last line of a command's stdout (its JSON), with its stderr kept in $LOG.
# A failing step shows its stderr: set -e alone would stop the script without a word.
last_json() {
  local name=$1; shift
  "$@" 2>"$LOG/$name.err" | tail -n 1 || { cat "$LOG/$name.err" >&2; return 1; }
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  relay=$(last_json relay "$CEILING" relay --messages 100000 --ack-every 100 --queue-type quorum)
  worker=$(last_json worker "$DMUMATCH" bench worker --events "$EVENTS" --campaigns 3)
  amqp=$(last_json amqp "$CEILING" amqp --messages 200000 --queue-type quorum)
  fanout=$(last_json fanout "$DMUMATCH" bench fanout --contacts "$CONTACTS")
  relay_t=$(CEILING_EXCHANGE=topic last_json relay_t "$TOPIC" relay --messages 100000 \
    --ack-every 100 --queue-type quorum --size 500)
  amqp_t=$(CEILING_EXCHANGE=topic last_json amqp_t "$TOPIC" amqp --messages 200000 \
    --queue-type quorum --size 500)
  round=("$relay" "$worker" "$amqp" "$fanout" "$relay_t" "$amqp_t")
  printf '%s\n' "${round[@]}"
  printf '%s\n' "${round[@]}" >> "$LOG/all.jsonl"
  python3 - "$run" "${round[@]}" <<'PY'
import json, sys
run = sys.argv[1]
relay, worker, amqp, fanout, relay_t, amqp_t = (json.loads(a) for a in sys.argv[2:8])
w, f = worker["events_per_s"], fanout["decisions_per_s"]
print(f"round {run}: worker {w} events/s = {w / relay['relay_per_s']:.2f} x relay "
      f"{relay['relay_per_s']}; fanout {f} decisions/s = "
      f"{f / amqp['publish_per_s']:.2f} x amqp publish {amqp['publish_per_s']}")
print(f"  through a topic exchange: worker {w / relay_t['relay_per_s']:.2f} x relay "
      f"{relay_t['relay_per_s']}; fanout {f / amqp_t['publish_per_s']:.2f} x amqp publish "
      f"{amqp_t['publish_per_s']}")
PY
done

python3 - "$LOG/all.jsonl" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rounds = [lines[i:i + 6] for i in range(0, len(lines), 6)]
w = [r[1]["events_per_s"] / r[0]["relay_per_s"] for r in rounds]
f = [r[3]["decisions_per_s"] / r[2]["publish_per_s"] for r in rounds]
rss_w = max(r[1]["peak_rss_mb"] for r in rounds)
rss_f = max(r[3]["peak_rss_mb"] for r in rounds)
med = statistics.median
ok = lambda b: "PASS" if b else "FAIL"
print(f"worker: median {med(r[1]['events_per_s'] for r in rounds):.0f} events/s, "
      f"ratio to relay (quorum, ack-every 100) median {med(w):.2f} over {len(rounds)} rounds "
      f"(target >= 0.5: {ok(med(w) >= 0.5)}); p50 {med(r[1]['p50_ms'] for r in rounds):.0f} ms, "
      f"p99 {med(r[1]['p99_ms'] for r in rounds):.0f} ms; "
      f"peak RSS max {rss_w:.1f} MB (target < 150: {ok(rss_w < 150)})")
print(f"fanout: median {med(r[3]['decisions_per_s'] for r in rounds):.0f} decisions/s, "
      f"ratio to amqp publish (quorum) median {med(f):.2f} over {len(rounds)} rounds "
      f"(target >= 0.5: {ok(med(f) >= 0.5)}); "
      f"peak RSS max {rss_f:.1f} MB (target < 150: {ok(rss_f < 150)})")
wt = [r[1]["events_per_s"] / r[4]["relay_per_s"] for r in rounds]
ft = [r[3]["decisions_per_s"] / r[5]["publish_per_s"] for r in rounds]
print(f"context, the ceilings through a topic exchange (not the target): worker median "
      f"{med(wt):.2f} x relay, fanout median {med(ft):.2f} x amqp publish")
PY
