package journal

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// BenchmarkBatchSync is the persistent queue's use of a client: put (the
// metadata and a 100 KiB item in one batch, then Sync, the point where
// the sender is acknowledged), get (the metadata and the item) and done
// (the metadata and the item's delete). MB/s counts items. "parallel"
// runs it from GOMAXPROCS×4 goroutines, which share fdatasyncs.
func BenchmarkBatchSync(b *testing.B) {
	const itemSize = 100 << 10
	item := make([]byte, itemSize)
	for i := range item {
		item[i] = byte(i)
	}
	meta := func(i int) *storage.Operation { return storage.SetOperation("meta", []byte(strconv.Itoa(i))) }
	one := func(b *testing.B, l *Log, i int) {
		key := "item-" + strconv.Itoa(i)
		if err := l.Batch(ctx, meta(i), storage.SetOperation(key, item)); err != nil {
			b.Fatal(err)
		}
		if err := l.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		g := storage.GetOperation(key)
		if err := l.Batch(ctx, meta(i), g); err != nil || len(g.Value) != itemSize {
			b.Fatalf("get %s: %v, %d bytes", key, err, len(g.Value))
		}
		if err := l.Batch(ctx, meta(i), storage.DeleteOperation(key)); err != nil {
			b.Fatal(err)
		}
	}
	for _, fsync := range []bool{false, true} {
		for _, parallel := range []bool{false, true} {
			b.Run(fmt.Sprintf("fsync=%t/parallel=%t", fsync, parallel), func(b *testing.B) {
				var syncs atomic.Int64
				l, err := Open(b.TempDir(), Options{SegmentSize: 64 << 20, Fsync: fsync, OnSync: func(int64) { syncs.Add(1) }})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close(ctx)
				b.SetBytes(itemSize)
				b.ReportAllocs()
				b.ResetTimer()
				if parallel {
					b.SetParallelism(4)
					var next atomic.Int64
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							one(b, l, int(next.Add(1)))
						}
					})
				} else {
					for i := 0; i < b.N; i++ {
						one(b, l, i)
					}
				}
				b.StopTimer()
				if fsync {
					b.ReportMetric(float64(b.N)/float64(syncs.Load()), "puts/sync")
				}
				b.ReportMetric(float64(l.Stats().Segments), "segments")
			})
		}
	}
}
