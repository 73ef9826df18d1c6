package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: a table or a progress bar
// is for a person, JSON for a pipe or a file (/dev/null included, a
// character device that is no terminal).
var isTerminal = stdTerminal

func stdTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
