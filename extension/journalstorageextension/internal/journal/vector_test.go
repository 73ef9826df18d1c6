package journal

import (
	"bytes"
	"strings"
	"testing"
)

// The record written with pwritev is byte for byte the one appendRecord
// lays out, and names the same value offsets.
func TestVectorRecordMatchesAppendRecord(t *testing.T) {
	tests := map[string][]write{
		"deletes only":     {{kind: opDelete, key: "a"}, {kind: opDelete, key: "b"}},
		"one set":          {{kind: opSet, key: "k", value: []byte("v")}},
		"queue put":        {{kind: opSet, key: "qmv0", value: []byte{1, 2, 3}}, {kind: opSet, key: "17", value: bytes.Repeat([]byte("x"), 100_000)}},
		"set, delete, set": {{kind: opSet, key: "a", value: []byte("1")}, {kind: opDelete, key: "b"}, {kind: opSet, key: "c", value: nil}},
		"empty value":      {{kind: opSet, key: strings.Repeat("k", 300), value: []byte{}}},
		"no writes":        nil,
	}
	for name, writes := range tests {
		t.Run(name, func(t *testing.T) {
			want, wantOffs := appendRecord(nil, writes, nil)
			_, iov, _, n, offs := vectorRecord(nil, nil, nil, writes, nil)
			got := bytes.Join(iov, nil)
			if !bytes.Equal(want, got) || n != len(got) {
				t.Fatalf("vectored record differs: %d bytes (n=%d), want %d", len(got), n, len(want))
			}
			if len(wantOffs) != len(offs) {
				t.Fatalf("offsets %v, want %v", offs, wantOffs)
			}
			for i := range offs {
				if offs[i] != wantOffs[i] {
					t.Fatalf("offsets %v, want %v", offs, wantOffs)
				}
			}
		})
	}
}
