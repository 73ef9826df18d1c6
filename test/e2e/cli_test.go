package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// --version names our release and the collector's it is built on.
func TestVersionShowsOursAndCollectors(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	out, err := exec.Command(testcollector.Binary(t), "--version").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Regexp(t, `^otelcol-audit version [0-9]+\.[0-9]+\.[0-9]+ \(OpenTelemetry Collector v0\.[0-9]+\.[0-9]+, contrib v0\.[0-9]+\.[0-9]+\)\n$`, string(out))
}

// validate says so when the configuration is valid, and says why not
// otherwise.
func TestValidateSaysValid(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	bin := testcollector.Binary(t)
	cmd := exec.Command(bin, "validate", "--config", "config/local.yaml")
	cmd.Dir = repoRoot()
	out, err := cmd.Output()
	require.NoError(t, err, string(out))
	assert.Equal(t, "config/local.yaml: the configuration is valid\n", string(out))

	cmd = exec.Command(bin, "validate", "--config", "yaml:receivers::nope:")
	out, err = cmd.CombinedOutput()
	require.Error(t, err)
	assert.NotContains(t, string(out), "is valid")
	assert.True(t, strings.Contains(string(out), "nope"), string(out))
}

// A relative catalog path is read from the config file's directory, so a
// config and its catalogs can be moved together and started from anywhere.
func TestCatalogBesideTheConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "catalogs"), 0o755))
	src, err := os.ReadFile(filepath.Join(repoRoot(), "config", "catalogs", "codatum.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "catalogs", "codatum.yaml"), src, 0o644))
	cfg := filepath.Join(dir, "collector.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:0}
processors:
  audit:
    catalogs: [catalogs/codatum.yaml]
exporters:
  nop:
service:
  pipelines:
    logs: {receivers: [otlp], processors: [audit], exporters: [nop]}
`), 0o644))
	cmd := exec.Command(bin, "validate", "--config", cfg)
	cmd.Dir = t.TempDir() // neither the repository nor the config's directory
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, cfg+": the configuration is valid\n", string(out))
}
