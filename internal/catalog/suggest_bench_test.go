package catalog

import "testing"

// BenchmarkSuggest explains one misspelt action against the shipped
// catalogs, as the processor does for a quarantined record it has not seen.
func BenchmarkSuggest(b *testing.B) {
	c, err := Load("../../config/catalogs/codatum.yaml", "../../config/catalogs/wherobots.yaml", "../../config/catalogs/analytics.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Suggest("report.veiw"); !ok {
			b.Fatal("no suggestion for report.veiw")
		}
	}
}
