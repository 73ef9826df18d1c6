package estest

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Request bodies in, Elasticsearch's answer and error shapes out.

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		rd = gz
	}
	return io.ReadAll(rd)
}

// writeJSON answers with v. Elasticsearch sends X-Elastic-Product on every
// answer (since 7.14), which go-elasticsearch checks on the first 2xx one.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// esError is Elasticsearch's error object: type, reason, and optionally a
// cause and extra keys (index, resource.id).
type esError struct {
	Type   string
	Reason string
	Extra  map[string]any
}

func (e esError) object() map[string]any {
	m := map[string]any{"type": e.Type, "reason": e.Reason}
	for k, v := range e.Extra {
		m[k] = v
	}
	return m
}

// writeError answers in Elasticsearch's error shape. Source:
// specification/_types/Errors.ts (ErrorResponseBase: error, status).
func writeError(w http.ResponseWriter, code int, typ, reason string) {
	writeErr(w, code, esError{Type: typ, Reason: reason})
}

func writeErr(w http.ResponseWriter, code int, e esError) {
	obj := e.object()
	root := e.object()
	obj["root_cause"] = []any{root}
	writeJSON(w, code, map[string]any{"error": obj, "status": code})
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func acknowledged(w http.ResponseWriter) { writeJSON(w, 200, map[string]any{"acknowledged": true}) }
