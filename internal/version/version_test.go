package version

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The constants must say what builder-config.yaml builds.
func TestMatchesBuilderConfig(t *testing.T) {
	raw, err := os.ReadFile("../../builder-config.yaml")
	require.NoError(t, err)
	var cfg struct {
		Dist struct {
			Version string `yaml:"version"`
		} `yaml:"dist"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	assert.Equal(t, cfg.Dist.Version, Version, "builder-config.yaml dist.version")
	pin := func(module string) string {
		m := regexp.MustCompile(regexp.QuoteMeta(module) + ` (v[0-9.]+)`).FindSubmatch(raw)
		require.NotNil(t, m, module)
		return string(m[1])
	}
	assert.Equal(t, pin("go.opentelemetry.io/collector/receiver/otlpreceiver"), Collector, "the collector core pin")
	assert.Equal(t, pin("opentelemetry-collector-contrib/extension/healthcheckextension"), Contrib, "the contrib pin")
	assert.Equal(t, "0.1.0 (OpenTelemetry Collector "+Collector+", contrib "+Contrib+")", String())
}
