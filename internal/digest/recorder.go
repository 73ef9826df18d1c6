package digest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// Sink stores digests where the events are. Write returns once they are
// durable; writing one digest twice must leave one (an idempotent write).
type Sink interface {
	Write(ctx context.Context, ds []Signed) error
}

// BeforeSealer is a Sink that must make the events it will be told about
// durable before they are claimed (the archive fsyncs its files): the
// recorder calls BeforeSeal, and seals only what was committed before the
// call, and only when it succeeded.
type BeforeSealer interface {
	BeforeSeal(ctx context.Context) error
}

// Pending is an event a write is about to store, or has stored.
type Pending struct {
	// Namespace names the chain (with the recorder's instance): the
	// tenant namespace the event is routed to.
	Namespace string
	Entry     Entry
}

// ErrBacklog is in the chain of Begin's error when max_pending_events wait
// for a digest already: the export fails and is retried.
var ErrBacklog = errors.New("tamper evidence: too many events wait for a digest")

// Storage keys. Intents are numbered; those from low to next-1 that are
// still there were under way or not yet in a digest.
const (
	keyInstance = "digest.instance"
	keyHeads    = "digest.heads"
	keySealed   = "digest.sealed." // + number: one sealed digest not yet stored
	keySealedLo = "digest.sealedlow"
	keySealedHi = "digest.sealednext"
	keyLow      = "digest.low"
	keyNext     = "digest.next"
	keyIntent   = "digest.intent."
)

type head struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	To   time.Time `json:"to"`
}

type inflight struct{ events, chunks int }

// sealedKey is where one sealed digest waits for the sink: its own value,
// written once and deleted once stored (never the whole backlog again).
type sealedKey struct {
	n      uint64
	chunks int
}

func sealedKeyName(n uint64) string { return keySealed + strconv.FormatUint(n, 10) }

// maxStateSpan bounds the numbers Start walks: more open intents or
// sealed digests than this is a corrupt (or hostile) storage, not a
// backlog (max_pending_events bounds a real one far below it).
const maxStateSpan = 10_000_000

type ticket struct {
	n       uint64
	chunks  int       // storage values holding its intent
	at      time.Time // when the store answered
	entries []Pending
}

// Recorder writes the digests of one exporter. Before a write the exporter
// calls Begin with what it sends (kept in storage: after a crash those
// events are listed as unconfirmed); once the store has answered, Commit
// with what it stored. Every Interval, committed events go into a signed
// digest per chain, chained to the one before; digests are kept in storage
// until the Sink took them.
type Recorder struct {
	cfg    Config
	key    ed25519.PrivateKey
	client storage.Client
	sink   Sink
	settle time.Duration
	logger *zap.Logger
	now    func() time.Time

	mu         sync.Mutex
	instance   string
	heads      map[string]head // namespace -> last digest
	low, next  uint64
	inflight   map[uint64]inflight // ticket -> what was begun
	committed  []ticket
	pending    int // events begun and not yet in a sealed digest
	sealed     []Signed
	sealedRaw  [][]byte    // each sealed digest's JSON, kept so storage never re-encodes it
	sealedKeys []sealedKey // where each is stored
	sealedNext uint64
	started    time.Time

	sendMu sync.Mutex
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}

	written, covered, failures int64
}

// NewRecorder makes a recorder; settle is how long after Commit an event
// may be claimed (the time the store takes to make a write durable, such as
// the file exporter's flush_interval).
func NewRecorder(cfg Config, key ed25519.PrivateKey, client storage.Client, sink Sink, settle time.Duration, logger *zap.Logger) *Recorder {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Recorder{cfg: cfg, key: key, client: client, sink: sink, settle: settle, logger: logger, now: time.Now,
		heads: map[string]head{}, inflight: map[uint64]inflight{}, kick: make(chan struct{}, 1)}
}

func (r *Recorder) get(ctx context.Context, key string, v any) (bool, error) {
	b, err := r.client.Get(ctx, key)
	if err != nil || b == nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("tamper evidence state %q does not decode (%v): the storage was changed or is corrupt; move the storage directory aside to start new chains", key, err)
	}
	return true, nil
}

func setOp(key string, v any) *storage.Operation {
	return storage.SetOperation(key, mustJSON(v))
}

func intentKey(n uint64) string { return keyIntent + strconv.FormatUint(n, 10) }

func chunkKey(key string, i int) string { return key + "." + strconv.Itoa(i) }

// chunk bounds one stored value. bbolt (file_storage) rewrites a leaf page
// and all on it per transaction, and keeps a large value in overflow pages
// it must allocate whole: small values keep a write's cost near its size.
const chunk = 2048

// chunkedOps stores b under key as numbered chunks and their count at key,
// deleting the chunks of an earlier value past the new count.
func chunkedOps(key string, b []byte, old int) ([]*storage.Operation, int) {
	k := (len(b) + chunk - 1) / chunk
	ops := make([]*storage.Operation, 0, k+2)
	ops = append(ops, storage.SetOperation(key, strconv.AppendInt(nil, int64(k), 10)))
	for i := 0; i < k; i++ {
		ops = append(ops, storage.SetOperation(chunkKey(key, i), b[i*chunk:min(len(b), (i+1)*chunk)]))
	}
	for i := k; i < old; i++ {
		ops = append(ops, storage.DeleteOperation(chunkKey(key, i)))
	}
	return ops, k
}

// deleteChunked deletes what chunkedOps stored in k chunks.
func deleteChunked(key string, k int) []*storage.Operation {
	ops := []*storage.Operation{storage.DeleteOperation(key)}
	for i := 0; i < k; i++ {
		ops = append(ops, storage.DeleteOperation(chunkKey(key, i)))
	}
	return ops
}

var errChunks = errors.New("a stored value's chunks are missing or miscounted")

// readChunked reads what chunkedOps stored; nil when there is nothing.
func (r *Recorder) readChunked(ctx context.Context, key string) ([]byte, int, error) {
	head, err := r.client.Get(ctx, key)
	if err != nil || head == nil {
		return nil, 0, err
	}
	k, err := strconv.Atoi(string(head))
	if err != nil || k < 0 || k > 1<<24 {
		return nil, 0, errChunks
	}
	out := []byte{}
	for i := 0; i < k; i++ {
		b, err := r.client.Get(ctx, chunkKey(key, i))
		if err != nil {
			return nil, 0, err
		}
		if b == nil {
			return nil, 0, errChunks
		}
		out = append(out, b...)
	}
	return out, k, nil
}

// Start loads the chains' state, turns the writes a crash interrupted into
// unconfirmed entries, resends digests not yet stored and starts the
// interval.
func (r *Recorder) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = r.now().UTC()
	if _, err := r.get(ctx, keyInstance, &r.instance); err != nil {
		return err
	}
	switch {
	case r.cfg.Instance != "":
		r.instance = r.cfg.Instance
	case r.instance == "":
		var b [6]byte
		_, _ = rand.Read(b[:])
		r.instance = "col-" + hex.EncodeToString(b[:])
	}
	if err := r.loadSealed(ctx); err != nil {
		return err
	}
	for key, v := range map[string]any{keyHeads: &r.heads, keyLow: &r.low, keyNext: &r.next} {
		if _, err := r.get(ctx, key, v); err != nil {
			return err
		}
	}
	if r.heads == nil {
		r.heads = map[string]head{}
	}
	for _, s := range r.sealed {
		r.pending += s.Digest.Count
	}
	if r.next < r.low || r.next-r.low > maxStateSpan {
		return fmt.Errorf("tamper evidence state: intents %d to %d: the storage was changed or is corrupt; move the storage directory aside to start new chains", r.low, r.next)
	}
	for n := r.low; n < r.next; n++ {
		b, chunks, err := r.readChunked(ctx, intentKey(n))
		if errors.Is(err, errChunks) {
			return fmt.Errorf("tamper evidence state %q: %w: the storage was changed or is corrupt; move the storage directory aside to start new chains", intentKey(n), err)
		}
		if err != nil {
			return fmt.Errorf("tamper evidence: storage: %w", err)
		}
		if b == nil {
			continue
		}
		ps, err := decodeIntent(b)
		if err != nil {
			return fmt.Errorf("tamper evidence state %q: %w: the storage was changed or is corrupt; move the storage directory aside to start new chains", intentKey(n), err)
		}
		for i := range ps {
			ps[i].Entry.Unconfirmed = true
		}
		r.committed = append(r.committed, ticket{n: n, chunks: chunks, entries: ps})
		r.pending += len(ps)
	}
	if err := r.client.Set(ctx, keyInstance, mustJSON(r.instance)); err != nil {
		return fmt.Errorf("tamper evidence: storage: %w", err)
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.loop()
	return nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // our own types: they encode
	return b
}

// Instance names this recorder's chains: Instance()/<namespace>.
func (r *Recorder) Instance() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instance
}

// Begin records, before the write, the events about to be written.
func (r *Recorder) Begin(ctx context.Context, ps []Pending) (uint64, error) {
	for i := range ps {
		ps[i].Entry.ID = ValidID(ps[i].Entry.ID)
	}
	intent, err := encodeIntent(ps)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending+len(ps) > r.cfg.MaxPendingEvents && r.pending > 0 {
		return 0, fmt.Errorf("%w: %d wait (digest::max_pending_events %d); the digests cannot be stored, see the log", ErrBacklog, r.pending, r.cfg.MaxPendingEvents)
	}
	n := r.next
	ops, chunks := chunkedOps(intentKey(n), intent, 0)
	err = r.client.Batch(ctx, append(ops, setOp(keyNext, n+1))...)
	if err != nil {
		return 0, fmt.Errorf("tamper evidence: storage: %w", err)
	}
	r.next = n + 1
	r.inflight[n] = inflight{events: len(ps), chunks: chunks}
	r.pending += len(ps)
	return n, nil
}

// Commit records what the write begun as n stored (nothing when it failed
// whole: the events will be written again and begun again).
func (r *Recorder) Commit(n uint64, stored []Pending) {
	for i := range stored {
		stored[i].Entry.ID = ValidID(stored[i].Entry.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	begun, ok := r.inflight[n]
	if !ok {
		return
	}
	delete(r.inflight, n)
	r.pending += len(stored) - begun.events
	r.committed = append(r.committed, ticket{n: n, chunks: begun.chunks, at: r.now(), entries: stored})
	if r.pending >= r.cfg.MaxEvents && len(r.sealed) == 0 {
		// Seal early on a burst, not while the sink is behind.
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	last := time.Time{}
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
			// A burst seals early, but at most once a second.
			if time.Since(last) < time.Second {
				continue
			}
		}
		last = time.Now()
		if err := r.run(context.Background(), false, false); err != nil {
			r.logger.Warn("Tamper evidence: digests not written yet; retrying at the next interval", zap.Error(err))
		}
	}
}

// Flush seals every committed event now and writes the digests: tests and
// shutdown.
func (r *Recorder) Flush(ctx context.Context) error { return r.run(ctx, false, true) }

// Shutdown stops the interval and writes a final digest per chain. What
// cannot be written stays in storage for the next start.
func (r *Recorder) Shutdown(ctx context.Context) error {
	if r.stop == nil {
		return nil
	}
	close(r.stop)
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("tamper evidence: the digest writer did not stop in time: %w; what is not written stays in storage for the next start", ctx.Err())
	}
	r.stop = nil
	return r.run(ctx, true, true)
}

func (r *Recorder) run(ctx context.Context, final, now bool) error {
	cut := r.now()
	if bs, ok := r.sink.(BeforeSealer); ok {
		if err := bs.BeforeSeal(ctx); err != nil {
			return fmt.Errorf("before sealing: %w", err)
		}
	}
	if err := r.seal(ctx, final, now, cut); err != nil {
		return err
	}
	return r.send(ctx)
}

// seal turns the committed events into signed digests, one or more per
// chain and a heartbeat for a chain without events, and keeps them in
// storage together with the new heads: from then on they are the chain.
func (r *Recorder) seal(ctx context.Context, final, ignoreSettle bool, cut time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now().UTC()
	byNS := map[string][]Entry{}
	var used []ticket
	var keep []ticket
	for _, t := range r.committed {
		if !t.at.IsZero() && (t.at.After(cut) || !ignoreSettle && now.Sub(t.at) < r.settle) {
			keep = append(keep, t)
			continue
		}
		used = append(used, t)
	}
	// Count first: a burst is tens of thousands of entries, and growing
	// the lists copies them over and over.
	perNS := map[string]int{}
	for _, t := range used {
		for _, p := range t.entries {
			perNS[p.Namespace]++
		}
	}
	for ns, n := range perNS {
		byNS[ns] = make([]Entry, 0, n)
	}
	for _, t := range used {
		for _, p := range t.entries {
			byNS[p.Namespace] = append(byNS[p.Namespace], p.Entry)
		}
	}
	names := make([]string, 0, len(r.heads)+len(byNS))
	for ns := range r.heads {
		names = append(names, ns)
	}
	for ns := range byNS {
		if _, ok := r.heads[ns]; !ok {
			names = append(names, ns)
		}
	}
	sort.Strings(names)
	unsent := map[string]bool{}
	for _, s := range r.sealed {
		unsent[s.Digest.Chain] = true
	}
	heads := make(map[string]head, len(names))
	var out []Signed
	var outRaw [][]byte
	covered := 0
	for _, ns := range names {
		h, ok := r.heads[ns]
		if !ok {
			h.To = r.started
		}
		es := byNS[ns]
		if len(es) == 0 && !final && unsent[r.instance+"/"+ns] {
			// While the sink is down, one heartbeat per chain waits.
			heads[ns] = h
			continue
		}
		for first := true; first || len(es) > 0; first = false {
			chunk := es[:min(len(es), r.cfg.MaxEvents)]
			es = es[len(chunk):]
			d := Digest{Chain: r.instance + "/" + ns, Seq: h.Seq + 1, Previous: h.Hash, From: h.To, To: now,
				Count: len(chunk), Events: chunk, Final: final && len(es) == 0}
			s, payload, err := sign(d, r.key)
			if err != nil {
				return err
			}
			hash := hashPayload(payload, s.Signature)
			raw, err := s.AppendJSON(make([]byte, 0, len(payload)+len(s.Signature)+32))
			if err != nil {
				return err
			}
			outRaw = append(outRaw, raw)
			h = head{Seq: d.Seq, Hash: hash, To: now}
			out = append(out, s)
			covered += len(chunk)
		}
		heads[ns] = h
	}
	sealed := append(append([]Signed(nil), r.sealed...), out...)
	sealedRaw := append(append([][]byte(nil), r.sealedRaw...), outRaw...)
	sealedKeys := append([]sealedKey(nil), r.sealedKeys...)
	next := r.sealedNext
	var ops []*storage.Operation
	for _, raw := range outRaw {
		o, k := chunkedOps(sealedKeyName(next), raw, 0)
		ops = append(ops, o...)
		sealedKeys = append(sealedKeys, sealedKey{next, k})
		next++
	}
	low := r.next
	for n := range r.inflight {
		low = min(low, n)
	}
	for _, t := range keep {
		low = min(low, t.n)
	}
	ops = append(ops, setOp(keySealedHi, next), setOp(keyHeads, heads), setOp(keyLow, low))
	for _, t := range used {
		ops = append(ops, deleteChunked(intentKey(t.n), t.chunks)...)
	}
	if err := r.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	r.heads, r.sealed, r.sealedRaw, r.committed, r.low = heads, sealed, sealedRaw, keep, low
	r.sealedKeys, r.sealedNext = sealedKeys, next
	r.covered += int64(covered)
	return nil
}

// send hands the sealed digests to the sink, oldest first, and forgets
// them once it took them.
func (r *Recorder) send(ctx context.Context) error {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.mu.Lock()
	batch := append([]Signed(nil), r.sealed...)
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := r.sink.Write(ctx, batch); err != nil {
		r.mu.Lock()
		r.failures++
		r.mu.Unlock()
		return fmt.Errorf("%d digests: %w", len(batch), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var ops []*storage.Operation
	for _, k := range r.sealedKeys[:len(batch)] {
		ops = append(ops, deleteChunked(sealedKeyName(k.n), k.chunks)...)
	}
	lo := r.sealedNext
	if len(r.sealedKeys) > len(batch) {
		lo = r.sealedKeys[len(batch)].n
	}
	ops = append(ops, setOp(keySealedLo, lo))
	if err := r.client.Batch(ctx, ops...); err != nil {
		// They are stored: resending them later leaves one of each.
		return fmt.Errorf("storage: %w", err)
	}
	r.sealed = append([]Signed(nil), r.sealed[len(batch):]...)
	r.sealedRaw = append([][]byte(nil), r.sealedRaw[len(batch):]...)
	r.sealedKeys = append([]sealedKey(nil), r.sealedKeys[len(batch):]...)
	r.written += int64(len(batch))
	for _, s := range batch {
		r.pending -= s.Digest.Count // sealed events count until stored
	}
	return nil
}

// ValidID is id as a JSON reader sees it after encoding/json wrote it:
// each byte of invalid UTF-8 a U+FFFD. A signed digest must read back to
// the bytes signed, and the stores hand verify the decoded id.
func ValidID(id string) string {
	if utf8.ValidString(id) {
		return id
	}
	b, _ := json.Marshal(id)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// loadSealed reads the digests sealed and not yet stored, in order.
func (r *Recorder) loadSealed(ctx context.Context) error {
	var lo uint64
	for key, v := range map[string]*uint64{keySealedLo: &lo, keySealedHi: &r.sealedNext} {
		if _, err := r.get(ctx, key, v); err != nil {
			return err
		}
	}
	if r.sealedNext < lo || r.sealedNext-lo > maxStateSpan {
		return fmt.Errorf("tamper evidence state: sealed digests %d to %d: the storage was changed or is corrupt; move the storage directory aside to start new chains", lo, r.sealedNext)
	}
	for n := lo; n < r.sealedNext; n++ {
		b, chunks, err := r.readChunked(ctx, sealedKeyName(n))
		if errors.Is(err, errChunks) {
			return fmt.Errorf("tamper evidence state %q: %w: the storage was changed or is corrupt; move the storage directory aside to start new chains", sealedKeyName(n), err)
		}
		if err != nil {
			return fmt.Errorf("tamper evidence: storage: %w", err)
		}
		if b == nil {
			continue // stored and deleted; low was not moved yet
		}
		var sd Signed
		if err := json.Unmarshal(b, &sd); err != nil {
			return fmt.Errorf("tamper evidence state %q does not decode (%v): the storage was changed or is corrupt; move the storage directory aside to start new chains", sealedKeyName(n), err)
		}
		r.sealed = append(r.sealed, sd)
		r.sealedRaw = append(r.sealedRaw, b)
		r.sealedKeys = append(r.sealedKeys, sealedKey{n, chunks})
	}
	return nil
}

// Stats are counts since start: digests the sink took, events sealed into
// digests, failed sink writes, and events waiting.
type Stats struct{ Written, Covered, Failures, Pending int64 }

// Stats reports the counts.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{r.written, r.covered, r.failures, int64(r.pending)}
}
