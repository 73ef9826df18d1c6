package auditprocessor

import "sync"

const (
	// reasonCacheSize bounds the unknown actions whose quarantine reason is
	// kept; past it the cache starts over.
	reasonCacheSize = 1024
	// reasonCacheMaxAction keeps long actions out of the cache, so that it
	// holds at most reasonCacheSize short strings. A long one is cheap to
	// explain anyway: Suggest compares names of at most 128 bytes.
	reasonCacheMaxAction = 256
)

// reasonCache keeps the quarantine reasons of recent unknown actions. A
// sender that repeats a misspelt action (the common case) costs a lookup
// instead of an edit distance against every catalog name per record.
type reasonCache struct {
	mu sync.Mutex
	m  map[string]string
}

// get returns action's reason, computing and keeping it when absent.
func (c *reasonCache) get(action string, compute func(string) string) string {
	if len(action) > reasonCacheMaxAction {
		return compute(action)
	}
	c.mu.Lock()
	r, ok := c.m[action]
	c.mu.Unlock()
	if ok {
		return r
	}
	r = compute(action)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= reasonCacheSize {
		c.m = make(map[string]string, reasonCacheSize)
	}
	c.m[action] = r
	c.mu.Unlock()
	return r
}
