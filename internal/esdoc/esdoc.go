// Package esdoc encodes an audit log record as an Elasticsearch document in
// the ECS layout described in DOCUMENT_STRUCTURE.md. It appends JSON bytes
// straight from pdata: no maps, no reflection, no allocation per document
// beyond growing the caller's buffer.
//
// Files: esdoc.go (targets, the encoder, ids and times), document.go (the
// document, section by section), corekeys.go (which attributes have a field
// of their own), bulkaction.go (the bulk action line and index name),
// deadletter.go, jsonvalue.go (JSON values and strings), timefmt.go
// (date_nanos text).
package esdoc

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/eventid"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Target is where a document goes: its dataset and namespace, which name
// the events index (with the period of the event's time) or, for dead
// letters, the data stream.
type Target struct {
	Dataset   string
	Namespace string
}

// Stream is the target's data stream name (dead letters).
func (t Target) Stream() string { return "logs-" + t.Dataset + "-" + t.Namespace }

// IndexName is the events index holding ts for period p; with no period,
// the data stream name.
func (t Target) IndexName(p assets.Period, ts pcommon.Timestamp) string {
	return string(appendIndex(nil, t, p, ts))
}

// Encoder is not safe for concurrent use: it keeps a scratch id deriver.
type Encoder struct {
	ids     eventid.Deriver
	props   []byte // audit.properties, written during the attribute scan
	targets []targetJSON
	next    int
	day     int64 // the date last written, and its text
	date    [12]byte
	// The events index date last written: its period, day and text.
	idxPeriod assets.Period
	idxDay    int64
	idxDate   [11]byte
	// Now is used when a record has neither timestamp nor observed time.
	Now func() time.Time
}

// targetJSON is a target's share of every document, encoded once.
type targetJSON struct {
	t          Target
	dataStream []byte // through `"event":{"id":`
	dataset    []byte // `,"dataset":` and the dataset
	create     []byte // `{"create":{"_index":"logs-<dataset>-<namespace>`, when plain
}

// maxTargets bounds the cache; a batch rarely spans more tiers and tenants.
const maxTargets = 16

func (e *Encoder) targetJSON(t Target) *targetJSON {
	for i := range e.targets {
		if e.targets[i].t == t {
			return &e.targets[i]
		}
	}
	tj := targetJSON{t: t}
	tj.dataStream = append(tj.dataStream, `,"data_stream":{"type":"logs","dataset":`...)
	tj.dataStream = appendString(tj.dataStream, t.Dataset)
	tj.dataStream = append(tj.dataStream, `,"namespace":`...)
	tj.dataStream = appendString(tj.dataStream, t.Namespace)
	tj.dataStream = append(tj.dataStream, `},"event":{"id":`...)
	tj.dataset = append(tj.dataset, `,"dataset":`...)
	tj.dataset = appendString(tj.dataset, t.Dataset)
	if plainString(t.Dataset) && plainString(t.Namespace) {
		tj.create = append(tj.create, `{"create":{"_index":"`...)
		tj.create = appendIndex(tj.create, t, "", 0)
	}
	if len(e.targets) < maxTargets {
		e.targets = append(e.targets, tj)
		return &e.targets[len(e.targets)-1]
	}
	e.next = (e.next + 1) % maxTargets
	e.targets[e.next] = tj
	return &e.targets[e.next]
}

// maxIDBytes is the longest _id Elasticsearch takes: one longer refuses
// the whole bulk request (DocWriteRequest.validateDocIdLength).
const maxIDBytes = 512

// ID returns the record's event id: event.id, else log.record.uid, else
// one derived from the content (the same derivation as the processor's).
// An id over maxIDBytes becomes "sha256-" and its SHA-256 in hex: the same
// long id always gives the same _id, and a sender cannot make two long ids
// collide. The document keeps the original in audit.original_id.
func (e *Encoder) ID(lr plog.LogRecord) string {
	id := ""
	if v, ok := lr.Attributes().Get(fields.EventID); ok && v.Str() != "" {
		id = v.Str()
	} else if v, ok := lr.Attributes().Get(fields.LogRecordUID); ok && v.Str() != "" {
		id = v.Str()
	} else {
		return e.ids.Derive(lr)
	}
	return ShortID(id)
}

// ShortID keeps an id within maxIDBytes (see ID).
func ShortID(id string) string {
	if len(id) <= maxIDBytes {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// Timestamp is the record's event time: Timestamp, else ObservedTimestamp,
// else now. It is @timestamp, and it picks the events index.
func (e *Encoder) Timestamp(lr plog.LogRecord) pcommon.Timestamp {
	if ts := lr.Timestamp(); ts != 0 {
		return ts
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	return pcommon.NewTimestampFromTime(now())
}
