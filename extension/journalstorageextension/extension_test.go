package journalstorageextension

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-audit/otelcol-audit/extension/journalstorageextension/internal/journal"
	"github.com/otelcol-audit/otelcol-audit/extension/journalstorageextension/internal/metadatatest"
	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
)

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.Equal(t, &Config{Fsync: true, SegmentSizeMiB: 64}, cfg, "fsync on and 64 MiB segments; no directory")
	require.ErrorContains(t, cfg.Validate(), "directory: required", "a directory must be given")

	conf := confmap.NewFromStringMap(map[string]any{"directory": "/var/lib/otelcol/queue", "fsync": false, "segment_size_mib": 8})
	require.NoError(t, conf.Unmarshal(cfg))
	assert.Equal(t, &Config{Directory: "/var/lib/otelcol/queue", Fsync: false, SegmentSizeMiB: 8}, cfg)
	require.NoError(t, cfg.Validate())
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{name: "valid", cfg: Config{Directory: "q", Fsync: true, SegmentSizeMiB: 64}},
		{name: "the smallest segment", cfg: Config{Directory: "q", SegmentSizeMiB: 1}},
		{name: "the largest segment", cfg: Config{Directory: "q", SegmentSizeMiB: 1024}},
		{name: "no directory", cfg: Config{SegmentSizeMiB: 64}, wantErr: []string{"directory: required; give each collector its own"}},
		{name: "segments of 0 MiB", cfg: Config{Directory: "q"}, wantErr: []string{"segment_size_mib 0: must be between 1 and 1024"}},
		{name: "negative segments", cfg: Config{Directory: "q", SegmentSizeMiB: -1}, wantErr: []string{"segment_size_mib -1: must be between 1 and 1024"}},
		{name: "segments over a GiB", cfg: Config{Directory: "q", SegmentSizeMiB: 1025}, wantErr: []string{"segment_size_mib 1025: must be between 1 and 1024"}},
		{name: "every problem at once", cfg: Config{SegmentSizeMiB: 2048}, wantErr: []string{"directory: required", "segment_size_mib 2048"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// newTestExtension creates and starts an extension over dir with its
// telemetry in tel; it is shut down at the end of the test.
func newTestExtension(t *testing.T, tel *componenttest.Telemetry, dir string, fsync bool) *journalStorage {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory, cfg.Fsync, cfg.SegmentSizeMiB = dir, fsync, 1
	require.NoError(t, cfg.Validate())
	ext, err := NewFactory().Create(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return ext.(*journalStorage)
}

func newTelemetry(t *testing.T) *componenttest.Telemetry {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

var (
	exporterID = component.MustNewIDWithName("audit_elasticsearch", "primary")
	ctx        = context.Background()
)

func TestClientNamesNeverCollideNorEscape(t *testing.T) {
	type owner struct {
		kind component.Kind
		id   component.ID
		name string
	}
	owners := []owner{
		{component.KindExporter, exporterID, "logs"},
		{component.KindExporter, exporterID, ""},
		{component.KindExporter, exporterID, "digest"},
		{component.KindReceiver, exporterID, "logs"}, // another kind
		{component.KindExporter, component.MustNewID("audit_elasticsearch"), "logs"},
		{component.KindExporter, component.MustNewIDWithName("audit_elasticsearch", "primary_logs"), ""},
		{component.KindExporter, component.MustNewIDWithName("audit_elasticsearch", "a"), "b_c"},
		{component.KindExporter, component.MustNewIDWithName("audit_elasticsearch", "a_b"), "c"},
		{component.KindExporter, exporterID, "../../escaped"},
		{component.KindExporter, exporterID, ".."},
		{component.KindExporter, exporterID, "."},
		{component.KindExporter, exporterID, "a/b"},
		{component.KindExporter, exporterID, "a~2fb"},
		{component.KindExporter, exporterID, "/etc/passwd"},
		{component.KindExporter, exporterID, "Logs"},
		{component.KindExporter, exporterID, "lögs"},
		{component.KindExporter, exporterID, "\x00"},
	}
	tel := newTelemetry(t)
	root := t.TempDir()
	dir := filepath.Join(root, "journal")
	ext := newTestExtension(t, tel, dir, false)
	seen := map[string]owner{}
	for i, o := range owners {
		c, err := ext.GetClient(ctx, o.kind, o.id, o.name)
		require.NoError(t, err, "%v %v %q", o.kind, o.id, o.name)
		require.NoError(t, c.Set(ctx, "owner", []byte(fmt.Sprint(i))))
		name := clientName(o.kind, o.id, o.name)
		if prev, dup := seen[name]; dup {
			t.Fatalf("%+v and %+v share the directory %q", prev, o, name)
		}
		seen[name] = o
	}
	// One directory per client, every one directly under the extension's.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(owners), "one directory per client")
	for _, e := range entries {
		assert.True(t, e.IsDir(), e.Name())
		assert.NotContains(t, e.Name(), "/")
		assert.False(t, strings.HasPrefix(e.Name(), "."), "%q is hidden or a parent", e.Name())
	}
	rootEntries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Len(t, rootEntries, 1, "nothing escaped the extension's directory")
	// And each client reads only its own.
	for i, o := range owners {
		require.NoError(t, ext.Shutdown(ctx))
		ext = newTestExtension(t, tel, dir, false)
		c, err := ext.GetClient(ctx, o.kind, o.id, o.name)
		require.NoError(t, err)
		v, err := c.Get(ctx, "owner")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(i), string(v), "%+v", o)
	}
	assert.Equal(t, "exporter_audit~5felasticsearch_primary_logs", clientName(component.KindExporter, exporterID, "logs"), "parts are joined by _, so an _ in a part is escaped")
}

// An escaped name is a function of its parts that two different parts
// never share: random parts from a small alphabet rich in separators.
func TestClientNameIsInjective(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	alphabet := []byte("a_~./-0A")
	part := func() string {
		b := make([]byte, r.IntN(5))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	seen := map[string][2]string{}
	for range 20000 {
		p := [2]string{part(), part()}
		e := escape(p[0]) + "_" + escape(p[1])
		if prev, ok := seen[e]; ok && prev != p {
			t.Fatalf("%q and %q both escape to %q", prev, p, e)
		}
		seen[e] = p
		assert.NotContains(t, e, "/")
		assert.False(t, strings.HasPrefix(e, "."))
	}
}

func TestOpeningTheSameClientTwiceFails(t *testing.T) {
	ext := newTestExtension(t, newTelemetry(t), t.TempDir(), false)
	c, err := ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "k", []byte("v")))
	_, err = ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.ErrorContains(t, err, `audit_elasticsearch/primary already has its storage "logs" open: one client per component and name`)

	// Another extension over the same directory is another collector.
	other := newTestExtension(t, newTelemetry(t), ext.cfg.Directory, false)
	_, err = other.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.ErrorContains(t, err, "is already open")

	require.NoError(t, c.Close(ctx))
	c2, err := ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err, "once closed it opens again")
	v, err := c2.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}

func TestShutdownClosesClients(t *testing.T) {
	dir := t.TempDir()
	ext := newTestExtension(t, newTelemetry(t), dir, true)
	var clients []storage.Client
	for _, name := range []string{"logs", "digest"} {
		c, err := ext.GetClient(ctx, component.KindExporter, exporterID, name)
		require.NoError(t, err)
		require.NoError(t, c.Set(ctx, "k", []byte(name)))
		clients = append(clients, c)
	}
	require.NoError(t, ext.Shutdown(ctx))
	for _, c := range clients {
		_, err := c.Get(ctx, "k")
		require.ErrorIs(t, err, journal.ErrClosed)
		require.ErrorIs(t, c.Set(ctx, "k", []byte("x")), journal.ErrClosed)
		require.NoError(t, c.Close(ctx), "closing a client the extension closed is harmless")
	}
	// The locks are released: the journals open again.
	for _, name := range []string{"logs", "digest"} {
		l, err := journal.Open(filepath.Join(dir, clientName(component.KindExporter, exporterID, name)), journal.Options{SegmentSize: 1 << 20})
		require.NoError(t, err, name)
		require.NoError(t, l.Close(ctx))
	}
}

// counters reads the extension's three counters.
func counters(t *testing.T, tel *componenttest.Telemetry) (writes, syncs, torn int64) {
	t.Helper()
	return comptest.Sum(t, tel, "otelcol_journal_storage_writes"),
		comptest.Sum(t, tel, "otelcol_journal_storage_syncs"),
		comptest.Sum(t, tel, "otelcol_journal_storage_torn_bytes")
}

func TestDeferSync(t *testing.T) {
	for _, order := range []string{"deferred before the client opens", "deferred after the client opened"} {
		t.Run(order, func(t *testing.T) {
			tel := newTelemetry(t)
			ext := newTestExtension(t, tel, t.TempDir(), true)
			var sync func(context.Context) error
			if order == "deferred before the client opens" {
				sync = ext.DeferSync(component.KindExporter, exporterID, "logs")
				require.NoError(t, sync(ctx), "a client never opened has nothing to sync")
			}
			c, err := ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
			require.NoError(t, err)
			if sync == nil {
				sync = ext.DeferSync(component.KindExporter, exporterID, "logs")
			}
			log := c.(*client).log

			w0, s0, _ := counters(t, tel)
			require.NoError(t, c.Batch(ctx, storage.SetOperation("item", []byte("v")), storage.SetOperation("meta", []byte("1"))))
			w1, s1, _ := counters(t, tel)
			assert.Equal(t, w0+1, w1, "the batch is one write")
			assert.Equal(t, s0, s1, "a deferred client's Batch returns without syncing")
			st := log.Stats()
			assert.Less(t, st.Synced, st.Records, "the write is not durable yet")

			require.NoError(t, sync(ctx))
			_, s2, _ := counters(t, tel)
			assert.Equal(t, s1+1, s2, "the returned func syncs")
			st = log.Stats()
			assert.Equal(t, st.Records, st.Synced)

			require.NoError(t, sync(ctx))
			_, s3, _ := counters(t, tel)
			assert.Equal(t, s2, s3, "nothing new to sync: no fdatasync")

			// Another client of the same extension is not deferred.
			other, err := ext.GetClient(ctx, component.KindExporter, exporterID, "digest")
			require.NoError(t, err)
			require.NoError(t, other.Set(ctx, "state", []byte("x")))
			_, s4, _ := counters(t, tel)
			assert.Equal(t, s3+1, s4, "a client not deferred syncs in Batch")

			// After Close (which syncs), the func still answers.
			require.NoError(t, c.Set(ctx, "late", []byte("w")))
			require.NoError(t, c.Close(ctx))
			require.NoError(t, sync(ctx), "Close synced everything")
		})
	}
}

func TestBatchSyncsUnlessDeferred(t *testing.T) {
	tel := newTelemetry(t)
	ext := newTestExtension(t, tel, t.TempDir(), true)
	c, err := ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err)
	log := c.(*client).log
	for i := range 3 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), []byte("v")))
		st := log.Stats()
		assert.Equal(t, st.Records, st.Synced, "durable when Set returns")
	}
	w, s, torn := counters(t, tel)
	assert.Equal(t, int64(3), w)
	assert.Equal(t, int64(3), s)
	assert.Zero(t, torn)
	// Reads are not writes and need no sync.
	_, err = c.Get(ctx, "0")
	require.NoError(t, err)
	require.NoError(t, c.Batch(ctx, storage.GetOperation("1"), storage.GetOperation("2")))
	w2, s2, _ := counters(t, tel)
	assert.Equal(t, w, w2)
	assert.Equal(t, s, s2)
}

func TestWithoutFsyncNothingIsSynced(t *testing.T) {
	tel := newTelemetry(t)
	ext := newTestExtension(t, tel, t.TempDir(), false)
	c, err := ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "k", []byte("v")))
	require.NoError(t, ext.DeferSync(component.KindExporter, exporterID, "logs")(ctx))
	w, s, _ := counters(t, tel)
	assert.Equal(t, int64(1), w)
	assert.Zero(t, s, "fsync: false never calls fdatasync")
}

// TestTelemetry checks the three counters against metadata.yaml's
// declarations (name, description, unit, monotonic sum) as they move:
// writes per batch with a write, syncs per fdatasync, torn bytes per byte
// cut off at open.
func TestTelemetry(t *testing.T) {
	tel := newTelemetry(t)
	dir := t.TempDir()
	ext := newTestExtension(t, tel, dir, true)
	sync := ext.DeferSync(component.KindExporter, exporterID, "logs")
	c, err := ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, c.Set(ctx, fmt.Sprint(i), []byte("value")))
	}
	require.NoError(t, c.Delete(ctx, "0"))
	_, err = c.Get(ctx, "1")
	require.NoError(t, err)
	require.NoError(t, sync(ctx)) // one fdatasync for six writes
	require.NoError(t, ext.Shutdown(ctx))

	one := []metricdata.DataPoint[int64]{{Value: 6}}
	metadatatest.AssertEqualJournalStorageWrites(t, tel, one, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualJournalStorageSyncs(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	_, err = tel.GetMetric("otelcol_journal_storage_torn_bytes")
	require.Error(t, err, "nothing torn: not recorded at all")

	// A crash left garbage after the last record: the next open cuts it.
	seg := filepath.Join(dir, clientName(component.KindExporter, exporterID, "logs"), "0000000000000001.seg")
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("half a record"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	ext = newTestExtension(t, tel, dir, true)
	c, err = ext.GetClient(ctx, component.KindExporter, exporterID, "logs")
	require.NoError(t, err)
	metadatatest.AssertEqualJournalStorageTornBytes(t, tel, []metricdata.DataPoint[int64]{{Value: int64(len("half a record"))}}, metricdatatest.IgnoreTimestamp())
	v, err := c.Get(ctx, "4")
	require.NoError(t, err)
	assert.Equal(t, "value", string(v), "what was synced is kept")
}

// statusHost records the component status events reported to it.
type statusHost struct {
	component.Host
	events chan *componentstatus.Event
}

func (h statusHost) Report(ev *componentstatus.Event) { h.events <- ev }

// A journal that stops (a failed write or sync) is reported as a fatal
// error: the collector stops, and its restart reads the queue back.
func TestAStoppedJournalIsAFatalError(t *testing.T) {
	j := newTestExtension(t, newTelemetry(t), t.TempDir(), true)
	host := statusHost{Host: componenttest.NewNopHost(), events: make(chan *componentstatus.Event, 1)}
	require.NoError(t, j.Start(ctx, host))
	j.stopped(errors.New("journal x: writing 10 bytes failed"))
	select {
	case ev := <-host.events:
		assert.Equal(t, componentstatus.StatusFatalError, ev.Status())
		assert.ErrorContains(t, ev.Err(), "writing 10 bytes failed")
	case <-time.After(5 * time.Second):
		t.Fatal("no status reported")
	}
}
