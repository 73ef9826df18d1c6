// Package collectorcmd adjusts the collector's command line, which the
// builder generates in cmd/otelcol-audit: scripts/generate.sh adds a call
// to Adjust after otelcol.NewCommand, so the change survives `make
// generate` and `make check-generated` holds it.
package collectorcmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otelcol-audit/otelcol-audit/internal/version"
)

// Adjust makes --version name the collector release too, and makes
// validate say that the configuration is valid (the collector's prints
// nothing on success).
func Adjust(cmd *cobra.Command) {
	cmd.Version = version.String()
	for _, sub := range cmd.Commands() {
		if sub.Name() == "validate" && sub.RunE != nil {
			sayValid(sub)
		}
	}
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
