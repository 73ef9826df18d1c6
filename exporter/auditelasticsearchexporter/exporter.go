package auditelasticsearchexporter

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

type auditExporter struct {
	cfg    *Config
	set    exporter.Settings
	logger *zap.Logger
	router *router
	client *elasticsearch.Client
	period assets.Period

	bootstrapped atomic.Bool
	lastBootErr  atomic.Pointer[string]
	stop         context.CancelFunc
	wg           sync.WaitGroup
	encoders     sync.Pool
	verified     verifiedIndices
	refusedLog   rateLog // items refused for a reason outside the document
	misroutedLog rateLog

	// digests records what is stored for tamper evidence; nil when off.
	digests      *digest.Recorder
	digestClient storage.Client

	// queueSync makes the queue's writes durable; nil unless its storage
	// defers syncing to the exporter (journal_storage).
	queueSync atomic.Pointer[func(context.Context) error]

	tel telemetry
	now func() time.Time
}

func newExporter(set exporter.Settings, cfg *Config) (*auditExporter, error) {
	e := &auditExporter{cfg: cfg, set: set, logger: set.Logger, router: newRouter(cfg), period: cfg.Retention.Period, now: timeNow}
	e.encoders.New = func() any { return &esdoc.Encoder{} }
	var err error
	e.tel, err = newTelemetry(set.TelemetrySettings)
	return e, err
}

func (e *auditExporter) start(ctx context.Context, host component.Host) error {
	e.deferQueueSync(host)
	var err error
	if e.client, err = newClient(ctx, e.cfg, host); err != nil {
		return err
	}
	if e.cfg.Digest.Enabled() {
		if err := e.startDigests(ctx, host); err != nil {
			return err
		}
	}
	if !e.cfg.Bootstrap.Enabled {
		e.bootstrapped.Store(true)
		return nil
	}
	bctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.wg.Add(1)
	go e.bootstrapLoop(bctx)
	return nil
}

// startDigests loads the signing key, gets the digest state's storage
// client and starts the recorder.
func (e *auditExporter) startDigests(ctx context.Context, host component.Host) error {
	key, err := digest.LoadPrivateKey(e.cfg.Digest.KeyFile)
	if err != nil {
		// The error names the file, never its content.
		return fmt.Errorf("audit_elasticsearch: digest::key_file: %w; make a key pair with `auditctl keygen --out DIR` and set key_file (AUDIT_SIGNING_KEY_FILE) to its private key, or leave key_file empty to turn tamper evidence off", err)
	}
	id := *e.cfg.Digest.Storage
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return fmt.Errorf("audit_elasticsearch: digest::storage: %q is not an extension of this collector; add a storage extension (journal_storage or file_storage) under extensions and service.extensions", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return fmt.Errorf("audit_elasticsearch: digest::storage: extension %q is not a storage extension; name a journal_storage or file_storage extension", id)
	}
	client, err := se.GetClient(ctx, component.KindExporter, e.set.ID, "digest")
	if err != nil {
		return fmt.Errorf("audit_elasticsearch: digest::storage %q: %w", id, err)
	}
	rec := digest.NewRecorder(e.cfg.Digest, key, client, digestSink{e}, 0, e.logger)
	if err := rec.Start(ctx); err != nil {
		_ = client.Close(ctx)
		return fmt.Errorf("audit_elasticsearch: tamper evidence: %w", err)
	}
	e.digests, e.digestClient = rec, client
	stat := func(f func(digest.Stats) int64) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error { o.Observe(f(rec.Stats())); return nil }
	}
	for _, err := range []error{
		e.tel.RegisterExporterAuditEsDigestsWrittenCallback(stat(func(s digest.Stats) int64 { return s.Written })),
		e.tel.RegisterExporterAuditEsDigestWriteFailuresCallback(stat(func(s digest.Stats) int64 { return s.Failures })),
		e.tel.RegisterExporterAuditEsDigestPendingEventsCallback(stat(func(s digest.Stats) int64 { return s.Pending })),
	} {
		if err != nil {
			return fmt.Errorf("audit_elasticsearch: tamper evidence telemetry: %w", err)
		}
	}
	e.logger.Info("Tamper evidence on: digests go to "+e.cfg.digestStream(), zap.String("chains", rec.Instance()+"/<namespace>"), zap.Duration("interval", e.cfg.Digest.Interval))
	return nil
}

// shutdown runs after exporterhelper drained the queue: the final digests
// then cover every event it wrote.
func (e *auditExporter) shutdown(ctx context.Context) error {
	if e.stop != nil {
		e.stop()
	}
	e.wg.Wait()
	if e.digests != nil {
		if err := e.digests.Shutdown(ctx); err != nil {
			// They stay in storage and are written after the next start.
			e.logger.Warn("Tamper evidence: final digests not written; they are kept and written after the next start", zap.Error(err))
		}
		if err := e.digestClient.Close(ctx); err != nil {
			e.logger.Warn("Tamper evidence: closing the storage client", zap.Error(err))
		}
	}
	e.tel.Shutdown()
	return nil
}

// push writes a queued request's documents.
func (e *auditExporter) push(ctx context.Context, r xexporterhelper.Request) error {
	req := r.(*docsRequest)
	if len(req.docs) == 0 {
		return nil // an empty bulk request is a 400, and split has no half to try
	}
	if !e.bootstrapped.Load() {
		reason := "not attempted yet"
		if p := e.lastBootErr.Load(); p != nil {
			reason = *p
		}
		return fmt.Errorf("Elasticsearch assets are not installed yet (%s); the events stay queued", reason)
	}
	// send and its retries point docs at other bodies: work on a copy.
	buf, docs := req.buf, append([]pending(nil), req.docs...)

	if rec := e.digests; rec != nil && len(docs) > 0 {
		ps, marks := e.digestEntries(buf, docs)
		n, err := rec.Begin(ctx, ps)
		if err != nil {
			return fmt.Errorf("%d audit events not sent: %w", len(docs), err)
		}
		// Whatever happens below, the recorder learns what was stored, so
		// nothing stays in flight: the rest is begun again on retry.
		defer func() { rec.Commit(n, storedEntries(ps, marks)) }()
	}

	retry, dead, perm, err := e.send(ctx, buf, docs)
	if err != nil && len(retry) == 0 {
		return err
	}
	if len(dead) > 0 {
		dlBuf, dlDocs := e.deadLetters(dead)
		r2, _, perm2, err2 := e.send(ctx, dlBuf, dlDocs)
		perm = append(perm, perm2...)
		// A dead-letter write that must be retried keeps its original
		// record in the retry set: the whole event is tried again.
		retry = append(retry, r2...)
		if err2 != nil && err == nil {
			err = err2
		}
	}
	if len(perm) > 0 {
		e.tel.ExporterAuditEsDocsFailed.Add(ctx, int64(len(perm)))
		for _, p := range perm {
			e.logger.Error("Audit event could not be stored nor dead-lettered", zap.String("event.id", p.id), zap.String("index", p.index(e.period)))
		}
	}
	if len(retry) > 0 {
		return &retryLater{err: fmt.Errorf("%d of %d audit events not yet stored: %w", len(retry), len(docs), errOr(err, "Elasticsearch asked to retry")), req: req.subset(retry)}
	}
	// The exporter helper counts every record of a request it gets an error
	// for as failed; only a request lost whole may say so. A partial loss is
	// counted exactly in docs_failed and logged per event above.
	if len(perm) == len(docs) {
		return consumererror.NewPermanent(fmt.Errorf("%d audit events could be neither stored nor dead-lettered (counted in otelcol_exporter_audit_es_docs_failed and logged)", len(perm)))
	}
	return nil
}

// encode appends a create line and a document per record of ld to buf,
// and counts the event times the index choice moved (see indexTime).
func (e *auditExporter) encode(enc *esdoc.Encoder, ld plog.Logs, buf []byte) (_ []byte, docs []pending, past, future int64) {
	docs = make([]pending, 0, ld.LogRecordCount())
	now := pcommon.NewTimestampFromTime(e.now())
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				lr := recs.At(k)
				t := e.router.target(lr)
				id := enc.ID(lr)
				ts := enc.Timestamp(lr)
				its := e.indexTime(t, ts, now, &past, &future)
				p := pending{start: len(buf), id: id, target: t, ts: its, orig: len(docs)}
				buf = enc.AppendCreate(buf, t, e.period, its, id)
				p.docStart = len(buf)
				buf = enc.AppendDocument(buf, rl.Resource(), lr, t, id, ts)
				buf = append(buf, '\n')
				p.end = len(buf)
				docs = append(docs, p)
			}
		}
	}
	return buf, docs, past, future
}

// digestEntries hashes each document as sent (without its newline) and
// names the index it is written to, for Begin; marks are where send notes
// what was stored. Index names are shared among the records of an index.
func (e *auditExporter) digestEntries(buf []byte, docs []pending) ([]digest.Pending, []storedAs) {
	ps := make([]digest.Pending, len(docs))
	marks := make([]storedAs, len(docs))
	names := map[string]string{}
	for i := range docs {
		d := &docs[i]
		d.stored = &marks[i]
		ib := d.indexBytes(buf)
		name, ok := names[string(ib)]
		switch {
		case ok:
		case ib == nil: // not our action line: never, but stay right
			name = d.index(e.period)
		default:
			name = string(ib)
			names[name] = name
		}
		ps[i] = digest.Pending{Namespace: d.target.Namespace,
			Entry: digest.Entry{ID: d.id, SHA256: digest.DocumentHash(buf[d.docStart : d.end-1]), Index: name}}
	}
	return ps, marks
}

// storedEntries keeps, in place, the entries of what Elasticsearch stored,
// flagged as the design says: a 409 on create is a Conflict, a stored dead
// letter is Dead with the index the event was meant for.
func storedEntries(ps []digest.Pending, marks []storedAs) []digest.Pending {
	out := ps[:0]
	for i, p := range ps {
		switch marks[i] {
		case storedCreated:
		case storedConflict:
			p.Entry.Conflict = true
		case storedDead:
			p.Entry.Dead = true
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}
