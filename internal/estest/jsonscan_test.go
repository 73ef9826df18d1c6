package estest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzScanner holds the double's JSON scanner to jsontext's validation
// (strict RFC 8259, no duplicate names, valid UTF-8), which is what
// Elasticsearch's parser refuses too, for inputs without lone surrogate
// escapes (which the two treat differently) and within the nesting bound.
func FuzzScanner(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":"\u0061","\u0061":1}`, `{"a":[1,2,{"b":null}],"c":true}`,
		`{"a":"x\"y\\z\/\b\f\n\r\t"}`, `{"a":-0.5e+10}`, `{"a":01}`, `{"a":1.}`, `{"a":"\x01"}`, `{"a":"\xff"}`,
		`{"a":1,}`, `[1,2]`, `{"a"}`, `{"a":tru}`, `{"é":"ü"}`, `{"a":{"b":{"c":{}}}} `, `{"a":1} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if bytes.Contains(bytes.ToLower(doc), []byte(`\ud`)) || bytes.Count(doc, []byte("{"))+bytes.Count(doc, []byte("[")) > 500 {
			t.Skip()
		}
		s := scanner{b: doc}
		_, err := s.skip(0)
		ok := err == nil && s.atEnd()
		want := jsontext.Value(doc).IsValid()
		if ok != want {
			t.Fatalf("scanner says valid=%v (%v), jsontext says %v, for %q", ok, err, want, doc)
		}
		if ok && bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{")) {
			// The mapping check reads the same documents the same way.
			c := docCheck{ix: &index{mapping: &fieldMapping{typ: "object", dynamic: "true", props: map[string]*fieldMapping{}}}}
			if err := c.runWith("x", doc); err != nil && !strings.Contains(err.Error(), "nested too deeply") {
				t.Fatalf("the mapping check refused a valid document %q: %v", doc, err)
			}
		}
	})
}
