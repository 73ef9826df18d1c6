package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// normalizeArgs turns a Go-flag style long flag (-since 7d,
// -output=json), which auditctl took before it moved to cobra, into
// --since: scripts written for the earlier command line keep working.
// Only names of auditctl's flags are turned, never a flag's value
// (--es-password -abc keeps its value), nor anything after "--".
func normalizeArgs(args []string) []string {
	takesValue := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { takesValue[f.Name] = f.NoOptDefVal == "" })
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(newRoot(context.Background(), io.Discard, io.Discard))
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			if name, _, _ := strings.Cut(a[1:], "="); len(name) > 1 {
				if _, ok := takesValue[name]; ok {
					a = "-" + a
				}
			}
		}
		out = append(out, a)
		if name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "="); strings.HasPrefix(a, "--") && !hasValue && takesValue[name] && i+1 < len(args) {
			// The next argument is this flag's value, whatever it looks like.
			i++
			out = append(out, args[i])
		}
	}
	return out
}
