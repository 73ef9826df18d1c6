// Package collectorcmd adjusts the collector's command line, which the
// builder generates in cmd/otelcol-audit: scripts/generate.sh adds a call
// to Adjust after otelcol.NewCommand, so the change survives `make
// generate` and `make check-generated` holds it.
package collectorcmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelcol-audit/otelcol-audit/internal/configdir"
	"github.com/otelcol-audit/otelcol-audit/internal/version"
)

// Adjust makes --version name the collector release too, makes validate
// say that the configuration is valid (the collector's prints nothing on
// success), and records the config file's directory for the paths the
// config names (internal/configdir).
func Adjust(cmd *cobra.Command) {
	cmd.Version = version.String()
	recordConfigDir(cmd)
	for _, sub := range cmd.Commands() {
		recordConfigDir(sub)
		if sub.Name() == "validate" && sub.RunE != nil {
			sayValid(sub)
		}
	}
}

// recordConfigDir wraps the command's --config flag so that every value
// it takes also goes to configdir.
func recordConfigDir(cmd *cobra.Command) {
	if f := cmd.Flags().Lookup("config"); f != nil {
		f.Value = &configRecorder{Value: f.Value}
	}
}

type configRecorder struct {
	pflag.Value
	uris []string
}

func (r *configRecorder) Set(v string) error {
	if err := r.Value.Set(v); err != nil {
		return err
	}
	r.uris = append(r.uris, v)
	configdir.Set(configdir.FromURIs(r.uris))
	return nil
}

func sayValid(validate *cobra.Command) {
	run := validate.RunE
	validate.RunE = func(c *cobra.Command, args []string) error {
		if err := run(c, args); err != nil {
			return err
		}
		what := "the configuration"
		if f := c.Flags().Lookup("config"); f != nil {
			// The collector's flag shows its values as "[a.yaml, b.yaml]".
			if s := strings.Trim(f.Value.String(), "[]"); s != "" {
				what = s
			}
		}
		_, err := fmt.Fprintf(c.OutOrStdout(), "%s: the configuration is valid\n", what)
		return err
	}
}
