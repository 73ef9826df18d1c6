// Package web holds the audit log viewer's built assets (web/dist: `make web`,
// or `cd web && npm ci && npm run build`), embedded into the binary that
// serves them. On a fresh clone dist/ holds only its README: the package
// compiles, and Built reports false.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets is the viewer's files rooted at dist: index.html, embed.html,
// viewer.js, viewer.css (and dist's README.md).
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: fs.Sub cannot fail on it
	}
	return sub
}

// Built reports whether the viewer was built into dist before this binary
// was compiled (dist/index.html is there).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}
