// Package auditprocessor turns raw log records into audit entries: it checks
// each action against a catalog, masks email addresses, tags categories and
// gives every event a stable id.
package auditprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadata"
)

// NewFactory returns the audit processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		ActionAttributes: []string{fields.EventName, fields.EventAction},
		UnknownActions:   PolicyQuarantine,
		MaskEmails:       true,
	}
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(func(context.Context) error { p.tel.Shutdown(); return nil }))
}
