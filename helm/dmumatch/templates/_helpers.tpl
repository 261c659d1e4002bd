{{/* Names, labels and the shared pieces of the templates. */}}

{{- define "dmumatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "dmumatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "dmumatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dmumatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dmumatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end }}

{{/* Labels of every resource but the selector ones. */}}
{{- define "dmumatch.metaLabels" -}}
helm.sh/chart: {{ include "dmumatch.chart" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dmumatch
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "dmumatch.labels" -}}
{{ include "dmumatch.metaLabels" . }}
{{ include "dmumatch.selectorLabels" . }}
{{- end }}

{{/* The migration hook's resources: not selected by the worker's Service, PDB or ServiceMonitor. */}}
{{- define "dmumatch.migrateLabels" -}}
{{ include "dmumatch.metaLabels" . }}
app.kubernetes.io/name: {{ include "dmumatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: migrate
{{- end }}

{{/* metadata.annotations (at indent 2, with its own leading newline) of every resource,
with extra ones merged in: include with (dict "context" . "extra" map) and no nindent. */}}
{{- define "dmumatch.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) .context.Values.commonAnnotations }}
{{- with $all }}
{{ printf "annotations:\n%s" (toYaml . | indent 2) | indent 2 }}
{{- end }}
{{- end }}

{{- define "dmumatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dmumatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dmumatch.image" -}}
{{- $repo := printf "%s/%s" .Values.image.registry .Values.image.repository | trimPrefix "/" }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret holding AMQP_URL, DATABASE_URL and DMUMATCH_ERASURE_PEPPER: the operator's, or the chart's. */}}
{{- define "dmumatch.secretName" -}}
{{- .Values.connections.existingSecret | default (include "dmumatch.fullname" .) }}
{{- end }}

{{/*
values `config.<key>` → environment variable. The one place to extend when the worker
gains a setting: add a line here, the key to values.yaml (with `## @param`), to
values.schema.json and to the chart README; scripts/helm-check.sh checks the defaults
against src/config.rs and fails on any variable the chart does not know. Secrets
(`SECRET_VARS` in src/config.rs) never go here: they are keys of the Secret
(templates/secret.yaml, `connections.*Key`) passed as secretKeyRef in deployment.yaml.
*/}}
{{- define "dmumatch.configEnv" -}}
rustLog: RUST_LOG
crmExchange: DMUMATCH_CRM_EXCHANGE
campaignExchange: DMUMATCH_CAMPAIGN_EXCHANGE
decisionsExchange: DMUMATCH_DECISIONS_EXCHANGE
queuePrefix: DMUMATCH_QUEUE_PREFIX
deliveryLimit: DMUMATCH_DELIVERY_LIMIT
outputEncoding: DMUMATCH_OUTPUT_ENCODING
prefetch: DMUMATCH_PREFETCH
batchSize: DMUMATCH_BATCH_SIZE
batchWaitMs: DMUMATCH_BATCH_WAIT_MS
maxMessageBytes: DMUMATCH_MAX_MESSAGE_BYTES
migrateOnStart: DMUMATCH_MIGRATE_ON_START
sweepIntervalSecs: DMUMATCH_SWEEP_INTERVAL_SECS
shutdownTimeoutSecs: DMUMATCH_SHUTDOWN_TIMEOUT_SECS
confirmWindow: DMUMATCH_CONFIRM_WINDOW
confirmTimeoutSecs: DMUMATCH_CONFIRM_TIMEOUT_SECS
relayPollMs: DMUMATCH_RELAY_POLL_MS
fanoutPage: DMUMATCH_FANOUT_PAGE
outboxRetentionHours: DMUMATCH_OUTBOX_RETENTION_HOURS
inboxRetentionDays: DMUMATCH_INBOX_RETENTION_DAYS
dbPoolSize: DMUMATCH_DB_POOL_SIZE
{{- end }}

{{/* The grace period must outlast the worker's drain deadline (DMUMATCH_SHUTDOWN_TIMEOUT_SECS). */}}
{{- define "dmumatch.terminationGracePeriodSeconds" -}}
{{- $drain := int .Values.config.shutdownTimeoutSecs }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $drain 10 }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{- define "dmumatch.kedaMinReplicas" -}}
{{- $min := .Values.autoscaling.keda.minReplicaCount }}
{{- if kindIs "invalid" $min }}{{ int .Values.replicaCount }}{{ else }}{{ int $min }}{{ end }}
{{- end }}

{{/* Checks the schema cannot express; rendered from deployment.yaml. */}}
{{- define "dmumatch.validate" -}}
{{- $v := .Values }}
{{- if and $v.autoscaling.keda.enabled $v.autoscaling.hpa.enabled }}
{{- fail "autoscaling: enable KEDA or the HPA, not both (two controllers would fight over the replica count)" }}
{{- end }}
{{- $grace := int (include "dmumatch.terminationGracePeriodSeconds" .) }}
{{- if le $grace (int $v.config.shutdownTimeoutSecs) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.shutdownTimeoutSecs (%d), or the kubelet kills the worker mid-drain" $grace (int $v.config.shutdownTimeoutSecs)) }}
{{- end }}
{{- if $v.autoscaling.keda.enabled }}
{{- $min := int (include "dmumatch.kedaMinReplicas" .) }}
{{- if lt $min 1 }}
{{- fail "autoscaling.keda.minReplicaCount must be at least 1: the expiry sweep and the outbox relay run inside the worker" }}
{{- end }}
{{- if gt $min (int $v.autoscaling.keda.maxReplicaCount) }}
{{- fail (printf "autoscaling.keda: minReplicaCount (%d) exceeds maxReplicaCount (%d)" $min (int $v.autoscaling.keda.maxReplicaCount)) }}
{{- end }}
{{- if and (eq $v.autoscaling.keda.protocol "http") (not $v.autoscaling.keda.hostSecret.name) }}
{{- fail "autoscaling.keda.protocol http needs the management API URL: set autoscaling.keda.hostSecret.name (and key)" }}
{{- end }}
{{- end }}
{{- if and $v.autoscaling.hpa.enabled (gt (int $v.autoscaling.hpa.minReplicas) (int $v.autoscaling.hpa.maxReplicas)) }}
{{- fail "autoscaling.hpa: minReplicas exceeds maxReplicas" }}
{{- end }}
{{- if and (not $v.connections.existingSecret) (or (not $v.connections.amqpUrl) (not $v.connections.databaseUrl)) }}
{{- fail "connections: set existingSecret, or both amqpUrl and databaseUrl" }}
{{- end }}
{{- $c := $v.connections }}
{{- if or (eq $c.amqpUrlKey $c.databaseUrlKey) (eq $c.amqpUrlKey $c.erasurePepperKey) (eq $c.databaseUrlKey $c.erasurePepperKey) }}
{{- fail "connections: amqpUrlKey, databaseUrlKey and erasurePepperKey must be three different keys of the Secret" }}
{{- end }}
{{- if lt (int $v.config.prefetch) (int $v.config.batchSize) }}
{{- fail (printf "config.prefetch (%d) must be at least config.batchSize (%d): the worker refuses to start otherwise" (int $v.config.prefetch) (int $v.config.batchSize)) }}
{{- end }}
{{- end }}
