package digest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The payload is what encoding/json writes: verifiers in any language are
// told so, and a digest read back must encode to the bytes signed.
func FuzzPayload(f *testing.F) {
	f.Add("col-1/org_7", "ev-1", "logs-audit-org_7-2026.12.01", "", int64(0), uint64(1), 3, true, false)
	f.Add("c\u2028<&>\"\\\x00\x1f\x7f", "\xff\xfe\xed\xa0\x80é\t\n\r\b\f", "", "prev", int64(-5e17), uint64(1<<63), -1, false, true)
	f.Fuzz(func(t *testing.T, chain, id, index, prev string, ns int64, seq uint64, count int, dead, final bool) {
		from := time.Unix(0, ns).UTC()
		d := Digest{Version: Version, Chain: chain, Seq: seq, Previous: prev, From: from, To: from.Add(time.Minute),
			Count: count, Events: []Entry{{ID: id, SHA256: prev, Index: index, Dead: dead, Conflict: final, Unconfirmed: dead != final},
				{ID: index, SHA256: id}}, Final: final, KeyID: id}
		want, werr := json.Marshal(d)
		got, gerr := Payload(d)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("json: %v, ours: %v", werr, gerr)
		}
		if werr == nil && string(got) != string(want) {
			t.Fatalf("ours\n%s\njson\n%s", got, want)
		}
	})
}

func TestPayloadOfAnEmptyDigest(t *testing.T) {
	got, err := Payload(Digest{})
	require.NoError(t, err)
	want, err := json.Marshal(Digest{Events: []Entry{}})
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}
