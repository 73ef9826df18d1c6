#!/usr/bin/env bash
# Generates the distribution's Go sources from builder-config.yaml with the
# OpenTelemetry Collector Builder. Usage: scripts/generate.sh [OUTDIR]
# (default cmd/otelcol-audit). The builder only writes sources here; our one
# go.mod stays the module's, so its own go.mod is discarded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/cmd/otelcol-audit}
# The builder of the release builder-config.yaml pins (its core modules'
# version), so the release is written in one place.
core=$(sed -n 's#.*go.opentelemetry.io/collector/receiver/otlpreceiver \(v[0-9.]*\).*#\1#p' "$root/builder-config.yaml")
builder=${BUILDER:-go.opentelemetry.io/collector/cmd/builder@$core}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s#output_path: ./cmd/otelcol-audit#output_path: $tmp/out#" \
    -e "s#path: ./\$#path: $root#" "$root/builder-config.yaml" > "$tmp/builder-config.yaml"
(cd "$tmp" && go run "$builder" --config "$tmp/builder-config.yaml" --skip-compilation --skip-get-modules) 2> "$tmp/builder.log" || {
  cat "$tmp/builder.log" >&2
  exit 1
}
# One call added to what the builder writes: internal/collectorcmd makes
# --version name the collector release and validate say the config is valid.
main="$tmp/out/main.go"
grep -q '^	cmd := otelcol.NewCommand(params)$' "$main" || {
  echo "scripts/generate.sh: the builder's main.go no longer has 'cmd := otelcol.NewCommand(params)': adapt the collectorcmd.Adjust insertion here" >&2
  exit 1
}
sed -i -e 's#^	cmd := otelcol.NewCommand(params)$#&\n	collectorcmd.Adjust(cmd) // added by scripts/generate.sh#' \
       -e 's#^	"go.opentelemetry.io/collector/otelcol"$#&\n\n	"github.com/otelcol-audit/otelcol-audit/internal/collectorcmd"#' "$main"
mkdir -p "$out"
rm -f "$out"/*.go
cp "$tmp"/out/*.go "$out"/
gofmt -w "$out"/*.go
