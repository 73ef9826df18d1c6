// Package jsonlimitextension is an HTTP server middleware that refuses a
// JSON request body nested deeper than a limit while the body is read,
// before a recursive decoder walks it. Put it in front of the OTLP/HTTP
// receiver: pdata bounds protobuf nesting, but its JSON decoder does not.
package jsonlimitextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-audit/otelcol-audit/extension/jsonlimitextension/internal/metadata"
)

// DefaultMaxDepth allows 39 nested arrays or 29 nested key-value lists in
// an OTLP/JSON attribute: about what pdata's protobuf limit allows.
const DefaultMaxDepth = 128

// NewFactory creates the json_limit extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{MaxDepth: DefaultMaxDepth}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &limiter{maxDepth: cfg.(*Config).MaxDepth, telemetry: tb}, nil
}
