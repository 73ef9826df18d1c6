package estest

import (
	"os"
	"testing"
)

// BenchmarkDocCheck is the mapping check alone, per document.
func BenchmarkDocCheck(b *testing.B) {
	doc, err := os.ReadFile("../esdoc/testdata/full.json")
	if err != nil {
		b.Fatal(err)
	}
	doc = compact(b, doc)
	s := New()
	installAudit(b, s.Handler())
	s.mu.Lock()
	ix, err := s.newIndex("logs-audit.view_data-org_7-2025.11.01", "", nil, nil)
	s.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := ix.check.runWith("x", doc); err != nil {
			b.Fatal(err)
		}
	}
}
