package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

const (
	liveFile   = "audit.jsonl"
	backupFile = "audit-2025-11-01T00-00-00.000.jsonl" // rotated: sorts first
)

// archiveState is an archive as files of lines (batches) and digest
// lines, for the tests to tamper with before it is written.
type archiveState struct {
	files   map[string][]plog.Logs
	digests [][]byte
}

func (w *world) archive(t testing.TB, backup int) *archiveState {
	a := &archiveState{files: map[string][]plog.Logs{}}
	for i, b := range w.batches {
		f := liveFile
		if i < backup {
			f = backupFile
		}
		ld := plog.NewLogs()
		b.ld.CopyTo(ld) // the tests edit it
		a.files[f] = append(a.files[f], ld)
	}
	for _, s := range w.digests {
		line, err := json.Marshal(s)
		require.NoError(t, err)
		a.digests = append(a.digests, line)
	}
	return a
}

func (a *archiveState) write(t testing.TB) string {
	dir := t.TempDir()
	for name, lines := range a.files {
		var b bytes.Buffer
		for _, ld := range lines {
			line, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
			require.NoError(t, err)
			b.Write(line)
			b.WriteByte('\n')
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, DigestsFile), append(bytes.Join(a.digests, []byte("\n")), '\n'), 0o644))
	return dir
}

func (a *archiveState) rec(file string, line, i int) plog.LogRecord {
	return records(a.files[file][line]).At(i)
}

func eventID(lr plog.LogRecord) string {
	v, _ := lr.Attributes().Get("event.id")
	return v.Str()
}

// findDigest is the index of the digest line of chain ns with seq.
func (a *archiveState) findDigest(t testing.TB, chain string, seq uint64) int {
	for i, l := range a.digests {
		s, err := DecodeDigest(l)
		require.NoError(t, err)
		if s.Digest.Chain == chain && s.Digest.Seq == seq {
			return i
		}
	}
	t.Fatalf("no digest %s#%d", chain, seq)
	return -1
}

// kinds lists the findings' kinds, sorted and unique, and the event ids
// of each kind.
func kinds(r *Report) ([]string, map[string][]string) {
	ids := map[string][]string{}
	for _, f := range r.Findings {
		if f.EventID != "" {
			ids[f.Kind] = append(ids[f.Kind], f.EventID)
		} else if _, ok := ids[f.Kind]; !ok {
			ids[f.Kind] = nil
		}
	}
	var out []string
	for k := range ids {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, ids
}

func checkArchive(t testing.TB, o Options, dir string) *Report {
	rep, err := CheckArchive(context.Background(), o, Archive{Dir: dir})
	require.NoError(t, err)
	return rep
}

// Each tampering is detected and named, with the event id concerned.
func TestArchiveTamperingIsDetected(t *testing.T) {
	w := standard(t, archiveStore)
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, a *archiveState) (ids []string)
		kinds   []string
		idsKind string
	}{
		{"one field of one event edited", func(t *testing.T, a *archiveState) []string {
			lr := a.rec(liveFile, 1, 4)
			lr.Attributes().PutStr("outcome", "failure-edited")
			return []string{eventID(lr)}
		}, []string{Modified}, Modified},
		{"an event deleted", func(t *testing.T, a *archiveState) []string {
			id := eventID(a.rec(liveFile, 2, 3))
			records(a.files[liveFile][2]).RemoveIf(func(lr plog.LogRecord) bool { return eventID(lr) == id })
			return []string{id}
		}, []string{Deleted}, Deleted},
		{"an event deleted from the first digest", func(t *testing.T, a *archiveState) []string {
			id := eventID(a.rec(liveFile, 0, 4))
			records(a.files[liveFile][0]).RemoveIf(func(lr plog.LogRecord) bool { return eventID(lr) == id })
			return []string{id}
		}, []string{Deleted}, Deleted},
		{"a forged event inserted", func(t *testing.T, a *archiveState) []string {
			forged := gen(1, "forged-", 99, time.Now())
			a.files[liveFile] = append(a.files[liveFile], forged)
			return []string{eventID(records(forged).At(0))}
		}, []string{Inserted}, Inserted},
		{"an event inserted into a batch", func(t *testing.T, a *archiveState) []string {
			lr := records(a.files[liveFile][0]).AppendEmpty()
			records(gen(1, "slipped-", 98, time.Now())).At(0).CopyTo(lr)
			return []string{eventID(lr)}
		}, []string{Inserted}, Inserted},
		{"a digest deleted", func(t *testing.T, a *archiveState) []string {
			i := a.findDigest(t, "col-1/org_a", 2)
			a.digests = append(a.digests[:i], a.digests[i+1:]...)
			return nil // its events are then in no digest: inserted
		}, []string{Inserted, MissingDigest}, ""},
		{"a digest edited", func(t *testing.T, a *archiveState) []string {
			// The event edited, and its hash in the digest to match.
			lr := a.rec(liveFile, 1, 4)
			lr.Attributes().PutStr("outcome", "failure-edited")
			var enc esdoc.Encoder
			sum := digest.DocumentHash(digest.ArchiveDocument(&enc, nil, a.files[liveFile][1].ResourceLogs().At(0).Resource(), lr))
			i := a.findDigest(t, "col-1/org_a", 2)
			s, _ := DecodeDigest(a.digests[i])
			for k := range s.Digest.Events {
				if s.Digest.Events[k].ID == eventID(lr) {
					s.Digest.Events[k].SHA256 = sum
				}
			}
			a.digests[i], _ = json.Marshal(s)
			return nil
		}, []string{BadSignature, MissingDigest}, ""},
		{"a digest made undecodable", func(t *testing.T, a *archiveState) []string {
			i := a.findDigest(t, "col-1/org_b", 3)
			a.digests[i] = append([]byte("\x1b[2J"), a.digests[i][:40]...)
			return nil
		}, []string{BadDigest, Inserted, MissingDigest}, ""},
		{"a digest re-signed by another key", func(t *testing.T, a *archiveState) []string {
			other := newWorld(t, archiveStore)
			i := a.findDigest(t, "col-1/org_a", 3)
			s, _ := DecodeDigest(a.digests[i])
			a.digests[i], _ = json.Marshal(other.resign(t, s.Digest))
			return nil
		}, []string{BadSignature, MissingDigest}, ""},
		{"the newest events truncated", func(t *testing.T, a *archiveState) []string {
			a.files[liveFile] = a.files[liveFile][:3]
			a.digests = a.digests[:6] // seq 1-3 of both chains: no final
			return nil
		}, []string{StaleChain}, ""},
		{"events reordered", func(t *testing.T, a *archiveState) []string {
			l := a.files[liveFile]
			l[1], l[2] = l[2], l[1]
			return nil
		}, []string{Reordered}, ""},
		{"two events swapped within a batch", func(t *testing.T, a *archiveState) []string {
			recs := records(a.files[liveFile][3])
			x := plog.NewLogRecord()
			recs.At(0).CopyTo(x)
			recs.At(1).CopyTo(recs.At(0))
			x.CopyTo(recs.At(1))
			return nil
		}, []string{Reordered}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.archive(t, 0)
			want := tc.tamper(t, a)
			rep := checkArchive(t, w.opts(), a.write(t))
			got, ids := kinds(rep)
			assert.Equal(t, tc.kinds, got, "%+v", rep.Findings)
			if tc.idsKind != "" {
				assert.Equal(t, want, ids[tc.idsKind])
			}
			assert.False(t, rep.Intact())
			for _, f := range rep.Findings {
				if f.Kind != BadDigest {
					assert.NotEmpty(t, f.Chain+f.EventID, "%+v", f)
				}
			}
		})
	}
}

// No false alarm after what a working collector and its store do.
func TestArchiveNoFalseAlarm(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		w := standard(t, archiveStore)
		rep := checkArchive(t, w.opts(), w.archive(t, 0).write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 36, rep.Summary.Covered)
		assert.Equal(t, 36, rep.Summary.EventsChecked)
		assert.Equal(t, 2, rep.Summary.Chains)
		assert.Equal(t, 10, rep.Summary.Digests)
	})
	t.Run("a crash: unconfirmed entries, stored or not", func(t *testing.T) {
		w := newWorld(t, archiveStore)
		r1 := w.recorder(t)
		w.write(t, r1, gen(9, "a", 1, time.Now()))
		ctx := context.Background()
		// Written, then killed before the commit: stored and unconfirmed.
		stored := w.prepare(gen(6, "s", 2, time.Now()))
		_, err := r1.Begin(ctx, stored.entries)
		require.NoError(t, err)
		w.batches = append(w.batches, stored)
		// Begun, killed before the write: unconfirmed and absent.
		lost := w.prepare(gen(6, "l", 3, time.Now()))
		_, err = r1.Begin(ctx, lost.entries)
		require.NoError(t, err)
		// The restart reads the same storage; the killed one is never shut
		// down cleanly (its digests after the test do not matter).
		r2 := w.recorder(t)
		t.Cleanup(func() { _ = r1.Shutdown(context.Background()) })
		w.write(t, r2, gen(9, "b", 4, time.Now()))
		w.finish(t, r2)
		rep := checkArchive(t, w.opts(), w.archive(t, 0).write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 6, rep.Summary.UnconfirmedAbsent)
		assert.Equal(t, 24, rep.Summary.Covered)
	})
	t.Run("a conflict entry: the store kept another copy", func(t *testing.T) {
		w := newWorld(t, archiveStore)
		r := w.recorder(t)
		w.write(t, r, gen(9, "a", 1, time.Now()))
		// The copy kept was written, and listed, first (a copy that no
		// entry lists but conflicts is inserted: TestOnlyConflictsNameIt).
		kept := w.write(t, r, gen(3, "c", 2, time.Now()))
		refused := written{entries: append([]digest.Pending(nil), kept.entries[1:2]...)}
		refused.entries[0].Entry.Conflict = true
		refused.entries[0].Entry.SHA256 = digest.DocumentHash([]byte("the copy that was refused"))
		n, err := r.Begin(context.Background(), refused.entries)
		require.NoError(t, err)
		r.Commit(n, refused.entries)
		w.finish(t, r)
		rep := checkArchive(t, w.opts(), w.archive(t, 0).write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 1, rep.Summary.Conflicts)
	})
	t.Run("the oldest file removed by rotation", func(t *testing.T) {
		w := standard(t, archiveStore)
		a := w.archive(t, 2)
		delete(a.files, backupFile)
		rep := checkArchive(t, w.opts(), a.write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 18, rep.Summary.PastRetention)
		assert.Equal(t, 18, rep.Summary.Covered)
	})
	t.Run("events newer than the grace, in no digest yet", func(t *testing.T) {
		w := standard(t, archiveStore)
		a := w.archive(t, 0)
		a.files[liveFile] = append(a.files[liveFile], gen(5, "new", 7, time.Now()))
		o := w.opts()
		o.Now = time.Now().Add(time.Minute)
		rep := checkArchive(t, o, a.write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 5, rep.Summary.NotYetCovered)
		// Past the grace they are inserted.
		o.Now = time.Now().Add(time.Hour)
		rep = checkArchive(t, o, a.write(t))
		got, _ := kinds(rep)
		assert.Equal(t, []string{Inserted}, got)
	})
	t.Run("a digest written twice, and a re-import", func(t *testing.T) {
		w := newWorld(t, archiveStore)
		r := w.recorder(t)
		ld := gen(9, "a", 1, time.Now())
		w.write(t, r, ld)
		w.write(t, r, ld) // the same events archived again, listed again
		w.finish(t, r)
		a := w.archive(t, 0)
		a.digests = append(a.digests, a.digests[1])
		rep := checkArchive(t, w.opts(), a.write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 18, rep.Summary.Covered)
	})
	t.Run("one tenant", func(t *testing.T) {
		w := standard(t, archiveStore)
		o := w.opts()
		o.Namespace = "org_b"
		rep := checkArchive(t, o, w.archive(t, 0).write(t))
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 1, rep.Summary.Chains)
		assert.Equal(t, 12, rep.Summary.Covered)
	})
}

// A flood of one kind does not hide another: findings are bounded per kind.
func TestMaxFindingsIsPerKind(t *testing.T) {
	w := standard(t, archiveStore)
	a := w.archive(t, 0)
	i := a.findDigest(t, "col-1/org_a", 2)
	a.digests = append(a.digests[:i], a.digests[i+1:]...) // 6 inserted
	a.rec(liveFile, 3, 0).Attributes().PutStr("outcome", "edited")
	o := w.opts()
	o.MaxFindings = 2
	rep := checkArchive(t, o, a.write(t))
	got, _ := kinds(rep)
	assert.Equal(t, []string{Inserted, MissingDigest, Modified}, got)
	assert.Equal(t, 6, rep.Summary.Counts[Inserted])
	assert.Equal(t, 4, rep.Omitted)
}
