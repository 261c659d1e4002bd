"""Generates dmumatch-dashboard.json, the Grafana dashboard of the worker's Prometheus metrics.

Metric and label names live in METRICS and LABELS below: when the worker renames one, change it
here and run `UPDATE_FIXTURES=1 scripts/helm-check.sh` (or `--write`). `--check` fails when the
committed JSON differs from this generator, or when src/ defines dmumatch_* metrics and one the
dashboard uses is not among them.

  python3 deploy/grafana/dashboard.py --write | --check
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FILE = os.path.join(HERE, "dmumatch-dashboard.json")

METRICS = {
    "events": "dmumatch_events_total",  # counter {queue, type, outcome}
    "decisions": "dmumatch_decisions_total",  # counter {decision}
    "latency": "dmumatch_processing_seconds",  # histogram {queue}: arrival to ack
    "outbox": "dmumatch_outbox_backlog",  # gauge
    "dead": "dmumatch_dead_lettered_total",  # counter {queue, kind}
    "reconnects": "dmumatch_amqp_reconnects_total",  # counter
    "batch": "dmumatch_batch_size",  # histogram
}
LABELS = {"queue": "queue", "type": "type", "outcome": "outcome", "decision": "decision", "kind": "kind"}

SEL = '{job=~"$job", instance=~"$instance"}'
DS = {"type": "prometheus", "uid": "${datasource}"}


def rate(metric, by=None, window="$__rate_interval"):
    inner = f"rate({metric}{SEL}[{window}])"
    return f"sum by ({', '.join(by)}) ({inner})" if by else f"sum({inner})"


def increase(metric, by=None, window="$__range"):
    inner = f"increase({metric}{SEL}[{window}])"
    return f"sum by ({', '.join(by)}) ({inner})" if by else f"sum({inner})"


def quantile(q, histogram):
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{SEL}[$__rate_interval])))"


def target(expr, legend, ref):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}


class Layout:
    def __init__(self):
        self.panels, self.y, self.next_id = [], 0, 1

    def _id(self):
        self.next_id += 1
        return self.next_id - 1

    def row(self, title):
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def line(self, specs, h):
        """specs: [(width, panel)]; widths add up to 24."""
        x = 0
        for w, panel in specs:
            panel.update({"id": self._id(), "datasource": DS, "gridPos": {"h": h, "w": w, "x": x, "y": self.y}})
            self.panels.append(panel)
            x += w
        assert x == 24, x
        self.y += h


def stat(title, expr, unit, description, thresholds=None, decimals=None):
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in (thresholds or [])]
    defaults = {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}, "color": {"mode": "thresholds"}}
    if decimals is not None:
        defaults["decimals"] = decimals
    return {"type": "stat", "title": title, "description": description,
            "targets": [target(expr, "", "A")],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                        "textMode": "auto", "orientation": "auto"}}


def series(title, targets, unit, description, stack=False, bars=False):
    custom = {"drawStyle": "bars" if bars else "line", "fillOpacity": 30 if stack or bars else 10,
              "lineWidth": 1, "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return {"type": "timeseries", "title": title, "description": description,
            "targets": [target(e, legend, chr(ord("A") + i)) for i, (e, legend) in enumerate(targets)],
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}},
                            "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "max"],
                                   "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def dashboard():
    m, lb = METRICS, LABELS
    lay = Layout()
    lay.line([
        (4, stat("Events consumed", rate(m["events"]), "ops", "All queues, all outcomes, per second.")),
        (4, stat("Decisions", rate(m["decisions"]), "ops", "Eligibility decisions written, per second.")),
        (4, stat("p99 processing", quantile(0.99, m["latency"]), "s",
                 "99th percentile of the time to process one event.", [(1, "orange"), (5, "red")])),
        (4, stat("Outbox backlog", f"max({m['outbox']}{SEL})", "short",
                 "Decision events committed but not yet confirmed by the broker (the same table for every "
                 "replica, so the max).", [(10000, "orange"), (100000, "red")], 0)),
        (4, stat("Dead-lettered", increase(m["dead"]), "short",
                 "Messages sent to a DLQ in the dashboard's time range.", [(1, "red")], 0)),
        (4, stat("AMQP reconnects", increase(m["reconnects"]), "short",
                 "Broker reconnections in the dashboard's time range.", [(1, "orange"), (10, "red")], 0)),
    ], 4)
    lay.row("Throughput")
    lay.line([
        (12, series("Events by type and outcome",
                    [(rate(m["events"], [lb["type"], lb["outcome"]]), f"{{{{{lb['type']}}}}} {{{{{lb['outcome']}}}}}")],
                    "ops", "Consumed events per second by routing key and outcome (processed, duplicate, "
                    "stale, retried, dead-lettered, …).", stack=True)),
        (12, series("Decisions by outcome", [(rate(m["decisions"], [lb["decision"]]), f"{{{{{lb['decision']}}}}}")],
                    "ops", "ELIGIBLE, NEEDS_CONSENT, NEEDS_REVIEW, SUPPRESSED per second.", stack=True)),
    ], 8)
    lay.line([
        (12, series("Events by queue", [(rate(m["events"], [lb["queue"]]), f"{{{{{lb['queue']}}}}}")], "ops",
                    "Consumed events per second by input queue.", stack=True)),
        (12, series("Events by replica", [(rate(m["events"], ["instance"]), "{{instance}}")], "ops",
                    "Consumed events per second by worker replica: competing consumers should share the load.")),
    ], 8)
    lay.row("Latency and batching")
    lay.line([
        (12, series("Event processing latency",
                    [(quantile(q, m["latency"]), f"p{int(q * 100)}") for q in (0.5, 0.9, 0.99)]
                    + [(f"{rate(m['latency'] + '_sum')} / {rate(m['latency'] + '_count')}", "mean")],
                    "s", "Quantiles from the histogram's buckets, and the mean.")),
        (12, series("Batch size",
                    [(quantile(q, m["batch"]), f"p{int(q * 100)}") for q in (0.5, 0.99)]
                    + [(f"{rate(m['batch'] + '_sum')} / {rate(m['batch'] + '_count')}", "mean")],
                    "short", "Deliveries per database transaction: near DMUMATCH_BATCH_SIZE under load, small when idle.")),
    ], 8)
    lay.row("Backlog and failures")
    lay.line([
        (8, series("Outbox backlog", [(f"max({m['outbox']}{SEL})", "unpublished")], "short",
                   "Rows waiting for the relay. A steady rise means the broker refuses or is slow to confirm.")),
        (8, series("Dead-lettered by queue and kind",
                   [(increase(m["dead"], [lb["queue"], lb["kind"]], "$__rate_interval"),
                     f"{{{{{lb['queue']}}}}} {{{{{lb['kind']}}}}}")],
                   "short", "Messages sent to <queue>.dlq per interval, by reason (decode error, oversize, delivery "
                   "limit, …). Inspect and replay: see the operations section of the README.", bars=True)),
        (8, series("AMQP reconnects", [(increase(m["reconnects"], ["instance"], "$__rate_interval"), "{{instance}}")],
                   "short", "Reconnections to the broker per interval, by replica.", bars=True)),
    ], 8)

    def var(name, label, query):
        return {"name": name, "label": label, "type": "query", "datasource": DS, "refresh": 2,
                "query": {"query": query, "refId": f"{name}-var"}, "definition": query,
                "includeAll": True, "multi": True, "allValue": ".*",
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}

    return {
        "title": "dmumatch worker",
        "uid": "dmumatch-worker",
        "description": "dmumatch: events consumed, decisions, latency, outbox backlog, dead letters, reconnects. "
                       "Generated by deploy/grafana/dashboard.py.",
        "tags": ["dmumatch", "rabbitmq", "worker"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1, "regex": ""},
            var("job", "Job", f"label_values({m['events']}, job)"),
            var("instance", "Instance", f'label_values({m["events"]}{{job=~"$job"}}, instance)'),
        ]},
        "panels": lay.panels,
    }


def render():
    return json.dumps(dashboard(), indent=2) + "\n"


def source_metrics():
    """dmumatch_* names written as string literals anywhere in src/ (empty until the worker lands)."""
    found = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in files:
            if f.endswith(".rs"):
                found |= set(re.findall(r'"(dmumatch_[a-z0-9_]+)"', open(os.path.join(dirpath, f)).read()))
    return found


def check():
    doc = json.loads(open(FILE).read()) if os.path.exists(FILE) else None
    if doc is None or render() != open(FILE).read():
        sys.exit("dashboard: deploy/grafana/dmumatch-dashboard.json is stale: UPDATE_FIXTURES=1 scripts/helm-check.sh")
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in doc["panels"]:
        if p["type"] != "row":
            assert p["datasource"] == DS and all(t["datasource"] == DS for t in p["targets"]), p["title"]
            for t in p["targets"]:
                assert t["expr"].count("(") == t["expr"].count(")"), t["expr"]
    used = {re.sub(r"_(bucket|sum|count)$", "", name)
            for p in doc["panels"] for t in p.get("targets", []) for name in re.findall(r"dmumatch_[a-z0-9_]+", t["expr"])}
    assert used == set(METRICS.values()), used ^ set(METRICS.values())
    in_src = source_metrics()
    if in_src:
        missing = sorted(used - in_src)
        if missing:
            sys.exit(f"dashboard: src/ defines dmumatch_* metrics but not {missing}: rename them in METRICS of "
                     "deploy/grafana/dashboard.py, then UPDATE_FIXTURES=1 scripts/helm-check.sh")
        note = f"all {len(used)} metrics found in src/"
    else:
        note = "src/ defines no dmumatch_* metric yet, names not cross-checked"
    print(f"dashboard: deploy/grafana/dmumatch-dashboard.json matches its generator, "
          f"{sum(p['type'] != 'row' for p in doc['panels'])} panels; {note}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        open(FILE, "w").write(render())
    elif "--check" in sys.argv:
        check()
    else:
        sys.stdout.write(render())
