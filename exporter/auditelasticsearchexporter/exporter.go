package auditelasticsearchexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

type auditExporter struct {
	cfg    *Config
	set    exporter.Settings
	logger *zap.Logger
	router *router
	client *elasticsearch.Client

	bootstrapped atomic.Bool
	lastBootErr  atomic.Pointer[string]
	stop         context.CancelFunc
	wg           sync.WaitGroup
	encoders     sync.Pool
	bodies       sync.Pool // *[]byte bulk bodies

	indexed, duplicate, retried, deadLettered, failed metric.Int64Counter
	latency                                           metric.Float64Histogram
	kindAudit, kindQuarantine, kindDeadLetter         metric.MeasurementOption
}

func newExporter(set exporter.Settings, cfg *Config) (*auditExporter, error) {
	e := &auditExporter{cfg: cfg, set: set, logger: set.Logger, router: newRouter(cfg)}
	e.encoders.New = func() any { return &esdoc.Encoder{} }
	e.bodies.New = func() any { return new([]byte) }
	m := set.TelemetrySettings.MeterProvider.Meter(metadata.ScopeName)
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter("otelcol_"+name, metric.WithDescription(desc), metric.WithUnit("{documents}"))
		errs = append(errs, err)
		return c
	}
	e.indexed = counter("exporter_audit_es_docs_indexed", "Documents Elasticsearch stored, by data stream kind.")
	e.duplicate = counter("exporter_audit_es_docs_duplicate", "Documents already stored (409 on create), counted as success.")
	e.retried = counter("exporter_audit_es_docs_retried", "Item retries after 429 or 5xx answers.")
	e.deadLettered = counter("exporter_audit_es_docs_dead_lettered", "Documents rejected by Elasticsearch and written to the dead-letter stream.")
	e.failed = counter("exporter_audit_es_docs_failed", "Documents that could not be stored or dead-lettered.")
	var err error
	e.latency, err = m.Float64Histogram("otelcol_exporter_audit_es_bulk_latency", metric.WithDescription("Duration of one _bulk request."), metric.WithUnit("s"))
	errs = append(errs, err)
	e.kindAudit = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "audit")))
	e.kindQuarantine = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "quarantine")))
	e.kindDeadLetter = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "deadletter")))
	return e, errors.Join(errs...)
}

func (e *auditExporter) start(ctx context.Context, host component.Host) error {
	rt, err := e.transport(ctx, host)
	if err != nil {
		return err
	}
	e.client, err = elasticsearch.NewClient(elasticsearch.Config{
		Addresses:           e.cfg.Endpoints,
		APIKey:              string(e.cfg.APIKey),
		Username:            e.cfg.User,
		Password:            string(e.cfg.Password),
		Transport:           rt,
		CompressRequestBody: e.cfg.Compression == "gzip",
		DisableRetry:        true, // retries are ours, per item
	})
	if err != nil {
		return fmt.Errorf("audit_elasticsearch: %w", err)
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

func (e *auditExporter) transport(ctx context.Context, host component.Host) (http.RoundTripper, error) {
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit_elasticsearch: tls: %w", err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	base.MaxIdleConnsPerHost = 32
	base.ResponseHeaderTimeout = e.cfg.RequestTimeout
	var rt http.RoundTripper = base
	if e.cfg.Authenticator != nil {
		ext, ok := host.GetExtensions()[*e.cfg.Authenticator]
		if !ok {
			return nil, fmt.Errorf("audit_elasticsearch: authenticator %q is not an extension of this collector; add it under extensions and service.extensions", e.cfg.Authenticator)
		}
		auth, ok := ext.(extensionauth.HTTPClient)
		if !ok {
			return nil, fmt.Errorf("audit_elasticsearch: extension %q is not an HTTP client authenticator", e.cfg.Authenticator)
		}
		if rt, err = auth.RoundTripper(rt); err != nil {
			return nil, fmt.Errorf("audit_elasticsearch: authenticator %q: %w", e.cfg.Authenticator, err)
		}
	}
	return rt, nil
}

// bootstrapLoop installs the assets, retrying until it succeeds, so the
// collector starts even while Elasticsearch is down; events wait in the
// queue meanwhile.
func (e *auditExporter) bootstrapLoop(ctx context.Context) {
	defer e.wg.Done()
	steps, err := esbootstrap.Plan(e.cfg.Tiers(), e.cfg.DataStream.Namespace)
	if err != nil {
		e.logger.Error("Cannot build the Elasticsearch bootstrap plan", zap.Error(err))
		return
	}
	for {
		actx, cancel := context.WithTimeout(ctx, 4*e.cfg.RequestTimeout)
		err := esbootstrap.Apply(actx, e.client, steps)
		cancel()
		if err == nil {
			e.bootstrapped.Store(true)
			e.logger.Info("Elasticsearch assets installed", zap.Int("steps", len(steps)))
			return
		}
		msg := err.Error()
		e.lastBootErr.Store(&msg)
		e.logger.Warn("Elasticsearch bootstrap failed; retrying, events wait in the queue", zap.Error(err), zap.Duration("retry_in", e.cfg.Bootstrap.RetryInterval))
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.cfg.Bootstrap.RetryInterval):
		}
	}
}

func (e *auditExporter) shutdown(context.Context) error {
	if e.stop != nil {
		e.stop()
	}
	e.wg.Wait()
	return nil
}

// pending is one document on its way: where its bytes are, and which
// record it came from, so a retryable failure can hand back just that.
// maxPooledBody keeps one unusually large export from pinning its body.
const maxPooledBody = 64 << 20

type pending struct {
	start, end int // action line + document in buf
	docStart   int
	id         string
	target     esdoc.Target
	rl, sl, lr int
	dead       bool // a dead-letter document
}

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
	docs := make([]pending, 0, ld.LogRecordCount())
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
				p := pending{start: len(buf), id: id, target: t, rl: i, sl: j, lr: k}
				buf = esdoc.AppendCreate(buf, t, id)
				p.docStart = len(buf)
				buf = enc.AppendDocument(buf, rl.Resource(), lr, t, id)
				buf = append(buf, '\n')
				p.end = len(buf)
				docs = append(docs, p)
			}
		}
	}

	retry, dead, perm, err := e.send(ctx, buf, docs)
	if err == nil && len(retry) == 0 && cap(buf) <= maxPooledBody {
		// Every request over buf was answered, so nothing reads it any more
		// (the rare failure paths leave it to the GC instead).
		defer func() { *bp = buf[:0]; e.bodies.Put(bp) }()
	}
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
		e.failed.Add(ctx, int64(len(perm)))
		for _, p := range perm {
			e.logger.Error("Audit event could not be stored nor dead-lettered", zap.String("event.id", p.id), zap.String("index", p.target.Index()))
		}
	}
	if len(retry) > 0 {
		failed := e.subset(ld, retry)
		return consumererror.NewLogs(fmt.Errorf("%d of %d audit events not yet stored: %w", failed.LogRecordCount(), len(docs), errOr(err, "Elasticsearch asked to retry")), failed)
	}
	if len(perm) > 0 {
		return consumererror.NewPermanent(fmt.Errorf("%d audit events could be neither stored nor dead-lettered (counted in otelcol_exporter_audit_es_docs_failed and logged)", len(perm)))
	}
	return nil
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// deadLetters builds dead-letter documents for the rejected ones.
func (e *auditExporter) deadLetters(dead []rejected) ([]byte, []pending) {
	size := 0
	for _, d := range dead {
		size += 2*len(d.doc) + 512
	}
	out := make([]byte, 0, size)
	docs := make([]pending, 0, len(dead))
	now := time.Now()
	for _, d := range dead {
		t := esdoc.Target{Dataset: e.cfg.DataStream.Dataset + ".deadletter", Namespace: d.target.Namespace}
		p := d.pending
		p.target, p.dead, p.start = t, true, len(out)
		out = esdoc.AppendCreate(out, t, d.id)
		p.docStart = len(out)
		out = esdoc.AppendDeadLetter(out, d.doc, d.id, d.errType, d.reason, t, now)
		out = append(out, '\n')
		p.end = len(out)
		docs = append(docs, p)
	}
	return out, docs
}

type rejected struct {
	pending
	// doc is the document as sent. pending's offsets are into the body of
	// the request that was refused, which a retry or a split rebuilt.
	doc             []byte
	errType, reason string
}

// send writes the documents with bulk creates, retrying 429 and 5xx items
// alone with backoff. It returns what is still to retry, what Elasticsearch
// rejected (to dead-letter), and dead-letter documents it rejected too.
func (e *auditExporter) send(ctx context.Context, buf []byte, docs []pending) (retry []pending, dead []rejected, perm []pending, err error) {
	todo := docs
	backoff := e.cfg.Bulk.InitialBackoff
	body := buf
	for attempt := 0; ; attempt++ {
		var results []itemResult
		results, err = e.bulk(ctx, body, len(todo))
		var refused *requestRefused
		if errors.As(err, &refused) && refused.splittable() {
			r, d, p, serr := e.split(ctx, body, todo, refused)
			return r, append(dead, d...), append(perm, p...), serr
		}
		var next []pending
		switch {
		case err != nil:
			next = todo
		default:
			for i, r := range results {
				d := todo[i]
				switch {
				case r.status == 201:
					e.indexed.Add(ctx, 1, e.kind(d))
				case r.status == 409:
					e.duplicate.Add(ctx, 1, e.kind(d))
				case r.status == 429 || r.status >= 500:
					next = append(next, d)
				case d.dead:
					perm = append(perm, d)
					e.logger.Error("Dead-letter stream rejected a document", zap.String("event.id", d.id), zap.Int("status", r.status), zap.String("type", r.errType), zap.String("reason", r.reason))
				default:
					dead = append(dead, rejected{pending: d, doc: body[d.docStart : d.end-1], errType: r.errType, reason: r.reason})
					e.deadLettered.Add(ctx, 1)
				}
			}
		}
		if len(next) == 0 {
			return nil, dead, perm, nil
		}
		if attempt >= e.cfg.Bulk.MaxRetries || ctx.Err() != nil {
			return next, dead, perm, err
		}
		e.retried.Add(ctx, int64(len(next)))
		select {
		case <-ctx.Done():
			return next, dead, perm, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, e.cfg.Bulk.MaxBackoff)
		body, todo = rebase(buf, next)
		buf = body
	}
}

// rebase copies the documents' bytes into a new body and points their
// offsets at it.
func rebase(buf []byte, docs []pending) ([]byte, []pending) {
	size := 0
	for _, d := range docs {
		size += d.end - d.start
	}
	body := make([]byte, 0, size)
	out := make([]pending, len(docs))
	for i, d := range docs {
		shift := d.docStart - d.start
		n := d.end - d.start
		off := len(body)
		body = append(body, buf[d.start:d.end]...)
		d.start, d.docStart, d.end = off, off+shift, off+n
		out[i] = d
	}
	return body, out
}

// split sends the halves of a refused request separately, down to single
// documents; a single document refused on its own is dead-lettered (or, if
// it is a dead letter, a permanent failure).
func (e *auditExporter) split(ctx context.Context, buf []byte, todo []pending, refused *requestRefused) (retry []pending, dead []rejected, perm []pending, err error) {
	if len(todo) == 1 {
		d := todo[0]
		if d.dead {
			e.logger.Error("Dead-letter stream refused a document", zap.String("event.id", d.id), zap.Error(refused))
			return nil, nil, []pending{d}, nil
		}
		e.deadLettered.Add(ctx, 1)
		return nil, []rejected{{pending: d, doc: buf[d.docStart : d.end-1], errType: refused.typ, reason: fmt.Sprintf("the bulk request holding only this document was refused with %d: %s", refused.status, refused.reason)}}, nil, nil
	}
	mid := len(todo) / 2
	for _, part := range [][]pending{todo[:mid], todo[mid:]} {
		body, docs := rebase(buf, part)
		r, d, p, perr := e.send(ctx, body, docs)
		retry, dead, perm = append(retry, r...), append(dead, d...), append(perm, p...)
		if perr != nil && err == nil {
			err = perr
		}
	}
	return retry, dead, perm, err
}

func (e *auditExporter) kind(d pending) metric.MeasurementOption {
	switch {
	case d.dead:
		return e.kindDeadLetter
	case d.target.Dataset == e.router.quarantine:
		return e.kindQuarantine
	}
	return e.kindAudit
}

// requestRefused is a whole bulk request answered with an error.
type requestRefused struct {
	status      int
	typ, reason string
}

func (r *requestRefused) Error() string {
	return fmt.Sprintf("Elasticsearch answered the bulk request with %d %s: %s", r.status, r.typ, r.reason)
}

// splittable: the request as a whole can never succeed (too large, or one
// document breaks it), so retrying it unchanged would wedge the queue.
// Auth failures, timeouts and throttling are retried as they are.
func (r *requestRefused) splittable() bool {
	return r.status >= 400 && r.status < 500 && r.status != 401 && r.status != 403 && r.status != 408 && r.status != 429
}

// bulkFilterPath asks Elasticsearch for only what parseBulk reads: a
// fraction of the full answer's size to build, send and parse.
var bulkFilterPath = []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason"}

type itemResult struct {
	status          int
	errType, reason string
}

// bulk sends one _bulk request. A transport error, or a whole-request
// answer other than 200, is returned as err (all items to retry).
func (e *auditExporter) bulk(ctx context.Context, body []byte, n int) ([]itemResult, error) {
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	start := time.Now()
	resp, err := esapi.BulkRequest{Body: bytes.NewReader(body), FilterPath: bulkFilterPath}.Do(rctx, e.client)
	e.latency.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		return nil, fmt.Errorf("bulk request to Elasticsearch failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		typ, reason := esbootstrap.ErrorOf(resp.Body)
		return nil, &requestRefused{status: resp.StatusCode, typ: typ, reason: reason}
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the bulk answer: %w", err)
	}
	results, err := parseBulk(raw, n)
	if err != nil {
		return nil, fmt.Errorf("unexpected bulk answer from Elasticsearch: %w", err)
	}
	return results, nil
}

// subset copies the records of docs, with their resource and scope.
func (e *auditExporter) subset(ld plog.Logs, docs []pending) plog.Logs {
	out := plog.NewLogs()
	type key struct{ rl, sl int }
	scopes := map[key]plog.ScopeLogs{}
	resources := map[int]plog.ResourceLogs{}
	for _, d := range docs {
		src := ld.ResourceLogs().At(d.rl)
		rl, ok := resources[d.rl]
		if !ok {
			rl = out.ResourceLogs().AppendEmpty()
			src.Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(src.SchemaUrl())
			resources[d.rl] = rl
		}
		sl, ok := scopes[key{d.rl, d.sl}]
		if !ok {
			ssrc := src.ScopeLogs().At(d.sl)
			sl = rl.ScopeLogs().AppendEmpty()
			ssrc.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(ssrc.SchemaUrl())
			scopes[key{d.rl, d.sl}] = sl
		}
		src.ScopeLogs().At(d.sl).LogRecords().At(d.lr).CopyTo(sl.LogRecords().AppendEmpty())
	}
	return out
}

// router picks each record's data stream.
type router struct {
	dataset, quarantine, nsAttr, namespace string
	byCategory                             map[string]string        // category -> dataset
	rank                                   map[string]time.Duration // dataset -> retention
	nsCache                                sync.Map
	nsCached                               atomic.Int32
}

const maxCachedNamespaces = 10_000

func newRouter(cfg *Config) *router {
	r := &router{
		dataset: cfg.DataStream.Dataset, quarantine: cfg.DataStream.Dataset + ".quarantine",
		nsAttr: cfg.DataStream.NamespaceAttribute, namespace: cfg.DataStream.Namespace,
		byCategory: map[string]string{}, rank: map[string]time.Duration{},
	}
	for _, t := range cfg.Retention.Tiers {
		ds := cfg.DataStream.Dataset + "." + t.Name
		r.rank[ds] = esDuration(t.DeleteAfter)
		for _, c := range t.Categories {
			r.byCategory[c] = ds
		}
	}
	return r
}

func (r *router) target(lr plog.LogRecord) esdoc.Target {
	attrs := lr.Attributes()
	t := esdoc.Target{Dataset: r.dataset, Namespace: r.namespace}
	if r.nsAttr != "" {
		if v, ok := attrs.Get(r.nsAttr); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			t.Namespace = r.sanitize(v.Str())
		}
	}
	if v, ok := attrs.Get(fields.AuditRoute); ok && v.Str() == fields.RouteQuarantine {
		t.Dataset = r.quarantine
		return t
	}
	if len(r.byCategory) == 0 {
		return t
	}
	if v, ok := attrs.Get(fields.AuditCategories); ok {
		t.Dataset = r.tierFor(v, t.Dataset)
	}
	return t
}

// tierFor picks the tier of the event's categories; with several, the one
// that keeps the event longest.
func (r *router) tierFor(v pcommon.Value, def string) string {
	best := def
	consider := func(c string) {
		if ds, ok := r.byCategory[c]; ok && (best == def || r.rank[ds] > r.rank[best]) {
			best = ds
		}
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		consider(v.Str())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			consider(s.At(i).Str())
		}
	}
	return best
}

func (r *router) sanitize(s string) string {
	if v, ok := r.nsCache.Load(s); ok {
		return v.(string)
	}
	out := SanitizeNamespace(s, r.namespace)
	if r.nsCached.Load() < maxCachedNamespaces {
		r.nsCache.Store(s, out)
		r.nsCached.Add(1)
	}
	return out
}
