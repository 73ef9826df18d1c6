package auditelasticsearchexporter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	pdatareq "go.opentelemetry.io/collector/pdata/xpdata/request"
	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// A queued request on disk:
//
//	the bulk body: every action line and document, in order
//	| the index: uvarint document count, and per document:
//	  uvarint action-line length | uvarint document length (with its newline)
//	  | uvarint id length | id | uvarint dataset length | dataset
//	  | uvarint namespace length | namespace | uvarint index time | u8 flags
//	| u32 index length | "AQD1"
//
// The body is the bulk request as it will be sent, so reading an item back
// costs a scan of its small index, not a decode of every event; and with
// the index after it, Marshal appends to the body where it lies instead of
// copying it.
var queueMagic = []byte("AQD1")

const flagDead = 1

// docsEncoding reads back what Marshal wrote, and, from a queue an earlier
// release filled, OTLP requests, which it encodes as they are read.
type docsEncoding struct{ e *auditExporter }

var errNoTrailer = errors.New("not a request this exporter queued (no AQD1 trailer)")

func (docsEncoding) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r, ok := req.(*docsRequest)
	if !ok {
		return nil, fmt.Errorf("audit_elasticsearch: cannot queue a %T", req)
	}
	size := len(r.buf) + binary.MaxVarintLen64 + 4 + len(queueMagic)
	for _, d := range r.docs {
		size += 5*binary.MaxVarintLen64 + 1 + len(d.id) + len(d.target.Dataset) + len(d.target.Namespace)
	}
	// The bytes past the body's length belong to r alone, and r is queued
	// once: the index may go there.
	out := r.buf
	if cap(out) < size {
		out = make([]byte, len(r.buf), size)
		copy(out, r.buf)
	}
	out = binary.AppendUvarint(out, uint64(len(r.docs)))
	at := 0
	for _, d := range r.docs {
		if d.start != at {
			return nil, errors.New("audit_elasticsearch: a request's documents are not contiguous (a bug): not queued")
		}
		at = d.end
		out = binary.AppendUvarint(out, uint64(d.docStart-d.start))
		out = binary.AppendUvarint(out, uint64(d.end-d.docStart))
		out = appendString(out, d.id)
		out = appendString(out, d.target.Dataset)
		out = appendString(out, d.target.Namespace)
		out = binary.AppendUvarint(out, uint64(d.ts))
		var flags byte
		if d.dead {
			flags |= flagDead
		}
		out = append(out, flags)
	}
	if at != len(r.buf) {
		return nil, errors.New("audit_elasticsearch: a request's body has bytes no document claims (a bug): not queued")
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(len(out)-len(r.buf)))
	return append(out, queueMagic...), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Unmarshal reads a queued request back, refusing anything inconsistent:
// the queue file is input like any other.
func (c docsEncoding) Unmarshal(data []byte) (context.Context, xexporterhelper.Request, error) {
	r, err := decodeQueued(data)
	if err == nil {
		return context.Background(), r, nil
	}
	if errors.Is(err, errNoTrailer) {
		// Queued by a release that queued OTLP (before AQD1).
		ctx, ld, lerr := pdatareq.UnmarshalLogs(data)
		if errors.Is(lerr, pdatareq.ErrInvalidFormat) {
			ld, lerr = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
		}
		if lerr == nil {
			req, cerr := c.e.convert(ctx, ld)
			return context.Background(), req, cerr
		}
	}
	err = fmt.Errorf("audit_elasticsearch: a queued request of %d bytes is unreadable: %w", len(data), err)
	// The queue drops what it cannot read, logging at debug level only.
	c.e.logger.Error("A queued request is unreadable and the queue drops it: the queue's storage was damaged or edited", zap.Error(err))
	return context.Background(), nil, err
}

func decodeQueued(data []byte) (*docsRequest, error) {
	tail := 4 + len(queueMagic)
	if len(data) < tail || string(data[len(data)-len(queueMagic):]) != string(queueMagic) {
		return nil, errNoTrailer
	}
	ilen := uint64(binary.LittleEndian.Uint32(data[len(data)-tail:]))
	if ilen > uint64(len(data)-tail) {
		return nil, fmt.Errorf("an index of %d bytes cannot fit in %d", ilen, len(data))
	}
	body := data[: len(data)-tail-int(ilen) : len(data)-tail-int(ilen)]
	data = data[len(body) : len(data)-tail]
	p := 0
	uv := func(what string) (uint64, error) {
		v, n := binary.Uvarint(data[p:])
		if n <= 0 {
			return 0, fmt.Errorf("%s at byte %d is not a varint", what, p)
		}
		p += n
		return v, nil
	}
	str := func(what string) (string, error) {
		n, err := uv(what + " length")
		if err != nil {
			return "", err
		}
		if n > uint64(len(data)-p) {
			return "", fmt.Errorf("%s at byte %d runs past the end", what, p)
		}
		s := data[p : p+int(n)]
		p += int(n)
		return string(s), nil
	}
	count, err := uv("document count")
	if err != nil {
		return nil, err
	}
	// Each document's index entry takes at least 7 bytes: a count above
	// that cannot be true and must not size an allocation.
	if count == 0 || count > uint64(len(data)-p)/7 {
		return nil, fmt.Errorf("%d documents cannot be in %d bytes", count, len(data))
	}
	// Grown as documents parse: a count alone must not size an allocation
	// far above the input's.
	r := &docsRequest{docs: make([]pending, 0, min(count, 4096))}
	// Requests share a few datasets and namespaces: one string each.
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		interned[s] = s
		return s
	}
	at := uint64(0)
	for i := uint64(0); i < count; i++ {
		action, err := uv("action-line length")
		if err != nil {
			return nil, err
		}
		doc, err := uv("document length")
		if err != nil {
			return nil, err
		}
		id, err := str("id")
		if err != nil {
			return nil, err
		}
		dataset, err := str("dataset")
		if err != nil {
			return nil, err
		}
		ns, err := str("namespace")
		if err != nil {
			return nil, err
		}
		ts, err := uv("index time")
		if err != nil {
			return nil, err
		}
		if p >= len(data) {
			return nil, fmt.Errorf("document %d's flags run past the end", i)
		}
		flags := data[p]
		p++
		if action == 0 || doc == 0 || action > uint64(len(body)) || doc > uint64(len(body)) {
			return nil, fmt.Errorf("document %d has impossible lengths (%d, %d)", i, action, doc)
		}
		d := pending{start: int(at), docStart: int(at + action), end: int(at + action + doc), id: id,
			target: esdoc.Target{Dataset: intern(dataset), Namespace: intern(ns)}, ts: pcommon.Timestamp(ts),
			dead: flags&flagDead != 0, orig: int(i)}
		at += action + doc
		if at > uint64(len(body)) {
			return nil, fmt.Errorf("document %d runs past the end", i)
		}
		r.docs = append(r.docs, d)
	}
	if p != len(data) {
		return nil, fmt.Errorf("%d bytes after the index's last document", len(data)-p)
	}
	if at != uint64(len(body)) {
		return nil, fmt.Errorf("the documents claim %d bytes of a %d-byte body", at, len(body))
	}
	r.buf = body
	for _, d := range r.docs {
		if r.buf[d.end-1] != '\n' || r.buf[d.docStart-1] != '\n' {
			return nil, errors.New("a document or action line does not end in a newline")
		}
	}
	return r, nil
}
