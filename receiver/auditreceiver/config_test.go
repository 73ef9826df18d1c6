package auditreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	return comptest.Load[Config](t, metadata.Type, name, createDefaultConfig)
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, "localhost:4319", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, int64(1<<30), cfg.ServerConfig.MaxRequestBodySize)
	assert.Equal(t, int64(16<<20), cfg.MaxEventsBodySize)
	assert.Equal(t, 10_000, cfg.MaxEventsPerRequest)
	assert.Equal(t, 10*time.Minute, cfg.MaxFutureSkew)
	assert.Equal(t, 32, cfg.MaxPropertyDepth)
	assert.Equal(t, 1000, cfg.MaxPropertyKeys)
	assert.Equal(t, 10000, cfg.MaxPropertyValues)
	assert.Equal(t, 256<<10, cfg.MaxImportFieldSize)
	assert.Equal(t, 1<<20, cfg.MaxImportRowSize)
	assert.Equal(t, int64(256<<20), cfg.MaxImportDecompressedSize)
	assert.Equal(t, 10*time.Second, cfg.BodyReadTimeout)
	assert.Equal(t, int64(64<<10), cfg.MinBodyRate)
	assert.Equal(t, 32, cfg.MaxConcurrentRequests)
	assert.Equal(t, 2, cfg.MaxConcurrentImports)
	assert.Equal(t, 5*time.Second, cfg.ShutdownTimeout)
	assert.Equal(t, int64(128<<20), cfg.MaxDiscardSize)
	assert.Equal(t, 10*time.Second, cfg.ServerConfig.ReadHeaderTimeout)
	assert.Equal(t, 30*time.Second, cfg.ServerConfig.WriteTimeout)
	assert.Equal(t, []string{"", "gzip", "zlib", "deflate", "lz4", "x-snappy-framed"}, cfg.ServerConfig.CompressionAlgorithms)
}

// Every key must take effect: a squashed confighttp.ServerConfig must not
// swallow its siblings.
func TestEveryKeyTakesEffect(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9999", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, int64(1048576), cfg.ServerConfig.MaxRequestBodySize)
	assert.Equal(t, 3*time.Second, cfg.ServerConfig.ReadHeaderTimeout)
	require.True(t, cfg.ServerConfig.TLS.HasValue())
	assert.Equal(t, "server.crt", cfg.ServerConfig.TLS.Get().CertFile)
	require.True(t, cfg.ServerConfig.Auth.HasValue())
	assert.Equal(t, "bearertokenauth", cfg.ServerConfig.Auth.Get().Config.AuthenticatorID.String())
	assert.Equal(t, int64(65536), cfg.MaxEventsBodySize)
	assert.Equal(t, 50, cfg.MaxEventsPerRequest)
	assert.Equal(t, 2*time.Minute, cfg.MaxFutureSkew)
	assert.Equal(t, 10, cfg.ImportBatchSize)
	assert.Equal(t, 3*time.Second, cfg.RetryAfter)
	assert.Equal(t, 7, cfg.MaxProblems)
	assert.Equal(t, 5, cfg.MaxPropertyDepth)
	assert.Equal(t, 6, cfg.MaxPropertyKeys)
	assert.Equal(t, 70, cfg.MaxPropertyValues)
	assert.Equal(t, 4096, cfg.MaxImportFieldSize)
	assert.Equal(t, 8192, cfg.MaxImportRowSize)
	assert.Equal(t, int64(500000), cfg.MaxImportDecompressedSize)
	assert.Equal(t, 4*time.Second, cfg.BodyReadTimeout)
	assert.Equal(t, int64(2048), cfg.MinBodyRate)
	assert.Equal(t, 9, cfg.MaxConcurrentRequests)
	assert.Equal(t, 3, cfg.MaxConcurrentImports)
	assert.Equal(t, 11*time.Second, cfg.ShutdownTimeout)
	assert.Equal(t, int64(4096), cfg.MaxDiscardSize)
}

func TestConfigErrors(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	for _, want := range []string{
		"endpoint: required", "max_events_body_size: must be positive", "max_events_per_request: must be positive",
		"max_future_skew: must be positive", "import_batch_size: must be between 1 and 100000",
		"retry_after: must be at least 1s", "max_problems: must be positive", `spool_directory: "/does/not/exist"`,
		"max_property_depth: must be between 1 and 1000, got 1001", "max_property_keys: must be positive, got 0",
		"max_property_values: must be positive, got -1", "max_import_row_size (99) is smaller than max_import_field_size (100)",
		"max_import_decompressed_size: must be positive, got 0", "body_read_timeout: must be positive, got 0s",
		"min_body_rate: must be 0 (the whole body within body_read_timeout) or more, got -1",
		"max_concurrent_imports: must be between 1 and max_concurrent_requests (2), got 3", "shutdown_timeout: must be positive, got 0s",
		"max_discard_size: must be 0 (nothing read past what Go's HTTP server reads itself, at most 256 KiB) or more, got -2",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = loadConfig(t, "events_over_request")
	assert.ErrorContains(t, err, "max_events_body_size (2000) is larger than max_request_body_size (1000)")
	_, err = loadConfig(t, "unknown_key")
	assert.ErrorContains(t, err, "max_event_body_size")
}
