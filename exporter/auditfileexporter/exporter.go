package auditfileexporter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// settleMargin is added to flush_interval before a digest may claim a
// record (see Start).
const settleMargin = 2 * time.Second

// defaultNamespace is the chain of a record without organization.id, as
// the Elasticsearch exporter's default namespace.
const defaultNamespace = "default"

// auditFileExporter is the file exporter with digests on: each write is
// recorded before (Begin) and after (Commit) the file exporter takes it.
type auditFileExporter struct {
	cfg   *Config
	set   exporter.Settings
	inner exporter.Logs

	hashers sync.Pool // *hasher: records are hashed outside mu

	// mu makes Begin, the write and Commit one step: the archive's lines
	// are then in the order the digests list their records, which verify
	// checks.
	mu     sync.Mutex
	rec    *digest.Recorder
	client *freezable
	sink   *fileSink
}

func newExporter(set exporter.Settings, cfg *Config, inner exporter.Logs) *auditFileExporter {
	e := &auditFileExporter{cfg: cfg, set: set, inner: inner}
	e.hashers.New = func() any { return &hasher{ns: map[string]string{}} }
	return e
}

func (e *auditFileExporter) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (e *auditFileExporter) Start(ctx context.Context, host component.Host) error {
	c := e.cfg
	key, err := digest.LoadPrivateKey(c.Digest.KeyFile)
	if err != nil {
		// The error names the file and never quotes it.
		return fmt.Errorf("audit_file: digest::key_file: %w; the collector needs the private key of a pair made by `auditctl keygen --out DIR` (unset digest::key_file to turn tamper evidence off)", err)
	}
	client, err := storageClient(ctx, host, *c.Digest.Storage, e.set.ID)
	if err != nil {
		return err
	}
	e.client = &freezable{Client: client}
	if err := cutTornArchive(c.Path, e.set.Logger); err != nil {
		_ = client.Close(ctx)
		return err
	}
	if err := e.inner.Start(ctx, host); err != nil {
		_ = client.Close(ctx)
		return err
	}
	e.sink, err = openSink(c.digestPath(), c.Path, e.set.Logger)
	if err != nil {
		_ = e.inner.Shutdown(ctx)
		_ = client.Close(ctx)
		return fmt.Errorf("audit_file: digest::path: %w", err)
	}
	// settle: how long after a write a digest may claim it. Digests need
	// rotation (Validate), with which the file exporter writes through to
	// the file; the wait of a full flush_interval plus settleMargin is
	// kept as a margin should it ever buffer. A clean shutdown flushes
	// first (Shutdown), so the final digests claim everything. Against a
	// machine crash the sink fsyncs the archive before the recorder seals
	// (BeforeSeal) and before it stores a digest (Write).
	settle := c.FlushInterval + settleMargin
	e.rec = digest.NewRecorder(c.Digest.Config, key, e.client, e.sink, settle, e.set.Logger)
	if err := e.rec.Start(ctx); err != nil {
		_ = e.inner.Shutdown(ctx)
		_ = e.sink.Close()
		_ = client.Close(ctx)
		e.rec = nil
		return fmt.Errorf("audit_file: tamper evidence: %w", err)
	}
	return nil
}

// cutTornArchive cuts the active archive file back to just after its last
// '\n'. The file exporter writes a batch's line, then "\n", in two writes:
// a kill between or during them leaves a torn line, and the next batch
// would be appended onto it, one unreadable line. That write was never
// sealed (its intent is still in storage: an unconfirmed entry), so
// cutting it loses nothing a digest claims. Digests need rotation, so the
// active file is path.
func cutTornArchive(path string, logger *zap.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit_file: opening the archive to check its last line: %w; the collector needs read and write access to path", err)
	}
	defer f.Close()
	cut, err := cutTornLine(f)
	if err != nil {
		return fmt.Errorf("audit_file: cutting the torn last line of %s: %w", path, err)
	}
	if cut > 0 {
		logger.Warn("audit_file: cut the torn last line of the archive (a write cut short by a kill or crash; never in a digest, its events are listed as unconfirmed)",
			zap.String("file", path), zap.Int64("bytes", cut))
	}
	return nil
}

func storageClient(ctx context.Context, host component.Host, id, owner component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("audit_file: digest::storage: no extension %q: configure a file_storage extension by that name and list it in service::extensions", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("audit_file: digest::storage: extension %q is not a storage extension: name a file_storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindExporter, owner, "digest")
	if err != nil {
		return nil, fmt.Errorf("audit_file: digest::storage %q: %w", id, err)
	}
	return client, nil
}

// Shutdown flushes and closes the archive, then writes the final digests.
func (e *auditFileExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.inner.Shutdown(ctx)
	if e.rec == nil {
		return err
	}
	if err != nil {
		// The last flush failed: what was written since the one before
		// may be lost. Freeze the state so the final digests store
		// nothing: at the next start those writes' intents make
		// unconfirmed entries, which claim nothing.
		e.client.freeze()
	}
	rerr := e.rec.Shutdown(ctx)
	if err != nil {
		rerr = nil // the frozen state refused the final digests, as meant
	}
	err = errors.Join(err, rerr, e.sink.Close(), e.client.Close(ctx))
	e.rec = nil
	return err
}

func (e *auditFileExporter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	ld = withStableTime(ld)
	h := e.hashers.Get().(*hasher)
	ps := h.pending(ld)
	e.hashers.Put(h)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec == nil {
		return errors.New("audit_file: not running (not started, or shut down)")
	}
	if len(ps) == 0 {
		return e.inner.ConsumeLogs(ctx, ld)
	}
	n, err := e.rec.Begin(ctx, ps)
	if err != nil {
		return fmt.Errorf("audit_file: %w", err)
	}
	if err := e.inner.ConsumeLogs(ctx, ld); err != nil {
		e.rec.Commit(n, nil)
		return err
	}
	e.rec.Commit(n, ps)
	return nil
}

// hasher computes records' entries; one per goroutine (the encoder is not
// safe for concurrent use).
type hasher struct {
	enc esdoc.Encoder
	buf []byte
	ns  map[string]string // organization.id -> namespace
}

// maxCachedNamespaces bounds a hasher's cache of sanitized namespaces.
const maxCachedNamespaces = 1024

func (h *hasher) pending(ld plog.Logs) []digest.Pending {
	// A new slice each time: the recorder keeps it until it is sealed.
	ps := make([]digest.Pending, 0, ld.LogRecordCount())
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		res := rls.At(i).Resource()
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				lr := recs.At(k)
				h.buf = digest.ArchiveDocument(&h.enc, h.buf[:0], res, lr)
				ps = append(ps, digest.Pending{
					Namespace: h.namespace(lr),
					Entry:     digest.Entry{ID: h.enc.ID(lr), SHA256: digest.DocumentHash(h.buf)},
				})
			}
		}
	}
	return ps
}

// namespace names the record's chain as the Elasticsearch exporter names
// its index (namespace_attribute organization.id, default "default").
func (h *hasher) namespace(lr plog.LogRecord) string {
	v, ok := lr.Attributes().Get(fields.Organization)
	if !ok || v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
		return defaultNamespace
	}
	org := v.Str()
	if ns, ok := h.ns[org]; ok {
		return ns
	}
	ns := assets.Namespace(org, defaultNamespace)
	if len(h.ns) < maxCachedNamespaces {
		h.ns[org] = ns
	}
	return ns
}

// withStableTime gives a record with neither time nor observed time the
// time now as observed time, on a copy. The canonical document's
// @timestamp would otherwise be the reader's clock, and verify could not
// hash it again. The audit processor does this already: the copy is for
// pipelines without it.
func withStableTime(ld plog.Logs) plog.Logs {
	if !anyTimeless(ld) {
		return ld
	}
	out := plog.NewLogs()
	ld.CopyTo(out)
	now := pcommon.NewTimestampFromTime(time.Now())
	rls := out.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				if lr := recs.At(k); lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
					lr.SetObservedTimestamp(now)
				}
			}
		}
	}
	return out
}

func anyTimeless(ld plog.Logs) bool {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				if lr := recs.At(k); lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
					return true
				}
			}
		}
	}
	return false
}

// errFrozen is what a frozen state answers a write.
var errFrozen = errors.New("tamper evidence state frozen after a failed flush of the archive")

// freezable is the storage client, which freeze turns read-only.
type freezable struct {
	storage.Client
	frozen atomic.Bool
}

func (f *freezable) freeze() { f.frozen.Store(true) }

func (f *freezable) Set(ctx context.Context, key string, value []byte) error {
	if f.frozen.Load() {
		return errFrozen
	}
	return f.Client.Set(ctx, key, value)
}

func (f *freezable) Delete(ctx context.Context, key string) error {
	if f.frozen.Load() {
		return errFrozen
	}
	return f.Client.Delete(ctx, key)
}

func (f *freezable) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if f.frozen.Load() {
		for _, op := range ops {
			if op.Type != storage.Get {
				return errFrozen
			}
		}
	}
	return f.Client.Batch(ctx, ops...)
}
