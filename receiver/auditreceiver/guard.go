package auditreceiver

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// guard is the outermost handler, in front of authentication and
// decompression. It bounds requests in progress, paces request bodies,
// keeps the write deadline ahead of a slow import, and makes every error
// answer below it JSON.
type guard struct {
	r        *auditReceiver
	next     http.Handler
	base     context.Context // canceled when shutdown cuts requests
	requests chan struct{}   // a slot per request in progress
	imports  chan struct{}   // a slot per import in progress
	inflight sync.WaitGroup
	// drained counts the bytes discardRest read and threw away, over all
	// requests: what refused bodies cost after their answers.
	drained atomic.Int64

	mu     sync.Mutex
	active map[*reqState]struct{}
}

func newGuard(r *auditReceiver, next http.Handler, base context.Context) *guard {
	return &guard{
		r: r, next: next, base: base,
		requests: make(chan struct{}, r.cfg.MaxConcurrentRequests),
		imports:  make(chan struct{}, r.cfg.MaxConcurrentImports),
		active:   map[*reqState]struct{}{},
	}
}

func (g *guard) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	g.inflight.Add(1)
	defer g.inflight.Done()
	st := &reqState{cfg: g.r.cfg, rc: http.NewResponseController(w), start: time.Now(), ctx: req.Context(), shutdown: g.base}
	g.mu.Lock()
	g.active[st] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.active, st)
		g.mu.Unlock()
	}()
	// Bound the body from the start, even if no handler reads it: the
	// server drains what is left after the answer. Without a body the
	// server is already reading behind the handler, and a deadline there
	// would cancel the request.
	if req.Body != nil && req.Body != http.NoBody {
		st.setReadDeadline(0)
	}

	endpoint := endpointOf(req.URL.Path)
	select {
	case g.requests <- struct{}{}:
		defer func() { <-g.requests }()
	default:
		g.busy(w, req, endpoint, fmt.Sprintf("more than %d requests in progress (max_concurrent_requests)", g.r.cfg.MaxConcurrentRequests))
		return
	}
	if endpoint == pathImport {
		select {
		case g.imports <- struct{}{}:
			defer func() { <-g.imports }()
		default:
			g.busy(w, req, endpoint, fmt.Sprintf("more than %d imports in progress (max_concurrent_imports)", g.r.cfg.MaxConcurrentImports))
			return
		}
	}

	// "identity" is no encoding; the decompressor knows only "".
	if enc := req.Header.Get("Content-Encoding"); strings.EqualFold(strings.TrimSpace(enc), "identity") {
		req.Header.Del("Content-Encoding")
	}
	st.compressed = req.Header.Get("Content-Encoding") != ""
	// A copy: the server looks at the original's body after the answer,
	// to drain it or close the connection.
	paced := req.WithContext(context.WithValue(req.Context(), stateKey{}, st))
	paced.Body = &pacedBody{ReadCloser: req.Body, st: st}
	jw := &jsonErrors{ResponseWriter: w}
	func() {
		defer jw.finish()
		g.next.ServeHTTP(jw, paced)
	}()
	if st.discard {
		g.drained.Add(discardRest(req, st))
	}
}

// busy answers 503 without reading the body, and closes the connection so
// that a client cannot hold it past its answer.
func (g *guard) busy(w http.ResponseWriter, req *http.Request, endpoint, msg string) {
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(g.r.cfg.RetryAfter.Seconds()))))
	g.r.reply(w, req, endpoint, http.StatusServiceUnavailable, answer{Error: msg + "; retry after the Retry-After delay"})
}

// interrupt wakes every request blocked reading its body, once their
// contexts are canceled: the read fails, and the handler answers 503.
func (g *guard) interrupt() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for st := range g.active {
		if st.rc != nil {
			_ = st.rc.SetReadDeadline(time.Now())
		}
	}
}

// wait waits for requests in progress until ctx is done.
func (g *guard) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func endpointOf(path string) string {
	switch path {
	case pathEvents, pathImport:
		return path
	}
	return "other"
}

type stateKey struct{}

// reqState is what the guard knows of a request, for the handlers.
type reqState struct {
	cfg        *Config
	rc         *http.ResponseController
	ctx        context.Context // the request's
	shutdown   context.Context // done when shutdown cuts requests
	start      time.Time
	compressed bool // sent with a Content-Encoding
	discard    bool // answered with the body perhaps unread: see discardRest

	mu         sync.Mutex
	read       int64
	asked      bool      // the body was read from: 100 Continue, if expected, was sent
	drainBy    time.Time // once set, by discardRest, the latest read deadline
	tooSlow    bool
	writeSetAt time.Time
}

func stateOf(req *http.Request) *reqState {
	if st, ok := req.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	// A handler called without the guard (not in the receiver): no pacing.
	return &reqState{cfg: &Config{}, ctx: req.Context(), shutdown: context.Background(), start: time.Now()}
}

// setReadDeadline moves the read deadline to body_read_timeout after the
// start plus the time min_body_rate allows for read bytes, capped by
// read_timeout, which bounds the whole request when set, and by the end
// of the drain once one started (discardRest).
func (st *reqState) setReadDeadline(read int64) {
	if st.rc == nil || st.cfg.BodyReadTimeout <= 0 {
		return
	}
	d := st.cfg.BodyReadTimeout
	if st.cfg.MinBodyRate > 0 {
		d += time.Duration(float64(read) / float64(st.cfg.MinBodyRate) * float64(time.Second))
	}
	if rt := st.cfg.ServerConfig.ReadTimeout; rt > 0 && d > rt {
		d = rt
	}
	deadline := st.start.Add(d)
	st.mu.Lock()
	if !st.drainBy.IsZero() && st.drainBy.Before(deadline) {
		deadline = st.drainBy
	}
	st.mu.Unlock()
	_ = st.rc.SetReadDeadline(deadline)
}

// keepWriting moves the write deadline to write_timeout from now: the
// server set it when the request arrived, and an import can take longer
// than that before it answers. Called as work progresses (throttled to
// once a second) and before an answer (force).
func (st *reqState) keepWriting(force bool) {
	wt := st.cfg.ServerConfig.WriteTimeout
	if st.rc == nil || wt <= 0 {
		return
	}
	now := time.Now()
	st.mu.Lock()
	if !force && now.Sub(st.writeSetAt) < time.Second {
		st.mu.Unlock()
		return
	}
	st.writeSetAt = now
	st.mu.Unlock()
	_ = st.rc.SetWriteDeadline(now.Add(wt))
}

// slow reports whether the body was cut off for its pace.
func (st *reqState) slow() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.tooSlow
}
