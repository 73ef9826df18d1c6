package main

import (
	"io/fs"

	"github.com/otelcol-audit/otelcol-audit/web"
)

// viewerAssets are the viewer's files built into this binary (make web).
func viewerAssets() fs.FS { return web.Assets() }
