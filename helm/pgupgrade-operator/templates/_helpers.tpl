{{/* Chart name, at most 63 characters. */}}
{{- define "pgupgrade-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed by the chart name unless it already contains it. */}}
{{- define "pgupgrade-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "pgupgrade-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pgupgrade-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pgupgrade-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pgupgrade-operator.labels" -}}
helm.sh/chart: {{ include "pgupgrade-operator.chart" . }}
{{ include "pgupgrade-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ include "pgupgrade-operator.imageTag" . | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: pgupgrade
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pgupgrade-operator.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "pgupgrade-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "pgupgrade-operator.fullname" .) }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the operator runs with leader election: asked for, or needed by more than one replica. */}}
{{- define "pgupgrade-operator.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{- define "pgupgrade-operator.leaderElectionNamespace" -}}
{{- .Values.leaderElection.namespace | default .Release.Namespace }}
{{- end }}

{{- define "pgupgrade-operator.leaseName" -}}
{{- include "pgupgrade-operator.fullname" . }}
{{- end }}

{{/* The watched namespaces, sorted and without duplicates or blanks. */}}
{{- define "pgupgrade-operator.watchNamespaces" -}}
{{- $namespaces := list }}
{{- range .Values.watchNamespaces }}
{{- if trim (toString .) }}
{{- $namespaces = append $namespaces (trim (toString .)) }}
{{- end }}
{{- end }}
{{- $namespaces | uniq | sortAlpha | join "," }}
{{- end }}

{{/*
The operator's permissions on the resources it manages, all namespaced. The ONLY place they are
listed: the ClusterRole (all namespaces) and the per-namespace Roles (watchNamespaces) include it.
*/}}
{{- define "pgupgrade-operator.rules" -}}
# The PostgresUpgrade resources and their status.
- apiGroups: ["pgupgrade.dev"]
  resources: ["postgresupgrades"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["pgupgrade.dev"]
  resources: ["postgresupgrades/status"]
  verbs: ["get", "patch", "update"]
# The step Jobs and their pods.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
# A running step's progress lines, read from its pod's log.
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# Work volumes, step ConfigMaps and Secrets.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "create"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update"]
# Scaling the services that use the database down and up.
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
Leader election on a coordination.k8s.io Lease. JOSDK checks get/create/update at start-up; fabric8's
LeaseLock renews the Lease with a JSON merge PATCH (ResourceLock.update), hence patch.
*/}}
{{- define "pgupgrade-operator.leaderElectionRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update", "patch"]
{{- end }}
