package auditquery

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden request bodies")

// Golden request bodies: the exact JSON auditctl sends to _search.
func TestGoldenBodies(t *testing.T) {
	from := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		q     Query
		size  int
		after []json.RawMessage
		pit   string
	}{
		{"match_all", Query{}, 50, nil, ""},
		{"every_filter", Query{From: from, To: to, Text: "Quarter*ly?", User: "***@example.com", Action: "report.view", Category: "view_data",
			ResourceType: "report", ResourceID: "r-9", Outcome: "failure", IP: "203.0.113.0/24"}, 100, nil, ""},
		{"pseudonym_and_page_2", Query{User: "5f2b9c"}, 100, []json.RawMessage{json.RawMessage(`1763632800123456789`), json.RawMessage(`12`)}, "pit-id-2"},
		{"quarantined", Query{Quarantined: true, Action: "report.veiw"}, 50, nil, ""},
		{"export_first_page", Query{From: from}, 5000, nil, "pit-id-1"},
		{"export_with_pit", Query{From: from}, 5000, []json.RawMessage{json.RawMessage(`1763632800123456789`), json.RawMessage(`4096`)}, "pit-id-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Body(tt.size, tt.after, tt.pit)
			require.NoError(t, err)
			path := filepath.Join("testdata", tt.name+".json")
			if *update {
				var v any
				require.NoError(t, json.Unmarshal(got, &v))
				pretty, _ := json.MarshalIndent(v, "", "  ")
				require.NoError(t, os.WriteFile(path, append(pretty, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update")
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 11, 20, 15, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"yesterday": time.Date(2025, 11, 19, 0, 0, 0, 0, time.UTC),
		"2d":        now.AddDate(0, 0, -2), "7d": now.AddDate(0, 0, -7), "30d": now.AddDate(0, 0, -30), "90d": now.AddDate(0, 0, -90),
		"12h": now.Add(-12 * time.Hour),
	} {
		got, err := ParseSince(in, now, time.UTC)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	got, err := ParseSince("yesterday", now, tokyo)
	require.NoError(t, err)
	assert.Equal(t, "2025-11-20T00:00:00+09:00", got.Format(time.RFC3339), "yesterday is the local day")
	for _, bad := range []string{"", "soon", "-2d", "0d"} {
		_, err := ParseSince(bad, now, time.UTC)
		assert.ErrorContains(t, err, "use yesterday, 2d", bad)
	}
}

func TestParseTimeAndValidate(t *testing.T) {
	got, err := ParseTime("--from", "2025-11-20", time.UTC)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC), got)
	_, err = ParseTime("--to", "20/11/2025", time.UTC)
	assert.ErrorContains(t, err, "--to \"20/11/2025\": use RFC 3339")
	assert.ErrorContains(t, Query{From: got, To: got.Add(-time.Hour)}.Validate(), "is before --from")
	assert.ErrorContains(t, Query{IP: "300.1.1.1"}.Validate(), "--ip")
	assert.NoError(t, Query{IP: "2001:db8::/32"}.Validate())
	assert.ErrorContains(t, Query{ResourceID: "x"}.Validate(), "TYPE:ID")
}

// A filter that would silently match everything, or nothing by a typo, is
// refused with the form expected.
func TestUnclearFiltersAreRefused(t *testing.T) {
	for in, want := range map[string]string{
		"":          "--resource \"\": use TYPE or TYPE:ID",
		":":         "--resource \":\": use TYPE or TYPE:ID",
		"notebook:": "--resource \"notebook:\": use TYPE or TYPE:ID",
		":nb-1":     "--resource \":nb-1\": use TYPE or TYPE:ID",
		" ":         "--resource \" \": use TYPE or TYPE:ID",
		" :nb-1":    "--resource \" :nb-1\": use TYPE or TYPE:ID",
	} {
		_, _, err := ParseResource(in)
		assert.ErrorContains(t, err, want, "%q", in)
	}
	for in, want := range map[string][2]string{
		"notebook":      {"notebook", ""},
		"notebook:nb-1": {"notebook", "nb-1"},
		"s3:arn:aws:x":  {"s3", "arn:aws:x"},
	} {
		typ, id, err := ParseResource(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]string{typ, id}, in)
	}
	for name, tt := range map[string]struct {
		q    Query
		want string
	}{
		"blank text":     {Query{Text: "  "}, "free text \"  \" is blank"},
		"blank user":     {Query{User: " "}, "--user \" \" is blank"},
		"blank action":   {Query{Action: "\t"}, "--action \"\\t\" is blank"},
		"blank category": {Query{Category: " "}, "--category \" \" is blank"},
		"outcome typo":   {Query{Outcome: "failed"}, "--outcome \"failed\": use success, failure or unknown"},
		"host bits":      {Query{IP: "203.0.113.7/24"}, "--ip \"203.0.113.7/24\": the prefix has bits set past /24; use 203.0.113.0/24"},
		"zone":           {Query{IP: "fe80::1%eth0"}, "--ip \"fe80::1%eth0\": use an address"},
	} {
		assert.ErrorContains(t, tt.q.Validate(), tt.want, name)
	}
	for _, ok := range []Query{{Outcome: "unknown"}, {IP: "0.0.0.0/0"}, {IP: "2001:db8::/32"}, {Text: "a b"}} {
		assert.NoError(t, ok.Validate(), "%+v", ok)
	}
}

func FuzzParseResource(f *testing.F) {
	for _, s := range []string{"", ":", "notebook", "notebook:", ":nb", "notebook:nb-1", "s3:arn:aws:x", " : "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, id, err := ParseResource(s)
		if err != nil {
			return
		}
		if strings.TrimSpace(typ) == "" || (strings.Contains(s, ":") && strings.TrimSpace(id) == "") {
			t.Fatalf("ParseResource(%q) = %q, %q: accepted an empty part", s, typ, id)
		}
		if back := typ + map[bool]string{true: ":" + id}[strings.Contains(s, ":")]; back != s {
			t.Fatalf("ParseResource(%q) = %q, %q: does not give the input back", s, typ, id)
		}
	})
}

// An --ip that passes Validate means one exact set of addresses.
func FuzzValidateIP(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "203.0.113.0/24", "203.0.113.7/24", "2001:db8::/32", "fe80::1%eth0", "::ffff:1.2.3.4", "0.0.0.0/0", "/", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || (Query{IP: s}).Validate() != nil { // "" is no filter
			return
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			if p.Masked() != p {
				t.Fatalf("%q accepted with host bits set", s)
			}
			return
		}
		if a, err := netip.ParseAddr(s); err != nil || a.Zone() != "" {
			t.Fatalf("%q accepted but is no address", s)
		}
	})
}
