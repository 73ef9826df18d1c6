package auditelasticsearchexporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	return comptest.Load[Config](t, metadata.Type, name, createDefaultConfig)
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestDefaultConfigIsValid(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"http://localhost:9200"}, cfg.Endpoints)
	assert.Zero(t, cfg.BackOffConfig.MaxElapsedTime, "retry until stored by default")
	assert.True(t, cfg.QueueConfig.HasValue())
}

// Every key in testdata/config.yaml must take effect.
func TestEveryFieldTakesEffect(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, []string{"https://es-1:9200", "https://es-2:9200"}, cfg.Endpoints)
	assert.Equal(t, "collector", cfg.User)
	assert.Equal(t, "s3cret", string(cfg.Password))
	require.NotNil(t, cfg.Authenticator)
	assert.Equal(t, "oauth2client", cfg.Authenticator.String())
	assert.Equal(t, "ca.pem", cfg.TLS.CAFile)
	assert.True(t, cfg.TLS.InsecureSkipVerify)
	assert.Equal(t, 7*time.Second, cfg.RequestTimeout)
	assert.Equal(t, "gzip", cfg.Compression)
	assert.Equal(t, DataStreamConfig{Dataset: "audit", Namespace: "prod", NamespaceAttribute: "organization.id"}, cfg.DataStream)
	assert.Equal(t, RetentionConfig{
		Default: "400d", Quarantine: "14d", DeadLetter: "60d", Period: "week",
		Rollover: RolloverConfig{MaxAge: "7d", MaxPrimaryShardSize: "10gb"},
		Tiers: []TierConfig{
			{Name: "view_data", Categories: []string{"view_data", "view_content"}, DeleteAfter: "90d"},
			{Name: "access_control", Categories: []string{"access_control"}, DeleteAfter: "400d"},
		},
	}, cfg.Retention)
	assert.Equal(t, BootstrapConfig{Enabled: false, RetryInterval: 3 * time.Second}, cfg.Bootstrap)
	assert.Equal(t, BulkConfig{MaxRetries: 5, InitialBackoff: 50 * time.Millisecond, MaxBackoff: time.Second}, cfg.Bulk)
	require.True(t, cfg.QueueConfig.HasValue())
	q := cfg.QueueConfig.Get()
	require.NotNil(t, q.StorageID)
	assert.Equal(t, "file_storage/queue", q.StorageID.String())
	assert.Equal(t, int64(5000), q.QueueSize)
	assert.Equal(t, 4, q.NumConsumers)
	assert.True(t, q.BlockOnOverflow)
	assert.Equal(t, time.Second, cfg.BackOffConfig.InitialInterval)
	assert.Equal(t, 30*time.Second, cfg.BackOffConfig.MaxInterval)
	assert.Equal(t, 45*time.Second, cfg.TimeoutConfig.Timeout)
}

func TestMisspeltKeyIsAnError(t *testing.T) {
	_, err := loadConfig(t, "typo")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown configuration key(s) "compresion"`)
}

func TestValidateMessages(t *testing.T) {
	_, err := loadConfig(t, "bad")
	require.Error(t, err)
	for _, want := range []string{
		`endpoints: "localhost:9200" is not an http(s) URL with a host`,
		`endpoints: "ftp://x" is not an http(s) URL`,
		"api_key and user/password are both set",
		"request_timeout: must be positive",
		`compression: "zstd" is not supported`,
		`data_stream.dataset: "Audit-Logs"`,
		`data_stream.namespace: "My-NS"`,
		`retention.default: "90 days" is not an Elasticsearch time unit`,
		`retention.rollover.max_primary_shard_size: "huge"`,
		`retention.period: "fortnight" is not one of [day week month]`,
		`retention.tiers[0].name: "default" is reserved`,
		"retention.tiers[0].categories: list the catalog categories",
		`retention.tiers[2].name: "a" is used twice`,
		`retention.tiers[2].categories: "x" is already in tier "a"`,
		`retention.tiers[2].delete_after: "1w"`,
		"bootstrap.retry_interval: must be positive",
		"bulk: max_retries must be >= 0",
		"retry_on_failure.max_elapsed_time: 5m0s would drop events",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

// The longest index name (dataset, tier, a 100-byte namespace, the date)
// fits Elasticsearch's 255 bytes, or the config says which name to cut.
func TestIndexNamesFit(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	long := strings.Repeat("t", maxDatasetBytes-len("audit."))
	cfg.Retention.Tiers = []TierConfig{{Name: long, Categories: []string{"x"}, DeleteAfter: "1d"}}
	require.NoError(t, cfg.Validate())
	name := cfg.Tiers()[3].IndexName(strings.Repeat("n", 100), time.Now())
	assert.Len(t, name, 255)
	cfg.Retention.Tiers[0].Name += "t"
	assert.ErrorContains(t, cfg.Validate(), "makes index names too long")
}

func TestSanitizeNamespace(t *testing.T) {
	for in, want := range map[string]string{
		"org-7": "org_7", "Org 7/East": "org_7_east", "ACME": "acme", "-lead": "lead", "___": "default", "": "default", "a:b,c#d": "a_b_c_d",
	} {
		assert.Equal(t, want, sanitizeNamespace(in, "default"), in)
	}
	long := sanitizeNamespace(string(make([]byte, 0))+"ü"+string(make([]rune, 0))+stringsRepeat("é", 80), "d")
	assert.LessOrEqual(t, len(long), 100)
}

func stringsRepeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	cfg := createDefaultConfig().(*Config)
	cfg.Bootstrap.Enabled = false
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))

	// A missing authenticator extension stops the start with its name.
	id := component.MustNewID("oauth2client")
	cfg.Authenticator = &id
	exp, err = f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `authenticator "oauth2client" is not an extension of this collector`)
	require.NoError(t, exp.Shutdown(context.Background()))
}
