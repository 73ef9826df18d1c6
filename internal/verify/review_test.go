package verify

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// Ids with invalid UTF-8: the digest lists them as digest.ValidID does;
// verify keys the stored records the same way (archive and
// Elasticsearch).
func TestInvalidUTF8IDs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store store
		check func(t *testing.T, w *world) *Report
	}{
		{"archive", archiveStore, func(t *testing.T, w *world) *Report {
			return checkArchive(t, w.opts(), w.archive(t, 0).write(t))
		}},
		{"elasticsearch", esStore, func(t *testing.T, w *world) *Report {
			_, c := w.es(t).load(t)
			return checkES(t, w.opts(), c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.store)
			r := w.recorder(t)
			ld := gen(6, "a", 1, time.Now())
			records(ld).At(1).Attributes().PutStr("event.id", "odd\xff\xfeid")
			records(ld).At(4).Attributes().PutStr("event.id", "x\xc3")
			w.write(t, r, ld)
			w.finish(t, r)
			rep := tc.check(t, w)
			assert.True(t, rep.Intact(), "%+v", rep.Findings)
			assert.Equal(t, 6, rep.Summary.Covered)
		})
	}
}

// --organization on the archive reads organization.id as the writer
// does: a string attribute only; anything else is namespace "default".
func TestArchiveOrganizationNotAString(t *testing.T) {
	w := newWorld(t, archiveStore)
	r := w.recorder(t)
	ld := gen(6, "a", 1, time.Now())
	records(ld).At(0).Attributes().PutInt("organization.id", 42)
	records(ld).At(3).Attributes().PutBool("organization.id", true)
	b := w.prepare(ld)
	for _, i := range []int{0, 3} {
		b.entries[i].Namespace = "default" // the writer's rule
	}
	ctx := context.Background()
	n, err := r.Begin(ctx, b.entries)
	require.NoError(t, err)
	w.batches = append(w.batches, b)
	r.Commit(n, b.entries)
	w.finish(t, r)
	dir := w.archive(t, 0).write(t)
	for _, tc := range []struct {
		org     string
		covered int
	}{
		{"", 6},
		{"default", 2},
		{"org_a", 2},
		{"org_b", 2},
		{"42", 0},
	} {
		t.Run("organization="+tc.org, func(t *testing.T) {
			o := w.opts()
			o.Namespace = tc.org
			rep, err := CheckArchive(ctx, o, Archive{Dir: dir})
			if tc.covered == 0 {
				require.Error(t, err) // no chain of that namespace
				return
			}
			require.NoError(t, err)
			assert.True(t, rep.Intact(), "%+v", rep.Findings)
			assert.Equal(t, tc.covered, rep.Summary.Covered)
		})
	}
}

// Staleness follows each chain's cadence: stale when the newest digest
// is older than max(MaxAge, 3 × its To − From).
func TestStalenessFollowsCadence(t *testing.T) {
	w := standard(t, archiveStore)
	w.batches = w.batches[:3]
	w.digests = w.digests[:6] // seq 1-3 of both chains: no final
	var newest time.Time
	for i, s := range w.digests {
		if s.Digest.Seq == 3 && s.Digest.Chain == "col-1/org_a" {
			d := s.Digest
			d.From = d.To.Add(-time.Hour) // an hourly chain
			w.digests[i] = w.resign(t, d)
		}
		if s.Digest.To.After(newest) {
			newest = s.Digest.To
		}
	}
	dir := w.archive(t, 0).write(t)
	for _, tc := range []struct {
		name  string
		age   time.Duration
		stale []string
	}{
		{"within max-age", 4 * time.Minute, nil},
		{"past max-age, within 3 hourly windows", 2 * time.Hour, []string{"col-1/org_b"}},
		{"past 3 hourly windows", 4 * time.Hour, []string{"col-1/org_a", "col-1/org_b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := w.opts()
			o.Now = newest.Add(tc.age)
			rep := checkArchive(t, o, dir)
			var stale []string
			for _, f := range rep.Findings {
				require.Equal(t, StaleChain, f.Kind, "%+v", f)
				stale = append(stale, f.Chain)
			}
			assert.Equal(t, tc.stale, stale)
		})
	}
}

// The id arena's offsets are uint32: past the limit the check stops (no
// verdict) instead of wrapping.
func TestIDArenaLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit uint64
		fails bool
	}{
		{"within", 1 << 20, false},
		{"just enough", 36 * 2, false}, // 36 ids of two bytes
		{"past", 36*2 - 1, true},
	} {
		for _, st := range []struct {
			name  string
			store store
			check func(t *testing.T, w *world) (*Report, error)
		}{
			{"archive", archiveStore, func(t *testing.T, w *world) (*Report, error) {
				return CheckArchive(context.Background(), w.opts(), Archive{Dir: w.archive(t, 0).write(t)})
			}},
			{"elasticsearch", esStore, func(t *testing.T, w *world) (*Report, error) {
				_, c := w.es(t).load(t)
				return CheckES(context.Background(), w.opts(), ES{Client: c})
			}},
		} {
			t.Run(tc.name+"/"+st.name, func(t *testing.T) {
				w := standard(t, st.store) // ids a0…d8: two bytes each
				old := arenaLimit
				arenaLimit = tc.limit
				defer func() { arenaLimit = old }()
				rep, err := st.check(t, w)
				if tc.fails {
					require.ErrorIs(t, err, errArenaFull)
					return
				}
				require.NoError(t, err)
				assert.True(t, rep.Intact(), "%+v", rep.Findings)
			})
		}
	}
}

// An uncovered event or dead letter: inserted when dated in the future
// past the clock skew, or before the first digest unless --from limited
// the window; within the grace, not yet covered.
func TestUncoveredDates(t *testing.T) {
	const (
		inserted = "inserted"
		notYet   = "not yet covered"
		before   = "before the digests"
	)
	t0 := time.Now()
	ws := map[string]*world{"archive": standard(t, archiveStore), "elasticsearch": standard(t, esStore)}
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		created time.Time
		from    time.Time
		want    string
	}{
		{"in the future past the skew", now.Add(ClockSkew + time.Minute), time.Time{}, inserted},
		{"far in the future", now.AddDate(1, 0, 0), time.Time{}, inserted},
		{"in the future within the skew", now.Add(ClockSkew - time.Minute), time.Time{}, notYet},
		{"within the grace", now.Add(-time.Minute), time.Time{}, notYet},
		{"past the grace", now.Add(-DefaultGrace - time.Minute), time.Time{}, inserted},
		{"before the first digest", t0.Add(-time.Hour), time.Time{}, inserted},
		{"before --from", t0.Add(-time.Hour), t0.Add(-time.Minute), before},
		{"after --from, before the first digest", t0.Add(-time.Hour), t0.Add(-2 * time.Hour), before},
	} {
		for _, store := range []string{"archive", "elasticsearch", "elasticsearch dead letter"} {
			t.Run(tc.name+"/"+store, func(t *testing.T) {
				o := ws["archive"].opts()
				o.Now, o.From = now, tc.from
				var rep *Report
				switch store {
				case "archive":
					w := ws["archive"]
					a := w.archive(t, 0)
					a.files[liveFile] = append(a.files[liveFile], gen(1, "z", 99, tc.created))
					o.Keys = w.opts().Keys
					rep = checkArchive(t, o, a.write(t))
				default:
					w := ws["elasticsearch"]
					st := w.es(t)
					b := w.prepare(gen(1, "z", 99, tc.created))
					if store == "elasticsearch" {
						st.docs = append(st.docs, esDoc{b.index[0], b.entries[0].Entry.ID, b.docs[0]})
					} else {
						st.dead = append(st.dead, esDoc{"logs-audit.deadletter-default", "", esdoc.AppendDeadLetter(nil, b.docs[0], b.entries[0].Entry.ID,
							"document_parsing_exception", "refused", esdoc.Target{Dataset: "audit.deadletter", Namespace: "default"}, b.index[0], tc.created)})
					}
					o.Keys = w.opts().Keys
					_, c := st.load(t)
					rep = checkES(t, o, c)
				}
				got := ""
				switch {
				case len(rep.Findings) == 1 && rep.Findings[0].Kind == Inserted && rep.Findings[0].EventID == "z0":
					got = inserted
				case !rep.Intact():
					t.Fatalf("findings %+v", rep.Findings)
				case rep.Summary.NotYetCovered == 1:
					got = notYet
				case rep.Summary.BeforeDigests == 1:
					got = before
				}
				assert.Equal(t, tc.want, got, "%+v", rep.Summary)
			})
		}
	}
}

// A batch written and not sealed (the collector killed), then resent by
// its client after the restart: the archive holds the first copy where it
// was written and the resend later. Neither is reordered.
func TestResendAfterKill(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool // C written before the resend
		resend bool
		// the archive's order of batches, by name
		order []string
		want  []string
	}{
		{"resent after other events", true, true, []string{"a", "b", "c", "b"}, nil},
		{"resent at once", false, true, []string{"a", "b", "b", "c"}, nil},
		{"never resent", true, false, []string{"a", "b", "c"}, nil},
		{"the first copy lost, the resend kept", true, true, []string{"a", "c", "b"}, nil},
		{"really reordered", true, true, []string{"b", "c", "b", "a"}, []string{Reordered}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, archiveStore)
			r1 := w.recorder(t)
			w.write(t, r1, gen(6, "a", 1, time.Now()))
			ldB := gen(6, "b", 2, time.Now())
			b := w.prepare(ldB)
			_, err := r1.Begin(context.Background(), b.entries) // written, killed before the commit
			require.NoError(t, err)
			r2 := w.recorder(t) // restart
			t.Cleanup(func() { _ = r1.Shutdown(context.Background()) })
			ldC := gen(6, "c", 3, time.Now())
			if tc.before {
				w.write(t, r2, ldC)
			}
			if tc.resend {
				w.write(t, r2, ldB)
			}
			if !tc.before {
				w.write(t, r2, ldC)
			}
			w.finish(t, r2)
			byName := map[string]written{"a": w.batches[0], "b": b, "c": w.prepare(ldC)}
			w.batches = nil
			for _, n := range tc.order {
				w.batches = append(w.batches, byName[n])
			}
			rep := checkArchive(t, w.opts(), w.archive(t, 0).write(t))
			got, _ := kinds(rep)
			assert.Equal(t, tc.want, got, "%+v", rep.Findings)
		})
	}
}

// A stored document that only conflict entries name, with another hash,
// is in no digest: inserted. When a normal entry lists the copy kept, the
// conflict is counted only.
func TestOnlyConflictsNameIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		// build writes the world; from is the --from to check with.
		build     func(t *testing.T, w *world, r *digest.Recorder) (from time.Time)
		edit      func(t *testing.T, st *esState)
		inserted  []string
		conflicts int
	}{
		{"an id taken before the collector wrote it", func(t *testing.T, w *world, r *digest.Recorder) time.Time {
			w.write(t, r, gen(6, "a", 1, time.Now()))
			b := w.prepare(gen(3, "x", 2, time.Now()))
			b.entries[1].Entry.Conflict = true // 409: the forged copy was there first
			b.docs[1] = editDoc(t, b.docs[1], "action", "forged.action")
			n, err := r.Begin(context.Background(), b.entries)
			require.NoError(t, err)
			w.batches = append(w.batches, b)
			r.Commit(n, b.entries)
			return time.Time{}
		}, nil, []string{"x1"}, 1},
		{"an edit after a re-import, --from past the original digest", func(t *testing.T, w *world, r *digest.Recorder) time.Time {
			ld := gen(6, "a", 1, time.Now().Add(-time.Hour))
			w.write(t, r, ld)
			from := w.sink.ds[len(w.sink.ds)-1].Digest.To.Add(time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			re := w.prepare(ld)
			for i := range re.entries {
				re.entries[i].Entry.Conflict = true
			}
			n, err := r.Begin(context.Background(), re.entries)
			require.NoError(t, err)
			r.Commit(n, re.entries)
			require.NoError(t, r.Flush(context.Background()))
			return from
		}, func(t *testing.T, st *esState) {
			i := st.findDoc(t, "a0")
			st.docs[i].src = editDoc(t, st.docs[i].src, "action", "edited.action")
		}, []string{"a0"}, 1},
		{"a re-import, --from past the original digest", func(t *testing.T, w *world, r *digest.Recorder) time.Time {
			ld := gen(6, "a", 1, time.Now().Add(-time.Hour))
			w.write(t, r, ld)
			from := w.sink.ds[len(w.sink.ds)-1].Digest.To.Add(time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			re := w.prepare(ld)
			for i := range re.entries {
				re.entries[i].Entry.Conflict = true
			}
			n, err := r.Begin(context.Background(), re.entries)
			require.NoError(t, err)
			r.Commit(n, re.entries)
			require.NoError(t, r.Flush(context.Background()))
			return from
		}, nil, nil, 0},
		{"a refused copy, the kept one listed", func(t *testing.T, w *world, r *digest.Recorder) time.Time {
			kept := w.write(t, r, gen(3, "c", 2, time.Now()))
			refused := written{entries: append([]digest.Pending(nil), kept.entries[1:2]...)}
			refused.entries[0].Entry.Conflict = true
			refused.entries[0].Entry.SHA256 = digest.DocumentHash([]byte("the copy that was refused"))
			n, err := r.Begin(context.Background(), refused.entries)
			require.NoError(t, err)
			r.Commit(n, refused.entries)
			return time.Time{}
		}, nil, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, esStore)
			r := w.recorder(t)
			from := tc.build(t, w, r)
			w.finish(t, r)
			st := w.es(t)
			if tc.edit != nil {
				tc.edit(t, st)
			}
			_, c := st.load(t)
			o := w.opts()
			o.From = from
			rep := checkES(t, o, c)
			got, ids := kinds(rep)
			if tc.inserted == nil {
				assert.True(t, rep.Intact(), "%+v", rep.Findings)
			} else {
				assert.Equal(t, []string{Inserted}, got, "%+v", rep.Findings)
				assert.Equal(t, tc.inserted, ids[Inserted])
				assert.Contains(t, rep.Findings[0].What, "conflicts")
			}
			assert.Equal(t, tc.conflicts, rep.Summary.Conflicts)
		})
	}
}

// Archive retention does not depend on the records' observed timestamps
// (a client may supply them): a missing entry is past retention only when
// it comes before its chain's first record kept and that record is in the
// oldest file left (rotation removes whole files).
func TestArchiveRetentionByFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		// observed shifts the observed time of batch b's record i.
		observed map[[2]int]time.Duration
		tamper   func(a *archiveState)
		want     []string
		past     int
	}{
		{"the oldest file removed", nil, func(a *archiveState) {
			delete(a.files, backupFile)
		}, nil, 18},
		{"the oldest file removed, the first record kept observed a day early", map[[2]int]time.Duration{{2, 0}: -24 * time.Hour, {2, 2}: -24 * time.Hour}, func(a *archiveState) {
			delete(a.files, backupFile)
		}, nil, 18},
		{"a tenant's records cut from the oldest file, its first record dated a year ahead", map[[2]int]time.Duration{{0, 0}: 365 * 24 * time.Hour}, func(a *archiveState) {
			for _, ld := range a.files[backupFile] {
				records(ld).RemoveIf(func(lr plog.LogRecord) bool {
					v, _ := lr.Attributes().Get("organization.id")
					return v.Str() == "org-b"
				})
			}
		}, []string{Deleted}, 0},
		{"the head of the oldest file cut", nil, func(a *archiveState) {
			a.files[backupFile] = a.files[backupFile][1:]
		}, nil, 9},
		{"the head of the live file cut, the oldest file kept", nil, func(a *archiveState) {
			a.files[liveFile] = a.files[liveFile][1:]
		}, []string{Deleted}, 0},
		{"a tenant's whole history cut, its chain's digests kept", nil, func(a *archiveState) {
			for _, f := range a.files {
				for _, ld := range f {
					records(ld).RemoveIf(func(lr plog.LogRecord) bool {
						v, _ := lr.Attributes().Get("organization.id")
						return v.Str() == "org-b"
					})
				}
			}
		}, []string{Deleted}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, archiveStore)
			r := w.recorder(t)
			for b, p := range []string{"a", "b", "c", "d"} {
				ld := gen(9, p, uint64(b+1), time.Now())
				for k, d := range tc.observed {
					if k[0] == b {
						lr := records(ld).At(k[1])
						lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(lr.ObservedTimestamp().AsTime().Add(d)))
					}
				}
				w.write(t, r, ld)
			}
			w.finish(t, r)
			a := w.archive(t, 2)
			tc.tamper(a)
			rep := checkArchive(t, w.opts(), a.write(t))
			got, _ := kinds(rep)
			assert.Equal(t, tc.want, got, "%+v", rep.Findings)
			assert.Equal(t, tc.past, rep.Summary.PastRetention)
		})
	}
}

// Elasticsearch: digests missing before a chain's first digest kept are
// gone with the digest stream's retention when its ILM delete age
// (audit-digest) has run out since that digest's From; otherwise, and for
// a gap after it, they are missing.
func TestESDigestRetention(t *testing.T) {
	w := standard(t, esStore)
	for _, tc := range []struct {
		name    string
		policy  string // audit-digest's delete min_age; "" none
		removed []uint64
		later   time.Duration
		want    []string
		past    int
	}{
		{"past the digest retention", "30d", []uint64{1, 2}, 2 * 365 * 24 * time.Hour, nil, 4},
		{"within the digest retention", "30d", []uint64{1, 2}, time.Hour, []string{MissingDigest}, 0},
		{"no digest policy", "", []uint64{1, 2}, 2 * 365 * 24 * time.Hour, []string{MissingDigest}, 0},
		{"a gap after the first digest kept", "30d", []uint64{3}, 2 * 365 * 24 * time.Hour, []string{MissingDigest}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := w.es(t)
			gone := map[string]bool{} // the events the removed digests list: gone too
			var kept []esDoc
			for _, d := range st.digests {
				s, err := decodeESDigest(d.src)
				require.NoError(t, err)
				if slices.Contains(tc.removed, s.Digest.Seq) {
					for _, e := range s.Digest.Events {
						gone[e.ID] = true
					}
					continue
				}
				kept = append(kept, d)
			}
			st.digests = kept
			var docs []esDoc
			for _, d := range st.docs {
				if !gone[d.id] {
					docs = append(docs, d)
				}
			}
			st.docs = docs
			_, c := st.load(t)
			if tc.policy != "" {
				res, err := c.ILM.PutLifecycle("audit-digest", c.ILM.PutLifecycle.WithBody(strings.NewReader(
					`{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_age":"1d"}}},"delete":{"min_age":"`+tc.policy+`","actions":{"delete":{}}}}}}`)))
				require.NoError(t, err)
				res.Body.Close()
				require.False(t, res.IsError(), res.String())
			}
			o := w.opts()
			o.Now = time.Now().Add(tc.later)
			rep := checkES(t, o, c)
			got, _ := kinds(rep)
			assert.Equal(t, tc.want, got, "%+v", rep.Findings)
			assert.Equal(t, tc.past, rep.Summary.DigestsPastRetention)
		})
	}
}
