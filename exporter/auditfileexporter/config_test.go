package auditfileexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewIDWithName("file_storage", "digest")
	on := func(mod func(*digest.Config)) DigestConfig {
		d := digest.NewDefaultConfig()
		d.KeyFile = "./keys/audit-signing.key"
		d.Storage = &storageID
		if mod != nil {
			mod(&d)
		}
		return DigestConfig{Config: d}
	}
	off := DigestConfig{Config: digest.NewDefaultConfig()}
	for _, tc := range []struct {
		name string
		want *Config // nil: only the error is checked
		// unmarshalErr and validateErr are substrings of the expected
		// errors; empty: none expected.
		unmarshalErr, validateErr string
		digestPath                string
	}{
		{name: "", want: &Config{
			// As the file exporter: rotation off when absent, flush_interval 1s.
			Config: fileexporter.Config{Path: "./archive/audit.jsonl", FormatType: "json", FlushInterval: time.Second,
				GroupBy: &fileexporter.GroupBy{ResourceAttribute: "fileexporter.path_segment", MaxOpenFiles: 100}},
			Digest: off,
		}, digestPath: filepath.Join("archive", DefaultDigestFile)},
		{name: "file_settings", want: &Config{
			Config: fileexporter.Config{Path: "./archive/audit.jsonl", FormatType: "json", FlushInterval: 5 * time.Second, CreateDirectory: true,
				Rotation: &fileexporter.Rotation{MaxMegabytes: 100, MaxDays: 400, MaxBackups: 1000},
				GroupBy:  &fileexporter.GroupBy{ResourceAttribute: "fileexporter.path_segment", MaxOpenFiles: 100}},
			Digest: off,
		}},
		{name: "digests", want: &Config{
			Config: fileexporter.Config{Path: "./archive/audit.jsonl", FormatType: "json", FlushInterval: time.Second,
				Rotation: &fileexporter.Rotation{MaxMegabytes: 10, MaxBackups: 100},
				GroupBy:  &fileexporter.GroupBy{ResourceAttribute: "fileexporter.path_segment", MaxOpenFiles: 100}},
			Digest: on(func(d *digest.Config) { d.Interval = 30 * time.Second }),
		}, digestPath: filepath.Join("archive", DefaultDigestFile)},
		{name: "digest_path", want: &Config{
			Config: fileexporter.Config{Path: "./archive/audit.jsonl", FormatType: "json", FlushInterval: time.Second,
				Rotation: &fileexporter.Rotation{MaxMegabytes: 10, MaxBackups: 100},
				GroupBy:  &fileexporter.GroupBy{ResourceAttribute: "fileexporter.path_segment", MaxOpenFiles: 100}},
			Digest: func() DigestConfig { d := on(nil); d.Path = "./digests/archive.ndjson"; return d }(),
		}, digestPath: "./digests/archive.ndjson"},
		// Digests off: the file exporter's settings, all of them.
		{name: "off_compressed"},
		{name: "compressed", validateErr: `compression "zstd": the archive readers read uncompressed JSON lines`},
		{name: "grouped", validateErr: "group_by: the archive readers read one directory"},
		{name: "proto", validateErr: "format must be json"},
		// No rotation: the file exporter buffers and only logs a failed
		// flush; without append it also truncates path at every start.
		{name: "truncating", validateErr: "a rotation section is required"},
		{name: "append_no_rotation", validateErr: "a rotation section is required"},
		{name: "localtime", validateErr: "rotation::localtime"},
		{name: "digest_jsonl", validateErr: `must not contain ".jsonl"`},
		{name: "digest_is_path", validateErr: "digest::path is path"},
		{name: "no_storage", validateErr: "name a journal_storage or file_storage extension"},
		{name: "short_interval", validateErr: "digest::interval: 100ms is out of range"},
		{name: "unknown_digest_key", unmarshalErr: "keyfile"},
		{name: "unknown_file_key", unmarshalErr: "rotate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			sub, err := cm.Sub(component.NewIDWithName(NewFactory().Type(), tc.name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if tc.unmarshalErr != "" {
				require.ErrorContains(t, err, tc.unmarshalErr)
				return
			}
			require.NoError(t, err)
			err = confmap.Validate(cfg)
			if tc.validateErr != "" {
				require.ErrorContains(t, err, tc.validateErr)
				return
			}
			require.NoError(t, err)
			if tc.want != nil {
				assert.Equal(t, tc.want, cfg)
			}
			if tc.digestPath != "" {
				assert.Equal(t, tc.digestPath, cfg.digestPath())
			}
		})
	}
}

// The default is the file exporter's default with digests off.
func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.Equal(t, fileexporter.NewFactory().CreateDefaultConfig(), &cfg.Config)
	assert.False(t, cfg.Digest.Enabled())
	assert.Equal(t, digest.NewDefaultConfig(), cfg.Digest.Config)
}
