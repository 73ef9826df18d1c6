package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// seedSegments writes real journals and returns their segments' bytes.
func seedSegments(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	for _, tc := range []struct {
		seed    uint64
		n, keys int
		segSize int64
	}{
		{seed: 1, n: 3, keys: 4, segSize: 1 << 20},
		{seed: 2, n: 20, keys: 1000, segSize: 512},
	} {
		dir, _ := writeJournal(f, tc.seed, tc.n, tc.keys, Options{SegmentSize: tc.segSize})
		names, _ := segments(f, dir)
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// validSegment is a segment of two records, for the layouts with a valid
// neighbour.
var validSegment = func() []byte {
	b := append([]byte(nil), magic[:]...)
	b, _ = appendRecord(b, []write{{kind: opSet, key: "neighbour", value: []byte("v")}}, nil)
	b, _ = appendRecord(b, []write{{kind: opDelete, key: "gone"}}, nil)
	return b
}()

// FuzzReplay feeds Open a segment with fuzzed bytes. layout%4: 0, the
// header then the bytes, as the only segment; 1, the bytes alone (the
// header fuzzed too); 2, header and bytes followed by a valid segment (a
// torn record there removes it); 3, a valid segment followed by header
// and bytes. Open must not panic, must not allocate in proportion to a
// length it read rather than to the file, and must either open (cutting a
// torn tail, after which a second open finds nothing torn and the same
// state) or refuse with one of its errors.
func FuzzReplay(f *testing.F) {
	for _, b := range seedSegments(f) {
		f.Add(uint8(0), b[headerLen:])
		f.Add(uint8(1), b)
		f.Add(uint8(2), b[headerLen:])
		f.Add(uint8(3), b[headerLen:])
		f.Add(uint8(0), b[headerLen:len(b)-3])
		f.Add(uint8(0), append(bytes.Clone(b[headerLen:]), make([]byte, 16)...))
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{})
	f.Add(uint8(1), magic[:5])
	f.Add(uint8(0), []byte{0xff, 0xff, 0xff, 0x3f, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, layout uint8, data []byte) {
		fuzzed := data
		if layout%4 != 1 {
			fuzzed = append(append([]byte(nil), magic[:]...), data...)
		}
		files := [][]byte{fuzzed}
		switch layout % 4 {
		case 2:
			files = [][]byte{fuzzed, validSegment}
		case 3:
			files = [][]byte{validSegment, fuzzed}
		}
		dir := t.TempDir()
		var total int64
		for i, b := range files {
			if err := os.WriteFile(filepath.Join(dir, segmentName(uint64(i+1))), b, 0o600); err != nil {
				t.Fatal(err)
			}
			total += int64(len(b))
		}
		var torn int64
		opts := Options{SegmentSize: 1 << 20, OnTorn: func(n int64) { torn += n }}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		l, err := Open(dir, opts)
		runtime.ReadMemStats(&after)
		// The index, file handles and key strings cost a bounded multiple
		// of the file; a length believed from the file would cost up to
		// MaxRecord.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20+64*uint64(total) {
			t.Fatalf("Open of %d bytes allocated %d bytes", total, alloc)
		}
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, "malformed record") && !strings.Contains(msg, "does not start with this journal's header") {
				t.Fatalf("Open refused with an unexpected error: %v", err)
			}
			return
		}
		if torn < 0 || torn > total {
			l.Close(ctx)
			t.Fatalf("%d torn bytes reported of %d", torn, total)
		}
		state := dump(t, l)
		// The journal goes on after what it kept.
		if err := l.Batch(ctx, storage.SetOperation("after", []byte("fuzz"))); err != nil {
			t.Fatal(err)
		}
		state["after"] = "fuzz"
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		torn = 0
		l2, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("a journal Open accepted and then wrote to does not open again: %v", err)
		}
		defer l2.Close(ctx)
		if torn != 0 {
			t.Fatalf("the second open found %d torn bytes", torn)
		}
		if got := dump(t, l2); len(got) != len(state) {
			t.Fatalf("the second open has %d keys, the first %d", len(got), len(state))
		} else {
			for k, v := range state {
				if got[k] != v {
					t.Fatalf("key %q: %q after the second open, %q after the first", k, got[k], v)
				}
			}
		}
	})
}

// FuzzDecodeBody: decodeBody must not panic; what it accepts must lie
// within the body, and encoding the ops it decoded again must decode to
// the same ops in no more bytes.
func FuzzDecodeBody(f *testing.F) {
	for _, b := range seedSegments(f) {
		for p := int64(headerLen); p+recordHeaderLen <= int64(len(b)); {
			n := int64(uint32(b[p]) | uint32(b[p+1])<<8 | uint32(b[p+2])<<16 | uint32(b[p+3])<<24)
			f.Add(b[p+recordHeaderLen : p+recordHeaderLen+n])
			p += recordHeaderLen + n
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{1, opDelete, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := decodeBody(body, nil)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("not errMalformed: %v", err)
			}
			return
		}
		writes := make([]write, len(ops))
		for i, o := range ops {
			if o.kind != opSet && o.kind != opDelete {
				t.Fatalf("op %d has kind %d", i, o.kind)
			}
			writes[i] = write{kind: o.kind, key: o.key}
			if o.kind == opSet {
				if o.valOff < 0 || o.valLen < 0 || o.valOff+o.valLen > len(body) {
					t.Fatalf("op %d: value at %d+%d in %d bytes", i, o.valOff, o.valLen, len(body))
				}
				writes[i].value = body[o.valOff : o.valOff+o.valLen]
			}
		}
		rec, offsets := appendRecord(nil, writes, nil)
		again := rec[recordHeaderLen:]
		if len(again) > len(body) {
			t.Fatalf("re-encoded in %d bytes, more than the %d decoded", len(again), len(body))
		}
		ops2, err := decodeBody(again, nil)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v", err)
		}
		if len(ops2) != len(ops) {
			t.Fatalf("%d ops, %d after re-encoding", len(ops), len(ops2))
		}
		vi := 0
		for i := range ops {
			a, b := ops[i], ops2[i]
			if a.kind != b.kind || a.key != b.key || a.valLen != b.valLen {
				t.Fatalf("op %d: %+v, %+v after re-encoding", i, a, b)
			}
			if a.kind == opSet {
				if !bytes.Equal(body[a.valOff:a.valOff+a.valLen], again[b.valOff:b.valOff+b.valLen]) {
					t.Fatalf("op %d: value differs after re-encoding", i)
				}
				// appendRecord's offsets are from the record's start.
				if offsets[vi] != recordHeaderLen+b.valOff {
					t.Fatalf("op %d: appendRecord put the value at %d, decodeBody finds it at %d", i, offsets[vi], recordHeaderLen+b.valOff)
				}
				vi++
			}
		}
	})
}
