package auditelasticsearchexporter

import (
	"sync"
	"time"
)

// rateLog lets a log line through at most every 10 seconds and counts what
// it held back.
type rateLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int64
}

func (r *rateLog) allow(now time.Time, n int) (bool, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.last) < 10*time.Second {
		r.suppressed += int64(n)
		return false, 0
	}
	r.last = now
	s := r.suppressed
	r.suppressed = 0
	return true, s
}
