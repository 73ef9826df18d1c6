#!/usr/bin/env bash
# builder-config.yaml pins the collector release; go.mod must hold every
# collector and contrib module at that release. Usage: scripts/check-versions.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cfg="$root/builder-config.yaml"
core=$(sed -n 's#.*go.opentelemetry.io/collector/receiver/otlpreceiver \(v[0-9.]*\).*#\1#p' "$cfg")
stable=$(sed -n 's#.*go.opentelemetry.io/collector/confmap/provider/envprovider \(v[0-9.]*\).*#\1#p' "$cfg")
contrib=$(sed -n 's#.*opentelemetry-collector-contrib/extension/healthcheckextension \(v[0-9.]*\).*#\1#p' "$cfg")
bad=0
while read -r mod ver; do
  case $mod in
    github.com/open-telemetry/opentelemetry-collector-contrib/*) want=$contrib ;;
    go.opentelemetry.io/collector|go.opentelemetry.io/collector/*)
      case $ver in v1.*) want=$stable ;; *) want=$core ;; esac ;;
    *) continue ;;
  esac
  if [ "$ver" != "$want" ]; then
    echo "go.mod: $mod $ver, but builder-config.yaml pins $want" >&2
    bad=1
  fi
done < <(awk '/^require \(/{f=1;next} /^\)/{f=0} f{print $1, $2} /^require [^(]/{print $2, $3}' "$root/go.mod")

# internal/version names the release in every binary's version output.
for pair in "Collector:$core" "Contrib:$contrib"; do
  name=${pair%%:*} want=${pair#*:}
  if ! grep -q "^	$name *= \"$want\"" "$root/internal/version/version.go"; then
    echo "internal/version/version.go: $name is not $want, which builder-config.yaml pins" >&2
    bad=1
  fi
done

if [ "$bad" -ne 0 ]; then
  echo "keep one release: edit builder-config.yaml, then set go.mod and internal/version/version.go to match and run 'go mod tidy -e'" >&2
  exit 1
fi
