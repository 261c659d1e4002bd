"""Checks behind scripts/helm-check.sh that need more than a shell: splitting renders,
asserting what a render must contain, and keeping the chart, its README, src/config.rs and
docs/deployment.md in step. Runs in the .tools venv (PyYAML comes with
kubernetes-validate). Every failure names the file to edit.

  helm_check.py split RENDER OUTDIR          built-in kinds → OUTDIR/builtin.yaml, each custom resource → OUTDIR/cr-<kind>-<n>.yaml
  helm_check.py render CASE RENDER           assertions on one render (CASE: default, full, hpa, keda3, sm-gated, sm-capable)
  helm_check.py config RENDER                src/config.rs ↔ the chart's ConfigMap defaults ↔ the README's configuration table;
                                             secrets (SECRET_VARS, or hide_env_values, in src/config.rs) from a Secret, never the ConfigMap
  helm_check.py values [--update]            values.yaml @param ↔ values.schema.json ↔ the chart README's parameter tables
  helm_check.py version                      Chart.yaml appVersion = Cargo.toml version
"""

import ast
import json
import operator
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(ROOT, "helm", "dmumatch")
CONFIG_RS = os.path.join(ROOT, "src", "config.rs")
DEPLOY_DOC = os.path.join(ROOT, "docs", "deployment.md")
CHART_README = os.path.join(CHART, "README.md")

# Custom resources: validated by check-jsonschema against helm/dmumatch/ci/schemas/, not by
# kubernetes-validate (which has only the built-in kinds).
CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
}

# Environment variables the chart sets itself rather than through `config.*`, and those it
# leaves alone on purpose. Secrets are not listed: they are found in src/config.rs (below).
# Anything else in src/config.rs must be in dmumatch.configEnv.
CHART_SET = {
    "HTTP_ADDR": "0.0.0.0:<http.port>",
    "DMUMATCH_CA_FILE": "connections.caSecret (mounted)",
    "DMUMATCH_RULES_FILE": "rules.configMapName (mounted)",
}
CHART_LEAVES = {}
# Secrets: `SECRET_VARS` of src/config.rs (AMQP_URL, DATABASE_URL, DMUMATCH_ERASURE_PEPPER),
# and any clap argument with `hide_env_values = true`. Each must reach the worker container from a
# Secret — `SECRET` as a secretKeyRef, or `SECRET_FILE` pointing into a mounted Secret — and
# never from a ConfigMap or a plain value. The other of the two variants is then left alone.
# A variable whose name looks secret but is not hidden is an error, unless listed here.
SECRET_LOOKING = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PEPPER|SALT|CREDENTIAL|PRIVATE_KEY|API_KEY")
NOT_SECRET = {}
# Read outside src/config.rs (tracing's EnvFilter).
EXTRA_ENV = {"RUST_LOG": "info"}


class CheckError(Exception):
    pass


def fail(msg):
    raise CheckError(msg)


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind):
    found = by_kind(docs, kind)
    if len(found) != 1:
        fail(f"expected exactly one {kind}, found {len(found)}")
    return found[0]


# --------------------------------------------------------------------------- split


def cmd_split(render, outdir):
    docs = load_docs(render)
    builtin, n = [], 0
    for d in docs:
        key = (d.get("apiVersion"), d.get("kind"))
        if key in CUSTOM_KINDS:
            n += 1
            schema = CUSTOM_KINDS[key]
            name = f"cr-{schema[:-5]}-{n}.yaml"
            with open(os.path.join(outdir, name), "w") as f:
                yaml.safe_dump(d, f, sort_keys=False)
        elif "." in (d.get("apiVersion") or "").split("/")[0] and not d["apiVersion"].split("/")[0].endswith(
            ".k8s.io"
        ):
            fail(f"{d['kind']} ({d['apiVersion']}) is a custom resource with no schema in helm/dmumatch/ci/schemas/")
        else:
            builtin.append(d)
    with open(os.path.join(outdir, "builtin.yaml"), "w") as f:
        yaml.safe_dump_all(builtin, f, sort_keys=False)
    print(f"{len(builtin)} built-in, {n} custom")


# --------------------------------------------------------------------------- render


def pod_specs(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield d, d["spec"]["template"]["spec"]


def check_invariants(docs):
    """What every render must hold, whatever the values."""
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for d in docs:
        if "namespace" in d["metadata"]:
            fail(f"{d['kind']}/{d['metadata']['name']} sets metadata.namespace (charts leave it to helm)")
    dep = one(docs, "Deployment")
    cm = one(docs, "ConfigMap")
    drain = int(cm["data"]["DMUMATCH_SHUTDOWN_TIMEOUT_SECS"])
    grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    if grace <= drain:
        fail(f"terminationGracePeriodSeconds {grace} is not above the drain deadline {drain}")
    for owner, spec in pod_specs(docs):
        where = f"{owner['kind']}/{owner['metadata']['name']}"
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail(f"{where}: pod must run as non-root with the RuntimeDefault seccomp profile")
        if spec.get("automountServiceAccountToken") is not False:
            fail(f"{where}: the worker never calls the API server; do not mount a token")
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            if not (
                sc.get("readOnlyRootFilesystem") is True
                and sc.get("allowPrivilegeEscalation") is False
                and sc.get("capabilities", {}).get("drop") == ["ALL"]
            ):
                fail(f"{where}/{c['name']}: needs a read-only root fs, no privilege escalation, all capabilities dropped")
            res = c.get("resources", {})
            if not (res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory")):
                fail(f"{where}/{c['name']}: needs memory requests and limits")
            for ref in (e.get("valueFrom", {}).get("secretKeyRef") for e in c.get("env", [])):
                # A Secret the chart renders, or the operator's own (named in the ci values).
                if ref and ("Secret", ref["name"]) not in names and ref["name"] not in EXTERNAL_SECRETS:
                    fail(f"{where}: secretKeyRef to {ref['name']}, which the chart neither renders nor was given")
    worker = dep["spec"]["template"]["spec"]["containers"][0]
    if worker["args"] != ["worker"]:
        fail("the worker container must run `dmumatch worker`")
    for problem in secret_problems(docs, worker, config_rs_secrets()):
        fail(problem)
    if worker["envFrom"][0]["configMapRef"]["name"] != cm["metadata"]["name"]:
        fail("the worker must read the chart's ConfigMap")
    if worker["livenessProbe"]["httpGet"]["path"] != "/healthz":
        fail("liveness must probe /healthz (the process only)")
    if worker["readinessProbe"]["httpGet"]["path"] != "/readyz":
        fail("readiness must probe /readyz")
    port = int(cm["data"]["HTTP_ADDR"].rsplit(":", 1)[1])
    if worker["ports"][0]["containerPort"] != port:
        fail("containerPort differs from HTTP_ADDR")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    selectors = [("Deployment", dep["spec"]["selector"]["matchLabels"])]
    selectors += [("Service", s["spec"]["selector"]) for s in by_kind(docs, "Service")]
    selectors += [("PodDisruptionBudget", p["spec"]["selector"]["matchLabels"]) for p in by_kind(docs, "PodDisruptionBudget")]
    for kind, sel in selectors:
        if any(pod_labels.get(k) != v for k, v in sel.items()):
            fail(f"{kind} selector {sel} does not match the worker pods")
    for job in by_kind(docs, "Job"):
        ann = job["metadata"].get("annotations", {})
        if ann.get("helm.sh/hook") != "pre-install,pre-upgrade" or job["spec"]["template"]["spec"]["containers"][0][
            "args"
        ] != ["migrate"]:
            fail("the migration Job must be a pre-install,pre-upgrade hook running `dmumatch migrate`")
        if job["spec"]["template"]["spec"]["containers"][0]["image"] != worker["image"]:
            fail("the migration Job must use the worker's image")
        for e in job["spec"]["template"]["spec"]["containers"][0]["env"]:
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ("Secret", ref["name"]) in names:
                hook = next(s for s in by_kind(docs, "Secret") if s["metadata"]["name"] == ref["name"])
                w = int(hook["metadata"].get("annotations", {}).get("helm.sh/hook-weight", "0"))
                if "helm.sh/hook" not in hook["metadata"].get("annotations", {}) or w >= int(
                    ann["helm.sh/hook-weight"]
                ):
                    fail("the migration Job's Secret must be a hook created before the Job (it runs before the release)")
    for so in by_kind(docs, "ScaledObject"):
        if "replicas" in dep["spec"]:
            fail("with KEDA the Deployment must not set spec.replicas")
        if so["spec"]["scaleTargetRef"]["name"] != dep["metadata"]["name"]:
            fail("the ScaledObject must target the worker Deployment")
        prefix = cm["data"]["DMUMATCH_QUEUE_PREFIX"] + "."
        for t in so["spec"]["triggers"]:
            if not t["metadata"]["queueName"].startswith(prefix):
                fail(f"trigger queue {t['metadata']['queueName']} does not follow the queue prefix {prefix}")
            if ("TriggerAuthentication", t["authenticationRef"]["name"]) not in names:
                fail("a trigger refers to a TriggerAuthentication the chart does not render")
    for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
        if "replicas" in dep["spec"]:
            fail("with the HPA the Deployment must not set spec.replicas")
    for sm in by_kind(docs, "ServiceMonitor"):
        svc = one(docs, "Service")
        if sm["spec"]["endpoints"][0]["port"] not in [p["name"] for p in svc["spec"]["ports"]]:
            fail("the ServiceMonitor's port is not a port of the Service")
        if any(svc["metadata"]["labels"].get(k) != v for k, v in sm["spec"]["selector"]["matchLabels"].items()):
            fail("the ServiceMonitor does not select the chart's Service")
    return dep, cm


def secret_problems(docs, worker, secrets):
    """How the render passes the worker's secrets (see SECRET_LOOKING above), as messages."""
    problems = []
    for cm in by_kind(docs, "ConfigMap"):
        for key in cm.get("data", {}):
            if key in secrets:
                problems.append(
                    f"{key} is a secret (hide_env_values in src/config.rs) but sits in ConfigMap/"
                    f"{cm['metadata']['name']}: make it a key of the chart's Secret (templates/secret.yaml)"
                )
    mounts = {m["name"]: m["mountPath"] for m in worker.get("volumeMounts", [])}
    secret_dirs = [
        mounts[v["name"]].rstrip("/") + "/"
        for v in (one(docs, "Deployment")["spec"]["template"]["spec"].get("volumes") or [])
        if "secret" in v and v["name"] in mounts
    ]
    env = {e["name"]: e for e in worker.get("env", [])}
    for name in sorted(secrets):
        e = env.get(name)
        if e is not None and "secretKeyRef" not in e.get("valueFrom", {}):
            problems.append(f"{name} is a secret: the worker must get it from a Secret (secretKeyRef), not as a plain value")
        paths = [env.get(f"{name}_FILE", {}).get("value", "")]
        paths += [cm.get("data", {}).get(f"{name}_FILE", "") for cm in by_kind(docs, "ConfigMap")]
        by_file = any(p.startswith(d) for p in paths if p for d in secret_dirs)
        if e is None and not by_file:
            problems.append(
                f"{name} is a secret (hide_env_values in src/config.rs) the chart does not pass: add it as a key "
                "of the chart's Secret (templates/secret.yaml, with a `connections.<x>Key` value and the value "
                "for the chart-created Secret) and a secretKeyRef env in templates/deployment.yaml — never "
                f"dmumatch.configEnv — or mount the Secret and set {name}_FILE"
            )
    return problems


# Secrets the ci values files name as existing (the operator's).
EXTERNAL_SECRETS = {"dmumatch-connections", "rabbitmq-management"}


def kinds(docs):
    out = {}
    for d in docs:
        out[d["kind"]] = out.get(d["kind"], 0) + 1
    return out


def expect(cond, msg):
    if not cond:
        fail(msg)


def cmd_render(case, render):
    docs = load_docs(render)
    dep, cm = check_invariants(docs)
    k = kinds(docs)
    if case == "default":
        expect(
            k
            == {
                "PodDisruptionBudget": 1,
                "ServiceAccount": 1,
                "Secret": 2,
                "ConfigMap": 1,
                "Service": 1,
                "Deployment": 1,
                "Job": 1,
            },
            f"default render has unexpected kinds {k}",
        )
        expect(dep["spec"].get("replicas") == 2, "default replicas must be 2")
        expect(dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30, "default grace = 20 + 10")
    elif case == "full":
        for kind in ("ScaledObject", "TriggerAuthentication", "ServiceMonitor", "Job"):
            expect(k.get(kind) == 1, f"full render lacks {kind}")
        expect("Secret" not in k, "with existingSecret the chart must not render a Secret")
        expect("replicas" not in dep["spec"], "KEDA on: no spec.replicas")
        expect(cm["data"].get("DMUMATCH_CA_FILE") == "/etc/dmumatch/ca/bundle.pem", "CA file path")
        expect(cm["data"].get("DMUMATCH_RULES_FILE") == "/etc/dmumatch/rules/rules-2026-11.toml", "rules file path")
        expect(cm["data"]["HTTP_ADDR"] == "0.0.0.0:9500", "HTTP_ADDR follows http.port")
        so = one(docs, "ScaledObject")
        queues = [t["metadata"]["queueName"] for t in so["spec"]["triggers"]]
        expect(queues == ["dmumatch-eu.contacts", "dmumatch-eu.contact-rights", "dmumatch-eu.campaigns"], f"{queues}")
        ta = one(docs, "TriggerAuthentication")
        expect(ta["spec"]["secretTargetRef"][0] == {"parameter": "host", "name": "rabbitmq-management", "key": "url"},
               "KEDA http protocol must read the management URL secret")
        expect("@sha256:" in dep["spec"]["template"]["spec"]["containers"][0]["image"], "digest wins over tag")
    elif case == "hpa":
        expect(k.get("HorizontalPodAutoscaler") == 1 and "ScaledObject" not in k, f"hpa render kinds {k}")
        expect("ServiceAccount" not in k, "serviceAccount.create=false renders none")
        expect(dep["spec"]["template"]["spec"]["serviceAccountName"] == "default", "falls back to default SA")
    elif case == "keda3":
        so = one(docs, "ScaledObject")
        expect(so["spec"]["minReplicaCount"] == 3, "minReplicaCount follows replicaCount (3)")
        expect(len(so["spec"]["triggers"]) == 3, "one trigger per input queue")
    elif case == "sm-gated":
        expect("ServiceMonitor" not in k, "without the monitoring.coreos.com/v1 API no ServiceMonitor may render")
    elif case == "sm-capable":
        expect(k.get("ServiceMonitor") == 1, "with the monitoring.coreos.com/v1 API the ServiceMonitor must render")
    else:
        fail(f"unknown case {case}")
    print(f"{case}: ok ({', '.join(f'{v} {n}' for n, v in sorted(k.items()))})")


# --------------------------------------------------------------------------- config

_OPS = {ast.LShift: operator.lshift, ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


def _eval_int(expr):
    """`1 << 20`, `64 * 1024`, `500`: the integer default expressions clap attributes use."""
    expr = expr.replace("_", "")

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, bool)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(expr)

    return ev(ast.parse(expr, mode="eval").body)


def config_rs_env():
    """{ENV: default or None} from src/config.rs: every `env = "…"` clap argument, plus the
    other upper-case variable names it reads (AMQP_URL_FILE, …)."""
    src = open(CONFIG_RS).read()
    out = {}
    for attr in re.findall(r"#\[arg\((.*?)\)\]", src, re.S):
        m = re.search(r'\benv\s*=\s*"([A-Z0-9_]+)"', attr)
        if not m:
            continue
        d = re.search(r'\bdefault_value\s*=\s*"([^"]*)"', attr)
        dt = re.search(r"\bdefault_value_t\s*=\s*([^,]+?)\s*(?:,|$)", attr.strip(), re.S)
        if d:
            out[m.group(1)] = d.group(1)
        elif dt:
            raw = dt.group(1).strip()
            if raw in ("true", "false"):
                out[m.group(1)] = raw
            else:
                try:
                    out[m.group(1)] = str(_eval_int(raw))
                except (ValueError, SyntaxError):
                    out[m.group(1)] = raw
        else:
            out[m.group(1)] = None
    for name in re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', src):
        out.setdefault(name, None)
    return out


def config_rs_secrets():
    """The secrets of src/config.rs: its `SECRET_VARS` list (read only from the environment or a
    `_FILE`, never flags), and any clap argument hidden from `--help` (`hide_env_values = true`)."""
    src = open(CONFIG_RS).read()
    out = set()
    m = re.search(r"pub const SECRET_VARS: &\[&str\] = &\[(.*?)\];", src, re.S)
    if m:
        out.update(re.findall(r'"([A-Z0-9_]+)"', m.group(1)))
    for attr in re.findall(r"#\[arg\((.*?)\)\]", src, re.S):
        m = re.search(r'\benv\s*=\s*"([A-Z0-9_]+)"', attr)
        if m and re.search(r"\bhide_env_values\s*=\s*true\b", attr):
            out.add(m.group(1))
    return out


def doc_table():
    """{ENV: (default cell, chart cell)} from the configuration table of docs/deployment.md."""
    rows = {}
    for line in open(DEPLOY_DOC):
        m = re.match(r"\|\s*`([A-Z][A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(4).strip())
    return rows


def cmd_config(render):
    docs = load_docs(render)
    cm = one(docs, "ConfigMap")["data"]
    env = config_rs_env()
    env.update({k: v for k, v in EXTRA_ENV.items() if k not in env})
    secrets = config_rs_secrets()
    secret_files = {f"{s}_FILE" for s in secrets if f"{s}_FILE" in env}
    worker = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    problems = secret_problems(docs, worker, secrets)
    unhidden = set()
    for name in sorted(env):
        if SECRET_LOOKING.search(name) and name not in secrets and name not in secret_files and name not in NOT_SECRET:
            unhidden.add(name)
            problems.append(
                f"{name} looks like a secret but src/config.rs does not hide it: give its clap argument "
                "`hide_env_values = true` (the chart then passes it from its Secret), or list it in NOT_SECRET "
                "of scripts/helm_check.py, with why"
            )
    for name, default in sorted(env.items()):
        if name in CHART_LEAVES or name in secrets or name in secret_files or name in unhidden:
            continue  # secrets: secret_problems above
        if name in CHART_SET:
            if name == "HTTP_ADDR" and cm.get(name) != default:
                problems.append(f"HTTP_ADDR: chart default {cm.get(name)} ≠ src/config.rs {default}")
            continue
        if name not in cm:
            problems.append(
                f"{name} (src/config.rs) is unknown to the chart: add it to dmumatch.configEnv in "
                "helm/dmumatch/templates/_helpers.tpl, with a `## @param config.<key>` in values.yaml, "
                "values.schema.json, and a row in docs/deployment.md; then UPDATE_FIXTURES=1 "
                "scripts/helm-check.sh (or list it in CHART_LEAVES of scripts/helm_check.py, with why)"
            )
        elif default is not None and cm[name] != default:
            problems.append(f"{name}: chart default {cm[name]!r} ≠ src/config.rs default {default!r} (helm/dmumatch/values.yaml)")
    rows = doc_table()
    for name, default in sorted(env.items()):
        if name not in rows:
            problems.append(f"{name}: no row in the configuration table of docs/deployment.md")
            continue
        cell, chart = rows[name]
        want = f"`{default}`" if default else "empty"
        if default is not None and want not in cell:
            problems.append(f"{name}: docs/deployment.md gives {cell!r}, src/config.rs says {want}")
        if name in secrets and "Secret" not in chart:
            problems.append(f"{name}: the chart column of docs/deployment.md must say it comes from the Secret")
    for name in rows:
        if name not in env and name not in CHART_SET:
            problems.append(f"{name}: documented in docs/deployment.md but read nowhere in src/config.rs")
    if problems:
        fail("configuration drift:\n  " + "\n  ".join(problems))
    print(f"config: {len(env)} environment variables agree (src/config.rs, chart defaults, deployment.md)")


# --------------------------------------------------------------------------- values


def values_params():
    """[(section or None, key, description)] in file order from values.yaml."""
    out, section = [], None
    for line in open(os.path.join(CHART, "values.yaml")):
        m = re.match(r"\s*## @section (.*)", line)
        if m:
            section = m.group(1).strip()
        m = re.match(r"\s*## @param (\S+) (.*)", line)
        if m:
            out.append((section, m.group(1), m.group(2).strip()))
    return out


def leaves(d, prefix=""):
    for k, v in d.items():
        p = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and v:
            yield from leaves(v, p)
        else:
            yield p


def lookup(d, path):
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            raise KeyError(path)
        d = d[part]
    return d


def schema_node(schema, path):
    node = schema
    for part in path.split("."):
        props = node.get("properties", {})
        if part not in props:
            raise KeyError(path)
        node = props[part]
    return node


def fmt_default(v):
    if v is None:
        return "`null`"
    if isinstance(v, bool):
        return f"`{str(v).lower()}`"
    if isinstance(v, (dict, list)):
        return f"`{json.dumps(v, separators=(',', ':'))}`" if v else ("`{}`" if isinstance(v, dict) else "`[]`")
    return f'`"{v}"`' if isinstance(v, str) else f"`{v}`"


BEGIN, END = "<!-- parameters:begin (generated from values.yaml: UPDATE_FIXTURES=1 scripts/helm-check.sh) -->", "<!-- parameters:end -->"


def param_tables(values, params):
    out, section = [], object()
    for sec, key, desc in params:
        if sec != section:
            section = sec
            out += ["", f"### {sec}", "", "| Name | Description | Default |", "| --- | --- | --- |"]
        cell = desc.replace("|", "\\|")
        out.append(f"| `{key}` | {cell} | {fmt_default(lookup(values, key))} |")
    return "\n".join(out[1:])


def cmd_values(update):
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    schema = json.load(open(os.path.join(CHART, "values.schema.json")))
    params = values_params()
    keys = [k for _, k, _ in params]
    problems = [f"@param {k} appears twice" for k in set(keys) if keys.count(k) > 1]
    for k in keys:
        try:
            lookup(values, k)
        except KeyError:
            problems.append(f"@param {k}: no such key in values.yaml")
        try:
            schema_node(schema, k)
        except KeyError:
            problems.append(f"@param {k}: not in values.schema.json")
    for leaf in leaves(values):
        parts = leaf.split(".")
        if not any(".".join(parts[:i]) in keys for i in range(1, len(parts) + 1)):
            problems.append(f"values.yaml {leaf}: no `## @param` for it or a parent")
    for top in schema["properties"]:
        if top not in values:
            problems.append(f"values.schema.json {top}: not in values.yaml")
    readme = open(CHART_README).read()
    if BEGIN not in readme or END not in readme:
        problems.append(f"helm/dmumatch/README.md: markers {BEGIN} … {END} missing")
    else:
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        fresh = f"{head}{BEGIN}\n{param_tables(values, params)}\n{END}{tail}"
        if fresh != readme:
            if update:
                open(CHART_README, "w").write(fresh)
                print("values: helm/dmumatch/README.md parameter tables rewritten")
            else:
                problems.append(
                    "helm/dmumatch/README.md parameter tables are stale: UPDATE_FIXTURES=1 scripts/helm-check.sh"
                )
    if problems:
        fail("chart values:\n  " + "\n  ".join(problems))
    print(f"values: {len(keys)} parameters agree (values.yaml, values.schema.json, README.md)")


def cmd_version():
    cargo = re.search(r'^version\s*=\s*"([^"]+)"', open(os.path.join(ROOT, "Cargo.toml")).read(), re.M).group(1)
    chart = yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))
    if str(chart["appVersion"]) != cargo:
        fail(f"helm/dmumatch/Chart.yaml appVersion {chart['appVersion']} ≠ Cargo.toml version {cargo}")
    print(f"version: appVersion {cargo} = Cargo.toml")


def main(argv):
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "split":
            cmd_split(*args)
        elif cmd == "render":
            cmd_render(*args)
        elif cmd == "config":
            cmd_config(*args)
        elif cmd == "values":
            cmd_values(update="--update" in args)
        elif cmd == "version":
            cmd_version()
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckError as e:
        print(f"FAIL {cmd}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
