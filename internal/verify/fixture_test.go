package verify

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// memStorage is a storage.Client in memory: the recorder's state.
type memStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemStorage() *memStorage { return &memStorage{m: map[string][]byte{}} }

func (s *memStorage) Get(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}
func (s *memStorage) Set(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = append([]byte(nil), v...)
	return nil
}
func (s *memStorage) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}
func (s *memStorage) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = s.Get(ctx, op.Key)
		case storage.Set:
			_ = s.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = s.Delete(ctx, op.Key)
		}
	}
	return nil
}
func (s *memStorage) Close(context.Context) error { return nil }

// sink keeps the digests the recorder writes, in order.
type sink struct {
	mu sync.Mutex
	ds []digest.Signed
}

func (s *sink) Write(_ context.Context, ds []digest.Signed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, ds...)
	return nil
}

// store says what a store keeps of a record: the index (Elasticsearch)
// and the stored document, which the digest hashes.
type store func(enc *esdoc.Encoder, res pcommon.Resource, lr plog.LogRecord, ns string) (index string, doc []byte)

func archiveStore(enc *esdoc.Encoder, res pcommon.Resource, lr plog.LogRecord, _ string) (string, []byte) {
	return "", digest.ArchiveDocument(enc, nil, res, lr)
}

func esStore(enc *esdoc.Encoder, res pcommon.Resource, lr plog.LogRecord, ns string) (string, []byte) {
	t := esdoc.Target{Dataset: "audit", Namespace: ns}
	ts := enc.Timestamp(lr)
	return t.IndexName(assets.Month, ts), enc.AppendDocument(nil, res, lr, t, enc.ID(lr), ts)
}

// written is one batch as stored, in write order.
type written struct {
	ld      plog.Logs
	entries []digest.Pending // parallel to the records
	index   []string
	docs    [][]byte
}

// world is what the collector wrote: batches and digests, and the keys.
type world struct {
	batches []written
	digests []digest.Signed
	pub     ed25519.PublicKey
	key     ed25519.PrivateKey
	st      *memStorage
	sink    *sink
	store   store
}

// gen makes n events with ids prefix1…, of two tenants (org-a, org-b),
// observed at t.
func gen(n int, prefix string, seed uint64, t time.Time) plog.Logs {
	ld := auditgen.Batch(n, auditgen.Options{Seed: seed, IDPrefix: prefix})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		lr := recs.At(i)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t.Add(-time.Duration(i) * time.Millisecond)))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(t))
		org := "org-a"
		if i%3 == 2 {
			org = "org-b"
		}
		lr.Attributes().PutStr(fields.Organization, org)
	}
	return ld
}

func records(ld plog.Logs) plog.LogRecordSlice {
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
}

func newWorld(t testing.TB, st store) *world {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return &world{pub: pub, key: key, st: newMemStorage(), sink: &sink{}, store: st}
}

func (w *world) recorder(t testing.TB) *digest.Recorder {
	cfg := digest.NewDefaultConfig()
	cfg.KeyFile, cfg.Instance, cfg.Interval = "x", "col-1", time.Hour
	r := digest.NewRecorder(cfg, w.key, w.st, w.sink, 0, nil)
	require.NoError(t, r.Start(context.Background()))
	return r
}

// prepare turns a batch into what would be stored and the pending entries.
func (w *world) prepare(ld plog.Logs) written {
	var enc esdoc.Encoder
	b := written{ld: ld}
	res := ld.ResourceLogs().At(0).Resource()
	recs := records(ld)
	for i := 0; i < recs.Len(); i++ {
		lr := recs.At(i)
		org, _ := lr.Attributes().Get(fields.Organization)
		ns := assets.Namespace(org.AsString(), "default")
		index, doc := w.store(&enc, res, lr, ns)
		b.index = append(b.index, index)
		b.docs = append(b.docs, doc)
		b.entries = append(b.entries, digest.Pending{Namespace: ns, Entry: digest.Entry{ID: enc.ID(lr), SHA256: digest.DocumentHash(doc), Index: index}})
	}
	return b
}

// write stores a batch and records it, sealing a digest per chain.
func (w *world) write(t testing.TB, r *digest.Recorder, ld plog.Logs) written {
	ctx := context.Background()
	b := w.prepare(ld)
	n, err := r.Begin(ctx, b.entries)
	require.NoError(t, err)
	w.batches = append(w.batches, b)
	r.Commit(n, b.entries)
	require.NoError(t, r.Flush(ctx))
	return b
}

func (w *world) finish(t testing.TB, r *digest.Recorder) {
	require.NoError(t, r.Shutdown(context.Background()))
	w.digests = append([]digest.Signed(nil), w.sink.ds...)
}

// standard is four batches of 9 events, each observed as it is written
// (the recorder's clock is the wall clock), and a clean shutdown.
func standard(t testing.TB, st store) *world {
	w := newWorld(t, st)
	r := w.recorder(t)
	for i, p := range []string{"a", "b", "c", "d"} {
		w.write(t, r, gen(9, p, uint64(i+1), time.Now()))
	}
	w.finish(t, r)
	return w
}

// opts checks an hour after the writes: past the grace and the max age.
func (w *world) opts() Options {
	return Options{Keys: []ed25519.PublicKey{w.pub}, Now: time.Now().Add(time.Hour), Grace: DefaultGrace, MaxAge: DefaultMaxAge}
}

// resign re-signs a digest (the key holder's edit).
func (w *world) resign(t testing.TB, d digest.Digest) digest.Signed {
	s, err := digest.Sign(d, w.key)
	require.NoError(t, err)
	return s
}
