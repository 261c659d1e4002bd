"""dmumatch's RabbitMQ topology as a definitions file, for operators who declare it up front
(`rabbitmqctl import_definitions`, the management UI's import, `load_definitions`, or the
topology operator) instead of letting the worker declare it at start.

The worker declares the same objects idempotently at start, with the same arguments: a queue
declared up front with other arguments makes the worker's declare fail (406
PRECONDITION_FAILED), so change names here with the same settings the worker gets
(DMUMATCH_QUEUE_PREFIX, DMUMATCH_*_EXCHANGE, DMUMATCH_DELIVERY_LIMIT).

  python3 deploy/rabbitmq/definitions.py [--prefix P] [--vhost V] [--delivery-limit N] …   print
  python3 deploy/rabbitmq/definitions.py --write          rewrite definitions.json (defaults)
  python3 deploy/rabbitmq/definitions.py --check          definitions.json = the defaults' output, and
      the queue arguments = those src/amqp/topology.rs declares (the worker is the reference)
  python3 deploy/rabbitmq/definitions.py --verify-live    import into a scratch vhost of the local
      broker (rabbitmqctl), re-declare the queues over AMQP as the worker does, route a message
      per routing key, dead-letter one, then delete the vhost (needs pika: the .tools venv)
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FILE = os.path.join(HERE, "definitions.json")
TOPOLOGY_RS = os.path.join(HERE, "..", "..", "src", "amqp", "topology.rs")

# Input queue (suffix after the prefix) → (exchange it binds to, routing keys). Objections,
# erasures and consent changes have a queue of their own so they never wait behind a backlog
# of updates.
QUEUES = {
    "contacts": ("crm", ["contact.created", "contact.updated"]),
    "contact-rights": ("crm", ["contact.objected", "contact.erased", "contact.consent_changed"]),
    "campaigns": ("campaign", ["campaign.*"]),
}


def definitions(prefix="dmumatch", vhost="/", crm="crm.events", campaign="campaign.events",
                decisions="dmu.decisions", delivery_limit=5):
    dlx = f"{prefix}.dlx"
    exchange = {"crm": crm, "campaign": campaign}

    def ex(name, kind):
        return {"name": name, "vhost": vhost, "type": kind, "durable": True, "auto_delete": False,
                "internal": False, "arguments": {}}

    def queue(name, arguments):
        return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}

    def bind(source, dest, key):
        return {"source": source, "vhost": vhost, "destination": dest, "destination_type": "queue",
                "routing_key": key, "arguments": {}}

    queues, bindings = [], []
    for suffix, (source, keys) in QUEUES.items():
        name = f"{prefix}.{suffix}"
        queues.append(queue(name, {
            "x-queue-type": "quorum",
            # Explicit: 3.10–3.13 have no default limit, 4.x defaults to 20.
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": dlx,
            "x-dead-letter-routing-key": name,
            # At-least-once dead-lettering (3.10+, quorum only) needs reject-publish overflow.
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }))
        queues.append(queue(f"{name}.dlq", {"x-queue-type": "quorum"}))
        bindings += [bind(exchange[source], name, key) for key in keys]
        bindings.append(bind(dlx, f"{name}.dlq", name))
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [ex(crm, "topic"), ex(campaign, "topic"), ex(decisions, "topic"), ex(dlx, "direct")],
        "queues": queues,
        "bindings": bindings,
    }


def render(doc):
    return json.dumps(doc, indent=2) + "\n"


def worker_arguments():
    """The queue arguments src/amqp/topology.rs inserts: {"input": {name: value}, "dlq": {…}}.
    A literal `string("…")` gives its text; anything else (the delivery limit, the DLX, the
    routing key) gives None and is compared by name only. Input queues: `fn input_arguments`
    (its at-least-once form); DLQs: the inserts in `fn declare`."""
    import re

    src = open(TOPOLOGY_RS).read()

    def body(fn):
        m = re.search(r"\bfn " + fn + r"\b.*?\n}\n", src, re.S)
        if not m:
            raise SystemExit(f"definitions: no `fn {fn}` in src/amqp/topology.rs; update worker_arguments()")
        return m.group(0)

    def inserts(text):
        out = {}
        for key, value in re.findall(r'insert\(\s*"(x-[a-z-]+)"\.into\(\),\s*(.*?)\);', text, re.S):
            lit = re.fullmatch(r'string\("([^"]*)"\)', value.strip())
            out[key] = lit.group(1) if lit else None
        return out

    return {"input": inserts(body("input_arguments")), "dlq": inserts(body("declare"))}


def check_against_worker(doc):
    """RabbitMQ refuses (406 PRECONDITION_FAILED) a re-declaration with other arguments: the
    definitions must carry exactly the worker's argument names and literal values."""
    want = worker_arguments()
    problems = []
    for q in doc["queues"]:
        kind = "dlq" if q["name"].endswith(".dlq") else "input"
        ours, theirs = q["arguments"], want[kind]
        if set(ours) != set(theirs):
            problems.append(f"{q['name']}: arguments {sorted(ours)}, the worker declares {sorted(theirs)}")
        for k, v in theirs.items():
            if v is not None and ours.get(k) != v:
                problems.append(f"{q['name']}: {k}={ours.get(k)!r}, the worker declares {v!r}")
        if kind == "input" and ours.get("x-dead-letter-routing-key") != q["name"]:
            problems.append(f"{q['name']}: x-dead-letter-routing-key must be the queue's name (the worker's)")
    if problems:
        sys.exit("definitions: differ from src/amqp/topology.rs (the worker is the reference):\n  "
                 + "\n  ".join(problems))
    return sum(len(v) for v in want.values())


# ------------------------------------------------------------------ live verification


def verify_live():
    """Import into a scratch vhost with `rabbitmqctl import_definitions`, then over AMQP (pika):
    re-declare every queue with the same arguments (what the worker does at start), route one
    message per routing key, reject one into the DLQ; finally delete the vhost."""
    import shutil
    import subprocess
    import tempfile

    ctl = shutil.which("rabbitmqctl")
    if not ctl or subprocess.run([ctl, "-q", "status"], capture_output=True).returncode != 0:
        print("definitions: SKIP live import (no local RabbitMQ reachable with rabbitmqctl)")
        return
    import pika

    def run(*args):
        r = subprocess.run([ctl, "-q", *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"definitions: rabbitmqctl {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    vhost = f"dmumatch-defs-check-{os.getpid()}"
    doc = definitions(vhost=vhost)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(render(doc))
        f.flush()
        os.chmod(f.name, 0o644)  # the broker's own user reads it
        run("import_definitions", f.name)
    try:
        run("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        listed = {x["name"]: x for x in json.loads(run("list_queues", "-p", vhost, "name", "type", "arguments",
                                                       "--formatter", "json"))}
        host = os.environ.get("RABBITMQ_HOST", "127.0.0.1")
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            host=host, virtual_host=vhost, credentials=pika.PlainCredentials("guest", "guest")))
        try:
            ch = conn.channel()
            for want in doc["queues"]:
                if listed.get(want["name"], {}).get("type") != "quorum":
                    raise SystemExit(f"definitions: {want['name']} was not created as a quorum queue: {listed}")
                # 406 PRECONDITION_FAILED (and a closed channel) if the arguments are not equivalent.
                ch.queue_declare(want["name"], durable=True, arguments=want["arguments"])
            expected = {}
            for suffix, (source, keys) in QUEUES.items():
                exchange = {"crm": "crm.events", "campaign": "campaign.events"}[source]
                for key in keys:
                    key = key.replace("*", "planned")
                    ch.basic_publish(exchange, key, b"{}", pika.BasicProperties(message_id=key, delivery_mode=2),
                                     mandatory=True)
                    expected.setdefault(f"dmumatch.{suffix}", []).append(key)
            for name, keys in expected.items():
                got = []
                for _ in range(100):
                    method, props, _body = ch.basic_get(name, auto_ack=True)
                    if method:
                        got.append(props.message_id)
                    elif len(got) >= len(keys):
                        break
                    else:
                        time.sleep(0.05)
                if sorted(got) != sorted(keys):
                    raise SystemExit(f"definitions: {name} received {got}, expected {keys}")
            ch.basic_publish("crm.events", "contact.created", b"x",
                             pika.BasicProperties(message_id="poison", delivery_mode=2))
            for _ in range(100):
                method, _props, _body = ch.basic_get("dmumatch.contacts", auto_ack=False)
                if method:
                    ch.basic_reject(method.delivery_tag, requeue=False)
                    break
                time.sleep(0.05)
            for _ in range(100):
                method, props, _body = ch.basic_get("dmumatch.contacts.dlq", auto_ack=True)
                if method:
                    break
                time.sleep(0.05)
            else:
                raise SystemExit("definitions: a rejected message did not reach dmumatch.contacts.dlq")
            headers = props.headers or {}
            if props.message_id != "poison" or headers.get("x-first-death-queue") != "dmumatch.contacts":
                raise SystemExit(f"definitions: unexpected dead letter {props}")
        finally:
            conn.close()
        version = run("version").strip()
        print(f"definitions: imported into the local RabbitMQ {version}; {len(doc['queues'])} quorum queues "
              "re-declared with the same arguments, every routing key routed, a rejected message dead-lettered")
    finally:
        run("delete_vhost", vhost)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefix", default="dmumatch", help="DMUMATCH_QUEUE_PREFIX")
    ap.add_argument("--vhost", default="/")
    ap.add_argument("--crm-exchange", default="crm.events")
    ap.add_argument("--campaign-exchange", default="campaign.events")
    ap.add_argument("--decisions-exchange", default="dmu.decisions")
    ap.add_argument("--delivery-limit", type=int, default=5)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--verify-live", action="store_true")
    a = ap.parse_args()
    if a.verify_live:
        verify_live()
        return
    text = render(definitions(a.prefix, a.vhost, a.crm_exchange, a.campaign_exchange, a.decisions_exchange,
                              a.delivery_limit))
    if a.write:
        open(FILE, "w").write(text)
    elif a.check:
        if not os.path.exists(FILE) or open(FILE).read() != text:
            sys.exit("definitions: deploy/rabbitmq/definitions.json is stale: UPDATE_FIXTURES=1 scripts/helm-check.sh")
        n = check_against_worker(json.loads(text))
        print(f"definitions: deploy/rabbitmq/definitions.json matches its generator and the {n} queue "
              "arguments of src/amqp/topology.rs")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
