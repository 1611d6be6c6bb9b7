{{/* Names, labels and the pieces shared by the templates. */}}

{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatehouse.fullname" -}}
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

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gatehouse.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The legacy API's image: the Gatehouse image (demo echo API) unless app.image.repository is set. */}}
{{- define "gatehouse.appImage" -}}
{{- if .Values.app.image.repository }}
{{- printf "%s:%s" .Values.app.image.repository (default "latest" .Values.app.image.tag) }}
{{- else }}
{{- include "gatehouse.image" . }}
{{- end }}
{{- end }}

{{- define "gatehouse.secretName" -}}
{{- default (include "gatehouse.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* "true" when the chart creates the Secret: no existingSecret and something to put in it. */}}
{{- define "gatehouse.createSecret" -}}
{{- if and (not .Values.secret.existingSecret) (or .Values.store.redis.url .Values.secret.signingKey .Values.secret.users .Values.secret.clients) }}true{{ end }}
{{- end }}

{{/* "true" for a native sidecar: style native, or auto on Kubernetes >= 1.29. */}}
{{- define "gatehouse.nativeSidecar" -}}
{{- if or (eq .Values.sidecar.style "native") (and (eq .Values.sidecar.style "auto") (semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version)) }}true{{ end }}
{{- end }}

{{/*
Gatehouse's config file: values.config with the keys the chart owns set to
match the Pod (ports, upstream in sidecar mode, the store on its volume or Redis).
*/}}
{{- define "gatehouse.config" -}}
{{- $c := deepCopy (.Values.config | default dict) }}
{{- $_ := set $c "listen" (printf "0.0.0.0:%d" (int .Values.gatehouse.port)) }}
{{- $_ := set $c "admin" (dict "listen" (printf "0.0.0.0:%d" (int .Values.gatehouse.adminPort))) }}
{{- $upstream := deepCopy (get $c "upstream" | default dict) }}
{{- if eq .Values.mode "sidecar" }}
{{- $_ := set $upstream "url" (printf "http://127.0.0.1:%d" (int .Values.app.port)) }}
{{- else if eq .Values.mode "decision" }}
{{- /* Decision mode forwards nothing: an address nothing listens on, never a real service. */}}
{{- $_ := set $upstream "url" "http://127.0.0.1:9" }}
{{- if not .Values.decision.trustedCallers }}
{{- fail "mode decision needs decision.trustedCallers: the CIDRs of your ingress controller's Pods" }}
{{- end }}
{{- $_ := set $c "forwardAuth" (dict "path" .Values.decision.path "trustedCallers" .Values.decision.trustedCallers) }}
{{- else }}
{{- $_ := set $upstream "url" .Values.gateway.upstreamUrl }}
{{- end }}
{{- $_ := set $c "upstream" $upstream }}
{{- if eq .Values.store.type "redis" }}
{{- $_ := set $c "store" (dict "type" "redis" "url" "${GATEHOUSE_REDIS_URL}") }}
{{- else }}
{{- $_ := set $c "store" (dict "type" "file" "path" "/var/lib/gatehouse/apikeys.json") }}
{{- end }}
{{- toYaml $c }}
{{- end }}

{{/* The Gatehouse container, as a native sidecar (restartPolicy Always) when the first argument says so. */}}
{{- define "gatehouse.container" -}}
{{- $root := index . 0 }}
{{- $native := index . 1 }}
{{- with $root -}}
- name: gatehouse
  image: {{ include "gatehouse.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if $native }}
  restartPolicy: Always
  {{- end }}
  args: [serve, --config, /etc/gatehouse/gatehouse.yaml]
  ports:
    - name: gatehouse-http
      containerPort: {{ .Values.gatehouse.port }}
    - name: gatehouse-admin
      containerPort: {{ .Values.gatehouse.adminPort }}
  env:
    - name: GATEHOUSE_REDIS_URL
      valueFrom:
        secretKeyRef:
          name: {{ include "gatehouse.secretName" . }}
          key: redis-url
          optional: {{ ne .Values.store.type "redis" }}
    {{- with .Values.gatehouse.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  startupProbe:
    httpGet:
      path: /healthz
      port: gatehouse-admin
    periodSeconds: 1
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /healthz
      port: gatehouse-admin
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: gatehouse-admin
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 2
  {{- if and (gt (int .Values.gatehouse.preStopSleepSeconds) 0) (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) }}
  lifecycle:
    preStop:
      sleep:
        seconds: {{ .Values.gatehouse.preStopSleepSeconds }}
  {{- end }}
  resources:
    {{- toYaml .Values.gatehouse.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.gatehouse.securityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/gatehouse
      readOnly: true
    - name: secrets
      mountPath: /etc/gatehouse-secrets
      readOnly: true
    - name: data
      mountPath: /var/lib/gatehouse
    {{- with .Values.gatehouse.volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end }}
