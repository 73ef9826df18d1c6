package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is auditctl's release; `make build` may stamp another with
// -ldflags "-X main.version=…".
var version = "0.1.0"

// printVersion writes the release, and the commit when the build knows it.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "auditctl %s (%s, %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				fmt.Fprintf(w, " commit %s", s.Value[:12])
			}
		}
	}
	fmt.Fprintln(w)
}
