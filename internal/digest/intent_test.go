package digest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIntentRoundTrip(t *testing.T) {
	h := func(s string) string { return DocumentHash([]byte(s)) }
	for name, ps := range map[string][]Pending{
		"empty": nil,
		"one":   {{Namespace: "default", Entry: Entry{ID: "a", SHA256: h("a"), Index: "logs-audit-default-2026.12.01"}}},
		"repeats and changes": {
			{Namespace: "org_1", Entry: Entry{ID: "a", SHA256: h("a"), Index: "i1"}},
			{Namespace: "org_1", Entry: Entry{ID: "b", SHA256: h("b"), Index: "i1", Dead: true}},
			{Namespace: "org_2", Entry: Entry{ID: "c", SHA256: h("c"), Index: "i2", Conflict: true}},
			{Namespace: "org_2", Entry: Entry{ID: "", SHA256: h(""), Index: "", Dead: true, Conflict: true}},
			{Namespace: "", Entry: Entry{ID: strings.Repeat("é\x00", 300), SHA256: h("x"), Index: ""}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := encodeIntent(ps)
			require.NoError(t, err)
			got, err := decodeIntent(b)
			require.NoError(t, err)
			assert.Equal(t, ps, got)
		})
	}
	_, err := encodeIntent([]Pending{{Entry: Entry{ID: "x", SHA256: "not hex"}}})
	assert.ErrorContains(t, err, "not a hex SHA-256")
	for _, bad := range []string{"", "\x02", "\x01\x00", "\x01\x02a\x02b\x01x", "\x01\x02a\x02b\x7fx"} {
		_, err := decodeIntent([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

// The storage directory is input too: any bytes decode or fail, never
// panic, and what decodes encodes back to itself.
func FuzzDecodeIntent(f *testing.F) {
	seed, _ := encodeIntent([]Pending{{Namespace: "n", Entry: Entry{ID: "a", SHA256: DocumentHash(nil), Index: "i", Dead: true}},
		{Namespace: "n", Entry: Entry{ID: "b", SHA256: DocumentHash([]byte("b")), Index: "j"}}})
	f.Add(seed)
	f.Add([]byte{1})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := decodeIntent(b)
		if err != nil {
			return
		}
		again, err := encodeIntent(ps)
		if err != nil {
			t.Fatalf("decoded %v does not encode: %v", ps, err)
		}
		ps2, err := decodeIntent(again)
		if err != nil || len(ps2) != len(ps) {
			t.Fatalf("re-encoded intent does not decode the same: %v", err)
		}
		for i := range ps {
			if ps[i] != ps2[i] {
				t.Fatalf("entry %d: %+v then %+v", i, ps[i], ps2[i])
			}
		}
	})
}
