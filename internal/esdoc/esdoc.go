// Package esdoc encodes an audit log record as an Elasticsearch document in
// the ECS layout described in DOCUMENT_STRUCTURE.md. It appends JSON bytes
// straight from pdata: no maps, no reflection, no allocation per document
// beyond growing the caller's buffer.
package esdoc

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/eventid"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Target is where a document goes.
type Target struct {
	Dataset   string
	Namespace string
}

// Index is the data stream name for the target.
func (t Target) Index() string { return "logs-" + t.Dataset + "-" + t.Namespace }

// Encoder is not safe for concurrent use: it keeps a scratch id deriver.
type Encoder struct {
	ids   eventid.Deriver
	props []byte // audit.properties, written during the attribute scan
	// Now is used when a record has neither timestamp nor observed time.
	Now func() time.Time
}

// core holds the record attributes that have a place of their own in the
// document; everything else goes to audit.properties.
type core struct {
	id, outcome, kind, category, typ, group, categories, actorType      pcommon.Value
	rType, rID, rName, route, reason                                    pcommon.Value
	userID, userName, userEmail, userHash, client, agent, region, orgID pcommon.Value
}

// scan sorts the attributes in one pass: core ones into c, the rest
// straight into props as JSON members.
func (c *core) scan(attrs pcommon.Map, props []byte) []byte {
	for k, v := range attrs.All() {
		switch k {
		case fields.EventID:
			c.id = v
		case fields.LogRecordUID:
			if c.id == (pcommon.Value{}) {
				c.id = v
			}
		case fields.EventOutcome:
			c.outcome = v
		case fields.EventKind:
			c.kind = v
		case fields.EventCategory:
			c.category = v
		case fields.EventType:
			c.typ = v
		case fields.AuditGroup:
			c.group = v
		case fields.AuditCategories:
			c.categories = v
		case fields.ActorType:
			c.actorType = v
		case fields.ResourceType:
			c.rType = v
		case fields.ResourceID:
			c.rID = v
		case fields.ResourceName:
			c.rName = v
		case fields.AuditRoute:
			c.route = v
		case fields.AuditInvalidReason:
			c.reason = v
		case fields.UserID:
			c.userID = v
		case fields.UserName:
			c.userName = v
		case fields.UserEmail:
			c.userEmail = v
		case fields.UserHash:
			c.userHash = v
		case fields.ClientAddress:
			c.client = v
		case fields.UserAgent:
			c.agent = v
		case fields.CloudRegion:
			c.region = v
		case fields.Organization:
			c.orgID = v
		case fields.EventName, fields.EventAction:
		default:
			props = append(props, ',')
			props = appendString(props, k)
			props = append(props, ':')
			props = appendValue(props, v)
		}
	}
	return props
}

// ID returns the record's event id: event.id, else log.record.uid, else
// one derived from the content (the same derivation as the processor's).
func (e *Encoder) ID(lr plog.LogRecord) string {
	if v, ok := lr.Attributes().Get(fields.EventID); ok && v.Str() != "" {
		return v.Str()
	}
	if v, ok := lr.Attributes().Get(fields.LogRecordUID); ok && v.Str() != "" {
		return v.Str()
	}
	return e.ids.Derive(lr)
}

// AppendDocument appends the JSON document for lr.
func (e *Encoder) AppendDocument(b []byte, res pcommon.Resource, lr plog.LogRecord, t Target, id string) []byte {
	var c core
	e.props = c.scan(lr.Attributes(), e.props[:0])

	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts == 0 {
		now := time.Now
		if e.Now != nil {
			now = e.Now
		}
		ts = pcommon.NewTimestampFromTime(now())
	}
	b = append(b, `{"@timestamp":`...)
	b = appendTime(b, ts)
	b = append(b, `,"data_stream":{"type":"logs","dataset":`...)
	b = appendString(b, t.Dataset)
	b = append(b, `,"namespace":`...)
	b = appendString(b, t.Namespace)
	b = append(b, '}')

	// event
	b = append(b, `,"event":{"id":`...)
	b = appendString(b, id)
	if a := lr.EventName(); a != "" {
		b = append(b, `,"action":`...)
		b = appendString(b, a)
	}
	b = optField(b, "category", c.category)
	b = optField(b, "type", c.typ)
	b = optField(b, "kind", c.kind)
	b = optField(b, "outcome", c.outcome)
	b = append(b, `,"dataset":`...)
	b = appendString(b, t.Dataset)
	if o := lr.ObservedTimestamp(); o != 0 {
		b = append(b, `,"created":`...)
		b = appendTime(b, o)
	}
	b = append(b, '}')

	// audit
	b = append(b, `,"audit":{`...)
	n := 0
	b, n = field(b, n, "group", c.group)
	b, n = field(b, n, "categories", c.categories)
	if ok(c.actorType) {
		b, n = sep(b, n)
		b = append(b, `"actor":{"type":`...)
		b = appendValue(b, c.actorType)
		b = append(b, '}')
	}
	if ok(c.rType) || ok(c.rID) || ok(c.rName) {
		b, n = sep(b, n)
		b = append(b, `"resource":{`...)
		m := 0
		b, m = field(b, m, "type", c.rType)
		b, m = field(b, m, "id", c.rID)
		b, _ = field(b, m, "name", c.rName)
		b = append(b, '}')
	}
	b, n = field(b, n, "route", c.route)
	b, n = field(b, n, "invalid_reason", c.reason)
	if len(e.props) > 0 {
		b, _ = sep(b, n)
		b = append(b, `"properties":{`...)
		b = append(b, e.props[1:]...)
		b = append(b, '}')
	}
	b = append(b, '}')

	b = group(b, "user", func(b []byte, n int) ([]byte, int) {
		b, n = field(b, n, "id", c.userID)
		b, n = field(b, n, "name", c.userName)
		b, n = field(b, n, "email", c.userEmail)
		return field(b, n, "hash", c.userHash)
	})
	if ok(c.client) {
		b = append(b, `,"client":{"address":`...)
		b = appendValue(b, c.client)
		if c.client.Type() == pcommon.ValueTypeStr {
			if ip, err := netip.ParseAddr(c.client.Str()); err == nil {
				b = append(b, `,"ip":`...)
				if ip.Zone() == "" {
					b = appendString(b, c.client.Str())
				} else {
					b = append(b, '"')
					b = ip.WithZone("").AppendTo(b)
					b = append(b, '"')
				}
			}
		}
		b = append(b, '}')
	}
	b = group(b, "user_agent", func(b []byte, n int) ([]byte, int) { return field(b, n, "original", c.agent) })
	b = group(b, "cloud", func(b []byte, n int) ([]byte, int) { return field(b, n, "region", c.region) })
	b = group(b, "organization", func(b []byte, n int) ([]byte, int) { return field(b, n, "id", c.orgID) })

	switch body := lr.Body(); body.Type() {
	case pcommon.ValueTypeEmpty:
	case pcommon.ValueTypeStr:
		b = append(b, `,"message":`...)
		b = appendString(b, body.Str())
	default:
		// A structured body is kept whole, as JSON text, in message.
		b = append(b, `,"message":`...)
		b = appendString(b, string(appendValue(nil, body)))
	}

	ra := res.Attributes()
	if v, found := ra.Get("service.name"); found {
		b = append(b, `,"service":{"name":`...)
		b = appendValue(b, v)
		b = append(b, '}')
	}
	if v, found := ra.Get("host.name"); found {
		b = append(b, `,"host":{"name":`...)
		b = appendValue(b, v)
		b = append(b, '}')
	}
	if tid := lr.TraceID(); !tid.IsEmpty() {
		b = append(b, `,"trace":{"id":"`...)
		b = hex.AppendEncode(b, tid[:])
		b = append(b, `"}`...)
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		b = append(b, `,"span":{"id":"`...)
		b = hex.AppendEncode(b, sid[:])
		b = append(b, `"}`...)
	}
	return append(b, '}')
}

// AppendDeadLetter appends the dead-letter document for a document that
// Elasticsearch rejected: the original as text, and the reason.
func AppendDeadLetter(b []byte, original []byte, id, errType, reason string, t Target, now time.Time) []byte {
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
	b = append(b, `},"error":{"type":`...)
	b = appendString(b, errType)
	b = append(b, `,"message":`...)
	b = appendString(b, reason)
	return append(b, `}}`...)
}

// AppendCreate appends a bulk "create" action line.
func AppendCreate(b []byte, index, id string) []byte {
	b = append(b, `{"create":{"_index":`...)
	b = appendString(b, index)
	b = append(b, `,"_id":`...)
	b = appendString(b, id)
	return append(b, "}}\n"...)
}

func ok(v pcommon.Value) bool {
	return v != (pcommon.Value{}) && v.Type() != pcommon.ValueTypeEmpty
}

func sep(b []byte, n int) ([]byte, int) {
	if n > 0 {
		b = append(b, ',')
	}
	return b, n + 1
}

func field(b []byte, n int, name string, v pcommon.Value) ([]byte, int) {
	if v == (pcommon.Value{}) {
		return b, n
	}
	t := v.Type()
	if t == pcommon.ValueTypeEmpty {
		return b, n
	}
	b, n = sep(b, n)
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	if t == pcommon.ValueTypeStr {
		return appendString(b, v.Str()), n
	}
	return appendValue(b, v), n
}

func optField(b []byte, name string, v pcommon.Value) []byte {
	b, _ = field(b, 1, name, v)
	return b
}

// group writes ,"name":{...} only when fill wrote a field.
func group(b []byte, name string, fill func([]byte, int) ([]byte, int)) []byte {
	start := len(b)
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":{`...)
	b, n := fill(b, 0)
	if n == 0 {
		return b[:start]
	}
	return append(b, '}')
}

// appendTime writes RFC 3339 with nanoseconds in UTC, the date_nanos
// format. It computes the civil date itself: time.Format was a fifth of the
// encoder's time.
func appendTime(b []byte, ts pcommon.Timestamp) []byte {
	ns := int64(ts)
	secs, nanos := ns/1e9, ns%1e9
	days, rem := secs/86400, secs%86400
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		b = append(b, '"')
		b = ts.AsTime().UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
		return append(b, '"')
	}
	var out [32]byte
	out[0] = '"'
	put4(out[1:], int(y))
	out[5] = '-'
	put2(out[6:], m)
	out[8] = '-'
	put2(out[9:], d)
	out[11] = 'T'
	put2(out[12:], int(rem/3600))
	out[14] = ':'
	put2(out[15:], int(rem%3600/60))
	out[17] = ':'
	put2(out[18:], int(rem%60))
	out[20] = '.'
	for i := 29; i >= 21; i-- {
		out[i] = byte('0' + nanos%10)
		nanos /= 10
	}
	out[30] = 'Z'
	out[31] = '"'
	return append(b, out[:]...)
}

// civil converts days since 1970-01-01 to a date (Howard Hinnant's
// days_from_civil inverse), valid for timestamps from 1970 on.
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}

func put2(b []byte, v int) { b[0], b[1] = byte('0'+v/10), byte('0'+v%10) }

func put4(b []byte, v int) {
	b[0], b[1], b[2], b[3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
}

func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"')
	case pcommon.ValueTypeMap:
		b = append(b, '{')
		n := 0
		for k, vv := range v.Map().All() {
			b, n = sep(b, n)
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, vv)
		}
		return append(b, '}')
	case pcommon.ValueTypeSlice:
		b = append(b, '[')
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, s.At(i))
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// safe marks the ASCII bytes that need no escaping in a JSON string.
var safe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// plain reports whether 8 bytes need no escaping: none below 0x20, none
// '"' or '\\', none 0x80 or above.
func plain(w uint64) bool {
	below := (w - 0x20*lo) & ^w
	quote := w ^ ('"' * lo)
	slash := w ^ ('\\' * lo)
	return (below|((quote-lo)&^quote)|((slash-lo)&^slash)|w)&hi == 0
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	// Most strings are printable ASCII: find that out 8 bytes at a time
	// and copy them in one go.
	i := 0
	for i+8 <= len(s) && plain(binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))) {
		i += 8
	}
	for i < len(s) && safe[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	return appendEscaped(b, s, i)
}

// appendEscaped writes the rest of a JSON string whose first i bytes need
// no escaping, and closes it.
func appendEscaped(b []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		if i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if plain(w) {
				i += 8
				continue
			}
		}
		c := s[i]
		if safe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript consumers of the JSON.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
