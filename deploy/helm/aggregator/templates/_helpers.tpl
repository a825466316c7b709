{{/* The release's base name, at most 63 characters. */}}
{{- define "aggregator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "aggregator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (api, worker, migrate): pass (list . "api"). */}}
{{- define "aggregator.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ $ctx.Chart.Name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "aggregator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "aggregator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "aggregator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The Secret the pods read. Refuses to render, naming the value to set, when a key source is missing.
*/}}
{{- define "aggregator.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- if and (eq .Values.environment "production") (not .Values.secrets.secretKey) -}}
{{- fail "SECRET_KEY: set secrets.secretKey (openssl rand -hex 32) or secrets.existingSecret (a Secret with the key SECRET_KEY); environment is production" -}}
{{- end -}}
{{- if and (eq .Values.environment "production") (not .Values.secrets.encryptionKey) -}}
{{- fail "ENCRYPTION_KEY: set secrets.encryptionKey (openssl rand -hex 32, and keep it) or secrets.existingSecret (a Secret with the key ENCRYPTION_KEY); environment is production" -}}
{{- end -}}
{{- if and .Values.secrets.secretKey (lt (len .Values.secrets.secretKey) 32) -}}
{{- fail (printf "SECRET_KEY: secrets.secretKey must be at least 32 characters, got %d (openssl rand -hex 32)" (len .Values.secrets.secretKey)) -}}
{{- end -}}
{{- if and .Values.secrets.encryptionKey (lt (len .Values.secrets.encryptionKey) 32) -}}
{{- fail (printf "ENCRYPTION_KEY: secrets.encryptionKey must be at least 32 characters, got %d (openssl rand -hex 32)" (len .Values.secrets.encryptionKey)) -}}
{{- end -}}
{{- if not .Values.database.url -}}
{{- fail "DATABASE_URL: set database.url (postgres://user:password@host:5432/aggregator) or secrets.existingSecret (a Secret with the key DATABASE_URL); the chart runs on PostgreSQL" -}}
{{- end -}}
{{- if and .Values.redis.enabled (not .Values.redis.url) -}}
{{- fail "REDIS_URL: set redis.url (redis://host:6379/0) or redis.enabled=false" -}}
{{- end -}}
{{- include "aggregator.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The environment every aggregator container shares. */}}
{{- define "aggregator.env" -}}
- name: ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: LOG_FORMAT
  value: json
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: DATA_DIR
  value: /data
- name: AUTO_INIT_DB
  value: {{ ternary "false" "true" .Values.migrations.enabled | quote }}
{{- with (default (ternary (printf "https://%s" .Values.ingress.host) "" .Values.ingress.enabled) .Values.publicURL) }}
- name: PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- $secret := include "aggregator.secretName" . }}
{{- range $key := list "SECRET_KEY" "ENCRYPTION_KEY" "DATABASE_URL" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- if or .Values.secrets.encryptionKeyPrevious .Values.secrets.existingSecret }}
- name: ENCRYPTION_KEY_PREVIOUS
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: ENCRYPTION_KEY_PREVIOUS
      optional: true
{{- end }}
{{- if .Values.redis.enabled }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: REDIS_URL
{{- end }}
{{- end -}}

{{/* DATA_DIR and /tmp: the root file system is read-only. */}}
{{- define "aggregator.volumes" -}}
- name: data
{{- if .Values.persistence.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "aggregator.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end -}}
