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
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
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
		Digest: "800d",
	}, cfg.Retention)
	require.NotNil(t, cfg.Digest.Storage)
	assert.Equal(t, "file_storage/digest", cfg.Digest.Storage.String())
	cfg.Digest.Storage = nil
	assert.Equal(t, digest.Config{KeyFile: "/etc/otelcol-audit/audit-signing.key", Interval: 30 * time.Second, MaxEvents: 5000,
		MaxPendingEvents: 100000, Instance: "collector-1"}, cfg.Digest)
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
		"sending_queue::batch::partition::metadata_keys: not supported",
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

func TestDigestDefaultsOff(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, digest.NewDefaultConfig(), cfg.Digest)
	assert.False(t, cfg.Digest.Enabled())
	for _, tier := range cfg.Tiers() {
		assert.NotEqual(t, "digest", tier.Name, "no digest tier without digests")
	}
}

// retention.digest must outlive every event: by default it is the longest
// an event is kept, in whole days, plus 30 days.
func TestDigestRetention(t *testing.T) {
	storage := component.MustNewID("file_storage")
	on := func(c *Config) { c.Digest.KeyFile = "k.pem"; c.Digest.Storage = &storage }
	for _, tc := range []struct {
		name    string
		mut     func(*Config)
		want    string // DigestRetention
		wantErr string
	}{
		{name: "default: 365d plus a month's index plus 30d", mut: on, want: "427d"},
		{name: "a longer tier decides", mut: func(c *Config) {
			on(c)
			c.Retention.Tiers = []TierConfig{{Name: "access_control", Categories: []string{"access_control"}, DeleteAfter: "400d"}}
		}, want: "462d"},
		{name: "weekly indices", mut: func(c *Config) { on(c); c.Retention.Period = "week" }, want: "403d"},
		{name: "dead letters kept longest", mut: func(c *Config) { on(c); c.Retention.DeadLetter = "500d" }, want: "560d"},
		{name: "set and longer", mut: func(c *Config) { on(c); c.Retention.Digest = "3650d" }, want: "3650d"},
		{name: "set and not longer", mut: func(c *Config) { on(c); c.Retention.Digest = "396d" },
			wantErr: `retention.digest: 396d is not longer than 396d10m, the longest an event of tier "default" can be kept counted from when it is written: digests must outlive the events they cover; set 397d or more, or leave it empty for 427d`},
		{name: "not a time", mut: func(c *Config) { on(c); c.Retention.Digest = "2 years" }, wantErr: "retention.digest: "},
		{name: "digest is a reserved tier name", mut: func(c *Config) {
			c.Retention.Tiers = []TierConfig{{Name: "digest", Categories: []string{"x"}, DeleteAfter: "90d"}}
		}, wantErr: `retention.tiers[0].name: "digest" is reserved`},
		{name: "a key without storage", mut: func(c *Config) { c.Digest.KeyFile = "k.pem" }, wantErr: "digest::storage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tc.mut(cfg)
			err := cfg.Validate()
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.DigestRetention())
			tiers := cfg.Tiers()
			last := tiers[len(tiers)-1]
			assert.Equal(t, "digest", last.Name)
			assert.Equal(t, "audit.digest", last.Dataset)
			assert.Equal(t, tc.want, last.DeleteAfter)
			assert.True(t, last.DataStream())
		})
	}
}
