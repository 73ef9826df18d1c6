// Package auditelasticsearchexporter writes audit events to Elasticsearch
// indices chosen by tier, tenant and event time, with retention counted
// from the event's time; creates with the event id as _id in the one index
// that event can be in, so nothing is stored twice; retries what
// Elasticsearch refuses for a reason outside the document, and
// dead-letters what it refuses for the document, so nothing is lost
// silently.
package auditelasticsearchexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// NewFactory returns the audit_elasticsearch exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 0 // never give up: the queue bounds memory
	return &Config{
		Endpoints:      []string{"http://localhost:9200"},
		RequestTimeout: 30 * time.Second,
		Compression:    "none",
		DataStream:     DataStreamConfig{Dataset: "audit", Namespace: "default"},
		Retention: RetentionConfig{
			Default: "365d", Quarantine: "30d", DeadLetter: "90d", Period: assets.Month,
			Rollover: RolloverConfig{MaxAge: "30d", MaxPrimaryShardSize: "50gb"},
		},
		Bootstrap:     BootstrapConfig{Enabled: true, RetryInterval: 10 * time.Second},
		Bulk:          BulkConfig{MaxRetries: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second},
		Digest:        digest.NewDefaultConfig(),
		QueueConfig:   configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig: retry,
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(set, c)
	if err != nil {
		return nil, err
	}
	logs, err := xexporterhelper.NewLogsRequest(ctx, set, e.convert, e.push,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		xexporterhelper.WithQueueBatch(c.QueueConfig, xexporterhelper.QueueBatchSettings{Encoding: docsEncoding{e}}),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithTimeout(c.TimeoutConfig),
	)
	if err != nil {
		return nil, err
	}
	return syncedLogs{Logs: logs, e: e}, nil
}
