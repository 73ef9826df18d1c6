package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	ourversion "github.com/otelcol-audit/otelcol-audit/internal/version"
)

// version is auditctl's release, the collector distribution's by default
// (one source, checked against builder-config.yaml); `make build` may stamp
// another with -ldflags "-X main.version=…".
var version = ourversion.Version

// printVersion writes the release, and the commit when the build knows it.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "auditctl %s (for OpenTelemetry Collector %s; %s, %s/%s)", version, ourversion.Collector, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				fmt.Fprintf(w, " commit %s", s.Value[:12])
			}
		}
	}
	fmt.Fprintln(w)
}
