package digest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Any JSON canonicalizes to valid JSON that canonicalizes to itself, so a
// hash does not depend on how the store wrote the properties.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":2}`, `[1,{"z":null,"y":"\u00e9"}]`, `1.50e3`, `"<&>"`, `{"a":{"a":{"a":[]}}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := canonicalJSON(raw)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("%q canonicalized to invalid %q", raw, c)
		}
		again, err := canonicalJSON(c)
		if err != nil || !bytes.Equal(again, c) {
			t.Fatalf("%q: not a fixed point: %q then %q (%v)", raw, c, again, err)
		}
	})
}
