package catalog

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts answers for every action
// it lists; what it refuses names the file on every line of the error.
func FuzzParse(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, and a whole
	// shipped catalog takes it minutes.
	f.Add([]byte(header + "  - {name: report.view, group: Report, categories: [view_data], ecs: {category: [web], type: [access]}, description: d}\n"))
	f.Add([]byte(header + "  - {name: a, group: G, categories: [viewdata], description: d}\n  - {name: b}\n"))
	f.Add([]byte("catalog: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		c, err := Parse("f.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "catalog f.yaml") && !strings.HasPrefix(line, "  ") {
					t.Fatalf("an error line does not name the file: %q", line)
				}
			}
			return
		}
		for _, a := range c.Actions() {
			if got, ok := c.Lookup(a.Name); !ok || got != a {
				t.Fatalf("%q is listed but not found", a.Name)
			}
			if s, ok := c.Suggest(a.Name); !ok || s != a.Name {
				t.Fatalf("Suggest(%q) = %q, %v", a.Name, s, ok)
			}
		}
	})
}

// FuzzSuggest: Suggest never panics, and what it suggests is in the catalog.
func FuzzSuggest(f *testing.F) {
	c, err := Load("../../config/catalogs/codatum.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"report.veiw", "ReportView", "", "x", strings.Repeat("a", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if s, ok := c.Suggest(name); ok {
			if _, found := c.Lookup(s); !found {
				t.Fatalf("Suggest(%q) = %q, not in the catalog", name, s)
			}
		}
	})
}
