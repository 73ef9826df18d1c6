package auditreceiver

import (
	"io"
	"net/http"
)

// discardRest reads and throws away what is left of a body the handler
// refused before its end, up to max_discard_size, after sending the
// answer. A client that sends its whole body before it reads (Python's
// http.client and requests do) otherwise writes into a closed connection
// and gets a reset instead of the answer. The read is paced as the body
// was (min_body_rate, body_read_timeout) and holds the request's slot, so
// it costs what reading an accepted body of that size would. A body that
// declares more than the bound is not read: it would be cut off anyway.
// HTTP/2 refuses a stream, not the connection, so needs none of this.
func discardRest(req *http.Request, st *reqState) {
	limit := st.cfg.MaxDiscardSize
	if limit <= 0 || req.ProtoMajor != 1 || req.Body == nil || req.Body == http.NoBody {
		return
	}
	st.mu.Lock()
	read := st.read
	st.mu.Unlock()
	if req.ContentLength > 0 && req.ContentLength-read > limit {
		return
	}
	if st.rc != nil {
		_ = st.rc.Flush()
	}
	_, _ = io.CopyN(io.Discard, &pacedBody{ReadCloser: req.Body, st: st}, limit)
}

// refusedEarly reports whether an answer may leave the body unread and
// should be followed by discardRest: client errors, but for a body too
// slow (408), which is not worth waiting for.
func refusedEarly(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout
}
