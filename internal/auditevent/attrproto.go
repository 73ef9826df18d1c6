package auditevent

import (
	"encoding/binary"
	"errors"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// attrWriter builds attributes as OTLP protobuf and turns them into a
// pcommon.Map in one step, in time linear in their size. Putting keys one
// by one is quadratic: pcommon.Map.PutEmpty looks for the key first, and
// 100,000 keys took 54 s. Decoding protobuf appends without looking, which
// is right here because jsontext refuses duplicate names in an object.
type attrWriter struct {
	buf  []byte
	open []int // offsets of the length placeholders of open messages
}

// lenWidth: lengths are written as 5-byte varints (padded with 0x80
// continuation bytes, which protobuf decoders accept) so that a message can
// be closed without moving what it holds.
const (
	lenWidth = 5
	maxLen   = 1<<(7*lenWidth) - 1
)

// Field numbers of the OTLP messages written.
const (
	fieldResourceLogs = 1 // LogsData
	fieldScopeLogs    = 2 // ResourceLogs
	fieldLogRecords   = 2 // ScopeLogs
	fieldAttributes   = 6 // LogRecord
	fieldKey          = 1 // KeyValue
	fieldValue        = 2 // KeyValue
	fieldValues       = 1 // ArrayValue, KeyValueList
	fieldString       = 1 // AnyValue
	fieldBool         = 2
	fieldInt          = 3
	fieldDouble       = 4
	fieldArray        = 5
	fieldKVList       = 6
)

const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
)

var errTooLarge = errors.New("properties larger than 32 GiB")

// reset starts a LogsData holding one log record.
func (w *attrWriter) reset() {
	w.buf, w.open = w.buf[:0], w.open[:0]
	w.begin(fieldResourceLogs)
	w.begin(fieldScopeLogs)
	w.begin(fieldLogRecords)
}

func (w *attrWriter) tag(field, wire int) { w.buf = binary.AppendUvarint(w.buf, uint64(field<<3|wire)) }

// begin opens a length-delimited field; end closes the last one opened.
func (w *attrWriter) begin(field int) {
	w.tag(field, wireLen)
	w.open = append(w.open, len(w.buf))
	w.buf = append(w.buf, 0x80, 0x80, 0x80, 0x80, 0)
}

func (w *attrWriter) end() {
	at := w.open[len(w.open)-1]
	w.open = w.open[:len(w.open)-1]
	n := len(w.buf) - at - lenWidth
	if n > maxLen {
		n = maxLen // finish reports errTooLarge
	}
	for i := range lenWidth - 1 {
		w.buf[at+i] = byte(n>>(7*i)) | 0x80
	}
	w.buf[at+lenWidth-1] = byte(n >> (7 * (lenWidth - 1)))
}

// depth is the number of open messages, for closing back to a mark.
func (w *attrWriter) depth() int { return len(w.open) }

func (w *attrWriter) endTo(depth int) {
	for len(w.open) > depth {
		w.end()
	}
}

func (w *attrWriter) bytes(field int, s string) {
	w.tag(field, wireLen)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *attrWriter) str(s string) { w.bytes(fieldString, s) }

func (w *attrWriter) boolean(b bool) {
	w.tag(fieldBool, wireVarint)
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

func (w *attrWriter) integer(i int64) {
	w.tag(fieldInt, wireVarint)
	w.buf = binary.AppendUvarint(w.buf, uint64(i))
}

func (w *attrWriter) double(f float64) {
	w.tag(fieldDouble, wireI64)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(f))
}

// finish closes the record and moves its attributes into dst, which must
// be empty (anything in it is replaced).
func (w *attrWriter) finish(dst pcommon.Map) error {
	w.endTo(0)
	if len(w.buf) > maxLen {
		return errTooLarge
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(w.buf)
	if err != nil {
		return err
	}
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().MoveTo(dst)
	return nil
}
