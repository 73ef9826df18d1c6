package auditcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
)

// hugeField produces, lazily, a header and a row whose Action is one
// quoted field of size bytes: the input never exists in memory.
type hugeField struct {
	head, tail string
	size, sent int
	read       int // bytes handed out, all parts
}

func newHugeField(size int) *hugeField {
	return &hugeField{head: seedHeader + "2025-11-20T10:00:00Z,a@example.com,\"", tail: "\",r,,,\n", size: size}
}

const seedHeader = "Time,User,Action,Resource,IP Address,User Agent,Region\n"

func (h *hugeField) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case h.head != "":
			c := copy(p[n:], h.head)
			h.head = h.head[c:]
			n += c
		case h.sent < h.size:
			c := min(len(p)-n, h.size-h.sent)
			for i := range c {
				p[n+i] = 'x'
			}
			h.sent += c
			n += c
		case h.tail != "":
			c := copy(p[n:], h.tail)
			h.tail = h.tail[c:]
			n += c
		default:
			h.read += n
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	h.read += n
	return n, nil
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// A 32 MiB quoted field is refused once the field limit is passed: what
// is read and allocated is bounded by the limits, not by the input.
func TestHugeFieldBoundedMemory(t *testing.T) {
	in := newHugeField(32 << 20)
	before := totalAlloc()
	r, err := NewReader(in, limits)
	require.NoError(t, err)
	probs := &auditevent.Problems{}
	err = r.Next(plog.NewLogRecord(), now, probs)
	allocated := totalAlloc() - before
	require.Error(t, err, "the rest of the file cannot be read")
	require.Equal(t, 1, probs.Len(), "%+v", probs.List)
	assert.Equal(t, auditevent.Problem{Line: 2, Field: "Action", Reason: "longer than 262144 bytes (max_import_field_size); the rest of the file was not read"}, probs.List[0])
	assert.Less(t, in.read, 300<<10, "reading stops at the limit")
	assert.Less(t, allocated, uint64(4<<20), "allocated %d bytes", allocated)
}

func TestRowAndFieldLimits(t *testing.T) {
	sizes := Sizes{MaxField: 24, MaxRow: 72}
	row := func(fields ...string) string { return strings.Join(fields, ",") + "\n" }
	ok := row("2025-11-20T10:00:00Z", "a@example.com", "Upload", "", "", "", "")
	tests := []struct {
		name string
		in   string
		line int
		col  string
		why  string
	}{
		{"field at the limit", seedHeader + row("2025-11-20T10:00:00Z", "a@example.com", strings.Repeat("a", 24), "", "", "", ""), 0, "", ""},
		{"quoted field at the limit", seedHeader + row("2025-11-20T10:00:00Z", "a@example.com", `"`+strings.Repeat("a", 22)+`"`, "", "", "", ""), 0, "", ""},
		{"field past the limit", seedHeader + row("2025-11-20T10:00:00Z", "a@example.com", strings.Repeat("a", 25), "", "", "", ""), 2, "Action", "longer than 24 bytes (max_import_field_size)"},
		{"quoted field past the limit", seedHeader + ok + row("2025-11-20T10:00:00Z", "a@example.com", "Upload", `"a,""b""`+"\n"+`c,d,efffffffffff"`, "", "", ""), 3, "Resource", "longer than 24 bytes (max_import_field_size)"},
		{"row at the limit", seedHeader + row("2025-11-20T10:00:00Z", "a@example.com", "Upload", "r", "1.2.3.4", "ua", strings.Repeat("x", 72-55)), 0, "", ""},
		{"row past the limit", seedHeader + row("2025-11-20T10:00:00Z", "a@example.com", "Upload", "r", "1.2.3.4", "ua", strings.Repeat("x", 73-55)), 2, "Region", "row longer than 72 bytes (max_import_row_size)"},
		{"lines inside quotes count for their row", seedHeader + row("2025-11-20T10:00:00Z", "a@example.com", "Upload", "\"a\n\n\n\n\n\n\n\n\n\n\nb\"", "", "", "") + ok + row("2025-11-20T10:00:00Z", "a@example.com", strings.Repeat("a", 25), "", "", "", ""), 15, "Action", "longer than 24 bytes (max_import_field_size)"},
		{"header past the limit", "Time,User,Action,Resource,IP Address,User Agent,Region,Organization,Message\n" + ok, 1, "", "line 1, column 9: row longer than 72 bytes (max_import_row_size); the rest of the file was not read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReaderSized(strings.NewReader(tt.in), limits, sizes)
			if tt.line == 1 {
				require.EqualError(t, err, tt.why)
				return
			}
			require.NoError(t, err)
			probs := &auditevent.Problems{}
			for err == nil {
				err = r.Next(plog.NewLogRecord(), now, probs)
			}
			if tt.line == 0 {
				require.ErrorIs(t, err, io.EOF)
				require.Zero(t, probs.Len(), "%+v", probs.List)
				return
			}
			require.False(t, errors.Is(err, io.EOF))
			require.Equal(t, 1, probs.Len(), "%+v", probs.List)
			assert.Equal(t, tt.line, probs.List[0].Line)
			assert.Equal(t, tt.col, probs.List[0].Field)
			assert.Contains(t, probs.List[0].Reason, tt.why)
		})
	}
}

// Invalid UTF-8 is refused as on the JSON path, naming line and column.
func TestInvalidUTF8(t *testing.T) {
	in := seedHeader + "2025-11-20T10:00:00Z,a@example.com,Upload,ok,,,\n" +
		"2025-11-20T10:00:00Z,a@example.com,Upload,b\xffad,,,\n"
	recs, probs, err := readAll(t, in)
	require.NoError(t, err)
	assert.Equal(t, 1, recs.Len())
	assert.Equal(t, []auditevent.Problem{{Line: 3, Field: "Resource", Reason: "invalid UTF-8 at byte 2 of the field; send UTF-8 (the JSON endpoint refuses it too)"}}, probs.List)
}

// FuzzBoundedRows: the bound follows encoding/csv's quoting. No field or
// row encoding/csv reads past the sizes gets through; nothing that fits
// them (at twice its length plus quotes) is stopped; what passes is a
// prefix of the input.
func FuzzBoundedRows(f *testing.F) {
	sizes := Sizes{MaxField: 8, MaxRow: 24}
	for _, s := range []string{"a,b\n", "12345678,1\n", "123456789,1\n", `"1234""56",1` + "\n", `"1234""567",1` + "\n",
		"\"a\nb\",c\r\n", "a,\"b\"c\n", "12345678,12345678,123456\n", "12345678,12345678,1234567\n", "\n\n,\n", "\ufeffa,b\n",
		"1234567\r\n", "\"a\r\n\r\nb\"\r\n", "\"\"\"\"\"\"\"\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(newBoundedRows(bytes.NewReader(in), sizes))
		var se *SizeError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("unexpected error %v", err)
		}
		if !bytes.HasPrefix(in, out) || (se == nil && len(out) != len(in)) {
			t.Fatalf("passed %q of %q", out, in)
		}
		cr := csv.NewReader(bytes.NewReader(in))
		cr.FieldsPerRecord = -1
		fits := true
		for {
			rec, err := cr.Read()
			if err != nil {
				fits = fits && errors.Is(err, io.EOF)
				break
			}
			row, raw := len(rec)-1, len(rec)-1 // decoded, and at most as sent
			for _, field := range rec {
				row += len(field)
				raw += 2*len(field) + 2
				if se == nil && len(field) > sizes.MaxField {
					t.Fatalf("a field of %d bytes got through: %q", len(field), in)
				}
				fits = fits && 2*len(field)+2 <= sizes.MaxField
			}
			if se == nil && row > sizes.MaxRow {
				t.Fatalf("a row of %d bytes got through: %q", row, in)
			}
			fits = fits && raw <= sizes.MaxRow
		}
		if fits && se != nil {
			t.Fatalf("stopped input that fits (%v): %q", se, in)
		}
	})
}
