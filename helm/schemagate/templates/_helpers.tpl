{{/* Full name of the release's objects. */}}
{{- define "schemagate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Common labels. */}}
{{- define "schemagate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels. */}}
{{- define "schemagate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* ServiceAccount name. */}}
{{- define "schemagate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "schemagate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator's permissions (kept equal to config/rbac/cluster_role.yaml by a test). */}}
{{- define "schemagate.operatorRules" -}}
- apiGroups: ["schemagate.io"]
  resources: ["databaseinstances", "projects", "schemachanges", "approvals"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["schemagate.io"]
  resources: ["schemachanges"]
  verbs: ["patch"]
- apiGroups: ["schemagate.io"]
  resources: ["databaseinstances/status", "projects/status", "schemachanges/status", "approvals/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["schemagate.io"]
  resources: ["schemachanges/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "update", "patch"]
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* Name of the webhook Service, configurations and certificate objects. */}}
{{- define "schemagate.webhookName" -}}
{{- printf "%s-webhook" (include "schemagate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Secret holding the webhook's serving certificate (the operator's own CA, or cert-manager's). */}}
{{- define "schemagate.webhookSecret" -}}
{{- printf "%s-tls" (include "schemagate.webhookName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* DNS names of the serving certificate (comma-separated). */}}
{{- define "schemagate.webhookCertNames" -}}
{{- if .Values.webhook.url -}}
{{- (urlParse .Values.webhook.url).hostname -}}
{{- else -}}
{{- $svc := include "schemagate.webhookName" . -}}
{{- printf "%s.%s.svc,%s.%s.svc.cluster.local" $svc .Release.Namespace $svc .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* clientConfig of one webhook; takes (dict "root" $ "path" "/…"). */}}
{{- define "schemagate.webhookClientConfig" -}}
{{- $v := .root.Values.webhook -}}
{{- if $v.url }}
url: {{ printf "%s%s" (trimSuffix "/" $v.url) .path | quote }}
{{- else }}
service:
  name: {{ include "schemagate.webhookName" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path | quote }}
  port: 443
{{- end }}
{{- end -}}

{{/* namespaceSelector of the webhooks. */}}
{{- define "schemagate.webhookNamespaceSelector" -}}
{{- if .Values.webhook.namespaceSelector -}}
{{- toYaml .Values.webhook.namespaceSelector -}}
{{- else if .Values.watchNamespaces -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: In
    values:
      {{- toYaml .Values.watchNamespaces | nindent 6 }}
{{- else -}}
{}
{{- end -}}
{{- end -}}
