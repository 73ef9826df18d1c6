package journal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// appendRecord appends the record vectorRecord lays out, in one piece:
// tests build segment files with it.
func appendRecord(buf []byte, writes []write, valueOffsets []int) ([]byte, []int) {
	_, iov, _, _, offs := vectorRecord(nil, nil, nil, writes, valueOffsets)
	for _, piece := range iov {
		buf = append(buf, piece...)
	}
	return buf, offs
}

// The pieces vectorRecord writes make one record that replay reads back:
// its length and checksum hold, its ops decode to the writes, and each
// value offset points at that value.
func TestVectorRecordReadsBack(t *testing.T) {
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
			_, iov, _, n, offs := vectorRecord(nil, nil, nil, writes, nil)
			rec := bytes.Join(iov, nil)
			if n != len(rec) {
				t.Fatalf("n=%d, the pieces hold %d bytes", n, len(rec))
			}
			body := rec[recordHeaderLen:]
			if got := binary.LittleEndian.Uint32(rec); int(got) != len(body) {
				t.Fatalf("length %d, body %d", got, len(body))
			}
			if got := binary.LittleEndian.Uint32(rec[4:]); got != crc32.Checksum(body, castagnoli) {
				t.Fatal("checksum does not match the body")
			}
			ops, err := decodeBody(body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ops) != len(writes) {
				t.Fatalf("%d ops, want %d", len(ops), len(writes))
			}
			vi := 0
			for i, o := range ops {
				w := writes[i]
				if o.kind != w.kind || o.key != w.key {
					t.Fatalf("op %d is %d %q, want %d %q", i, o.kind, o.key, w.kind, w.key)
				}
				if w.kind != opSet {
					continue
				}
				if got := body[o.valOff : o.valOff+o.valLen]; !bytes.Equal(got, w.value) {
					t.Fatalf("op %d's value differs", i)
				}
				if offs[vi] != recordHeaderLen+o.valOff {
					t.Fatalf("value offset %d, the value is at %d", offs[vi], recordHeaderLen+o.valOff)
				}
				vi++
			}
			if vi != len(offs) {
				t.Fatalf("%d offsets for %d values", len(offs), vi)
			}
		})
	}
}
