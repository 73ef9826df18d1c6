package auditctl

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
)

// row is a matching event as the set sees it.
func row(i int) *auditcsv.Row {
	r := &auditcsv.Row{Categories: []string{"authentication"}, Event: auditevent.Event{ID: fmt.Sprintf("evt-%012d", i), Organization: "acme"}}
	r.Event.SetTime(time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond))
	return r
}

// bytesPerID measures what the set takes per distinct key: the heap
// after n adds, less the heap before, over n.
func bytesPerID(n int) float64 {
	rows := make([]*auditcsv.Row, n)
	for i := range rows {
		rows[i] = row(i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := newIDSet()
	for _, r := range rows {
		s.add(r)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	runtime.KeepAlive(rows)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// The README (Security, Limits) gives the memory of --archive's
// de-duplication: about 40 bytes per distinct matching event.
func TestIDSetBytesPerID(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a million keys")
	}
	for _, n := range []int{1 << 20, 3 << 19} {
		b := bytesPerID(n)
		t.Logf("%d keys: %.1f bytes each", n, b)
		assert.Less(t, b, 48.0, "README (Limits) says about 40 bytes per distinct matching event")
	}
}

func BenchmarkIDSetAdd(b *testing.B) {
	rows := make([]*auditcsv.Row, 1<<16)
	for i := range rows {
		rows[i] = row(i)
	}
	s := newIDSet()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rows[i%len(rows)]
		s.add(r)
	}
	b.StopTimer()
	b.ReportMetric(bytesPerID(1<<20), "bytes/id")
}
