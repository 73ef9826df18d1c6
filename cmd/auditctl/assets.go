package main

import "io/fs"

// viewerAssets are the viewer's built files.
func viewerAssets() fs.FS { return nil }
