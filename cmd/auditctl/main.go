// Command auditctl administers the audit store: `setup` installs the
// Elasticsearch assets, roles and Kibana saved objects; `search` and
// `export` read the log; `catalog lint` and `catalog docs` check and
// document catalogs. Run `auditctl --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
)

func main() {
	// Ctrl-C stops an export cleanly (its partial file removed); a second
	// one kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		printError(os.Stderr, err)
		// verify exits 1 on findings and 2 on usage or input errors.
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}

// printError writes err for a person: an error may quote what a sender
// wrote (an Elasticsearch reason, a decoder's context), so every line is
// escaped; the error's own line breaks are kept.
func printError(w io.Writer, err error) {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = auditctl.Printable(l)
	}
	fmt.Fprintln(w, "auditctl:", strings.Join(lines, "\n"))
}

// run loads the config file (flag defaults come from it), then runs the
// command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := loadConfigFile(normalizeArgs(args))
	if err != nil {
		return err
	}
	root := newRoot(ctx, stdout, stderr)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		// cobra indents its suggestions with a tab, which printError
		// would show as \t.
		err = errors.New(strings.ReplaceAll(err.Error(), "\t", "  "))
	}
	return err
}

// stdin is where a secret file named - is read from (tests replace it).
var stdin io.Reader = os.Stdin
