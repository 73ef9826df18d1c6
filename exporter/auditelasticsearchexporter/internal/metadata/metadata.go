// Package metadata holds the component type and stability from metadata.yaml.
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("audit_elasticsearch")

const (
	ScopeName     = "github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
	LogsStability = component.StabilityLevelAlpha
)
