// Package load runs short versions (20k events) of the harness's fault
// scenarios 1, 4, 6, 7, 8, 10 and 11 against the built collector, failing
// on any lost or duplicated event. `make bench-e2e` runs every scenario at
// 1M.
package load

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	for _, i := range []int{1, 4, 6, 7, 8, 10, 11} {
		var sc loadharness.Scenario
		for _, x := range all {
			if strings.HasPrefix(x.Name, fmt.Sprintf("%d-", i)) {
				sc = x
			}
		}
		require.NotEmpty(t, sc.Name, "scenario %d", i)
		sc.StallTimeout = 20 * time.Second
		switch i {
		case 7, 11:
			// Enough dropped answers to be sure retries of landed writes happen.
			sc.Faults.IndexThenDropFraction = 0.5
			sc.Faults.RolloverEveryDocs /= 10
			sc.Batch = 200
		case 10:
			sc.OutageFor = 3 * time.Second
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
			case 7, 11:
				assert.Positive(t, rep.DroppedAnswers, "the fault fired")
				assert.Positive(t, rep.Conflicts, "re-sent writes that had landed were refused by _id")
				if i == 11 {
					assert.GreaterOrEqual(t, rep.Indices, 3, "events of three days in daily indices")
				}
			case 10:
				assert.Positive(t, rep.Forbidden, "the fault fired")
				assert.Zero(t, rep.DeadLettered, "refused for a reason outside the documents: retried, not dead-lettered")
			case 8:
				assert.Equal(t, sc.Events/100, rep.DeadLettered, "1% dead-lettered, each counted")
			}
		})
	}
}
