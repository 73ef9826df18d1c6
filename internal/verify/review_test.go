package verify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
