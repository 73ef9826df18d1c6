package auditcsv

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

const row1 = "2025-11-20T10:00:00Z,jane@example.com,notebook.open"

func TestHeaderCaseInsensitive(t *testing.T) {
	in := "time,USER,Action,ip address,user agent,REGION,properties\n" +
		row1 + ",203.0.113.9,curl/8,eu,\"{\"\"n\"\":1}\"\n"
	recs, probs, err := readAll(t, in)
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	require.Equal(t, 1, recs.Len())
	attrs := recs.At(0).Attributes().AsRaw()
	assert.Equal(t, "jane@example.com", attrs[fields.UserEmail])
	assert.Equal(t, "203.0.113.9", attrs[fields.ClientAddress])
	assert.Equal(t, "curl/8", attrs[fields.UserAgent])
	assert.Equal(t, "eu", attrs[fields.CloudRegion])
	assert.Equal(t, int64(1), attrs["n"])
}

// A column we do not know becomes a string property named by propertyKey.
func TestUnknownColumnsBecomeProperties(t *testing.T) {
	in := "Time,User,Action,Ticket No.,Colour,  Cost Centre (EU) \n" +
		row1 + ",T-1,red, 42 \n" +
		row1 + ",,=blue,\n"
	recs, probs, err := readAll(t, in)
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	require.Equal(t, 2, recs.Len())
	a0, a1 := recs.At(0).Attributes().AsRaw(), recs.At(1).Attributes().AsRaw()
	assert.Equal(t, "T-1", a0["ticket_no"])
	assert.Equal(t, "red", a0["colour"])
	assert.Equal(t, "42", a0["cost_centre_eu"], "a string, trimmed as every field is")
	assert.NotContains(t, a1, "ticket_no", "an empty cell adds no property")
	assert.NotContains(t, a1, "cost_centre_eu")
	assert.Equal(t, "=blue", a1["colour"])
}

func TestPropertyKey(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "Ticket", want: "ticket"},
		{in: "Ticket No.", want: "ticket_no"},
		{in: "ticket-no", want: "ticket_no"},
		{in: "  Cost   Centre (EU)", want: "cost_centre_eu"},
		{in: "user.email", want: "user_email"},
		{in: "audit.route", want: "audit_route"},
		{in: "Région", want: "région"},
		{in: "ÄRGER", want: "ärger"},
		{in: "a\xffb", want: "a_b"},
		{in: "2fa", want: "2fa"},
		{in: "", err: "no letter or digit"},
		{in: " -- ", err: "no letter or digit"},
		{in: strings.Repeat("x", maxKeyLen), want: strings.Repeat("x", maxKeyLen)},
		{in: strings.Repeat("x", maxKeyLen+1), err: "longer than " + strconv.Itoa(maxKeyLen)},
	}
	for _, tt := range tests {
		got, err := propertyKey(tt.in)
		if tt.err != "" {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestUnknownColumnHeaderErrors(t *testing.T) {
	lim := limits
	lim.Properties = auditevent.PropertyLimits{MaxKeys: 2, MaxValues: 100}
	tests := map[string]string{
		"Time,User,Action,Ticket No,ticket-no\n": `line 1: columns "Ticket No" and "ticket-no" both become the property "ticket_no"; rename one`,
		"Time,User,Action,time\n":                `line 1: column "Time" appears twice`,
		"Time,User,Action,,x\n":                  `line 1, column 4 (""): no letter or digit to name a property`,
		"Time,User,Action,a,b,c\n":               "line 1: 3 columns we do not know would become properties; max_property_keys is 2",
		"Time,User,Action,EventID\n":             `line 1, column 4 ("EventID"): did you mean the column "Event ID"? Spell it as the export does`,
		"Time,User,Action,IP_Address\n":          `line 1, column 4 ("IP_Address"): did you mean the column "IP Address"?`,
	}
	for in, want := range tests {
		_, err := NewReader(strings.NewReader(in), lim)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
	lim.Properties = auditevent.PropertyLimits{MaxKeys: 10, MaxValues: 2}
	_, err := NewReader(strings.NewReader("Time,User,Action,a,b,c\n"), lim)
	assert.ErrorContains(t, err, "line 1: 3 columns we do not know would become properties; max_property_values is 2")
}

// Columns we do not know share the property limits with the Properties
// column, and may not repeat one of its keys.
func TestUnknownColumnsShareLimits(t *testing.T) {
	lim := limits
	lim.Properties = auditevent.PropertyLimits{MaxKeys: 3, MaxValues: 4}
	r, err := NewReader(strings.NewReader("Time,User,Action,Properties,Ticket,Colour\n"+
		row1+`,"{""a"":1}",T-1,red`+"\n"+ // 3 keys: fine
		row1+`,"{""a"":1,""b"":2}",T-1,red`+"\n"+ // 4 keys
		row1+`,"{""a"":[1,2]}",T-1,red`+"\n"+ // 5 values
		row1+`,"{""ticket"":1}",T-1,`+"\n"+ // the same key twice
		row1+`,"{""ticket"":1}",,`+"\n"), lim) // the column is empty: fine
	require.NoError(t, err)
	var got []string
	probs := &auditevent.Problems{}
	for {
		lr := plog.NewLogRecord()
		before := probs.Len()
		if err := r.Next(lr, now, probs); err != nil {
			break
		}
		if probs.Len() == before {
			got = append(got, "ok")
		}
	}
	for _, p := range probs.List {
		got = append(got, strconv.Itoa(p.Line)+":"+p.Field+":"+p.Reason)
	}
	assert.Equal(t, []string{
		"ok", "ok",
		"3:Properties:properties: more than 3 keys in one object (max_property_keys)",
		"4:Properties:properties.a[]: more than 4 values in the event's properties (max_property_values)",
		`5:Properties:key "ticket" is also the column "Ticket": keep one`,
	}, got)
}

func FuzzPropertyKey(f *testing.F) {
	for _, s := range []string{"Ticket No.", "", "user.email", "Région", "a\xffb", "__", strings.Repeat("é", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, err := propertyKey(in)
		if err != nil {
			return
		}
		if key == "" || len(key) > maxKeyLen || !utf8.ValidString(key) || fields.IsCore(key) {
			t.Fatalf("propertyKey(%q) = %q", in, key)
		}
		if strings.HasPrefix(key, "_") || strings.HasSuffix(key, "_") || strings.Contains(key, "__") {
			t.Fatalf("propertyKey(%q) = %q: untidy underscores", in, key)
		}
		for _, c := range key {
			if c != '_' && !isKeyRune(c) {
				t.Fatalf("propertyKey(%q) = %q: holds %q", in, key, c)
			}
		}
		if again, err := propertyKey(key); err != nil || again != key {
			t.Fatalf("PropertyKey is not stable on %q: %q, %v", key, again, err)
		}
	})
}

// A row with the wrong number of fields is measured against the whole
// header, columns we do not know included.
func TestFieldCountCountsEveryColumn(t *testing.T) {
	r, err := NewReader(strings.NewReader("Time,User,Action,Ticket\n"+row1+"\n"), limits)
	require.NoError(t, err)
	probs := &auditevent.Problems{Max: 10}
	require.NoError(t, r.Next(plog.NewLogRecord(), time.Now(), probs))
	require.Len(t, probs.List, 1)
	assert.Equal(t, "3 fields, but the header has 4", probs.List[0].Reason)
}
