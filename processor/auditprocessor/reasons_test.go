package auditprocessor

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReasonCache(t *testing.T) {
	var c reasonCache
	calls := 0
	compute := func(a string) string { calls++; return "reason for " + a }

	assert.Equal(t, "reason for report.veiw", c.get("report.veiw", compute))
	assert.Equal(t, "reason for report.veiw", c.get("report.veiw", compute))
	assert.Equal(t, 1, calls, "a repeated action is explained once")

	long := strings.Repeat("x", reasonCacheMaxAction+1)
	c.get(long, compute)
	c.get(long, compute)
	assert.Equal(t, 3, calls, "a long action is never kept")
	assert.NotContains(t, c.m, long)

	for i := range 3 * reasonCacheSize {
		c.get("a"+strconv.Itoa(i), compute)
		assert.LessOrEqual(t, len(c.m), reasonCacheSize, "the cache stays bounded")
	}
}
