package digest

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// memStorage is a storage.Client in memory; failing makes every call fail.
type memStorage struct {
	mu      sync.Mutex
	m       map[string][]byte
	failing bool
	written int // bytes set, ever
}

func newMemStorage() *memStorage { return &memStorage{m: map[string][]byte{}} }

var errStorage = errors.New("storage is down")

func (s *memStorage) Get(ctx context.Context, k string) ([]byte, error) {
	op := storage.GetOperation(k)
	err := s.Batch(ctx, op)
	return op.Value, err
}
func (s *memStorage) Set(ctx context.Context, k string, v []byte) error {
	return s.Batch(ctx, storage.SetOperation(k, v))
}
func (s *memStorage) Delete(ctx context.Context, k string) error {
	return s.Batch(ctx, storage.DeleteOperation(k))
}
func (s *memStorage) Batch(_ context.Context, ops ...*storage.Operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errStorage
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = s.m[op.Key]
		case storage.Set:
			s.m[op.Key] = append([]byte(nil), op.Value...)
			s.written += len(op.Value)
		case storage.Delete:
			delete(s.m, op.Key)
		}
	}
	return nil
}
func (s *memStorage) Close(context.Context) error { return nil }

// memSink keeps what it was given; failing refuses.
type memSink struct {
	mu      sync.Mutex
	got     []Signed
	failing bool
}

func (s *memSink) Write(_ context.Context, ds []Signed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errors.New("the store is down")
	}
	s.got = append(s.got, ds...)
	return nil
}

func (s *memSink) all() []Signed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Signed(nil), s.got...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     *testing.T
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	store *memStorage
	sink  *memSink
	clk   *clock
	cfg   Config
}

func newFixture(t *testing.T) *fixture {
	priv, pub := keys(t)
	cfg := NewDefaultConfig()
	cfg.KeyFile = "unused"
	cfg.Interval = time.Hour // the tests seal with Flush
	return &fixture{t: t, priv: priv, pub: pub, store: newMemStorage(), sink: &memSink{}, clk: &clock{t: t0}, cfg: cfg}
}

func (f *fixture) start(settle time.Duration) *Recorder {
	r := NewRecorder(f.cfg, f.priv, f.store, f.sink, settle, nil)
	r.now = f.clk.now
	require.NoError(f.t, r.Start(context.Background()))
	return r
}

func ps(ns string, ids ...string) []Pending {
	var out []Pending
	for _, id := range ids {
		out = append(out, Pending{Namespace: ns, Entry: Entry{ID: id, SHA256: DocumentHash([]byte(id))}})
	}
	return out
}

func (f *fixture) write(r *Recorder, stored func([]Pending) []Pending, p []Pending) {
	n, err := r.Begin(context.Background(), p)
	require.NoError(f.t, err)
	if stored == nil {
		r.Commit(n, p)
		return
	}
	r.Commit(n, stored(p))
}

// ids lists, per chain, the event ids of the digests in order.
func ids(ds []Signed) map[string][]string {
	out := map[string][]string{}
	for _, s := range ds {
		for _, e := range s.Digest.Events {
			id := e.ID
			if e.Unconfirmed {
				id += "?"
			}
			out[s.Digest.Chain] = append(out[s.Digest.Chain], id)
		}
	}
	return out
}

func TestRecorderSealsCommittedEventsPerChain(t *testing.T) {
	f := newFixture(t)
	r := f.start(0)
	ctx := context.Background()
	f.write(r, nil, append(ps("org_1", "a", "b"), ps("default", "c")...))
	// A write that failed whole stores nothing and claims nothing.
	f.write(r, func([]Pending) []Pending { return nil }, ps("org_1", "lost"))
	f.clk.add(time.Minute)
	require.NoError(t, r.Flush(ctx))
	in := r.Instance()
	assert.Equal(t, map[string][]string{in + "/org_1": {"a", "b"}, in + "/default": {"c"}}, ids(f.sink.all()))
	for _, s := range f.sink.all() {
		assert.Equal(t, t0, s.Digest.From, "a chain's first window starts when the recorder did")
		assert.Equal(t, t0.Add(time.Minute), s.Digest.To)
	}

	// Idle: a heartbeat per chain, chained to the one before.
	f.clk.add(time.Minute)
	require.NoError(t, r.Flush(ctx))
	got := f.sink.all()
	require.Len(t, got, 4)
	for _, s := range got[2:] {
		assert.Zero(t, s.Digest.Count)
		assert.Equal(t, uint64(2), s.Digest.Seq)
		assert.Equal(t, t0.Add(time.Minute), s.Digest.From, "a digest's window starts where the one before ended")
	}
	require.NoError(t, r.Shutdown(ctx))
	got = f.sink.all()
	require.Len(t, got, 6)
	assert.True(t, got[4].Digest.Final && got[5].Digest.Final)
	assert.Empty(t, CheckChains(got, []ed25519.PublicKey{f.pub}))
	assert.Equal(t, Stats{Written: 6, Covered: 3}, r.Stats())
}

// An intent and the sealed digests larger than one stored value are kept
// in chunks and read back whole after a crash.
func TestRecorderChunksLargeValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.start(0)
	f.sink.failing = true
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("event-%04d", i))
	}
	f.write(r, nil, ps("default", many...))
	require.Error(t, r.Flush(ctx))
	_, err := r.Begin(ctx, ps("default", many...))
	require.NoError(t, err)
	close(r.stop)
	<-r.done
	assert.NotEqual(t, "1", string(f.store.m[sealedKeyName(0)]), "the sealed digest spans chunks")

	f.sink.failing = false
	r2 := f.start(0)
	require.NoError(t, r2.Shutdown(ctx))
	got := ids(f.sink.all())[r2.Instance()+"/default"]
	require.Len(t, got, 600)
	assert.Equal(t, "event-0299", got[299])
	assert.Equal(t, "event-0000?", got[300], "the begun write comes back unconfirmed")
	assert.Empty(t, CheckChains(f.sink.all(), []ed25519.PublicKey{f.pub}))
}

func TestRecorderSplitsAtMaxEvents(t *testing.T) {
	f := newFixture(t)
	f.cfg.MaxEvents = 2
	r := f.start(0)
	f.write(r, nil, ps("default", "a", "b", "c", "d", "e"))
	require.NoError(t, r.Flush(context.Background()))
	// Reaching max_events wakes the sealing loop too; when it seals
	// before Flush, Flush adds a heartbeat (no events) after the three.
	var got []Signed
	for _, d := range f.sink.all() {
		if d.Digest.Count > 0 {
			got = append(got, d)
		}
	}
	require.Len(t, got, 3)
	for i, want := range []int{2, 2, 1} {
		assert.Equal(t, want, got[i].Digest.Count)
		assert.Equal(t, uint64(i+1), got[i].Digest.Seq)
	}
	assert.Empty(t, CheckChains(f.sink.all(), []ed25519.PublicKey{f.pub}))
}

// The store answered, but a crash could still lose what it buffers: an
// event is claimed only once settle has passed.
func TestRecorderWaitsForSettle(t *testing.T) {
	f := newFixture(t)
	r := f.start(2 * time.Second)
	f.write(r, nil, ps("default", "a"))
	require.NoError(t, r.run(context.Background(), false, false))
	assert.Equal(t, map[string][]string{}, ids(f.sink.all()))
	f.clk.add(2 * time.Second)
	require.NoError(t, r.run(context.Background(), false, false))
	assert.Equal(t, []string{"a"}, ids(f.sink.all())[r.Instance()+"/default"])
}

// A crash between Begin and the digest: after a restart on the same
// storage, the chain goes on and the events begun are listed unconfirmed,
// those committed but not sealed too (their commit was in memory only).
func TestRecorderRestartContinuesTheChain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.start(0)
	f.write(r, nil, ps("default", "a"))
	require.NoError(t, r.Flush(ctx))
	f.write(r, nil, ps("default", "b"))
	_, err := r.Begin(ctx, ps("default", "c"))
	require.NoError(t, err)
	instance := r.Instance()
	// SIGKILL: no Shutdown. The loop goroutine is stopped by hand.
	close(r.stop)
	<-r.done

	f.clk.add(time.Minute)
	r2 := f.start(0)
	assert.Equal(t, instance, r2.Instance(), "the instance name is kept")
	f.write(r2, nil, ps("default", "d"))
	require.NoError(t, r2.Shutdown(ctx))
	got := f.sink.all()
	assert.Equal(t, []string{"a", "b?", "c?", "d"}, ids(got)[instance+"/default"])
	assert.Empty(t, CheckChains(got, []ed25519.PublicKey{f.pub}))
	for k := range f.store.m {
		assert.NotContains(t, k, keyIntent, "sealed intents are deleted, every chunk")
		assert.NotContains(t, k, keySealed, "stored digests leave nothing behind")
	}
}

// The sink is down: digests wait in storage, one heartbeat per chain at
// most, and are written once each when it is back, also after a restart.
func TestRecorderSinkOutage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.start(0)
	f.sink.failing = true
	f.write(r, nil, ps("default", "a"))
	require.Error(t, r.Flush(ctx))
	for range 3 {
		f.clk.add(time.Minute)
		require.Error(t, r.Flush(ctx))
	}
	assert.Len(t, r.sealed, 1, "no heartbeat piles up behind an unsent digest")
	assert.Equal(t, int64(1), r.Stats().Pending, "sealed events count until stored")
	close(r.stop)
	<-r.done

	f.sink.failing = false
	r2 := f.start(0)
	f.write(r2, nil, ps("default", "b"))
	require.NoError(t, r2.Flush(ctx))
	got := f.sink.all()
	assert.Equal(t, []string{"a", "b"}, ids(got)[r2.Instance()+"/default"])
	assert.Empty(t, CheckChains(got, []ed25519.PublicKey{f.pub}))
	assert.Zero(t, r2.Stats().Pending)
	require.NoError(t, r2.Shutdown(ctx))
}

func TestRecorderBacklogAndStorageErrors(t *testing.T) {
	f := newFixture(t)
	f.cfg.MaxEvents, f.cfg.MaxPendingEvents = 2, 3
	ctx := context.Background()
	r := f.start(0)
	f.sink.failing = true
	f.write(r, nil, ps("default", "a", "b"))
	_, err := r.Begin(ctx, ps("default", "c", "d"))
	assert.ErrorIs(t, err, ErrBacklog)
	assert.Error(t, r.Flush(ctx))
	_, err = r.Begin(ctx, ps("default", "c", "d"))
	assert.ErrorIs(t, err, ErrBacklog, "sealed but unstored events still count")

	f.store.failing = true
	f.sink.failing = false
	_, err = r.Begin(ctx, ps("default", "e"))
	assert.ErrorContains(t, err, "storage")
	r.Commit(99, ps("default", "never begun")) // ignored
	f.store.failing = false
	require.NoError(t, r.Flush(ctx))
	assert.Equal(t, []string{"a", "b"}, ids(f.sink.all())[r.Instance()+"/default"])
	require.NoError(t, r.Shutdown(ctx))
}

func TestRecorderConcurrentWriters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.start(0)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				p := ps(fmt.Sprintf("ns%d", w%2), fmt.Sprintf("w%d-%d", w, i))
				n, err := r.Begin(ctx, p)
				if !assert.NoError(t, err) {
					return
				}
				r.Commit(n, p)
				if i%10 == 0 {
					assert.NoError(t, r.Flush(ctx))
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, r.Shutdown(ctx))
	got := f.sink.all()
	assert.Empty(t, CheckChains(got, []ed25519.PublicKey{f.pub}))
	n := 0
	for _, l := range ids(got) {
		n += len(l)
	}
	assert.Equal(t, 200, n)
}

func TestConfigValidate(t *testing.T) {
	st := NewDefaultConfig().Storage
	assert.Nil(t, st)
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"off needs nothing", func(c *Config) { c.KeyFile = ""; c.Storage = nil; c.Interval = 0 }, ""},
		{"on", func(*Config) {}, ""},
		{"no storage", func(c *Config) { c.Storage = nil }, "digest::storage"},
		{"interval", func(c *Config) { c.Interval = time.Millisecond }, "digest::interval"},
		{"max events", func(c *Config) { c.MaxEvents = 0 }, "digest::max_events"},
		{"pending below max", func(c *Config) { c.MaxPendingEvents = 10 }, "digest::max_pending_events"},
		{"instance", func(c *Config) { c.Instance = "a/b" }, "digest::instance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDefaultConfig()
			c.KeyFile = "key.pem"
			id := mustID(t)
			c.Storage = &id
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.want)
			}
		})
	}
}

func mustID(t *testing.T) component.ID {
	var id component.ID
	require.NoError(t, id.UnmarshalText([]byte("file_storage/digest")))
	return id
}

// An id of invalid UTF-8 is listed as the store's reader will decode it,
// and the digest still verifies after its JSON round trip.
func TestRecorderInvalidUTF8ID(t *testing.T) {
	f := newFixture(t)
	r := f.start(0)
	p := ps("default", "ev-\xff\xfe-1")
	n, err := r.Begin(context.Background(), append([]Pending(nil), p...))
	require.NoError(t, err)
	r.Commit(n, p) // the writer's own copy, as the exporters commit
	require.NoError(t, r.Shutdown(context.Background()))
	got := f.sink.all()
	require.Len(t, got, 1)
	var raw []byte
	raw, err = json.Marshal(got[0])
	require.NoError(t, err)
	var back Signed
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, "ev-\ufffd\ufffd-1", back.Digest.Events[0].ID)
	assert.Empty(t, CheckChains([]Signed{back}, []ed25519.PublicKey{f.pub}))
}

// syncSink is a sink that must sync before a seal.
type syncSink struct {
	memSink
	syncs   int
	syncErr error
}

func (s *syncSink) BeforeSeal(context.Context) error { s.syncs++; return s.syncErr }

func TestRecorderBeforeSeal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sink := &syncSink{syncErr: errors.New("fsync: input/output error")}
	r := NewRecorder(f.cfg, f.priv, f.store, sink, 0, nil)
	r.now = f.clk.now
	require.NoError(t, r.Start(ctx))
	f.write(r, nil, ps("default", "a"))
	assert.ErrorContains(t, r.Flush(ctx), "input/output error")
	assert.Empty(t, sink.all(), "nothing is claimed when the store could not be made durable")
	sink.syncErr = nil
	require.NoError(t, r.Shutdown(ctx))
	assert.Equal(t, []string{"a"}, ids(sink.all())[r.Instance()+"/default"])
	assert.Equal(t, 2, sink.syncs)
}

// While the sink is down, each seal writes only its new digests: the
// backlog is not rewritten every interval.
func TestRecorderOutageWritesEachDigestOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.start(0)
	f.sink.failing = true
	var per []int
	for i := range 20 {
		before := f.store.written
		f.write(r, nil, ps("default", fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)))
		f.clk.add(time.Minute)
		require.Error(t, r.Flush(ctx))
		per = append(per, f.store.written-before)
	}
	assert.Less(t, per[19], 2*per[1], "storage written per seal stays flat as the backlog grows: %v", per)
	f.sink.failing = false
	require.NoError(t, r.Shutdown(ctx))
	assert.Len(t, ids(f.sink.all())[r.Instance()+"/default"], 40)
	assert.Empty(t, CheckChains(f.sink.all(), []ed25519.PublicKey{f.pub}))
}

// A storage that claims an absurd number of open intents is refused at
// start, at once, rather than walked.
func TestRecorderRefusesCorruptState(t *testing.T) {
	for _, key := range []string{keyNext, keySealedHi} {
		f := newFixture(t)
		f.store.m[key] = []byte("4611686018427387904")
		r := NewRecorder(f.cfg, f.priv, f.store, f.sink, 0, nil)
		assert.ErrorContains(t, r.Start(context.Background()), "corrupt", key)
	}
}
