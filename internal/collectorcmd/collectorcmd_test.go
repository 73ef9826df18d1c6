package collectorcmd

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/otelcol-audit/otelcol-audit/internal/configdir"
	"github.com/otelcol-audit/otelcol-audit/internal/version"
)

func TestVersion(t *testing.T) {
	cmd := otelcol.NewCommand(otelcol.CollectorSettings{BuildInfo: component.BuildInfo{Command: "otelcol-audit", Version: "0.1.0"}})
	Adjust(cmd)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--version"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, "otelcol-audit version "+version.String()+"\n", out.String())
}

// The collector's own validate, with no factories: it fails before this
// package's message; the message itself is tested on a stand-in.
func TestValidateFailsQuietly(t *testing.T) {
	cmd := otelcol.NewCommand(otelcol.CollectorSettings{BuildInfo: component.BuildInfo{Command: "otelcol-audit"}})
	Adjust(cmd)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"validate", "--config", "yaml:receivers::nope:"})
	require.Error(t, cmd.Execute())
	assert.NotContains(t, out.String(), "is valid")
}

func TestValidateSaysValid(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		runErr  error
		wantOut string
	}{
		{"one file", []string{"validate", "--config", "config/local.yaml"}, nil, "config/local.yaml: the configuration is valid\n"},
		{"two files", []string{"validate", "--config", "a.yaml", "--config", "b.yaml"}, nil, "a.yaml, b.yaml: the configuration is valid\n"},
		{"invalid", []string{"validate", "--config", "a.yaml"}, errors.New("receivers: nope"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := otelcol.NewCommand(otelcol.CollectorSettings{BuildInfo: component.BuildInfo{Command: "otelcol-audit"}})
			for _, c := range root.Commands() {
				if c.Name() == "validate" {
					c.RunE = func(*cobra.Command, []string) error { return tt.runErr }
				}
			}
			Adjust(root)
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&bytes.Buffer{})
			root.SetArgs(tt.args)
			err := root.Execute()
			assert.Equal(t, tt.runErr, err)
			assert.Equal(t, tt.wantOut, out.String())
		})
	}
}

// Every command that takes --config records the config file's directory,
// from which the processor reads relative catalog paths.
func TestConfigDirRecorded(t *testing.T) {
	t.Cleanup(func() { configdir.Set("") })
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"validate, one file", []string{"validate", "--config", "/etc/otelcol-audit/config.yaml"}, "/etc/otelcol-audit"},
		{"run, a file URI", []string{"--config", "file:/srv/audit/elasticsearch.yaml"}, "/srv/audit"},
		{"run, files in two directories", []string{"--config", "/a/one.yaml", "--config", "/b/two.yaml"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			configdir.Set("unset")
			cmd := otelcol.NewCommand(otelcol.CollectorSettings{BuildInfo: component.BuildInfo{Command: "otelcol-audit"}})
			Adjust(cmd)
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			_ = cmd.Execute() // no factories and no such files: it fails after the flags are parsed
			assert.Equal(t, tc.want, configdir.Dir())
		})
	}
}
