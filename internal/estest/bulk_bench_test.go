package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// BenchmarkBulk measures the double's cost per document of a 5 000-document
// bulk request, so the load harness can tell its own limits from the
// collector's.
func BenchmarkBulk(b *testing.B) {
	doc, err := os.ReadFile("../esdoc/testdata/full.json")
	if err != nil {
		b.Fatal(err)
	}
	doc = compact(b, doc)
	const docs = 5000
	s := New()
	h := s.Handler()
	b.ReportAllocs()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		var body bytes.Buffer
		for j := 0; j < docs; j++ {
			fmt.Fprintf(&body, `{"create":{"_index":"ev-1","_id":"ev-%d-%d"}}`+"\n", i, j)
			body.Write(doc)
			body.WriteByte('\n')
		}
		start := time.Now()
		req := httptest.NewRequest(http.MethodPost, "/_bulk", &body)
		req.Header.Set("Content-Type", "application/x-ndjson")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || bytes.Contains(rec.Body.Bytes(), []byte(`"errors":true`)) {
			b.Fatalf("bulk answered %d: %.300s", rec.Code, rec.Body.String())
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*docs), "ns/doc")
	b.ReportMetric(0, "ns/op")
}

func compact(tb testing.TB, doc []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, doc); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
