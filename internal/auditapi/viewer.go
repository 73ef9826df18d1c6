package auditapi

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// notBuilt answers / when the viewer's assets were not built into this
// binary.
const notBuilt = `<!doctype html><meta charset="utf-8"><title>Audit log</title>
<p>The viewer was not built into this binary: run <code>make build</code> (it needs Node.js and npm), then start the service again.
The API is at <code>/api/v1/</code>; its description at <a href="/api/v1/openapi.yaml">/api/v1/openapi.yaml</a>.`

// viewer serves the built assets under a policy that lets the page load
// nothing from elsewhere, and lets only FrameAncestors embed it.
func (s *Server) viewer() http.Handler {
	ancestors := "'self'"
	if len(s.cfg.FrameAncestors) > 0 {
		ancestors = strings.Join(s.cfg.FrameAncestors, " ")
	}
	csp := "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors " + ancestors
	var files http.Handler
	if s.cfg.Assets != nil {
		if _, err := fs.Stat(s.cfg.Assets, "index.html"); err == nil {
			files = http.FileServerFS(s.cfg.Assets)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the viewer is read with GET", http.StatusMethodNotAllowed)
			return
		}
		if files == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(notBuilt))
			return
		}
		if base := path.Base(r.URL.Path); strings.HasPrefix(base, ".") || base == "README.md" {
			http.NotFound(w, r) // the build's stamp and dist's README are not the viewer's
			return
		}
		if r.URL.Path == "/embed" {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/embed.html"
			r = r2
		}
		files.ServeHTTP(w, r)
	})
}
