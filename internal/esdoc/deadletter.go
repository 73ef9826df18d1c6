package esdoc

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// AppendDeadLetter appends the dead-letter document for a document that
// Elasticsearch rejected: the original as text, the index it was meant
// for, and the reason. t is the dead-letter stream's target.
func AppendDeadLetter(b []byte, original []byte, id, errType, reason string, t Target, intended string, now time.Time) []byte {
	b = append(b, `{"@timestamp":`...)
	b = appendTime(b, pcommon.NewTimestampFromTime(now))
	b = append(b, `,"data_stream":{"type":"logs","dataset":`...)
	b = appendString(b, t.Dataset)
	b = append(b, `,"namespace":`...)
	b = appendString(b, t.Namespace)
	b = append(b, `},"event":{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"kind":"pipeline_error","dataset":`...)
	b = appendString(b, t.Dataset)
	b = append(b, `,"original":`...)
	b = appendString(b, string(original))
	b = append(b, `},"audit":{"target_index":`...)
	b = appendString(b, intended)
	b = append(b, `},"error":{"type":`...)
	b = appendString(b, errType)
	b = append(b, `,"message":`...)
	b = appendString(b, reason)
	return append(b, `}}`...)
}
