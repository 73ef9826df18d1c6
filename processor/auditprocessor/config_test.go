package auditprocessor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/internal/configdir"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	return comptest.Load[Config](t, metadata.Type, name, createDefaultConfig)
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, &Config{
		Catalogs:         []string{"../../config/catalogs/codatum.yaml"},
		ActionAttributes: []string{"event.name", "event.action"},
		UnknownActions:   PolicyQuarantine,
		MaskEmails:       true,
	}, cfg)

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, &Config{
		Catalogs:         []string{"../../config/catalogs/codatum.yaml", "../../config/catalogs/analytics.yaml"},
		ActionAttributes: []string{"action", "event.name"},
		UnknownActions:   PolicyDrop,
		MaskEmails:       false,
		Pseudonym:        PseudonymConfig{Key: "0123456789abcdef0123456789abcdef", TrustSenderHash: true},
		Attributes: AttributesConfig{
			Default: AttributeRule{Deny: []string{"db.query.text"}},
			Groups:  map[string]AttributeRule{"Connection": {Allow: []string{"connection.name", "query_job.id"}}},
		},
	}, cfg)
}

func TestConfigErrors(t *testing.T) {
	tests := map[string]string{
		"bad_policy":         `unknown_actions: "accept" is not a policy; use "quarantine" or "drop"`,
		"no_catalogs":        "catalogs: at least one catalog file is required",
		"both_lists":         "attributes.default: set allow or deny, not both",
		"unknown_group":      `attributes.groups.Notebooks: no catalog has a group named "Notebooks"`,
		"deny_core":          `attributes.default.deny: "user.email" is a core audit attribute`,
		"short_key":          "pseudonym.key: 5 bytes is too short",
		"missing_catalog":    `catalogs: "../../config/catalogs/nope.yaml" is not in the collector's working directory ` + cwd(t) + `: a relative path is read from the config file's directory, else from the working directory; fix the path, or use an absolute one`,
		"unknown_key":        `unknown configuration key(s) "mask_email"; the keys are action_attributes, attributes, catalogs, mask_emails, pseudonym, unknown_actions`,
		"unknown_nested_key": `pseudonym: unknown configuration key(s) "kye"; the keys are key, trust_sender_hash`,
		"unknown_group_key":  `attributes.groups.Connection: unknown configuration key(s) "alow"; the keys are allow, deny`,
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func cwd(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}

func TestPseudonymKeyIsOpaque(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	assert.Equal(t, "[REDACTED]", conf.Get("pseudonym::key"))
}

// A relative catalog path is read from the config file's directory when the
// command line recorded it, and from the working directory otherwise.
func TestCatalogPathFromConfigDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "catalogs"), 0o755))
	src, err := os.ReadFile("../../config/catalogs/codatum.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "catalogs", "mine.yaml"), src, 0o644))
	t.Cleanup(func() { configdir.Set("") })

	cfg := createDefaultConfig().(*Config)
	cfg.Catalogs = []string{"catalogs/mine.yaml"}
	configdir.Set("")
	err = cfg.Validate()
	require.Error(t, err, "not in the working directory, and no config directory known")
	assert.Contains(t, err.Error(), `catalogs: "catalogs/mine.yaml" is not in the collector's working directory`)

	configdir.Set(dir)
	require.NoError(t, cfg.Validate(), "beside the config file")
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.Positive(t, p.cat.Len())

	cfg.Catalogs = []string{"catalogs/other.yaml"}
	err = cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `catalogs: "catalogs/other.yaml" is neither in the config file's directory `+dir+` nor in the collector's working directory`)

	cfg.Catalogs = []string{"../../config/catalogs/codatum.yaml"}
	require.NoError(t, cfg.Validate(), "not beside the config file: the working directory's, as before")
}
