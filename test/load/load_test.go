// Package load runs short versions (20k events) of the harness's fault
// scenarios 1, 4, 6, 7 and 8 against the built collector, failing on any
// lost or duplicated event. `make bench-e2e` runs every scenario at 1M.
package load

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/loadharness"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

func TestShortFaultScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end load scenarios")
	}
	_, file, _, _ := runtime.Caller(0)
	o := loadharness.Options{
		Collector: testcollector.Binary(t), RepoRoot: filepath.Join(filepath.Dir(file), "..", ".."),
		WorkDir: t.TempDir(), MemLimitMiB: 1024,
	}
	all := loadharness.Scenarios(20_000, 2*time.Second)
	for _, i := range []int{1, 4, 6, 7, 8} {
		sc := all[i-1]
		sc.StallTimeout = 20 * time.Second
		if i == 7 {
			// Enough dropped answers to be sure retries of landed writes happen.
			sc.Faults = estest.Faults{IndexThenDropFraction: 0.5}
			sc.Batch = 200
		}
		t.Run(sc.Name, func(t *testing.T) {
			rep, err := loadharness.Run(context.Background(), o, sc)
			require.NoError(t, err)
			t.Log(rep)
			assert.Equal(t, sc.Events, rep.Acked, "every event acknowledged")
			assert.Zero(t, rep.Lost, "lost")
			assert.Zero(t, rep.Duplicates, "duplicates")
			assert.Zero(t, rep.Unexpected, "stored but never sent")
			assert.Equal(t, rep.Acked, rep.Stored+rep.DeadLettered, "every event stored or dead-lettered")
			switch i {
			case 7:
				assert.Positive(t, rep.DroppedAnswers, "the fault fired")
				assert.Positive(t, rep.Conflicts, "re-sent writes that had landed were refused by _id")
			case 8:
				assert.Equal(t, sc.Events/100, rep.DeadLettered, "1% dead-lettered, each counted")
			}
		})
	}
}
