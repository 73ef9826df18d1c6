package journalstorageextension

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
	"github.com/otelcol-audit/otelcol-audit/extension/journalstorageextension/internal/metadatatest"
	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// The events of the tests' default tier, wherever their month puts them.
const stored = "logs-audit-default-*"

var queueID = component.MustNewIDWithName("journal_storage", "queue")

// collector is the part of a collector this test needs: a journal_storage
// extension holding the audit_elasticsearch exporter's persistent queue.
type collector struct {
	ext *journalStorage
	exp exporter.Logs
	tel *componenttest.Telemetry
}

type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

// startCollector starts the extension over dir (fsync on; beforeSync is
// its journals' test hook) and the exporter against esURL.
func startCollector(t *testing.T, dir, esURL string, beforeSync func(string, int64)) *collector {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	ecfg := NewFactory().CreateDefaultConfig().(*Config)
	ecfg.Directory = dir
	require.True(t, ecfg.Fsync, "fsync is the default")
	ext, err := NewFactory().Create(ctx, metadatatest.NewSettings(tel), ecfg)
	require.NoError(t, err)
	js := ext.(*journalStorage)
	js.beforeSync = beforeSync
	require.NoError(t, ext.Start(ctx, componenttest.NewNopHost()))

	f := auditelasticsearchexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	cfg.Endpoints = []string{esURL}
	cfg.RequestTimeout = 2 * time.Second
	cfg.Bootstrap.RetryInterval = 50 * time.Millisecond
	cfg.Bulk = auditelasticsearchexporter.BulkConfig{MaxRetries: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	cfg.BackOffConfig.InitialInterval = 5 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 20 * time.Millisecond
	q := exporterhelper.NewDefaultQueueConfig()
	q.StorageID = &queueID // sending_queue.storage: journal_storage/queue
	q.NumConsumers = 2
	cfg.QueueConfig = configoptional.Some(q)
	require.NoError(t, cfg.Validate())

	set := exporter.Settings{
		// The same exporter at every start: it finds its queue again.
		ID:                component.NewIDWithName(f.Type(), "primary"),
		TelemetrySettings: tel.NewTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	exp, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, host{queueID: ext}))
	return &collector{ext: js, exp: exp, tel: tel}
}

// stop shuts the exporter and the extension down, as a collector does.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, c.exp.Shutdown(sctx))
	require.NoError(t, c.ext.Shutdown(sctx))
}

// queued is the exporter's queue size.
func (c *collector) queued(t *testing.T) int64 {
	t.Helper()
	m, err := c.tel.GetMetric("otelcol_exporter_queue_size")
	require.NoError(t, err)
	var n int64
	for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
		n += dp.Value
	}
	return n
}

// events is a batch of audit events with ids prefix-1..prefix-n.
func events(prefix string, n int) (plog.Logs, []string) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "notebooks")
	sl := rl.ScopeLogs().AppendEmpty()
	var ids []string
	for i := 1; i <= n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetEventName("notebook.open")
		id := fmt.Sprintf("%s-%d", prefix, i)
		lr.Attributes().PutStr("event.id", id)
		lr.Attributes().PutStr("user.email", "***@example.com")
		ids = append(ids, id)
	}
	return ld, ids
}

// copies counts how many times each id is stored.
func copies(es *estest.Server, ids []string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		out[id] = 0
	}
	for _, id := range es.IDs(stored) {
		if _, ok := out[id]; ok {
			out[id]++
		}
	}
	return out
}

func each(ids []string, n int) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		out[id] = n
	}
	return out
}

// copyTree copies a directory tree: the files as a killed collector left
// them.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "journal")
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	}))
	return dst
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	info, err := os.Stat(p)
	require.NoError(t, err)
	return info.Size()
}

// TestKillBetweenWriteAndSync kills the collector between a write and its
// sync, and shows what the sender was told and what survived.
//
// Elasticsearch is down throughout the first run, so both batches are
// only in the queue when the collector dies. Batch A is acknowledged;
// batch B is written to the journal and the kill comes while its
// fdatasync is pending. Two kills are played from the same moment: the
// process alone (SIGKILL: the page cache, B included, reaches the disk)
// and the machine (only what was synced survives, then garbage where a
// write was torn). Each restarts against an Elasticsearch that is up.
func TestKillBetweenWriteAndSync(t *testing.T) {
	down := estest.New()
	downURL := down.Start(t).URL
	down.SetFaults(estest.Faults{Outage: "503"})

	dir := filepath.Join(t.TempDir(), "journal")
	// The hook stands in B's sync, between its write and its fdatasync.
	var (
		armed   atomic.Bool
		entered = make(chan struct{})
		release = make(chan struct{})
		mu      sync.Mutex
		synced  struct {
			seg  string
			size int64
		}
	)
	hook := func(seg string, size int64) {
		if armed.CompareAndSwap(true, false) {
			close(entered)
			<-release
			return
		}
		// Any other sync completes: what it covers is durable.
		mu.Lock()
		synced.seg, synced.size = seg, size
		mu.Unlock()
	}
	orig := startCollector(t, dir, downURL, hook)
	a, aIDs := events("A", 3)
	b, bIDs := events("B", 3)

	ok := t.Run("the sender is told A is kept: ConsumeLogs returns nil after A's fdatasync", func(t *testing.T) {
		mu.Lock()
		before := synced.size // the exporter syncs what the queue wrote at start
		mu.Unlock()
		require.NoError(t, orig.exp.ConsumeLogs(ctx, a))
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, synced.seg, "A's ConsumeLogs synced the journal")
		require.Greater(t, synced.size, before, "A's ConsumeLogs synced past the start")
		t.Logf("A is durable: %s synced up to byte %d", filepath.Base(synced.seg), synced.size)
	})
	require.True(t, ok)
	mu.Lock()
	aSeg, aSize := synced.seg, synced.size
	mu.Unlock()

	bDone := make(chan error, 1)
	ok = t.Run("the sender is told nothing about B: written, not synced, ConsumeLogs has not returned", func(t *testing.T) {
		armed.Store(true)
		go func() { bDone <- orig.exp.ConsumeLogs(ctx, b) }()
		select {
		case <-entered:
		case err := <-bDone:
			t.Fatalf("ConsumeLogs(B) returned %v without syncing", err)
		case <-time.After(10 * time.Second):
			t.Fatal("B's sync never began")
		}
		assert.Greater(t, fileSize(t, aSeg), aSize, "B's record is in the journal, past what A's sync covered")
		select {
		case err := <-bDone:
			t.Fatalf("ConsumeLogs(B) returned %v before its fdatasync", err)
		default:
		}
	})
	require.True(t, ok)

	// The kill, at this moment, two ways.
	killed := copyTree(t, dir)
	crashed := copyTree(t, dir)
	rel, err := filepath.Rel(dir, aSeg)
	require.NoError(t, err)
	segs, err := filepath.Glob(filepath.Join(crashed, filepath.Dir(rel), "*.seg"))
	require.NoError(t, err)
	require.Len(t, segs, 1, "one segment: A's sync covered everything before it")
	r := rand.New(rand.NewPCG(7, 7))
	garbage := make([]byte, 200)
	for i := range garbage {
		garbage[i] = byte(r.UintN(256))
	}
	cut := filepath.Join(crashed, rel)
	require.NoError(t, os.Truncate(cut, aSize))
	f, err := os.OpenFile(cut, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(garbage)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	select {
	case err := <-bDone:
		t.Fatalf("ConsumeLogs(B) returned %v before the kill", err)
	default:
	}
	// The first collector is dead in the story; let this one finish.
	close(release)
	require.NoError(t, <-bDone)
	orig.stop(t)
	assert.Empty(t, down.IDs(stored), "nothing reached the Elasticsearch that was down")

	t.Run("killed (SIGKILL: the page cache survives)", func(t *testing.T) {
		es := estest.New()
		c := startCollector(t, killed, es.Start(t).URL, nil)
		defer c.stop(t)
		require.Eventually(t, func() bool {
			all := slices.Concat(aIDs, bIDs)
			return maps.Equal(copies(es, all), each(all, 1))
		}, 10*time.Second, 10*time.Millisecond, "the queue replays A and B")
		t.Run("A, acknowledged, is stored exactly once", func(t *testing.T) {
			assert.Equal(t, each(aIDs, 1), copies(es, aIDs))
		})
		t.Run("B, never acknowledged, is stored too: at least once", func(t *testing.T) {
			assert.Equal(t, each(bIDs, 1), copies(es, bIDs))
		})
		t.Run("the sender, told nothing, retries B: a 409 per event, not a duplicate", func(t *testing.T) {
			before := es.Stats().Conflicts
			require.NoError(t, c.exp.ConsumeLogs(ctx, b))
			require.Eventually(t, func() bool { return es.Stats().Conflicts == before+int64(len(bIDs)) }, 10*time.Second, 10*time.Millisecond)
			assert.Equal(t, each(bIDs, 1), copies(es, bIDs))
			assert.Zero(t, es.Stats().Duplicates)
			assert.Len(t, es.IDs(stored), len(aIDs)+len(bIDs))
		})
	})

	t.Run("machine crash (only what was synced survives, then a torn write)", func(t *testing.T) {
		es := estest.New()
		c := startCollector(t, crashed, es.Start(t).URL, nil)
		defer c.stop(t)
		require.Eventually(t, func() bool { return maps.Equal(copies(es, aIDs), each(aIDs, 1)) && c.queued(t) == 0 },
			10*time.Second, 10*time.Millisecond, "the queue replays A and drains")
		t.Run("the torn tail is cut off and counted", func(t *testing.T) {
			torn := comptest.Sum(t, c.tel, "otelcol_journal_storage_torn_bytes")
			t.Logf("%d bytes cut: the garbage where B's record was torn", torn)
			assert.Equal(t, int64(len(garbage)), torn)
		})
		t.Run("A, acknowledged, is stored exactly once", func(t *testing.T) {
			assert.Equal(t, each(aIDs, 1), copies(es, aIDs))
		})
		t.Run("B is absent: it was never acknowledged, so nothing acknowledged was lost", func(t *testing.T) {
			assert.Equal(t, each(bIDs, 0), copies(es, bIDs))
		})
		t.Run("the sender, told nothing, retries B: stored once", func(t *testing.T) {
			require.NoError(t, c.exp.ConsumeLogs(ctx, b))
			require.Eventually(t, func() bool { return maps.Equal(copies(es, bIDs), each(bIDs, 1)) }, 10*time.Second, 10*time.Millisecond)
			assert.Zero(t, es.Stats().Conflicts)
			assert.Zero(t, es.Stats().Duplicates)
			assert.Len(t, es.IDs(stored), len(aIDs)+len(bIDs))
		})
	})
}
