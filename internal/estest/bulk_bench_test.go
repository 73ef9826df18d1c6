package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkBulk measures the double's cost per document of a 5 000-document
// bulk request, so the load harness can tell its own limits from the
// collector's: into an index with the audit mapping (every document checked
// against it), and into one with a dynamic mapping.
func BenchmarkBulk(b *testing.B) {
	doc, err := os.ReadFile("../esdoc/testdata/full.json")
	if err != nil {
		b.Fatal(err)
	}
	doc = compact(b, doc)
	for _, tc := range []struct{ name, index string }{
		{"audit_mapping", "logs-audit.view_data-org_7-2025.11.01"},
		{"dynamic", "plain"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := New()
			h := s.Handler()
			installAudit(b, h)
			const docs = 5000
			b.ReportAllocs()
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				var body bytes.Buffer
				for j := 0; j < docs; j++ {
					fmt.Fprintf(&body, `{"create":{"_index":%q,"_id":"ev-%d-%d"}}`+"\n", tc.index, i, j)
					body.Write(doc)
					body.WriteByte('\n')
				}
				start := time.Now()
				rec := serve(h, http.MethodPost, "/_bulk", body.String())
				if rec.Code != 200 || bytes.Contains(rec.Body.Bytes(), []byte(`"errors":true`)) {
					b.Fatalf("bulk answered %d: %.300s", rec.Code, rec.Body.String())
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*docs), "ns/doc")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// installAudit puts the shipped mapping and settings in place, as the
// exporter's bootstrap would, for the view_data tier.
func installAudit(tb testing.TB, h http.Handler) {
	for name, file := range map[string]string{"audit@mappings": "component-template-mappings.json", "audit@settings": "component-template-settings.json"} {
		raw, err := os.ReadFile("../../config/elasticsearch/" + file)
		if err != nil {
			tb.Fatal(err)
		}
		if rec := serve(h, http.MethodPut, "/_component_template/"+name, string(raw)); rec.Code != 200 {
			tb.Fatalf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
	}
	if rec := serve(h, http.MethodPut, "/_index_template/audit-view_data", `{"index_patterns":["logs-audit.view_data-*"],"priority":200,"allow_auto_create":true,"composed_of":["audit@mappings","audit@settings"]}`); rec.Code != 200 {
		tb.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

func compact(tb testing.TB, doc []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, doc); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}
