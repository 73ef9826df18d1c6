package auditevent

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// event wraps a properties object in an otherwise valid event.
func event(props string) string {
	return `{"time":1763805600,"action":"a","properties":` + props + `}`
}

// keys is an object of n distinct keys.
func keys(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	b.WriteByte('}')
	return b.String()
}

// nest puts v under n levels of objects (o) or arrays (a).
func nest(kind byte, n int, v string) string {
	open, close := `{"a":`, `}`
	if kind == 'a' {
		open, close = `[`, `]`
	}
	return strings.Repeat(open, n) + v + strings.Repeat(close, n)
}

// At each limit the event is accepted; one past it, refused with a reason
// naming the limit and its configuration key.
func TestPropertyLimits(t *testing.T) {
	lim := PropertyLimits{MaxDepth: 4, MaxKeys: 5, MaxValues: 12}
	tests := []struct {
		name   string
		props  string
		field  string // of the problem; "" when accepted
		reason string
	}{
		{"keys at the limit", keys(5), "", ""},
		{"keys past the limit", keys(6), "properties", "more than 5 keys in one object (max_property_keys)"},
		{"nested keys past the limit", `{"x":` + keys(6) + `}`, "properties.x", "more than 5 keys in one object (max_property_keys)"},
		{"object depth at the limit", `{"x":` + nest('o', 3, "1") + `}`, "", ""},
		{"object depth past the limit", `{"x":` + nest('o', 4, "1") + `}`, "properties.x.a.a.a.a", "nested deeper than 4 levels below properties (max_property_depth)"},
		{"array depth at the limit", `{"x":` + nest('a', 3, "1") + `}`, "", ""},
		{"array depth past the limit", `{"x":` + nest('a', 4, "1") + `}`, "properties.x[][][][]", "nested deeper than 4 levels below properties (max_property_depth)"},
		{"empty container past the depth", `{"x":` + nest('a', 5, "") + `}`, "properties.x[][][][]", "nested deeper than 4 levels below properties (max_property_depth)"},
		{"values at the limit", `{"x":[1,2,3,4,5,6,7,8,9,10],"y":1}`, "", ""},
		{"values past the limit", `{"x":[1,2,3,4,5,6,7,8,9,10],"y":{"z":1}}`, "properties.y.z", "more than 12 values in the event's properties (max_property_values)"},
		{"deep nesting far past every limit", `{"x":` + nest('a', 9000, "") + `}`, "properties.x[][][][]", "nested deeper than 4 levels below properties (max_property_depth)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decoder()
			d.Properties = lim
			recs := plog.NewLogRecordSlice()
			probs := &Problems{}
			require.NoError(t, d.DecodeJSON(strings.NewReader(event(tt.props)), recs, probs))
			if tt.field == "" {
				require.Zero(t, probs.Len(), "%+v", probs.List)
				return
			}
			require.NotZero(t, probs.Len())
			assert.Equal(t, Problem{Index: idx(0), Field: tt.field, Reason: tt.reason}, probs.List[0])
			assert.Equal(t, 1, probs.Len(), "one problem per limit, not one per key past it: %+v", probs.List)
		})
	}
}

// NDJSON names the line; the CSV Properties column shares the limits.
func TestPropertyLimitsNDJSONAndCSV(t *testing.T) {
	d := decoder()
	d.Properties = PropertyLimits{MaxKeys: 3}
	probs := &Problems{}
	body := event(keys(3)) + "\n" + event(keys(4)) + "\n"
	require.NoError(t, d.DecodeNDJSON(strings.NewReader(body), plog.NewLogRecordSlice(), probs))
	assert.Equal(t, []Problem{{Line: 2, Field: "properties", Reason: "more than 3 keys in one object (max_property_keys)"}}, probs.List)

	attrs := plog.NewLogRecord().Attributes()
	require.NoError(t, ReadProperties(keys(3), attrs, PropertyLimits{MaxKeys: 3}, 0))
	assert.Equal(t, 3, attrs.Len())
	err := ReadProperties(keys(4), plog.NewLogRecord().Attributes(), PropertyLimits{MaxKeys: 3}, 0)
	assert.EqualError(t, err, "properties: more than 3 keys in one object (max_property_keys)")

	// Keys taken elsewhere (CSV columns) count against the same limits.
	require.NoError(t, ReadProperties(keys(2), plog.NewLogRecord().Attributes(), PropertyLimits{MaxKeys: 3}, 1))
	err = ReadProperties(keys(3), plog.NewLogRecord().Attributes(), PropertyLimits{MaxKeys: 3}, 1)
	assert.EqualError(t, err, "properties: more than 3 keys in one object (max_property_keys)")
	err = ReadProperties(`{"a":[1]}`, plog.NewLogRecord().Attributes(), PropertyLimits{MaxKeys: 9, MaxValues: 3}, 2)
	assert.EqualError(t, err, "properties.a[]: more than 3 values in the event's properties (max_property_values)")
}

// Values keep their order and types, and nested objects and arrays keep
// their shape, whatever their size.
func TestPropertiesShape(t *testing.T) {
	recs, probs, err := decodeJSON(t, event(`{"s":"x","e":"","i":-7,"big":9007199254740993,"f":1.5,"t":true,"n":null,
		"o":{"b":[1,{"c":[]},[null,"y"]],"a":{}},"arr":[],"u":"é\u00e9"}`))
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	attrs := recs.At(0).Attributes()
	var order []string
	for k := range attrs.All() {
		order = append(order, k)
	}
	assert.Equal(t, []string{"s", "e", "i", "big", "f", "t", "n", "o", "arr", "u"}, order[:10], "properties come first, in the order sent")
	raw := attrs.AsRaw()
	assert.Equal(t, "x", raw["s"])
	assert.Equal(t, "", raw["e"])
	assert.Equal(t, int64(-7), raw["i"])
	assert.Equal(t, int64(9007199254740993), raw["big"])
	assert.Equal(t, 1.5, raw["f"])
	assert.Equal(t, true, raw["t"])
	assert.Nil(t, raw["n"])
	assert.Contains(t, raw, "n")
	assert.Equal(t, map[string]any{"b": []any{int64(1), map[string]any{"c": []any{}}, []any{nil, "y"}}, "a": map[string]any{}}, raw["o"])
	assert.Equal(t, []any{}, raw["arr"])
	assert.Equal(t, "éé", raw["u"])

	// The same event decoded twice gives the same attribute order, so
	// derived ids are stable.
	again, _, _ := decodeJSON(t, event(`{"s":"x","e":"","i":-7,"big":9007199254740993,"f":1.5,"t":true,"n":null,
		"o":{"b":[1,{"c":[]},[null,"y"]],"a":{}},"arr":[],"u":"é\u00e9"}`))
	assert.True(t, attrs.Equal(again.At(0).Attributes()))
}

func TestPropertyProblems(t *testing.T) {
	tests := []struct {
		props string
		want  []Problem
	}{
		{`{"user.email":"x","":1,"ok":1}`, []Problem{
			{Index: idx(0), Field: "properties.user.email", Reason: "reserved or empty name; core fields go in the event's own fields"},
			{Index: idx(0), Field: "properties.", Reason: "reserved or empty name; core fields go in the event's own fields"}}},
		{`{"a":[1e999],"b":{"c":-1e999}}`, []Problem{
			{Index: idx(0), Field: "properties.a[]", Reason: "number out of range"},
			{Index: idx(0), Field: "properties.b.c", Reason: "number out of range"}}},
		{`{"a":{"x":1,"x":2}}`, nil}, // a syntax error, below
	}
	for _, tt := range tests {
		_, probs, err := decodeJSON(t, event(tt.props))
		require.NoError(t, err)
		if tt.want == nil {
			require.Equal(t, 1, probs.Len())
			assert.Contains(t, probs.List[0].Reason, "duplicate object member name", "duplicate names are refused at every level")
			continue
		}
		assert.Equal(t, tt.want, probs.List, tt.props)
	}
}

// A key's length must not multiply with the number of values under it:
// paths for problems are built only when a problem is reported.
func TestLongKeysStayLinear(t *testing.T) {
	long := strings.Repeat("k", 1<<18)
	body := event(`{"` + long + `":` + keys(4000) + `}`)
	d := decoder()
	d.Properties.MaxKeys = 100000
	var ms0, ms1 runtimeStats
	ms0.read()
	recs := plog.NewLogRecordSlice()
	probs := &Problems{}
	require.NoError(t, d.DecodeJSON(strings.NewReader(body), recs, probs))
	ms1.read()
	require.Zero(t, probs.Len())
	assert.Less(t, ms1.totalAlloc-ms0.totalAlloc, uint64(64<<20), "allocations grow with the input (256 KiB + 4,000 keys), not with key length times keys")
}

// Problems echo what was sent, but bounded: a 1 MiB key must not make a
// 100 MiB answer.
func TestProblemsAreBounded(t *testing.T) {
	long := strings.Repeat("é", 1<<19)
	var b bytes.Buffer
	b.WriteString(`[`)
	for i := 0; i < 3; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"time":"` + long + `","action":"a","client":{"ip":"` + long + `"},"x` + long + `":1}`)
	}
	b.WriteString(`]`)
	recs := plog.NewLogRecordSlice()
	probs := &Problems{}
	require.NoError(t, decoder().DecodeJSON(&b, recs, probs))
	require.NotZero(t, probs.Len())
	for _, p := range probs.List {
		assert.LessOrEqual(t, len(p.Field), maxProblemText+len("…"), head(p.Field))
		assert.LessOrEqual(t, len(p.Reason), maxProblemText+len("…"), head(p.Reason))
		assert.True(t, strings.ToValidUTF8(p.Reason, "?") == p.Reason, "truncated on a rune boundary")
	}
}

func head(s string) string { return s[:min(len(s), 40)] }

type runtimeStats struct{ totalAlloc uint64 }

func (s *runtimeStats) read() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.totalAlloc = m.TotalAlloc
}

// FuzzProperties: any properties object either decodes with every value
// within the limits, or yields a problem; never a panic.
func FuzzProperties(f *testing.F) {
	lim := PropertyLimits{MaxDepth: 3, MaxKeys: 4, MaxValues: 10}
	for _, s := range []string{keys(4), keys(5), `{"x":` + nest('o', 2, "1") + `}`, `{"x":` + nest('o', 3, "1") + `}`,
		`{"x":` + nest('a', 3, "") + `}`, `{"x":[1,2,3,4,5,6,7,8,9]}`, `{"x":[1,2,3,4,5,6,7,8,9,10]}`, `{"a":null,"b":[{}],"c":"\u0000"}`,
		`{"user.email":1}`, `{"a":1e999}`, `{"a":{"b":1,"b":2}}`, `{"a":"\xff"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, props string) {
		attrs := plog.NewLogRecord().Attributes()
		if err := ReadProperties(props, attrs, lim, 0); err != nil {
			return
		}
		values := 0
		var walk func(v any, depth int)
		walk = func(v any, depth int) {
			if depth > lim.MaxDepth {
				t.Fatalf("accepted nesting deeper than %d: %q", lim.MaxDepth, props)
			}
			switch v := v.(type) {
			case map[string]any:
				if len(v) > lim.MaxKeys {
					t.Fatalf("accepted %d keys: %q", len(v), props)
				}
				for _, e := range v {
					values++
					walk(e, depth+1)
				}
			case []any:
				for _, e := range v {
					values++
					walk(e, depth+1)
				}
			}
		}
		walk(attrs.AsRaw(), 0)
		if values > lim.MaxValues {
			t.Fatalf("accepted %d values: %q", values, props)
		}
	})
}

// A line stopped by a syntax error or a limit is one problem, and the
// next line is read on.
func TestNDJSONStoppedLineIsOneProblem(t *testing.T) {
	d := decoder()
	d.Properties.MaxDepth = 3
	probs := &Problems{}
	recs := plog.NewLogRecordSlice()
	body := `{"a" 1}` + "\n" + event(`{"x":`+nest('a', 9990, "")+`}`) + "\n" + event(`{"x":1}`) + "\n"
	require.NoError(t, d.DecodeNDJSON(strings.NewReader(body), recs, probs))
	require.Len(t, probs.List, 2, "%+v", probs.List)
	assert.Equal(t, 1, probs.List[0].Line)
	assert.Contains(t, probs.List[0].Reason, "invalid JSON")
	assert.Equal(t, Problem{Line: 2, Field: "properties.x[][][]", Reason: "nested deeper than 3 levels below properties (max_property_depth)"}, probs.List[1])
}
