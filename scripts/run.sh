#!/usr/bin/env bash
# make run: the collector on config/local.yaml and, beside it, the audit log
# service (auditctl serve) on the archive the collector writes. The first
# start creates an admin token for organization "default" (printed once)
# and the service's signing key under data/. Ctrl-C stops both.
#
# The collector's settings come from config/local.yaml's variables
# (OTLP_HTTP_ENDPOINT, AUDIT_ARCHIVE_PATH, ...); the service's from
# AUDIT_API_ENDPOINT, AUDIT_API_TOKENS and AUDIT_API_SIGNING_KEY_FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
otelcol=${OTELCOL_AUDIT_BIN:-bin/otelcol-audit}
auditctl=${AUDITCTL_BIN:-bin/auditctl}
archive=${AUDIT_ARCHIVE_PATH:-./data/archive/audit.jsonl}
tokens=${AUDIT_API_TOKENS:-data/tokens.yaml}
key=${AUDIT_API_SIGNING_KEY_FILE:-data/signing.key}
mkdir -p "$(dirname "$archive")" "$(dirname "$tokens")" "$(dirname "$key")"

pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop EXIT INT TERM

"$otelcol" --config config/local.yaml &
pids+=($!)
"$auditctl" serve --init --archive "$(dirname "$archive")" --tokens-file "$tokens" --signing-key-file "$key" \
  --listen "${AUDIT_API_ENDPOINT:-localhost:8080}" --audit-endpoint "http://${OTLP_HTTP_ENDPOINT:-localhost:4318}" &
pids+=($!)
# Either one stopping stops the other.
wait -n
