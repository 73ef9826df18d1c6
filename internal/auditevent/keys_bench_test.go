package auditevent

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// manyKeys is one event whose properties hold n distinct keys.
func manyKeys(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"time":1763805600,"action":"a","properties":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// BenchmarkManyKeys shows the cost per key: flat across sizes when
// decoding is linear.
func BenchmarkManyKeys(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		body := manyKeys(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d := decoder()
			d.Properties.MaxKeys, d.Properties.MaxValues = n, n
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				recs := plog.NewLogRecordSlice()
				probs := &Problems{}
				if err := d.DecodeJSON(bytes.NewReader(body), recs, probs); err != nil || probs.Len() > 0 {
					b.Fatal(err, probs.List)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

// The cost per key must not grow with the number of keys. This compares
// the work per key at two sizes 50 times apart (a ratio, not a time
// bound): linear decoding gives about 1 (up to 3 on a busy machine), a
// per-put scan of the map about 50.
func TestManyKeysLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two benchmarks")
	}
	perKey := func(n int) float64 {
		body := manyKeys(n)
		best := 0.0
		for range 3 {
			r := testing.Benchmark(func(b *testing.B) {
				d := decoder()
				d.Properties.MaxKeys, d.Properties.MaxValues = n, n
				for i := 0; i < b.N; i++ {
					recs := plog.NewLogRecordSlice()
					probs := &Problems{}
					if err := d.DecodeJSON(bytes.NewReader(body), recs, probs); err != nil || probs.Len() > 0 {
						b.Fatal(err, probs.List)
					}
				}
			})
			if r.N == 0 {
				t.Fatalf("the benchmark at %d keys failed", n)
			}
			if v := float64(r.NsPerOp()) / float64(n); best == 0 || v < best {
				best = v
			}
		}
		return best
	}
	small, large := perKey(1000), perKey(50000)
	t.Logf("per key: %.0f ns at 1,000 keys, %.0f ns at 50,000", small, large)
	if large > 10*small {
		t.Fatalf("a key costs %.1f times more among 50,000 than among 1,000: decoding is not linear", large/small)
	}
}
