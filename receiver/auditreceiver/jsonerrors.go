package auditreceiver

import (
	"net/http"
	"strings"
)

// jsonErrors makes an error answer JSON when whoever gave it (the server's
// mux, the authenticator, the decompressor, a body limit) wrote text or
// nothing: its text becomes the error.
type jsonErrors struct {
	http.ResponseWriter
	code    int  // of an answer being rewritten
	started bool // an answer was passed through
	text    []byte
}

const maxErrorText = 1024

func (j *jsonErrors) WriteHeader(code int) {
	if j.started || j.code != 0 {
		return
	}
	if code >= 400 && !isJSON(j.Header().Get("Content-Type")) {
		j.code = code
		return
	}
	if code >= 200 {
		j.started = true
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrors) Write(p []byte) (int, error) {
	if !j.started && j.code == 0 {
		j.WriteHeader(http.StatusOK)
	}
	if j.code != 0 {
		if room := maxErrorText - len(j.text); room > 0 {
			j.text = append(j.text, p[:min(len(p), room)]...)
		}
		return len(p), nil
	}
	return j.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (j *jsonErrors) Unwrap() http.ResponseWriter { return j.ResponseWriter }

func (j *jsonErrors) finish() {
	if j.code == 0 {
		return
	}
	msg := strings.TrimSpace(strings.ToValidUTF8(string(j.text), "\uFFFD"))
	if msg == "" {
		msg = http.StatusText(j.code)
	}
	h := j.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	j.ResponseWriter.WriteHeader(j.code)
	_ = writeJSON(j.ResponseWriter, answer{Error: msg})
}

func isJSON(contentType string) bool {
	return strings.HasPrefix(strings.TrimSpace(contentType), "application/json")
}
