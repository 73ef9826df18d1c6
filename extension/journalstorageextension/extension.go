package journalstorageextension

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/extension/journalstorageextension/internal/journal"
	"github.com/otelcol-audit/otelcol-audit/extension/journalstorageextension/internal/metadata"
)

// Syncer is what an exporter asks of this extension to acknowledge after a
// shared sync: DeferSync makes the named client's writes return once they
// are in the page cache, and returns the function that makes them durable.
// Whoever defers must call it before acknowledging anything it wrote.
type Syncer interface {
	DeferSync(kind component.Kind, id component.ID, storageName string) func(context.Context) error
}

type journalStorage struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder

	mu sync.Mutex
	// clients holds the last client opened under each name, open or
	// closed: a deferred sync after Close still learns whether Close's
	// sync made its writes durable.
	clients  map[string]*client
	deferred map[string]bool

	// beforeSync is for tests: journal.Options.BeforeSync of every client.
	beforeSync func(segment string, size int64)
	// host is told when a journal stops (set by Start).
	host component.Host
}

var (
	_ storage.Extension = (*journalStorage)(nil)
	_ Syncer            = (*journalStorage)(nil)
)

func newExtension(cfg *Config, logger *zap.Logger, tb *metadata.TelemetryBuilder) *journalStorage {
	return &journalStorage{cfg: cfg, logger: logger, telemetry: tb, clients: map[string]*client{}, deferred: map[string]bool{}}
}

func (j *journalStorage) Start(_ context.Context, host component.Host) error {
	if err := os.MkdirAll(j.cfg.Directory, 0o700); err != nil {
		return fmt.Errorf("journal_storage: creating directory %s: %w", j.cfg.Directory, err)
	}
	j.mu.Lock()
	j.host = host
	j.mu.Unlock()
	return nil
}

// stopped reports a journal that can write no more as a fatal error: the
// collector stops, and its restart reads the queue back from disk. Left
// running, it would take no events and answer every sender with an error.
func (j *journalStorage) stopped(err error) {
	j.mu.Lock()
	host := j.host
	j.mu.Unlock()
	if host != nil {
		// Not under the journal's lock: the collector takes the report on
		// a channel it reads only while it runs.
		go componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
	}
}

func (j *journalStorage) Shutdown(ctx context.Context) error {
	j.mu.Lock()
	clients := make([]*client, 0, len(j.clients))
	for _, c := range j.clients {
		clients = append(clients, c)
	}
	j.mu.Unlock()
	var errs []error
	for _, c := range clients {
		errs = append(errs, c.Close(ctx))
	}
	j.telemetry.Shutdown()
	return errors.Join(errs...)
}

// clientName is the client's directory: kind, component and storage name,
// escaped so that no two clients share one.
func clientName(kind component.Kind, id component.ID, storageName string) string {
	parts := []string{strings.ToLower(kind.String()), id.Type().String(), id.Name()}
	if storageName != "" {
		parts = append(parts, storageName)
	}
	for i, p := range parts {
		parts[i] = escape(p)
	}
	return strings.Join(parts, "_")
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "~%02x", c)
		}
	}
	return b.String()
}

func (j *journalStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, storageName string) (storage.Client, error) {
	name := clientName(kind, id, storageName)
	j.mu.Lock()
	defer j.mu.Unlock()
	if c, ok := j.clients[name]; ok && !c.closed.Load() {
		return nil, fmt.Errorf("journal_storage: %s already has its storage %q open: one client per component and name", id, storageName)
	}
	ctx := context.Background()
	log, err := journal.Open(filepath.Join(j.cfg.Directory, name), journal.Options{
		SegmentSize: int64(j.cfg.SegmentSizeMiB) << 20,
		Fsync:       j.cfg.Fsync,
		Logger:      j.logger.With(zap.String("client", name)),
		OnSync:      func(int64) { j.telemetry.JournalStorageSyncs.Add(ctx, 1) },
		OnTorn:      func(n int64) { j.telemetry.JournalStorageTornBytes.Add(ctx, n) },
		BeforeSync:  j.beforeSync,
		OnBroken:    j.stopped,
	})
	if err != nil {
		return nil, err
	}
	c := &client{log: log, ext: j, name: name}
	c.deferred.Store(j.deferred[name])
	j.clients[name] = c
	return c, nil
}

// DeferSync implements Syncer. Call it before the client is opened.
func (j *journalStorage) DeferSync(kind component.Kind, id component.ID, storageName string) func(context.Context) error {
	name := clientName(kind, id, storageName)
	j.mu.Lock()
	j.deferred[name] = true
	if c, ok := j.clients[name]; ok {
		c.deferred.Store(true)
	}
	j.mu.Unlock()
	return func(ctx context.Context) error {
		j.mu.Lock()
		c := j.clients[name]
		j.mu.Unlock()
		if c == nil {
			return nil // never opened: nothing was written through it
		}
		// A closed journal answers too: nil when Close synced everything.
		return c.log.Sync(ctx)
	}
}

type client struct {
	log      *journal.Log
	deferred atomic.Bool
	closed   atomic.Bool
	ext      *journalStorage
	name     string
}

var _ storage.Client = (*client)(nil)

func (c *client) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := c.Batch(ctx, op)
	return op.Value, err
}

func (c *client) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *client) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := c.log.Batch(ctx, ops...); err != nil {
		return err
	}
	writes := false
	for _, o := range ops {
		writes = writes || o.Type != storage.Get
	}
	if !writes {
		return nil
	}
	c.ext.telemetry.JournalStorageWrites.Add(ctx, 1)
	if c.deferred.Load() {
		return nil
	}
	return c.log.Sync(ctx)
}

// Close syncs and closes the client's journal. Its name can be opened
// again once Close returns.
func (c *client) Close(ctx context.Context) error {
	err := c.log.Close(ctx)
	c.closed.Store(true)
	return err
}
