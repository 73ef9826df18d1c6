package auditctl

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileText holds what a sender could put in a field to take over the
// terminal of whoever reads the log: clear the screen, retitle the window,
// ring the bell, return to the start of the line to overwrite it, fake a
// row, reverse the text, and raw 8-bit CSI.
var hostileText = []struct{ in, want string }{
	{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
	{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
	{"ok\rEVIL", `ok\rEVIL`},
	{"a\nfake row", `a\nfake row`},
	{"a\tb", `a\tb`},
	{"del\x7f", `del\x7f`},
	{"c1\u009b31m", `c1\u009b31m`},
	{"bad\x9bbyte", `bad\x9bbyte`},
	{"admin\u202egnp.exe", `admin\u202egnp.exe`},
	{"\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
	{"line\u2028sep", `line\u2028sep`},
	{"Zoë 👩\u200d💻 C:\\x", "Zoë 👩\u200d💻 C:\\x"}, // printable text, emoji joiners and backslashes stay
}

func TestPrintable(t *testing.T) {
	for _, tt := range hostileText {
		assert.Equal(t, tt.want, Printable(tt.in), "%q", tt.in)
	}
}

// hostileDoc is a stored document whose fields carry hostileText.
func hostileDoc(t *testing.T, v string) []byte {
	t.Helper()
	d := map[string]any{
		"@timestamp": "2025-11-20T10:00:00Z",
		"event":      map[string]any{"id": v, "action": v, "outcome": v},
		"user":       map[string]any{"email": v},
		"audit":      map[string]any{"resource": map[string]any{"name": v}},
		"client":     map[string]any{"address": v},
		"user_agent": map[string]any{"original": v},
		"cloud":      map[string]any{"region": v},
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	return b
}

// assertInert fails when out holds anything a terminal acts on, other than
// the line ends the output itself writes.
func assertInert(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("invalid UTF-8 in %q", out)
		return
	}
	for i, r := range strings.TrimSuffix(out, "\n") {
		if r != '\n' && needsEscape(r) {
			t.Errorf("%U at byte %d in %q", r, i, out)
			return
		}
	}
}

func TestTableEscapesControlCharacters(t *testing.T) {
	for _, tt := range hostileText {
		var out bytes.Buffer
		w, err := newWriter(Table, &out, time.UTC)
		require.NoError(t, err)
		require.NoError(t, w.write(hostileDoc(t, tt.in)))
		require.NoError(t, w.flush())
		assertInert(t, out.String())
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		require.Len(t, lines, 2, "a header and one row: %q", out.String())
		if utf8.ValidString(tt.in) { // json.Marshal made the invalid byte U+FFFD
			assert.Contains(t, lines[1], tt.want)
		}
	}
}

// JSON output is for programs, but lands on terminals too (search --output
// json): what JSON allows raw (DEL, C1, bidi controls) is written as \u
// escapes, which every JSON reader decodes to the same value.
func TestJSONOutputEscapesControlCharacters(t *testing.T) {
	for _, tt := range hostileText {
		doc := hostileDoc(t, tt.in)
		var out bytes.Buffer
		w, err := newWriter(JSON, &out, time.UTC)
		require.NoError(t, err)
		require.NoError(t, w.write(doc))
		require.NoError(t, w.flush())
		assertInert(t, out.String())
		var got, want any
		require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
		require.NoError(t, json.Unmarshal(doc, &want))
		assert.Equal(t, want, got)
	}
}

// An error that names a document escapes what the sender wrote.
func TestErrorsEscapeEventData(t *testing.T) {
	_, err := RowOf([]byte(`{"@timestamp":"\u001b[2J","event":{"id":"\u001b]0;pwned\u0007"}}`))
	require.Error(t, err)
	assertInert(t, err.Error())
}

func FuzzPrintable(f *testing.F) {
	for _, tt := range hostileText {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Printable(s)
		assertInert(t, p)
		if !strings.ContainsFunc(s, needsEscape) && utf8.ValidString(s) && p != s {
			t.Fatalf("Printable(%q) = %q changed printable text", s, p)
		}
	})
}

func FuzzEscapeJSONControls(f *testing.F) {
	for _, tt := range hostileText {
		b, _ := json.Marshal(map[string]string{"k": tt.in})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want any
		if json.Unmarshal(b, &want) != nil || !utf8.Valid(b) {
			return
		}
		out := escapeJSONControls(b)
		assertInert(t, strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' {
				return ' ' // JSON whitespace between tokens
			}
			return r
		}, string(out)))
		var got any
		require.NoError(t, json.Unmarshal(out, &got), "%q", out)
		assert.Equal(t, want, got)
	})
}
