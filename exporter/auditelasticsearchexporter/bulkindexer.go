package auditelasticsearchexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// pending is one document on its way: where its bytes are, and which of
// its request's documents it came from, so a retryable failure can hand
// back just those.
type pending struct {
	start, end int // action line + document in buf
	docStart   int
	id         string
	target     esdoc.Target
	ts         pcommon.Timestamp
	orig       int  // index in the request's docs (a dead letter: its event's)
	dead       bool // a dead-letter document
	// stored, with digests on, is where send notes what Elasticsearch
	// stored of the record (the digest entry's flags); nil without.
	stored *storedAs
}

// storedAs is what became of a record in one export: only what is stored
// goes into a digest.
type storedAs uint8

const (
	notStored      storedAs = iota // retried, lost, or not answered yet
	storedCreated                  // 201
	storedConflict                 // 409 on create: the id was there already
	storedDead                     // refused, and its dead letter is stored
)

// note records that Elasticsearch stored d (201) or already held it (409).
func (d pending) note(conflict bool) {
	switch {
	case d.stored == nil:
	case d.dead:
		*d.stored = storedDead // a dead letter stored, or already there
	case conflict:
		*d.stored = storedConflict
	default:
		*d.stored = storedCreated
	}
}

// index names the index (or, for a dead letter, the data stream) the
// document was sent to.
func (p pending) index(period assets.Period) string {
	if p.dead {
		period = ""
	}
	return p.target.IndexName(period, p.ts)
}

// indexBytes is the index name inside the action line.
func (p pending) indexBytes(buf []byte) []byte {
	line := buf[p.start:p.docStart]
	const prefix = `{"create":{"_index":"`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return nil
	}
	rest := line[len(prefix):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return rest[:i]
	}
	return nil
}

// retryReason says why an item refused with status and error type is
// tried again, or "" when retrying cannot help. A 401, 403 or 404 is not
// the document's fault (a role without create_doc or auto_configure on a
// new tenant's index, auto-creation refused), nor is an index that cannot
// be created or written now (validation_exception from the shard limit,
// ShardLimitValidator; a closed index): retried, the event waits in the
// queue until the cluster is fixed. A dead letter would keep it only for
// the dead-letter retention, or fail the same way.
func retryReason(status int, errType string) string {
	switch {
	case errType == "validation_exception" || errType == "index_closed_exception":
		return reasonIndexRefused
	case status == 429:
		return reasonThrottled
	case status >= 500:
		return reasonUnavailable
	case status == 401 || status == 403:
		return reasonUnauthorized
	case status == 404:
		return reasonIndexMissing
	}
	return ""
}

// send writes the documents with bulk creates, retrying refused items
// alone with backoff (see retryReason). It returns what is still to retry,
// what Elasticsearch rejected (to dead-letter), and dead-letter documents
// it rejected too.
func (e *auditExporter) send(ctx context.Context, buf []byte, docs []pending) (retry []pending, dead []rejected, perm []pending, err error) {
	todo := docs
	backoff := e.cfg.Bulk.InitialBackoff
	body := buf
	for attempt := 0; ; attempt++ {
		var results []itemResult
		results, err = e.bulk(ctx, body, todo)
		var refused *requestRefused
		if errors.As(err, &refused) && refused.splittable() {
			r, d, p, serr := e.split(ctx, body, todo, refused)
			return r, append(dead, d...), append(perm, p...), serr
		}
		var next []pending
		switch {
		case err != nil:
			next = todo
			if errors.As(err, &refused) && (refused.status == 401 || refused.status == 403) {
				e.logRefused(refused.status, refused.typ, refused.reason, "", len(todo))
			}
		default:
			for i, r := range results {
				d := todo[i]
				switch reason := retryReason(r.status, r.errType); {
				case r.status == 201:
					d.note(false)
					e.tel.ExporterAuditEsDocsIndexed.Add(ctx, 1, e.kind(d))
					if d.dead {
						e.tel.ExporterAuditEsDocsDeadLettered.Add(ctx, 1)
					}
				case r.status == 409:
					d.note(true)
					e.tel.ExporterAuditEsDocsDuplicate.Add(ctx, 1, e.kind(d))
					if d.dead {
						e.tel.ExporterAuditEsDocsDeadLettered.Add(ctx, 1)
					}
				case reason != "":
					next = append(next, d)
					e.tel.ExporterAuditEsDocsRetried.Add(ctx, 1, e.tel.retryReasons[reason])
					if reason == reasonUnauthorized || reason == reasonIndexMissing || reason == reasonIndexRefused {
						e.logRefused(r.status, r.errType, r.reason, d.index(e.period), 1)
					}
				case d.dead:
					perm = append(perm, d)
					e.logger.Error("Dead-letter stream rejected a document", zap.String("event.id", d.id), zap.Int("status", r.status), zap.String("type", r.errType), zap.String("reason", r.reason))
				default:
					dead = append(dead, rejected{pending: d, doc: body[d.docStart : d.end-1], errType: r.errType, reason: r.reason})
				}
			}
			e.checkIndices(body, todo, results)
		}
		if len(next) == 0 {
			return nil, dead, perm, nil
		}
		if attempt >= e.cfg.Bulk.MaxRetries || ctx.Err() != nil {
			return next, dead, perm, err
		}
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

// logRefused reports, at most every 10 seconds, items (or a whole request)
// that Elasticsearch refused for a reason outside the documents: they stay
// queued until the cluster lets them in.
func (e *auditExporter) logRefused(status int, typ, reason, index string, n int) {
	if ok, suppressed := e.refusedLog.allow(time.Now(), n); ok {
		e.logger.Error("Elasticsearch refused audit events for a reason outside the documents; they stay queued and are retried until it accepts them (check the writer role's create_doc and auto_configure privileges, action.auto_create_index and the index templates)",
			zap.Int("status", status), zap.String("type", typ), zap.String("reason", reason), zap.String("index", index), zap.Int64("refused_since_last_log", suppressed))
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
	if len(todo) == 0 {
		return nil, nil, nil, nil
	}
	if len(todo) == 1 {
		d := todo[0]
		if d.dead {
			e.logger.Error("Dead-letter stream refused a document", zap.String("event.id", d.id), zap.Error(refused))
			return nil, nil, []pending{d}, nil
		}
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
	return r.status >= 400 && r.status < 500 && r.status != 401 && r.status != 403 && r.status != 404 && r.status != 408 && r.status != 429
}

// bulkFilterPath asks Elasticsearch for only what parseBulk reads: a
// fraction of the full answer's size to build, send and parse. Every item
// keeps its status, so items stay in request order (filter_path drops
// objects it leaves empty).
var bulkFilterPath = []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason"}

// bulkFilterPathIndex also asks for each item's _index, to check where
// documents for a new index landed.
var bulkFilterPathIndex = append([]string{"items.*._index"}, bulkFilterPath...)

type itemResult struct {
	status          int
	errType, reason string
	index           string // with bulkFilterPathIndex only
}

// bulk sends one _bulk request. A transport error, or a whole-request
// answer other than 200, is returned as err (all items to retry).
func (e *auditExporter) bulk(ctx context.Context, body []byte, docs []pending) ([]itemResult, error) {
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	filter := bulkFilterPath
	if e.verified.needed(body, docs) {
		filter = bulkFilterPathIndex
	}
	start := time.Now()
	resp, err := esapi.BulkRequest{Body: bytes.NewReader(body), FilterPath: filter}.Do(rctx, e.client)
	e.tel.ExporterAuditEsBulkLatency.Record(ctx, time.Since(start).Seconds())
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
	results, err := parseBulk(raw, len(docs))
	if err != nil {
		return nil, fmt.Errorf("unexpected bulk answer from Elasticsearch: %w", err)
	}
	return results, nil
}
