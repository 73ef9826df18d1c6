// Package version is the release of otelcol-audit and of the
// OpenTelemetry Collector it is built on, for every binary's version
// output. version_test.go holds them to builder-config.yaml, where the
// release is pinned.
package version

const (
	// Version is ours: builder-config.yaml's dist.version.
	Version = "0.1.0"
	// Collector is the collector core release (builder-config.yaml's pins).
	Collector = "v0.165.0"
	// Contrib is the collector-contrib release.
	Contrib = "v0.165.1"
)

// String is what --version shows after the command name:
// "0.1.0 (OpenTelemetry Collector v0.165.0, contrib v0.165.1)".
func String() string {
	return Version + " (OpenTelemetry Collector " + Collector + ", contrib " + Contrib + ")"
}
