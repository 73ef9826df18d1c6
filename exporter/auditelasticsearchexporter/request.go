package auditelasticsearchexporter

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// docsRequest is what the queue holds: the events already encoded as a
// bulk body (a create line and a document each) and where each one is.
// Encoding once on arrival means the persistent queue writes and reads
// back these bytes, not an OTLP message it must marshal and unmarshal.
type docsRequest struct {
	buf  []byte
	docs []pending // contiguous in buf, in order
}

var (
	_ xexporterhelper.Request = (*docsRequest)(nil)
	_ interface {
		OnError(error) xexporterhelper.Request
	} = (*docsRequest)(nil)
)

// convert encodes ld on its way into the queue. The index each event goes
// to is chosen now, by the event's own time (see indexTime).
func (e *auditExporter) convert(ctx context.Context, ld plog.Logs) (xexporterhelper.Request, error) {
	enc := e.encoders.Get().(*esdoc.Encoder)
	defer e.encoders.Put(enc)
	buf := make([]byte, 0, 1024*ld.LogRecordCount())
	buf, docs, past, future := e.encode(enc, ld, buf)
	if past > 0 {
		e.tel.ExporterAuditEsDocsPastRetention.Add(ctx, past)
	}
	if future > 0 {
		e.tel.ExporterAuditEsDocsFutureTime.Add(ctx, future)
	}
	return &docsRequest{buf: buf, docs: docs}, nil
}

func (r *docsRequest) ItemsCount() int { return len(r.docs) }

func (r *docsRequest) BytesSize() int { return len(r.buf) }

// OnError hands the retry sender the documents still to store.
func (r *docsRequest) OnError(err error) xexporterhelper.Request {
	var later *retryLater
	if errors.As(err, &later) {
		return later.req
	}
	return r
}

// MergeSplit appends r2's documents to r (in place), then cuts r into
// requests of at most maxSize (documents or bytes). A single document
// larger than maxSize bytes goes alone: it cannot be cut.
func (r *docsRequest) MergeSplit(_ context.Context, maxSize int, szt exporterhelper.RequestSizerType, r2 xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	if szt != exporterhelper.RequestSizerTypeItems && szt != exporterhelper.RequestSizerTypeBytes {
		return nil, fmt.Errorf("audit_elasticsearch: batching by %v is not supported; use sizer items or bytes", szt)
	}
	merged := r
	if r2 != nil {
		o, ok := r2.(*docsRequest)
		if !ok {
			return nil, fmt.Errorf("audit_elasticsearch: cannot merge a %T into its requests", r2)
		}
		// r is the batch being built, which only the batcher holds: grow
		// it in place, and the first time straight to the size a full
		// batch will have, so building a batch copies each byte once.
		if maxSize > 0 && len(r.buf)+len(o.buf) > cap(r.buf) {
			full := maxSize // bytes
			if szt == exporterhelper.RequestSizerTypeItems {
				full = maxSize * (len(r.buf) + len(o.buf)) / (len(r.docs) + len(o.docs))
			}
			r.reserve(min(full+full/8, maxReserve), maxSize)
		}
		r.append(o.buf, o.docs)
	}
	size := func(d pending) int { return d.end - d.start }
	if szt == exporterhelper.RequestSizerTypeItems {
		size = func(pending) int { return 1 }
	}
	if maxSize <= 0 || merged.sizeOf(size) <= maxSize {
		return []xexporterhelper.Request{merged}, nil
	}
	var out []xexporterhelper.Request
	for from := 0; from < len(merged.docs); {
		to, n := from, 0
		for to < len(merged.docs) && (to == from || n+size(merged.docs[to]) <= maxSize) {
			n += size(merged.docs[to])
			to++
		}
		part := &docsRequest{}
		part.buf = make([]byte, 0, merged.docs[to-1].end-merged.docs[from].start)
		part.append(merged.buf, merged.docs[from:to])
		out = append(out, part)
		from = to
	}
	return out, nil
}

func (r *docsRequest) sizeOf(size func(pending) int) int {
	n := 0
	for _, d := range r.docs {
		n += size(d)
	}
	return n
}

// maxReserve bounds what reserve allocates ahead for one batch.
const maxReserve = 64 << 20

// reserve makes room for bytes of body and, by items sizer, docs documents,
// once: a batch grows by merges, and each reallocation would copy it all.
func (r *docsRequest) reserve(bytes, docs int) {
	if cap(r.buf) < bytes {
		grown := make([]byte, len(r.buf), bytes)
		copy(grown, r.buf)
		r.buf = grown
	}
	if docs = min(docs, bytes/64); cap(r.docs) < docs {
		r.docs = append(make([]pending, 0, docs), r.docs...)
	}
}

// append copies docs' bytes from buf to the end of r and points them there.
// Runs of documents adjacent in buf are copied with one copy, and r grows
// by doubling, so building a batch copies each byte about twice at most.
func (r *docsRequest) append(buf []byte, docs []pending) {
	need := 0
	for _, d := range docs {
		need += d.end - d.start
	}
	if len(r.buf)+need > cap(r.buf) {
		grown := make([]byte, len(r.buf), max(len(r.buf)+need, 2*cap(r.buf)))
		copy(grown, r.buf)
		r.buf = grown
	}
	if cap(r.docs)-len(r.docs) < len(docs) {
		r.docs = append(make([]pending, 0, max(len(r.docs)+len(docs), 2*cap(r.docs))), r.docs...)
	}
	for i := 0; i < len(docs); {
		// The run docs[i:j] is contiguous in buf.
		j := i + 1
		for j < len(docs) && docs[j].start == docs[j-1].end {
			j++
		}
		off := len(r.buf)
		r.buf = append(r.buf, buf[docs[i].start:docs[j-1].end]...)
		shift := off - docs[i].start
		for _, d := range docs[i:j] {
			d.start += shift
			d.docStart += shift
			d.end += shift
			d.orig = len(r.docs)
			d.stored = nil
			r.docs = append(r.docs, d)
		}
		i = j
	}
}

// subset is a new request with the originals of docs (a retried dead
// letter stands for the event it was made from).
func (r *docsRequest) subset(docs []pending) *docsRequest {
	picks := make([]pending, len(docs))
	size := 0
	for i, d := range docs {
		picks[i] = r.docs[d.orig]
		size += picks[i].end - picks[i].start
	}
	out := &docsRequest{buf: make([]byte, 0, size), docs: make([]pending, 0, len(picks))}
	out.append(r.buf, picks)
	return out
}

// retryLater is a partial failure: req holds the documents still to store,
// which the retry sender sends again after its backoff.
type retryLater struct {
	err error
	req *docsRequest
}

func (r *retryLater) Error() string { return r.err.Error() }

func (r *retryLater) Unwrap() error { return r.err }
