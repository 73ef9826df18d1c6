package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
