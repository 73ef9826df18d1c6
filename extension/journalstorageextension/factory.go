// Package journalstorageextension is a storage extension made for the
// exporter helper's persistent queue: each client is an append-only journal
// of checksummed records (one per batch), a crash cuts off at most a torn
// tail, and fsync is shared by every write waiting for it (group commit).
// An exporter that calls the queue through DeferSync acknowledges a request
// after one shared fdatasync instead of one per request and per queue step.
package journalstorageextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-audit/otelcol-audit/extension/journalstorageextension/internal/metadata"
)

const defaultSegmentSizeMiB = 64

// NewFactory creates the journal_storage extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{Fsync: true, SegmentSizeMiB: defaultSegmentSizeMiB}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return newExtension(cfg.(*Config), set.Logger, tb), nil
}
