package auditfileexporter

import (
	"context"
	"crypto/ed25519"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

var ctx = context.Background()

// Every record written through the exporter is listed once in the digest
// file, per chain in archive order, read back as verify reads it.
func TestDigestsCoverTheArchiveInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"rotation", func(*Config) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyFile, pub := testKey(t)
			dir := t.TempDir()
			h, ext := startStorage(t, t.TempDir())
			defer ext.Shutdown(ctx)
			cfg := testConfig(dir, keyFile)
			tc.mod(cfg)
			e := startExporter(t, cfg, h)
			orgs := []string{"", "Acme-Corp", "globex"}
			for i := 0; i < 5; i++ {
				require.NoError(t, e.ConsumeLogs(ctx, batch(i*50, 50, orgs...)))
				if i == 1 {
					require.NoError(t, e.(digesting).e.rec.Flush(ctx))
				}
			}
			require.NoError(t, e.Shutdown(ctx))

			recs := readArchive(t, dir)
			require.Len(t, recs, 250)
			ds := readDigests(t, filepath.Join(dir, DefaultDigestFile))
			requireCovered(t, ds, pub, recs)
			chains := map[string]bool{}
			for _, s := range ds {
				chains[nsOf(s.Digest.Chain)] = true
			}
			assert.Equal(t, map[string]bool{"default": true, "acme_corp": true, "globex": true}, chains)
			assert.True(t, ds[len(ds)-1].Digest.Final)
			st, err := os.Stat(filepath.Join(dir, DefaultDigestFile))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(digestFileMode), st.Mode().Perm())
		})
	}
}

// A restart on the same storage continues each chain.
func TestChainContinuesAcrossRestart(t *testing.T) {
	keyFile, pub := testKey(t)
	dir, state := t.TempDir(), t.TempDir()
	var instances []string
	for run := 0; run < 3; run++ {
		h, ext := startStorage(t, state)
		e := startExporter(t, testConfig(dir, keyFile), h)
		instances = append(instances, e.(digesting).e.rec.Instance())
		require.NoError(t, e.ConsumeLogs(ctx, batch(run*10, 10, "a", "b")))
		require.NoError(t, e.Shutdown(ctx))
		require.NoError(t, ext.Shutdown(ctx))
	}
	assert.Equal(t, instances[0], instances[2], "the instance name is kept in storage")
	ds := readDigests(t, filepath.Join(dir, DefaultDigestFile))
	requireCovered(t, ds, pub, readArchive(t, dir))
	// Each run ends each chain with a final digest, and the next run's
	// first digest links to it (CheckChains checked the links).
	seqs := map[string][]uint64{}
	for _, s := range ds {
		seqs[s.Digest.Chain] = append(seqs[s.Digest.Chain], s.Digest.Seq)
	}
	assert.Equal(t, map[string][]uint64{
		instances[0] + "/a": {1, 2, 3},
		instances[0] + "/b": {1, 2, 3},
	}, seqs)
}

// flaky is the file exporter, failing on demand.
type flaky struct {
	exporter.Logs
	failWrites, failShutdown atomic.Bool
}

var errFlaky = errors.New("disk full")

func (f *flaky) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.failWrites.Load() {
		return errFlaky
	}
	return f.Logs.ConsumeLogs(ctx, ld)
}

func (f *flaky) Shutdown(ctx context.Context) error {
	err := f.Logs.Shutdown(ctx)
	if f.failShutdown.Load() {
		return errFlaky
	}
	return err
}

func startFlaky(t *testing.T, cfg *Config, h component.Host) (*auditFileExporter, *flaky) {
	t.Helper()
	set := settings()
	inner, err := fileFactory.CreateLogs(ctx, innerSettings(set), &cfg.Config)
	require.NoError(t, err)
	f := &flaky{Logs: inner}
	e := newExporter(set, cfg, f)
	require.NoError(t, e.Start(ctx, h))
	return e, f
}

// A write the file exporter refused is in no digest.
func TestFailedWriteCommitsNothing(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	e, f := startFlaky(t, testConfig(dir, keyFile), h)

	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 5)))
	f.failWrites.Store(true)
	require.ErrorIs(t, e.ConsumeLogs(ctx, batch(100, 5)), errFlaky)
	f.failWrites.Store(false)
	require.NoError(t, e.ConsumeLogs(ctx, batch(200, 5)))
	require.NoError(t, e.rec.Flush(ctx))
	assert.Zero(t, e.rec.Stats().Pending, "the failed write waits for nothing")
	require.NoError(t, e.Shutdown(ctx))

	ds := readDigests(t, filepath.Join(dir, DefaultDigestFile))
	recs := readArchive(t, dir)
	require.Len(t, recs, 10)
	requireCovered(t, ds, pub, recs)
	for _, s := range ds {
		for _, en := range s.Digest.Events {
			assert.NotContains(t, en.ID, "ev-0001", "a record of the failed write is listed")
		}
	}
}

// When the last flush fails, nothing it wrote is claimed; the next start
// lists those records as unconfirmed.
func TestFailedFlushClaimsNothing(t *testing.T) {
	keyFile, pub := testKey(t)
	dir, state := t.TempDir(), t.TempDir()
	h, ext := startStorage(t, state)
	e, f := startFlaky(t, testConfig(dir, keyFile), h)
	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 3)))
	f.failShutdown.Store(true)
	require.ErrorIs(t, e.Shutdown(ctx), errFlaky)
	require.NoError(t, ext.Shutdown(ctx))
	_, err := os.Stat(filepath.Join(dir, DefaultDigestFile))
	if err == nil {
		assert.Empty(t, entries(readDigests(t, filepath.Join(dir, DefaultDigestFile))))
	}

	h, ext = startStorage(t, state)
	defer ext.Shutdown(ctx)
	e2 := startExporter(t, testConfig(dir, keyFile), h).(digesting).e
	require.NoError(t, e2.rec.Flush(ctx))
	require.NoError(t, e2.Shutdown(ctx))
	ds := readDigests(t, filepath.Join(dir, DefaultDigestFile))
	require.Empty(t, digest.CheckChains(ds, []ed25519.PublicKey{pub}))
	got := entries(ds)["default"]
	require.Len(t, got, 3)
	for _, en := range got {
		assert.True(t, en.Unconfirmed, en.ID)
	}
}

// An idle chain gets a heartbeat every interval.
func TestHeartbeatWhenIdle(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	cfg := testConfig(dir, keyFile)
	cfg.Digest.Interval = 200 * time.Millisecond
	e := startExporter(t, cfg, h).(digesting).e
	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 2)))
	require.NoError(t, e.rec.Flush(ctx))
	path := filepath.Join(dir, DefaultDigestFile)
	require.Eventually(t, func() bool {
		ds := readDigests(t, path)
		last := ds[len(ds)-1].Digest
		return last.Seq >= 2 && last.Count == 0 && !last.Final
	}, 5*time.Second, 50*time.Millisecond)
	require.NoError(t, e.Shutdown(ctx))
	ds := readDigests(t, path)
	require.Empty(t, digest.CheckChains(ds, []ed25519.PublicKey{pub}))
}

// Shutdown closes the archive, then claims everything in final digests,
// before the flush interval and settle margin have passed.
func TestFinalDigestOnShutdown(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	cfg := testConfig(dir, keyFile)
	cfg.FlushInterval = time.Hour
	e := startExporter(t, cfg, h)
	onDisk := -1
	e.(digesting).e.sink.beforeWrite = func() { onDisk = len(readArchive(t, dir)) }
	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 4, "x", "y")))
	require.NoError(t, e.Shutdown(ctx))
	assert.Equal(t, 4, onDisk, "the archive held every record when the final digests were stored")
	ds := readDigests(t, filepath.Join(dir, DefaultDigestFile))
	require.Len(t, ds, 2)
	for _, s := range ds {
		assert.True(t, s.Digest.Final, s.Digest.Chain)
		assert.Equal(t, 2, s.Digest.Count)
	}
	requireCovered(t, ds, pub, readArchive(t, dir))
}

// A record is claimed only once the file exporter's flush interval (and
// the margin) has passed since its write.
func TestDigestWaitsForTheFlush(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	cfg := testConfig(dir, keyFile)
	cfg.FlushInterval = 300 * time.Millisecond
	cfg.Digest.Interval = 100 * time.Millisecond
	e := startExporter(t, cfg, h)
	defer e.Shutdown(ctx)
	written := time.Now()
	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 1)))
	path := filepath.Join(dir, DefaultDigestFile)
	claimed := func() bool {
		ds := readDigests(t, path)
		return len(entries(ds)["default"]) == 1
	}
	time.Sleep(time.Second)
	require.False(t, claimed(), "claimed before the flush interval and margin passed")
	require.Eventually(t, claimed, 5*time.Second, 50*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(written), cfg.FlushInterval+settleMargin)
	// What the digest claims is on disk already, before any shutdown.
	requireCovered(t, readDigests(t, path), pub, readArchive(t, dir))
}

// The canonical document hashed at write time is the one verify computes
// from the archived JSON, for records that stress the round trip.
func TestCanonicalFormSurvivesTheArchive(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	e := startExporter(t, testConfig(dir, keyFile), h)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc\x00\u2028")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	ts := pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	add := func(id string, fill func(lr plog.LogRecord)) {
		lr := recs.AppendEmpty()
		lr.SetTimestamp(ts)
		if id != "" {
			lr.Attributes().PutStr("event.id", id)
		}
		lr.Attributes().PutStr("event.action", "x.y")
		fill(lr)
	}
	add("invalid-utf8", func(lr plog.LogRecord) {
		lr.Body().SetStr("bad \xff\xfe bytes")
		lr.Attributes().PutStr("resource.name", "a\xc3")
	})
	add("numbers", func(lr plog.LogRecord) {
		a := lr.Attributes()
		a.PutDouble("nan", math.NaN())
		a.PutDouble("inf", math.Inf(-1))
		a.PutDouble("small", 1e-320)
		a.PutDouble("third", 1.0/3)
		a.PutInt("big", math.MaxInt64)
		a.PutInt("neg", math.MinInt64)
	})
	add("structures", func(lr plog.LogRecord) {
		m := lr.Body().SetEmptyMap()
		m.PutEmptyMap("nested").PutEmptySlice("list").AppendEmpty().SetEmptyBytes().FromRaw([]byte{0, 1, 2, 255})
		m.PutStr("", "empty key")
		m.PutEmpty("nil")
		lr.Attributes().PutEmptyBytes("raw").FromRaw([]byte("\x00binary"))
		lr.Attributes().PutStr("text", "<script>&\"'\\ \t\n é 😀")
	})
	add(strings.Repeat("long-", 200), func(plog.LogRecord) {})
	add("", func(lr plog.LogRecord) { lr.Body().SetStr("no event.id: derived") })
	add("no-time", func(lr plog.LogRecord) {
		lr.SetTimestamp(0)
		lr.SetObservedTimestamp(0)
	})
	add("observed-only", func(lr plog.LogRecord) {
		lr.SetTimestamp(0)
		lr.SetObservedTimestamp(ts + 5)
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
		lr.SetTraceID(pcommon.TraceID{1, 2, 3})
		lr.SetSpanID(pcommon.SpanID{4, 5})
		lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	})
	var pm plog.ProtoMarshaler
	before, err := pm.MarshalLogs(ld)
	require.NoError(t, err)
	require.NoError(t, e.ConsumeLogs(ctx, ld))
	after, err := pm.MarshalLogs(ld)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the exporter does not change what it was given")
	require.NoError(t, e.Shutdown(ctx))

	archived := readArchive(t, dir)
	require.Len(t, archived, recs.Len())
	requireCovered(t, readDigests(t, filepath.Join(dir, DefaultDigestFile)), pub, archived)
}

func TestStartErrors(t *testing.T) {
	keyFile, _ := testKey(t)
	pem, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	secret := strings.Split(string(pem), "\n")[1]
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		noHost  bool
		wantErr []string
	}{
		{"missing key", func(c *Config) { c.Digest.KeyFile = filepath.Join(t.TempDir(), "none.key") }, false,
			[]string{"digest::key_file", "none.key", "no such file", "auditctl keygen"}},
		{"public key", func(c *Config) { c.Digest.KeyFile = filepath.Join(filepath.Dir(keyFile), digest.PublicKeyFile) }, false,
			[]string{digest.PublicKeyFile, `not a PEM "PRIVATE KEY" block`}},
		{"no storage extension", func(*Config) {}, true, []string{`digest::storage: no extension "file_storage/digest"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir, keyFile)
			tc.mod(cfg)
			var h component.Host = componenttest.NewNopHost()
			if !tc.noHost {
				hh, ext := startStorage(t, t.TempDir())
				defer ext.Shutdown(ctx)
				h = hh
			}
			e, err := NewFactory().CreateLogs(ctx, settings(), cfg)
			require.NoError(t, err)
			err = e.Start(ctx, h)
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret, "the key is never printed")
			require.NoError(t, e.Shutdown(ctx))
		})
	}
}

// With digests off, audit_file writes what the file exporter writes.
func TestDigestsOffIsTheFileExporter(t *testing.T) {
	ours, theirs := t.TempDir(), t.TempDir()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Path, cfg.FlushInterval = filepath.Join(ours, "audit.jsonl"), time.Second
	e, err := NewFactory().CreateLogs(ctx, settings(), cfg)
	require.NoError(t, err)
	_, wrapped := e.(digesting)
	assert.False(t, wrapped)

	fcfg := fileexporter.NewFactory().CreateDefaultConfig().(*fileexporter.Config)
	fcfg.Path, fcfg.FlushInterval = filepath.Join(theirs, "audit.jsonl"), time.Second
	fe, err := fileexporter.NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(fileexporter.NewFactory().Type()), fcfg)
	require.NoError(t, err)
	for _, x := range []exporter.Logs{e, fe} {
		require.NoError(t, x.Start(ctx, componenttest.NewNopHost()))
		require.NoError(t, x.ConsumeLogs(ctx, batch(0, 10, "a")))
		require.NoError(t, x.Shutdown(ctx))
	}
	a, err := os.ReadFile(filepath.Join(ours, "audit.jsonl"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(theirs, "audit.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, a)
	assert.Equal(t, string(b), string(a))
	_, err = os.Stat(filepath.Join(ours, DefaultDigestFile))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// Concurrent writers: the archive's order is still the digests' order.
func TestConcurrentWritesKeepOrder(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	e := startExporter(t, testConfig(dir, keyFile), h)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := 0; i < 20; i++ {
				assert.NoError(t, e.ConsumeLogs(ctx, batch((w*20+i)*10, 10, "a", "b")))
			}
		})
	}
	wg.Wait()
	require.NoError(t, e.Shutdown(ctx))
	recs := readArchive(t, dir)
	require.Len(t, recs, 1600)
	requireCovered(t, readDigests(t, filepath.Join(dir, DefaultDigestFile)), pub, recs)
}

// Across rotations the archive readers take the files in name order, the
// order they were written: the digests list the records in that order.
func TestDigestsCoverARotatedArchive(t *testing.T) {
	keyFile, pub := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	cfg := testConfig(dir, keyFile)
	cfg.Rotation.MaxMegabytes = 1
	e := startExporter(t, cfg, h)
	for i := 0; i < 8; i++ {
		require.NoError(t, e.ConsumeLogs(ctx, batch(i*1000, 1000, "a", "b")))
	}
	require.NoError(t, e.Shutdown(ctx))
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	require.NoError(t, err)
	require.Greater(t, len(files), 2, "the archive rotated")
	recs := readArchive(t, dir)
	require.Len(t, recs, 8000)
	requireCovered(t, readDigests(t, filepath.Join(dir, DefaultDigestFile)), pub, recs)
}
