// Package auditreceiver takes audit events as plain JSON, NDJSON or CSV over
// HTTP and hands the pipeline the same log records the OTLP path produces.
package auditreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver/internal/metadata"
)

const defaultEndpoint = "localhost:4319"

// NewFactory returns the audit receiver factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = defaultEndpoint
	srv.MaxRequestBodySize = 1 << 30
	srv.ReadHeaderTimeout = 10 * time.Second
	// Decoders whose memory is bounded whatever the sender declares. zstd
	// allocates the window a frame declares (a 200-byte body declaring
	// 256 MiB cost 257 MiB), and block snappy the decoded length it
	// declares, up to max_request_body_size: off unless configured.
	srv.CompressionAlgorithms = []string{"", "gzip", "zlib", "deflate", "lz4", "x-snappy-framed"}
	return &Config{
		ServerConfig:        srv,
		MaxEventsBodySize:   16 << 20,
		MaxEventsPerRequest: 10_000,
		MaxFutureSkew:       10 * time.Minute,
		ImportBatchSize:     1000,
		RetryAfter:          5 * time.Second,
		MaxProblems:         100,

		MaxPropertyDepth:          auditevent.DefaultPropertyLimits.MaxDepth,
		MaxPropertyKeys:           auditevent.DefaultPropertyLimits.MaxKeys,
		MaxPropertyValues:         auditevent.DefaultPropertyLimits.MaxValues,
		MaxImportFieldSize:        auditcsv.DefaultSizes.MaxField,
		MaxImportRowSize:          auditcsv.DefaultSizes.MaxRow,
		MaxImportDecompressedSize: 256 << 20,
		BodyReadTimeout:           10 * time.Second,
		MinBodyRate:               64 << 10,
		MaxDiscardSize:            128 << 20,
		MaxConcurrentRequests:     32,
		MaxConcurrentImports:      2,
		ShutdownTimeout:           5 * time.Second,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}
