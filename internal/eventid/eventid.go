// Package eventid derives a deterministic id for an audit event from its
// content, so a retried send of the same event gets the same id and the
// store can refuse the second copy.
package eventid

import (
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Deriver holds a scratch buffer; it is not safe for concurrent use.
type Deriver struct {
	buf []byte
}

// Derive returns 32 hex characters (128 bits) over the record's timestamp,
// event name, severity, body, attributes (in order), and trace and span ids.
// The observed timestamp is left out on purpose: a receiver sets it anew on
// every retry.
func (d *Deriver) Derive(lr plog.LogRecord) string {
	var out [Len]byte
	return string(d.Append(out[:0], lr))
}

// Len is the length of an id.
const Len = 32

// Append appends the id Derive returns to dst.
func (d *Deriver) Append(dst []byte, lr plog.LogRecord) []byte {
	d.Begin(lr)
	for k, v := range lr.Attributes().All() {
		d.Attr(k, v)
	}
	return d.Finish(dst, lr)
}

// Begin starts an id over lr's fields other than its attributes, so a
// caller that walks the attributes anyway can feed them with Attr, in
// order and before changing any, then call Finish: one walk instead of two.
func (d *Deriver) Begin(lr plog.LogRecord) {
	b := d.buf[:0]
	b = binary.LittleEndian.AppendUint64(b, uint64(lr.Timestamp()))
	b = appendString(b, lr.EventName())
	b = append(b, byte(lr.SeverityNumber()))
	b = appendString(b, lr.SeverityText())
	b = appendValue(b, lr.Body())
	d.buf = binary.AppendUvarint(b, uint64(lr.Attributes().Len()))
}

// Attr feeds one attribute.
func (d *Deriver) Attr(k string, v pcommon.Value) {
	d.buf = appendValue(appendString(d.buf, k), v)
}

// Finish appends the id to dst.
func (d *Deriver) Finish(dst []byte, lr plog.LogRecord) []byte {
	tid, sid := lr.TraceID(), lr.SpanID()
	b := append(d.buf, tid[:]...)
	d.buf = append(b, sid[:]...)
	sum := xxh3.Hash128(d.buf).Bytes()
	return hex.AppendEncode(dst, sum[:])
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMap(b []byte, m pcommon.Map) []byte {
	b = binary.AppendUvarint(b, uint64(m.Len()))
	for k, v := range m.All() {
		b = appendString(b, k)
		b = appendValue(b, v)
	}
	return b
}

func appendValue(b []byte, v pcommon.Value) []byte {
	// Str is one type assertion; Type is a switch over every kind.
	if s := v.Str(); s != "" {
		return appendString(append(b, byte(pcommon.ValueTypeStr)), s)
	}
	b = append(b, byte(v.Type()))
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		b = binary.LittleEndian.AppendUint64(b, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
	case pcommon.ValueTypeMap:
		b = appendMap(b, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			b = appendValue(b, s.At(i))
		}
	}
	return b
}
