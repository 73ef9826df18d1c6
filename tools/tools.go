//go:build tools

// Package tools pins the code generators the Makefile builds (mdatagen),
// apart from the distribution's own module.
package tools

import _ "go.opentelemetry.io/collector/cmd/mdatagen"
