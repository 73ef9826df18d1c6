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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
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
	bodies       sync.Pool // *[]byte bulk bodies
	verified     verifiedIndices
	refusedLog   rateLog // items refused for a reason outside the document
	misroutedLog rateLog

	tel telemetry
	now func() time.Time
}

func newExporter(set exporter.Settings, cfg *Config) (*auditExporter, error) {
	e := &auditExporter{cfg: cfg, set: set, logger: set.Logger, router: newRouter(cfg), period: cfg.Retention.Period, now: timeNow}
	e.encoders.New = func() any { return &esdoc.Encoder{} }
	e.bodies.New = func() any { return new([]byte) }
	var err error
	e.tel, err = newTelemetry(set.TelemetrySettings)
	return e, err
}

func (e *auditExporter) start(ctx context.Context, host component.Host) error {
	var err error
	if e.client, err = newClient(ctx, e.cfg, host); err != nil {
		return err
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

func (e *auditExporter) shutdown(context.Context) error {
	if e.stop != nil {
		e.stop()
	}
	e.wg.Wait()
	e.tel.Shutdown()
	return nil
}

// maxPooledBody keeps one unusually large export from pinning its body.
const maxPooledBody = 64 << 20

func (e *auditExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	if !e.bootstrapped.Load() {
		reason := "not attempted yet"
		if p := e.lastBootErr.Load(); p != nil {
			reason = *p
		}
		return fmt.Errorf("Elasticsearch assets are not installed yet (%s); the events stay queued", reason)
	}
	enc := e.encoders.Get().(*esdoc.Encoder)
	defer e.encoders.Put(enc)

	// Bulk bodies are megabytes: reuse them rather than have every export
	// allocate and zero one (and pace the GC by it).
	bp := e.bodies.Get().(*[]byte)
	buf := (*bp)[:0]
	if need := 1024 * ld.LogRecordCount(); cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	buf, docs, past, future := e.encode(enc, ld, buf)

	retry, dead, perm, err := e.send(ctx, buf, docs)
	if err == nil && len(retry) == 0 && cap(buf) <= maxPooledBody {
		// Every request over buf was answered, so nothing reads it any more
		// (the rare failure paths leave it to the GC instead).
		defer func() { *bp = buf[:0]; e.bodies.Put(bp) }()
	}
	if err != nil && len(retry) == 0 {
		return err
	}
	if past > 0 {
		e.tel.ExporterAuditEsDocsPastRetention.Add(ctx, past)
	}
	if future > 0 {
		e.tel.ExporterAuditEsDocsFutureTime.Add(ctx, future)
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
		failed := subset(ld, retry)
		return consumererror.NewLogs(fmt.Errorf("%d of %d audit events not yet stored: %w", failed.LogRecordCount(), len(docs), errOr(err, "Elasticsearch asked to retry")), failed)
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
				p := pending{start: len(buf), id: id, target: t, ts: its, rl: i, sl: j, lr: k}
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
