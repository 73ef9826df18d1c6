package jsonlimitextension

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readDepth reads body through a depthReader of limit max, a few bytes
// at a time so that the state carries across reads.
func readDepth(body string, max int) ([]byte, error) {
	d := &depthReader{body: io.NopCloser(iotest.HalfReader(strings.NewReader(body))), max: max}
	return io.ReadAll(d)
}

func TestDepthReader(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		max     int
		refused bool
	}{
		{"flat object", `{"a":1}`, 1, false},
		{"at the limit", `{"a":[{"b":[1]}]}`, 4, false},
		{"one past the limit", `{"a":[{"b":[[1]]}]}`, 4, true},
		{"brackets inside strings do not count", `{"a":"[[[[[{{{{{"}`, 1, false},
		{"escaped quote keeps the string open", `{"a":"\"[[[[["}`, 1, false},
		{"escaped backslash closes the string", `{"a":"\\","b":[[1]]}`, 2, true},
		{"siblings do not add up", `[[1],[2],[3],[4],[5]]`, 2, false},
		{"empty", ``, 1, false},
		{"deep", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), 128, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := readDepth(tt.body, tt.max)
			if tt.refused {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "nested deeper than")
				assert.Contains(t, err.Error(), "max_depth")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.body, string(out), "the body passes unchanged")
		})
	}
}

// The refusal stops the read at the offending byte: the handler behind
// never receives the rest of a hostile body.
func TestDepthReaderStopsAtTheOffendingByte(t *testing.T) {
	body := `{"a":` + strings.Repeat(`[`, 20) + strings.Repeat(`]`, 20) + `}`
	out, err := readDepth(body, 10)
	require.ErrorContains(t, err, "at byte 14")
	assert.Equal(t, body[:14], string(out))
	_, err2 := (&depthReader{body: io.NopCloser(strings.NewReader("")), err: err}).Read(make([]byte, 1))
	assert.Equal(t, err, err2, "later reads keep failing")
}

// jsonDepth is the nesting encoding/json sees, or -1 for invalid JSON.
func jsonDepth(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			return -1
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// For valid JSON the reader refuses exactly when encoding/json's tokenizer
// finds the nesting past the limit, and passes the bytes unchanged.
func FuzzDepthReader(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"[\"{"}]}`, `[[[[]]]]`, `"\\"`, `{"x":"\u005b"}`, strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit uint8) {
		want := jsonDepth(body)
		if want < 0 {
			return
		}
		max := int(limit%40) + 1
		out, err := readDepth(string(body), max)
		if want > max {
			if err == nil {
				t.Fatalf("depth %d passed limit %d", want, max)
			}
			return
		}
		if err != nil {
			t.Fatalf("depth %d refused at limit %d: %v", want, max, err)
		}
		if !bytes.Equal(out, body) {
			t.Fatal("body changed")
		}
	})
}
