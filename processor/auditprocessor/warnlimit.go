package auditprocessor

import (
	"sync"
	"time"
)

// The unknown-action warning is logged at most warnBurst times per
// warnWindow: a sender of unknown actions must not flood the log.
const (
	warnBurst  = 10
	warnWindow = time.Minute
)

// warnLimit allows warnBurst lines per window and counts the rest, for
// the next line to report.
type warnLimit struct {
	mu         sync.Mutex
	start      time.Time
	used       int
	suppressed int64
}

// allow reports whether to log now, and how many lines were not logged
// since the last one that was.
func (l *warnLimit) allow(now time.Time) (bool, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= warnWindow {
		l.start, l.used = now, 0
	}
	if l.used >= warnBurst {
		l.suppressed++
		return false, 0
	}
	l.used++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}
