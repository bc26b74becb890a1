{{/* Names ------------------------------------------------------------------------------------ */}}

{{- define "uc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-scoped prefix of every object name; short enough for "<prefix>-postgresql-0". */}}
{{- define "uc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "uc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels: call with (dict "root" $ "component" "gateway") ------------------------------------- */}}

{{- define "uc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "uc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "uc.labels" -}}
helm.sh/chart: {{ include "uc.chart" .root }}
{{ include "uc.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: unread-counters
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Images: (dict "root" $ "image" .Values.<svc>.image "name" "<svc>") ------------------------- */}}

{{- define "uc.image" -}}
{{- $img := .image | default dict -}}
{{- if $img.fullyQualified -}}
{{- $img.fullyQualified -}}
{{- else -}}
{{- $repo := $img.repository | default (printf "%s/%s" .root.Values.image.repository .name) -}}
{{- $tag := $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* Secrets holding the DSNs: the bundled servers' or the user's existing ones ----------------- */}}

{{- define "uc.postgresql.secretName" -}}
{{- printf "%s-postgresql" (include "uc.fullname" .) -}}
{{- end -}}

{{- define "uc.redis.secretName" -}}
{{- printf "%s-redis" (include "uc.fullname" .) -}}
{{- end -}}

{{- define "uc.databaseUrl.secretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "uc.postgresql.secretName" . -}}
{{- else -}}
{{- required "postgresql.enabled=false needs externalDatabase.existingSecret (a Secret holding the DSN)" .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "uc.databaseUrl.secretKey" -}}
{{- if .Values.postgresql.enabled -}}database-url{{- else -}}{{ .Values.externalDatabase.existingSecretKey }}{{- end -}}
{{- end -}}

{{- define "uc.redisUrl.secretName" -}}
{{- if .Values.redis.enabled -}}
{{- include "uc.redis.secretName" . -}}
{{- else -}}
{{- required "redis.enabled=false needs externalRedis.existingSecret (a Secret holding the URL)" .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "uc.redisUrl.secretKey" -}}
{{- if .Values.redis.enabled -}}redis-url{{- else -}}{{ .Values.externalRedis.existingSecretKey }}{{- end -}}
{{- end -}}

{{- define "uc.jwt.secretName" -}}
{{- .Values.gateway.jwt.existingSecret | default (printf "%s-jwt" (include "uc.fullname" .)) -}}
{{- end -}}

{{/*
A value generated once and kept: reuse the key of an existing Secret (upgrades), else a new random
one (install). (dict "root" $ "secret" name "key" key "length" n)
*/}}
{{- define "uc.keptRandom" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}

{{/* Environment every service gets ------------------------------------------------------------ */}}

{{- define "uc.commonEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "uc.databaseUrl.secretName" . }}
      key: {{ include "uc.databaseUrl.secretKey" . }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "uc.redisUrl.secretName" . }}
      key: {{ include "uc.redisUrl.secretKey" . }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
{{- end -}}

{{/* In-cluster gRPC addresses (host:port) of the services ---------------------------------------- */}}

{{- define "uc.addr.messenger" -}}
{{- printf "%s-messenger:%d" (include "uc.fullname" .) (int .Values.messenger.grpcPort) -}}
{{- end -}}
{{- define "uc.addr.counter" -}}
{{- printf "%s-counter:%d" (include "uc.fullname" .) (int .Values.counter.grpcPort) -}}
{{- end -}}
{{- define "uc.addr.syncer" -}}
{{- printf "%s-syncer:%d" (include "uc.fullname" .) (int .Values.syncer.grpcPort) -}}
{{- end -}}

{{/* ServiceAccount name of a component: (dict "root" $ "sa" .Values.<svc>.serviceAccount "component" "<svc>") */}}
{{- define "uc.serviceAccountName" -}}
{{- if .sa.create -}}
{{- .sa.name | default (printf "%s-%s" (include "uc.fullname" .root) .component) -}}
{{- else -}}
{{- .sa.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* A ServiceAccount for a component, when asked to create one. Same arguments. */}}
{{- define "uc.serviceAccount" -}}
{{- if .sa.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "uc.serviceAccountName" . }}
  labels:
    {{- include "uc.labels" (dict "root" .root "component" .component) | nindent 4 }}
  {{- with .sa.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if ne .component "operator" }}
# The services never call the Kubernetes API.
automountServiceAccountToken: false
{{- end }}
{{- end }}
{{- end -}}

{{/* PodDisruptionBudget and HorizontalPodAutoscaler of a Deployment: (dict "root" $ "values" .Values.<svc> "component" "<svc>") */}}
{{- define "uc.pdbAndHpa" -}}
{{- $sel := dict "root" .root "component" .component -}}
{{- if .values.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "uc.fullname" .root }}-{{ .component }}
  labels:
    {{- include "uc.labels" $sel | nindent 4 }}
spec:
  {{- if hasKey .values.pdb "minAvailable" }}
  minAvailable: {{ .values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .values.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "uc.selectorLabels" $sel | nindent 6 }}
{{- end }}
{{- if .values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "uc.fullname" .root }}-{{ .component }}
  labels:
    {{- include "uc.labels" $sel | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "uc.fullname" .root }}-{{ .component }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/* Scheduling knobs of a pod spec: (the values block) */}}
{{- define "uc.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "uc.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
