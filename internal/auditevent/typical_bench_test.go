package auditevent

import (
	"bytes"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// BenchmarkTypicalNDJSON: 1000 events shaped like the README's example.
func BenchmarkTypicalNDJSON(b *testing.B) {
	line := strings.ReplaceAll(full, "\n", "")
	body := []byte(strings.Repeat(line+"\n", 1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := decoder()
		d.MaxEvents = 0
		recs := plog.NewLogRecordSlice()
		probs := &Problems{}
		if err := d.DecodeNDJSON(bytes.NewReader(body), recs, probs); err != nil || probs.Len() > 0 {
			b.Fatal(err, probs.List)
		}
	}
}
