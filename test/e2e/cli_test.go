package e2e

import (
	"os/exec"
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
