package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

var ctx = context.Background()

// openLog opens dir and closes it at the end of the test.
func openLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(ctx) })
	return l
}

func batch(t testing.TB, l *Log, ops ...*storage.Operation) {
	t.Helper()
	require.NoError(t, l.Batch(ctx, ops...))
}

func get(t testing.TB, l *Log, key string) []byte {
	t.Helper()
	op := storage.GetOperation(key)
	require.NoError(t, l.Batch(ctx, op))
	return op.Value
}

// dump is every key and value the log holds, read through Get.
func dump(t testing.TB, l *Log) map[string]string {
	t.Helper()
	l.mu.RLock()
	keys := slices.Collect(maps.Keys(l.index))
	l.mu.RUnlock()
	out := map[string]string{}
	for _, k := range keys {
		v := get(t, l, k)
		require.NotNil(t, v, k)
		out[k] = string(v)
	}
	return out
}

// segments lists dir's segment files, oldest first, with their sizes.
func segments(t testing.TB, dir string) (names []string, sizes map[string]int64) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	sizes = map[string]int64{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".seg") {
			info, err := e.Info()
			require.NoError(t, err)
			names = append(names, e.Name())
			sizes[e.Name()] = info.Size()
		}
	}
	sort.Strings(names)
	return names, sizes
}

// copyDir copies the files of src into a new directory, as a crash or a
// kill would leave them.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
	return dst
}

// model is what a Log should hold, applying the same batches.
type model map[string]string

func (m model) apply(ops []*storage.Operation) {
	for _, o := range ops {
		switch o.Type {
		case storage.Set:
			m[o.Key] = string(o.Value)
		case storage.Delete:
			delete(m, o.Key)
		}
	}
}

func TestBatchSemantics(t *testing.T) {
	type step struct {
		ops  []*storage.Operation
		want []any // per op: the value a Get must see (nil: none); ignored for writes
	}
	set, del, getOp := storage.SetOperation, storage.DeleteOperation, storage.GetOperation
	for _, tc := range []struct {
		name  string
		steps []step
		final map[string]string
	}{
		{
			name:  "a missing key reads nil, nil",
			steps: []step{{ops: []*storage.Operation{getOp("nope")}, want: []any{nil}}},
			final: map[string]string{},
		},
		{
			name: "set then get in a later batch",
			steps: []step{
				{ops: []*storage.Operation{set("k", []byte("v1"))}},
				{ops: []*storage.Operation{getOp("k")}, want: []any{"v1"}},
			},
			final: map[string]string{"k": "v1"},
		},
		{
			name: "a get sees the writes before it in its batch, not those after",
			steps: []step{
				{ops: []*storage.Operation{set("k", []byte("old"))}},
				{
					ops:  []*storage.Operation{getOp("k"), set("k", []byte("new")), getOp("k"), del("k"), getOp("k"), set("k", []byte("last")), getOp("k")},
					want: []any{"old", nil, "new", nil, nil, nil, "last"},
				},
			},
			final: map[string]string{"k": "last"},
		},
		{
			name: "delete then get in a later batch",
			steps: []step{
				{ops: []*storage.Operation{set("a", []byte("1")), set("b", []byte("2"))}},
				{ops: []*storage.Operation{del("a")}},
				{ops: []*storage.Operation{getOp("a"), getOp("b")}, want: []any{nil, "2"}},
			},
			final: map[string]string{"b": "2"},
		},
		{
			name: "deleting a missing key is a no-op",
			steps: []step{
				{ops: []*storage.Operation{del("ghost")}},
				{ops: []*storage.Operation{getOp("ghost")}, want: []any{nil}},
			},
			final: map[string]string{},
		},
		{
			name: "overwrite keeps the last value",
			steps: []step{
				{ops: []*storage.Operation{set("k", []byte("1")), set("k", []byte("2"))}},
				{ops: []*storage.Operation{set("k", []byte("3"))}},
				{ops: []*storage.Operation{getOp("k")}, want: []any{"3"}},
			},
			final: map[string]string{"k": "3"},
		},
		{
			name: "an empty value is a value, not a missing key, inside and after its batch",
			steps: []step{
				{ops: []*storage.Operation{set("e", []byte{}), getOp("e")}, want: []any{nil, ""}},
				{ops: []*storage.Operation{getOp("e")}, want: []any{""}},
				{ops: []*storage.Operation{set("n", nil), getOp("n")}, want: []any{nil, ""}},
			},
			final: map[string]string{"e": "", "n": ""},
		},
		{
			name: "keys with any bytes",
			steps: []step{
				{ops: []*storage.Operation{set("", []byte("empty key")), set("a/../b\x00\xff", []byte("odd"))}},
				{ops: []*storage.Operation{getOp(""), getOp("a/../b\x00\xff")}, want: []any{"empty key", "odd"}},
			},
			final: map[string]string{"": "empty key", "a/../b\x00\xff": "odd"},
		},
	} {
		for _, fsync := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fsync=%t", tc.name, fsync), func(t *testing.T) {
				dir := t.TempDir()
				l := openLog(t, dir, Options{SegmentSize: 1 << 20, Fsync: fsync})
				for si, st := range tc.steps {
					require.NoError(t, l.Batch(ctx, st.ops...), "step %d", si)
					require.NoError(t, l.Sync(ctx))
					for i, w := range st.want {
						o := st.ops[i]
						if o.Type != storage.Get {
							continue
						}
						if w == nil {
							assert.Nil(t, o.Value, "step %d op %d: Get(%q)", si, i, o.Key)
						} else {
							assert.NotNil(t, o.Value, "step %d op %d: Get(%q)", si, i, o.Key)
							assert.Equal(t, w, string(o.Value), "step %d op %d: Get(%q)", si, i, o.Key)
						}
					}
				}
				assert.Equal(t, tc.final, dump(t, l))
				require.NoError(t, l.Close(ctx))
				l2 := openLog(t, dir, Options{SegmentSize: 1 << 20, Fsync: fsync})
				assert.Equal(t, tc.final, dump(t, l2), "after reopening")
			})
		}
	}
}

func TestValuesAreCopies(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentSize: 1 << 20})
	in := []byte("original")
	set := storage.SetOperation("k", in)
	inBatch := storage.GetOperation("k")
	batch(t, l, set, inBatch)
	in[0] = 'X' // the caller reuses its buffer
	assert.Equal(t, "original", string(inBatch.Value), "a Get in the batch does not alias the Set's value")
	inBatch.Value[0] = 'Y'
	out := get(t, l, "k")
	assert.Equal(t, "original", string(out), "the stored value is neither the caller's buffer nor the first Get's")
	out[0] = 'Z'
	assert.Equal(t, "original", string(get(t, l, "k")), "a Get's value is a copy")
}

func TestBatchRefusesUnknownOperationsAndReadsAppendNothing(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentSize: 1 << 20})
	batch(t, l, storage.SetOperation("k", []byte("v")))
	before := l.Stats()
	err := l.Batch(ctx, storage.SetOperation("x", []byte("y")), &storage.Operation{Type: storage.OpType(42), Key: "k"})
	require.ErrorContains(t, err, "unknown storage operation type 42")
	assert.Nil(t, get(t, l, "x"), "a refused batch writes nothing")
	batch(t, l, storage.GetOperation("k"), storage.GetOperation("missing"))
	assert.Equal(t, before, l.Stats(), "reads append no record")
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentSize: 1 << 20, Fsync: true})
	require.NoError(t, err)
	batch(t, l, storage.SetOperation("k", []byte("v")))
	require.NoError(t, l.Close(ctx))
	assert.Equal(t, l.Stats().Records, l.Stats().Synced, "Close syncs")
	require.ErrorIs(t, l.Batch(ctx, storage.SetOperation("k", []byte("w"))), ErrClosed)
	require.ErrorIs(t, l.Batch(ctx, storage.GetOperation("k")), ErrClosed)
	require.NoError(t, l.Sync(ctx), "nothing is left to sync")
	require.NoError(t, l.Close(ctx), "Close twice")
}

func TestCloseRefusesWritesWhileItSyncs(t *testing.T) {
	dir := t.TempDir()
	inSync, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	opts := Options{SegmentSize: 1 << 20, Fsync: true, BeforeSync: func(string, int64) {
		once.Do(func() { close(inSync); <-release })
	}}
	l, err := Open(dir, opts)
	require.NoError(t, err)
	batch(t, l, storage.SetOperation("before", []byte("close")))
	closed := make(chan error, 1)
	go func() { closed <- l.Close(ctx) }()
	<-inSync // Close is syncing
	require.ErrorIs(t, l.Batch(ctx, storage.SetOperation("during", []byte("close"))), ErrClosed,
		"a write during Close's sync would be closed unsynced")
	assert.Equal(t, "close", string(get(t, l, "before")), "reads are served until Close ends")
	close(release)
	require.NoError(t, <-closed)
	got, _ := reopen(t, dir)
	assert.Equal(t, map[string]string{"before": "close"}, got)
}

func TestSecondOpenOfADirectoryFails(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentSize: 1 << 20})
	require.NoError(t, err)
	_, err = Open(dir, Options{SegmentSize: 1 << 20})
	require.ErrorContains(t, err, "is already open")
	require.ErrorContains(t, err, "give each collector its own directory")
	require.NoError(t, l.Close(ctx))
	l2, err := Open(dir, Options{SegmentSize: 1 << 20})
	require.NoError(t, err, "the lock is released by Close")
	require.NoError(t, l2.Close(ctx))
}

func TestOpenRefusesATinySegmentSize(t *testing.T) {
	_, err := Open(t.TempDir(), Options{SegmentSize: headerLen})
	require.ErrorContains(t, err, "segment size 8: must be larger than 8 bytes")
}

// randomOps is a batch of 1-4 writes over a few keys, with values up to
// maxVal bytes.
func randomOps(r *rand.Rand, keys, maxVal int) []*storage.Operation {
	var ops []*storage.Operation
	for range 1 + r.IntN(4) {
		k := fmt.Sprintf("key-%d", r.IntN(keys))
		if r.IntN(4) == 0 {
			ops = append(ops, storage.DeleteOperation(k))
			continue
		}
		v := make([]byte, r.IntN(maxVal+1))
		for i := range v {
			v[i] = byte('a' + r.IntN(26))
		}
		ops = append(ops, storage.SetOperation(k, v))
	}
	return ops
}

func TestReopenReplaysState(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%t", fsync), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: 2048, Fsync: fsync}
			l, err := Open(dir, opts)
			require.NoError(t, err)
			r := rand.New(rand.NewPCG(1, 2))
			m := model{}
			for range 300 {
				ops := randomOps(r, 30, 200)
				batch(t, l, ops...)
				m.apply(ops)
			}
			require.NoError(t, l.Close(ctx))
			names, _ := segments(t, dir)
			require.Greater(t, len(names), 2, "the workload spans segments")
			var torn int64
			opts.OnTorn = func(n int64) { torn += n }
			l = openLog(t, dir, opts)
			assert.Equal(t, map[string]string(m), dump(t, l))
			assert.Zero(t, torn)
			st := l.Stats()
			assert.Equal(t, st.Records, st.Synced, "what was replayed is on disk")
			// And it goes on from there.
			batch(t, l, storage.SetOperation("after", []byte("reopen")))
			m["after"] = "reopen"
			require.NoError(t, l.Close(ctx))
			assert.Equal(t, map[string]string(m), dump(t, openLog(t, dir, opts)))
		})
	}
}

func TestSegmentsRotateAtSegmentSize(t *testing.T) {
	dir := t.TempDir()
	const size = 4096
	l := openLog(t, dir, Options{SegmentSize: size})
	val := bytes.Repeat([]byte("v"), 1000)
	// Keep every key live, so nothing is reclaimed.
	for i := range 20 {
		batch(t, l, storage.SetOperation(fmt.Sprint("k", i), val))
	}
	names, sizes := segments(t, dir)
	assert.Len(t, names, l.Stats().Segments)
	for i, n := range names {
		assert.Equal(t, segmentName(uint64(i+1)), n, "segments are numbered from 1")
		assert.LessOrEqual(t, sizes[n], int64(size), n)
		if i < len(names)-1 {
			assert.Greater(t, sizes[n]+1000, int64(size), "%s rotated only when the next record did not fit", n)
		}
	}
	// A record is 1015 bytes: four fit in 4 KiB with the header.
	assert.Len(t, names, 5)
	// A record larger than a segment gets one of its own.
	big := bytes.Repeat([]byte("B"), 3*size)
	batch(t, l, storage.SetOperation("big", big))
	batch(t, l, storage.SetOperation("small", []byte("s")))
	names, sizes = segments(t, dir)
	require.Len(t, names, 7)
	assert.Greater(t, sizes[names[5]], int64(3*size), "the big record's segment")
	assert.Equal(t, big, get(t, l, "big"))
}

// queueWorkload drives l as the persistent queue does: each put writes an
// item and the metadata, each get rewrites the metadata, each done
// deletes the item; backlog items are kept in flight. It returns the
// largest segment count seen.
func queueWorkload(t *testing.T, l *Log, n, backlog, itemSize int, sync bool) int {
	t.Helper()
	item := bytes.Repeat([]byte("i"), itemSize)
	maxSegs := 0
	meta := func(i int) *storage.Operation { return storage.SetOperation("meta", []byte(fmt.Sprint(i))) }
	for i := range n {
		batch(t, l, meta(i), storage.SetOperation(fmt.Sprint("item-", i), item))
		if sync {
			require.NoError(t, l.Sync(ctx))
		}
		if j := i - backlog; j >= 0 {
			g := storage.GetOperation(fmt.Sprint("item-", j))
			batch(t, l, meta(i), g)
			require.Equal(t, item, g.Value, "item-%d", j)
			batch(t, l, meta(i), storage.DeleteOperation(fmt.Sprint("item-", j)))
		}
		maxSegs = max(maxSegs, l.Stats().Segments)
	}
	return maxSegs
}

func TestReclaimKeepsAQueueBounded(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%t", fsync), func(t *testing.T) {
			dir := t.TempDir()
			const segSize, itemSize, backlog = 8 << 10, 1 << 10, 10
			l := openLog(t, dir, Options{SegmentSize: segSize, Fsync: fsync})
			n := 2000
			if fsync {
				n = 400
			}
			maxSegs := queueWorkload(t, l, n, backlog, itemSize, fsync)
			// The backlog is 10 KiB: two segments' worth, plus the one being
			// written, plus one whose killers await a sync.
			assert.LessOrEqual(t, maxSegs, 5, "the segment count stays bounded by the backlog")
			names, _ := segments(t, dir)
			assert.Len(t, names, l.Stats().Segments, "the files are the segments")
			first := names[0]
			assert.Greater(t, first, segmentName(uint64(n/20)), "drained segments were removed oldest first")
		})
	}
}

func TestCopyForwardFreesAnOldestSegmentPinnedByASmallKey(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%t", fsync), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: 4 << 10, Fsync: fsync}
			l := openLog(t, dir, opts)
			batch(t, l, storage.SetOperation("pinned", []byte("long-lived")))
			// Every Batch must be readable right after it returns: a copy
			// forward while a batch's own record waits to be written must
			// not take its place.
			item := bytes.Repeat([]byte("x"), 300)
			maxSegs := 0
			for i := range 400 {
				k := fmt.Sprint("item-", i)
				batch(t, l, storage.SetOperation(k, item), storage.DeleteOperation(fmt.Sprint("item-", i-1)))
				require.Equal(t, item, get(t, l, k), "%s right after its batch", k)
				require.Nil(t, get(t, l, fmt.Sprint("item-", i-1)), "item-%d deleted", i-1)
				if fsync {
					require.NoError(t, l.Sync(ctx))
				}
				maxSegs = max(maxSegs, l.Stats().Segments)
			}
			names, _ := segments(t, dir)
			assert.NotContains(t, names, segmentName(1), "the pinned first segment was copied forward and removed")
			assert.LessOrEqual(t, maxSegs, 5, "the pinned key does not make the log grow")
			assert.Equal(t, "long-lived", string(get(t, l, "pinned")))
			require.NoError(t, l.Close(ctx))
			l2 := openLog(t, dir, opts)
			assert.Equal(t, map[string]string{"pinned": "long-lived", "item-399": string(item)}, dump(t, l2))
		})
	}
}

func TestASegmentOutlivesTheUnsyncedRecordsThatKilledIt(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{SegmentSize: 4 << 10, Fsync: true})
	val := bytes.Repeat([]byte("a"), 3000)
	batch(t, l, storage.SetOperation("a", val))
	require.NoError(t, l.Sync(ctx))
	batch(t, l, storage.SetOperation("b", val)) // rotates: a's segment is synced, b is in the second
	require.NoError(t, l.Sync(ctx))
	// Kill everything in the first segment, and do not sync.
	batch(t, l, storage.DeleteOperation("a"))
	names, sizes := segments(t, dir)
	require.Equal(t, []string{segmentName(1), segmentName(2)}, names)
	// More writes, still unsynced, even a rotation's worth (rotating syncs).
	for i := range 3 {
		batch(t, l, storage.SetOperation(fmt.Sprint("small", i), []byte("s")))
	}
	names, _ = segments(t, dir)
	assert.Contains(t, names, segmentName(1), "the delete is not synced: its segment must stay")

	// A crash now keeps what was synced: "a" is still there.
	crashed := copyDir(t, dir)
	require.NoError(t, os.Truncate(filepath.Join(crashed, segmentName(2)), sizes[segmentName(2)]-int64(recordHeaderLen+4)))
	l2 := openLog(t, crashed, Options{SegmentSize: 4 << 10, Fsync: true})
	assert.Equal(t, val, get(t, l2, "a"), "a value whose delete was never synced survives a crash")

	require.NoError(t, l.Sync(ctx))
	names, _ = segments(t, dir)
	assert.NotContains(t, names, segmentName(1), "once the delete is synced, the segment goes")
}

func TestCopyForwardWaitsForItsCopyToBeSynced(t *testing.T) {
	dir := t.TempDir()
	const segSize = 4 << 10
	l := openLog(t, dir, Options{SegmentSize: segSize, Fsync: true})
	batch(t, l, storage.SetOperation("pinned", []byte("p")))
	item := bytes.Repeat([]byte("x"), 1500)
	// Fill segments 1..4 with items that die at once; no Sync, so the only
	// syncs are rotations'.
	for i := 0; l.Stats().Segments < 4; i++ {
		batch(t, l, storage.SetOperation(fmt.Sprint("item-", i), item), storage.DeleteOperation(fmt.Sprint("item-", i-1)))
	}
	// The rotation that made the fourth segment copied "pinned" forward:
	// the copy is not synced yet, so segment 1 is still there.
	names, _ := segments(t, dir)
	require.Contains(t, names, segmentName(1))
	l.mu.RLock()
	pinnedIn := l.index["pinned"].seg.id
	l.mu.RUnlock()
	require.NotEqual(t, uint64(1), pinnedIn, "pinned was copied forward")
	require.NoError(t, l.Sync(ctx))
	names, _ = segments(t, dir)
	assert.NotContains(t, names, segmentName(1), "segment 1 goes once the copy is synced")
	assert.Equal(t, "p", string(get(t, l, "pinned")))
}

// records parses a segment's bytes into the offsets of its records (and
// the end of the last).
func records(t testing.TB, b []byte) []int64 {
	t.Helper()
	require.Equal(t, magic[:], b[:headerLen])
	offs := []int64{headerLen}
	for p := int64(headerLen); p < int64(len(b)); {
		n := int64(binary.LittleEndian.Uint32(b[p:]))
		p += recordHeaderLen + n
		require.LessOrEqual(t, p, int64(len(b)))
		offs = append(offs, p)
	}
	return offs
}

// writeJournal writes n random batches into a new journal and returns
// its directory and the model after each batch (states[i] after i).
func writeJournal(t testing.TB, seed uint64, n, keys int, opts Options) (string, []model) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, opts)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(seed, 7))
	states := []model{{}}
	for range n {
		ops := randomOps(r, keys, 50)
		batch(t, l, ops...)
		m := maps.Clone(states[len(states)-1])
		m.apply(ops)
		states = append(states, m)
	}
	require.NoError(t, l.Close(ctx))
	return dir, states
}

// reopen opens dir and returns its contents and the torn bytes reported.
func reopen(t *testing.T, dir string) (map[string]string, int64) {
	t.Helper()
	return reopenWith(t, dir, true)
}

func reopenWith(t *testing.T, dir string, fsync bool) (map[string]string, int64) {
	t.Helper()
	var torn int64
	l := openLog(t, dir, Options{SegmentSize: 1 << 20, Fsync: fsync, OnTorn: func(n int64) { torn += n }})
	got := dump(t, l)
	require.NoError(t, l.Close(ctx))
	return got, torn
}

func TestTornTail(t *testing.T) {
	src, states := writeJournal(t, 3, 6, 8, Options{SegmentSize: 1 << 20})
	seg := segmentName(1)
	orig, err := os.ReadFile(filepath.Join(src, seg))
	require.NoError(t, err)
	offs := records(t, orig)
	require.Len(t, offs, 7)
	last, end := offs[5], offs[6]
	before, all := map[string]string(states[5]), map[string]string(states[6])

	check := func(t *testing.T, content []byte, want map[string]string, wantTorn int64, wantSize int64) {
		t.Helper()
		dir := t.TempDir()
		p := filepath.Join(dir, seg)
		require.NoError(t, os.WriteFile(p, content, 0o600))
		got, torn := reopen(t, dir)
		assert.Equal(t, want, got)
		assert.Equal(t, wantTorn, torn, "torn bytes reported")
		info, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, wantSize, info.Size(), "the torn tail is cut off the file")
		// A second open finds nothing torn.
		got, torn = reopen(t, dir)
		assert.Equal(t, want, got)
		assert.Zero(t, torn, "second open")
	}

	t.Run("the last record cut at every byte", func(t *testing.T) {
		for cut := last; cut < end; cut++ {
			t.Run(fmt.Sprint(cut-last), func(t *testing.T) {
				check(t, orig[:cut], before, cut-last, last)
			})
		}
	})
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 8, 9, 100, 5000} {
		t.Run(fmt.Sprintf("%d bytes of garbage appended", n), func(t *testing.T) {
			garbage := make([]byte, n)
			for i := range garbage {
				garbage[i] = byte(r.UintN(256))
			}
			check(t, append(slices.Clone(orig), garbage...), all, int64(n), end)
		})
		t.Run(fmt.Sprintf("%d zero bytes appended", n), func(t *testing.T) {
			check(t, append(slices.Clone(orig), make([]byte, n)...), all, int64(n), end)
		})
		t.Run(fmt.Sprintf("the last record's tail zero-filled over %d bytes", n), func(t *testing.T) {
			b := slices.Clone(orig)
			z := min(int64(n), end-last-1) // keep at least its first byte
			clear(b[end-z:])
			check(t, b, before, end-last, last)
		})
	}
	t.Run("a flipped bit in the last record", func(t *testing.T) {
		b := slices.Clone(orig)
		b[end-1] ^= 0x10
		check(t, b, before, end-last, last)
	})
}

func TestTornTailRemovesLaterSegments(t *testing.T) {
	src, states := writeJournal(t, 4, 60, 1000, Options{SegmentSize: 512})
	names, sizes := segments(t, src)
	require.Greater(t, len(names), 3)
	// Damage the last record of the second segment. With fsync, rotating
	// synced that segment whole, so this is corruption: the journal
	// refuses to open and changes nothing. Without fsync (no promise past
	// a kill), what follows the damage goes.
	b, err := os.ReadFile(filepath.Join(src, names[1]))
	require.NoError(t, err)
	offs := records(t, b)
	first0, err := os.ReadFile(filepath.Join(src, names[0]))
	require.NoError(t, err)
	kept := len(records(t, first0)) - 1 + len(offs) - 2 // records before the damaged one
	b[offs[len(offs)-2]+recordHeaderLen] ^= 0xff
	require.NoError(t, os.WriteFile(filepath.Join(src, names[1]), b, 0o600))

	wantTorn := int64(len(b)) - offs[len(offs)-2]
	for _, n := range names[2:] {
		wantTorn += sizes[n]
	}
	_, err = Open(src, Options{SegmentSize: 1 << 20, Fsync: true})
	require.ErrorContains(t, err, "disk corruption, not a torn write")
	still, _ := segments(t, src)
	assert.Equal(t, names, still, "nothing removed")

	got, torn := reopenWith(t, src, false)
	assert.Equal(t, map[string]string(states[kept]), got, "exactly the records before the damaged one")
	assert.Equal(t, wantTorn, torn, "the cut record and every later segment are reported torn")
	after, _ := segments(t, src)
	assert.Equal(t, names[:2], after, "the later segments are removed")
}

func TestAShortLastSegmentIsStartedAgain(t *testing.T) {
	src, states := writeJournal(t, 5, 30, 1000, Options{SegmentSize: 512})
	names, _ := segments(t, src)
	require.Greater(t, len(names), 1)
	next := segmentName(uint64(len(names) + 1))
	require.Greater(t, next, names[len(names)-1])
	// Created, and the crash came before its header reached the disk.
	require.NoError(t, os.WriteFile(filepath.Join(src, next), magic[:3], 0o600))
	got, torn := reopen(t, src)
	assert.Equal(t, map[string]string(states[30]), got)
	assert.Equal(t, int64(3), torn)
	b, err := os.ReadFile(filepath.Join(src, next))
	require.NoError(t, err)
	assert.Equal(t, magic[:], b, "the segment was started again")
}

// record encodes a record around body, with a correct checksum.
func record(body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

func TestOpenRefusesDamageItDidNotWrite(t *testing.T) {
	valid := func(t *testing.T) (string, []byte) {
		dir, _ := writeJournal(t, 6, 3, 8, Options{SegmentSize: 1 << 20})
		b, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
		require.NoError(t, err)
		return dir, b
	}
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, dir string, seg []byte)
		wantErr []string
	}{
		{
			name: "a checksummed record with an unknown op kind",
			damage: func(t *testing.T, dir string, seg []byte) {
				body := []byte{1, 9, 1, 'k'}
				require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), append(seg, record(body)...), 0o600))
			},
			wantErr: []string{segmentName(1), "record at offset", "malformed record: op 0 has kind 9", "move the directory aside"},
		},
		{
			name: "a checksummed record with bytes after its last op",
			damage: func(t *testing.T, dir string, seg []byte) {
				body := []byte{1, opDelete, 1, 'k', 0xAA}
				require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), append(seg, record(body)...), 0o600))
			},
			wantErr: []string{"malformed record: 1 bytes after the last op"},
		},
		{
			name: "a checksummed record whose value runs past its end",
			damage: func(t *testing.T, dir string, seg []byte) {
				body := []byte{1, opSet, 1, 'k', 50, 'v'}
				require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), append(seg, record(body)...), 0o600))
			},
			wantErr: []string{"malformed record: op 0 value length"},
		},
		{
			name: "a foreign segment name",
			damage: func(t *testing.T, dir string, _ []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "backup.seg"), nil, 0o600))
			},
			wantErr: []string{`"backup.seg" is not a segment this journal wrote`, "move it out of the directory"},
		},
		{
			name: "a segment name not in its canonical form",
			damage: func(t *testing.T, dir string, seg []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "2.seg"), seg, 0o600))
			},
			wantErr: []string{`"2.seg" is not a segment this journal wrote`},
		},
		{
			name: "an upper-case segment name",
			damage: func(t *testing.T, dir string, seg []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000000000AB.seg"), seg, 0o600))
			},
			wantErr: []string{`"00000000000000AB.seg" is not a segment this journal wrote`},
		},
		{
			name: "a segment with another header",
			damage: func(t *testing.T, dir string, seg []byte) {
				other := slices.Clone(seg)
				other[7] = 2 // a later format version
				require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), other, 0o600))
			},
			wantErr: []string{segmentName(1), "does not start with this journal's header"},
		},
		{
			name: "a short segment that is not the last",
			damage: func(t *testing.T, dir string, seg []byte) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), seg[:4], 0o600))
				require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(2)), seg, 0o600))
			},
			wantErr: []string{segmentName(1), "does not start with this journal's header"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, seg := valid(t)
			tc.damage(t, dir, seg)
			_, err := Open(dir, Options{SegmentSize: 1 << 20})
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.ErrorContains(t, err, w)
			}
			// The refusal released the lock and left the files alone.
			_, err2 := Open(dir, Options{SegmentSize: 1 << 20})
			require.Error(t, err2)
			assert.NotContains(t, err2.Error(), "already open")
		})
	}
	t.Run("other files are left alone", func(t *testing.T) {
		dir, _ := valid(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "NOTES"), []byte("x"), 0o600))
		require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.seg"), 0o700))
		l := openLog(t, dir, Options{SegmentSize: 1 << 20})
		assert.NotEmpty(t, dump(t, l))
	})
}

// durable is what a crash keeps at least: the segment files and their
// sizes at the last fdatasync.
type durable struct {
	sizes   map[string]int64
	batches int // batches acknowledged by then
}

// TestCrashKeepsEverySyncedRecord writes random batches with Sync now and
// then, and after each round simulates a crash from the files: every
// segment cut back to its size at the last fdatasync (Sync's or a
// rotation's), optionally plus garbage, or cut anywhere in what was
// written after it. The journal must reopen to the state after some batch
// at or past the last sync: all synced batches kept, whole batches only.
func TestCrashKeepsEverySyncedRecord(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			dir := t.TempDir()
			var last durable
			done := 0 // batches Batch returned for
			l := openLog(t, dir, Options{SegmentSize: 1024, Fsync: true, OnSync: func(int64) {
				// Under the log's lock, right after the fdatasync, with this
				// test the only writer: every file is durable as it is.
				_, sizes := segments(t, dir)
				last = durable{sizes: sizes, batches: done}
			}})
			states := []model{{}}
			for round := range 12 {
				for range 1 + r.IntN(15) {
					ops := randomOps(r, 10, 120)
					batch(t, l, ops...)
					done++
					m := maps.Clone(states[len(states)-1])
					m.apply(ops)
					states = append(states, m)
					if r.IntN(5) == 0 {
						require.NoError(t, l.Sync(ctx))
						require.Equal(t, done, last.batches, "Sync returned after its fdatasync")
					}
				}
				for _, mode := range []string{"durable prefix", "durable prefix and garbage", "some of the rest"} {
					crashed := crashImage(t, r, dir, last, mode)
					var torn int64
					l2, err := Open(crashed, Options{SegmentSize: 1024, Fsync: true, OnTorn: func(n int64) { torn += n }})
					require.NoError(t, err, "round %d, %s", round, mode)
					got := dump(t, l2)
					require.NoError(t, l2.Close(ctx))
					k := -1
					for i := last.batches; i < len(states); i++ {
						if maps.Equal(got, map[string]string(states[i])) {
							k = i
							break
						}
					}
					require.GreaterOrEqual(t, k, 0, "round %d, %s: the state after a crash is that after some batch since the last sync (%d)", round, mode, last.batches)
					if mode != "some of the rest" {
						assert.Equal(t, map[string]string(states[last.batches]), got, "round %d, %s: exactly the synced batches", round, mode)
					}
					if mode == "durable prefix and garbage" {
						assert.Positive(t, torn, "the garbage is reported torn")
					}
				}
			}
		})
	}
}

// crashImage copies dir as a crash would leave it after last.
func crashImage(t *testing.T, r *rand.Rand, dir string, last durable, mode string) string {
	t.Helper()
	crashed := copyDir(t, dir)
	names, sizes := segments(t, crashed)
	// What was written after the last sync, in order: cut it at some point.
	var after int64
	for _, n := range names {
		if d, ok := last.sizes[n]; ok {
			after += sizes[n] - d
		} else {
			after += sizes[n] - headerLen
		}
	}
	keep := int64(0)
	if mode == "some of the rest" && after > 0 {
		keep = r.Int64N(after + 1)
	}
	for _, n := range names {
		p := filepath.Join(crashed, n)
		d, ok := last.sizes[n]
		if !ok {
			// Started after the last sync: newSegment synced its header.
			d = headerLen
		}
		extra := min(keep, sizes[n]-d)
		keep -= extra
		switch {
		case extra > 0:
			require.NoError(t, os.Truncate(p, d+extra))
		case !ok && r.IntN(2) == 0:
			require.NoError(t, os.Remove(p)) // as if its directory entry were lost
			continue
		default:
			require.NoError(t, os.Truncate(p, d))
		}
	}
	if mode == "durable prefix and garbage" {
		names, _ := segments(t, crashed)
		p := filepath.Join(crashed, names[len(names)-1])
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		garbage := make([]byte, 1+r.IntN(300))
		for i := range garbage {
			garbage[i] = byte(r.UintN(256))
		}
		_, err = f.Write(garbage)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	return crashed
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	var syncs, synced atomic.Int64
	opts := Options{SegmentSize: 64 << 10, Fsync: true,
		OnSync: func(n int64) { syncs.Add(1); synced.Add(n) },
		// Slow the disk a little, so that writers pile up behind a sync.
		BeforeSync: func(string, int64) { time.Sleep(time.Millisecond) },
	}
	l := openLog(t, dir, opts)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Readers alongside, for the race detector.
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				op := storage.GetOperation("w0-0")
				if err := l.Batch(ctx, op); err != nil {
					t.Error(err)
					return
				}
				_ = l.Stats()
				time.Sleep(50 * time.Microsecond)
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				k := fmt.Sprintf("w%d-%d", w, i)
				if err := l.Batch(ctx, storage.SetOperation(k, bytes.Repeat([]byte{byte(w)}, 300))); err != nil {
					t.Error(err)
					return
				}
				if err := l.Sync(ctx); err != nil {
					t.Error(err)
					return
				}
				// Acknowledged: it is visible and on disk.
				op := storage.GetOperation(k)
				if err := l.Batch(ctx, op); err != nil || len(op.Value) != 300 {
					t.Errorf("%s after its Sync: %v, %d bytes", k, err, len(op.Value))
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	st := l.Stats()
	writes := int64(writers * each)
	t.Logf("%d writes, %d fdatasyncs (%.1f writes per sync), %d segments", writes, syncs.Load(), float64(writes)/float64(syncs.Load()), st.Segments)
	assert.Less(t, syncs.Load(), writes, "writers share syncs")
	assert.Equal(t, uint64(writes), st.Records)
	assert.Equal(t, st.Records, st.Synced)
	assert.Equal(t, int64(st.Synced), synced.Load(), "OnSync is told every record once")
	assert.Len(t, dump(t, l), int(writes))
	require.NoError(t, l.Close(ctx))
	assert.Len(t, dump(t, openLog(t, dir, opts)), int(writes), "every write after reopening")
}

func TestSyncWithoutFsyncReturnsAtOnce(t *testing.T) {
	var syncs int
	l := openLog(t, t.TempDir(), Options{SegmentSize: 1 << 20, OnSync: func(int64) { syncs++ },
		BeforeSync: func(string, int64) { t.Error("no fdatasync without fsync") }})
	batch(t, l, storage.SetOperation("k", []byte("v")))
	require.NoError(t, l.Sync(ctx))
	assert.Zero(t, syncs)
	st := l.Stats()
	assert.Equal(t, st.Records, st.Synced, "without fsync a write counts as synced once written")
}

func TestSyncHonoursItsContext(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentSize: 1 << 20, Fsync: true})
	batch(t, l, storage.SetOperation("k", []byte("v")))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, l.Sync(cctx), context.Canceled)
	require.NoError(t, l.Sync(ctx))
	require.NoError(t, l.Sync(cctx), "nothing left to sync")
}

func TestABatchTooLargeForARecordIsRefused(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentSize: 1 << 20})
	// 1025 sets of one shared MiB: over a record's GiB, without one.
	mib := make([]byte, 1<<20)
	var ops []*storage.Operation
	for i := range 1025 {
		ops = append(ops, storage.SetOperation(fmt.Sprint(i), mib))
	}
	err := l.Batch(ctx, ops...)
	require.ErrorContains(t, err, "one record may hold: send smaller requests")
	assert.Zero(t, l.Stats().Records, "nothing was written")
	batch(t, l, storage.SetOperation("k", []byte("v")))
	assert.Equal(t, "v", string(get(t, l, "k")), "the log goes on")
}

// A failed write stops the journal: every later write and sync fails, and
// nothing after the failure reaches the disk. exporterhelper's queue skips
// an item whose read failed and would persist a read position past it
// with its next successful write; stopped, the journal keeps the position
// from before the failure for the restart.
func TestAFailedWriteStopsTheJournal(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%t", fsync), func(t *testing.T) {
			dir := t.TempDir()
			var stopped []error
			l, err := Open(dir, Options{SegmentSize: 1 << 20, Fsync: fsync, OnBroken: func(err error) { stopped = append(stopped, err) }})
			require.NoError(t, err)
			require.NoError(t, l.Batch(ctx, storage.SetOperation("ri", []byte("0")), storage.SetOperation("0", []byte("item"))))
			require.NoError(t, l.Sync(ctx))
			require.Equal(t, uint64(1), l.Stats().Records)
			// The disk refuses the next write (here: its file is gone).
			l.mu.Lock()
			require.NoError(t, l.active().f.Close())
			l.mu.Unlock()
			err = l.Batch(ctx, storage.SetOperation("ri", []byte("1")))
			require.ErrorContains(t, err, "nothing more is written until the collector restarts")
			require.Len(t, stopped, 1, "told once")
			for i := 0; i < 2; i++ {
				assert.ErrorIs(t, l.Batch(ctx, storage.SetOperation("ri", []byte("2"))), stopped[0], "later writes fail too")
				assert.ErrorIs(t, l.Sync(ctx), stopped[0])
			}
			assert.Equal(t, uint64(1), l.Stats().Records, "nothing after the failure took effect")
			assert.Len(t, stopped, 1)
			_ = l.Close(ctx)

			got, _ := reopenWith(t, dir, fsync)
			assert.Equal(t, map[string]string{"ri": "0", "0": "item"}, got, "the restart resumes from before the failure")
		})
	}
}

// What replay cuts is kept beside the segment, byte for byte: damage in
// the middle of the last segment looks like a torn tail, and the records
// after it stay there to salvage.
func TestACutTailIsKeptAside(t *testing.T) {
	src, _ := writeJournal(t, 6, 10, 100, Options{SegmentSize: 1 << 20})
	seg := filepath.Join(src, segmentName(1))
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	offs := records(t, b)
	at := offs[2]
	b[at+recordHeaderLen] ^= 0xff // damage the third record's body
	require.NoError(t, os.WriteFile(seg, b, 0o600))

	_, torn := reopen(t, src)
	assert.Equal(t, int64(len(b))-at, torn)
	aside, err := filepath.Glob(seg + ".torn-*")
	require.NoError(t, err)
	require.Len(t, aside, 1)
	kept, err := os.ReadFile(aside[0])
	require.NoError(t, err)
	assert.Equal(t, b[at:], kept, "every byte after the damage is kept")
	now, err := os.ReadFile(seg)
	require.NoError(t, err)
	assert.Equal(t, b[:at], now)
	// A second open finds nothing to cut and keeps the side file.
	_, torn = reopen(t, src)
	assert.Zero(t, torn)
}
