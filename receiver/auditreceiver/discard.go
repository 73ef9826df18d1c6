package auditreceiver

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// discardRest reads and throws away what is left of a body the handler
// refused before its end, up to max_discard_size, after sending the
// answer. A client that sends its whole body before it reads (Python's
// http.client and requests do) otherwise writes into a closed connection
// and gets a reset instead of the answer. The read is paced as the body
// was (min_body_rate) and lasts at most body_read_timeout after the
// answer: it holds the request's slot, and a client trickling at
// min_body_rate must not hold it for as long as max_discard_size takes at
// that pace. A body that declares more than the bound is not read: it
// would be cut off anyway. Nor is the body of a request that expects 100
// Continue and was answered before its body was asked for: the server
// sends no 100 Continue after an answer, so the client sends no body.
// HTTP/2 refuses a stream, not the connection, so needs none of this.
// It returns the bytes it threw away.
func discardRest(req *http.Request, st *reqState) int64 {
	limit := st.cfg.MaxDiscardSize
	if limit <= 0 || req.ProtoMajor != 1 || req.Body == nil || req.Body == http.NoBody {
		return 0
	}
	st.mu.Lock()
	read, asked := st.read, st.asked
	st.mu.Unlock()
	if req.ContentLength > 0 && req.ContentLength-read > limit {
		return 0
	}
	if !asked && expectsContinue(req) {
		return 0
	}
	// The deadline comes before the answer is flushed: the server may read
	// a little of the body itself before it writes the header.
	st.mu.Lock()
	st.drainBy = time.Now().Add(st.cfg.BodyReadTimeout)
	st.mu.Unlock()
	st.setReadDeadline(read)
	if st.rc != nil {
		_ = st.rc.Flush()
	}
	n, _ := io.CopyN(io.Discard, &pacedBody{ReadCloser: req.Body, st: st}, limit)
	return n
}

// expectsContinue reports whether the client waits for 100 Continue before
// it sends the body.
func expectsContinue(req *http.Request) bool {
	for _, v := range req.Header.Values("Expect") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "100-continue") {
				return true
			}
		}
	}
	return false
}

// refusedEarly reports whether an answer may leave the body unread and
// should be followed by discardRest: client errors, but for a body too
// slow (408), which is not worth waiting for.
func refusedEarly(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout
}
