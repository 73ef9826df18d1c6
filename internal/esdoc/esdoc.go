// Package esdoc encodes an audit log record as an Elasticsearch document in
// the ECS layout described in DOCUMENT_STRUCTURE.md. It appends JSON bytes
// straight from pdata: no maps, no reflection, no allocation per document
// beyond growing the caller's buffer.
package esdoc

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

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

// Slots of core: the record attributes that have a place of their own in
// the document; everything else goes to audit.properties.
const (
	sNone = iota
	sID
	sUID
	sOutcome
	sKind
	sCategory
	sTyp
	sGroup
	sCategories
	sActorType
	sRType
	sRID
	sRName
	sRoute
	sReason
	sUserID
	sUserName
	sUserEmail
	sUserHash
	sClient
	sAgent
	sRegion
	sOrgID
	sSkip // event.name and event.action: the action is the EventName
	nSlots
)

type core [nSlots]pcommon.Value

// coreKeys finds an attribute's slot with one hash and one comparison; a
// string switch over two dozen keys was a sixth of the encoder's time.
var coreKeys = newKeyTable([]struct {
	key  string
	slot uint8
}{
	{fields.EventID, sID},
	{fields.LogRecordUID, sUID},
	{fields.EventOutcome, sOutcome},
	{fields.EventKind, sKind},
	{fields.EventCategory, sCategory},
	{fields.EventType, sTyp},
	{fields.AuditGroup, sGroup},
	{fields.AuditCategories, sCategories},
	{fields.ActorType, sActorType},
	{fields.ResourceType, sRType},
	{fields.ResourceID, sRID},
	{fields.ResourceName, sRName},
	{fields.AuditRoute, sRoute},
	{fields.AuditInvalidReason, sReason},
	{fields.UserID, sUserID},
	{fields.UserName, sUserName},
	{fields.UserEmail, sUserEmail},
	{fields.UserHash, sUserHash},
	{fields.ClientAddress, sClient},
	{fields.UserAgent, sAgent},
	{fields.CloudRegion, sRegion},
	{fields.Organization, sOrgID},
	{fields.EventName, sSkip},
	{fields.EventAction, sSkip},
})

type keyTable struct {
	seed  uint32
	keys  [64]string
	slots [64]uint8
}

func keyHash(k string, seed uint32) uint32 {
	n := len(k)
	x := uint32(n)<<24 | uint32(k[n-1])<<16 | uint32(k[n-2])<<8 | uint32(k[n/2])
	return x * seed >> 26
}

// newKeyTable searches for a multiplier under which no two keys share a
// bucket (a few thousand tries for these keys).
func newKeyTable(entries []struct {
	key  string
	slot uint8
}) *keyTable {
	for seed := uint32(1); seed < 1<<24; seed += 2 {
		t := &keyTable{seed: seed}
		clash := false
		for _, e := range entries {
			h := keyHash(e.key, seed)
			if t.keys[h] != "" {
				clash = true
				break
			}
			t.keys[h], t.slots[h] = e.key, e.slot
		}
		if !clash {
			return t
		}
	}
	panic("esdoc: no collision-free hash for the core keys")
}

func (t *keyTable) slot(k string) uint8 {
	if len(k) < 2 {
		return sNone
	}
	h := keyHash(k, t.seed)
	if t.keys[h] == k {
		return t.slots[h]
	}
	return sNone
}

// scan sorts the attributes in one pass: core ones into c, the rest
// straight into props as JSON members.
func (c *core) scan(attrs pcommon.Map, props []byte) []byte {
	for k, v := range attrs.All() {
		if s := coreKeys.slot(k); s != sNone {
			// A repeated key (legal on the OTLP wire) keeps its first
			// copy, the one Map.Get, the router and ID read.
			if c[s] == (pcommon.Value{}) {
				c[s] = v
			}
			continue
		}
		props = append(props, ',')
		props = appendString(props, k)
		props = append(props, ':')
		props = appendValue(props, v)
	}
	if c[sID] == (pcommon.Value{}) {
		c[sID] = c[sUID]
	}
	return props
}

// MaxIDBytes is the longest _id Elasticsearch takes: one longer refuses
// the whole bulk request (DocWriteRequest.validateDocIdLength).
const MaxIDBytes = 512

// ID returns the record's event id: event.id, else log.record.uid, else
// one derived from the content (the same derivation as the processor's).
// An id over MaxIDBytes becomes "sha256-" and its SHA-256 in hex: the same
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

// ShortID keeps an id within MaxIDBytes (see ID).
func ShortID(id string) string {
	if len(id) <= MaxIDBytes {
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

// AppendDocument appends the JSON document for lr, with event time ts (see
// Timestamp) and event id id (see ID).
func (e *Encoder) AppendDocument(b []byte, res pcommon.Resource, lr plog.LogRecord, t Target, id string, ts pcommon.Timestamp) []byte {
	var c core
	e.props = c.scan(lr.Attributes(), e.props[:0])

	tj := e.targetJSON(t)
	b = append(b, `{"@timestamp":`...)
	b = e.appendTime(b, ts)
	b = append(b, tj.dataStream...)

	// event
	b = appendString(b, id)
	if a := lr.EventName(); a != "" {
		b = append(b, `,"action":`...)
		b = appendString(b, a)
	}
	b = optField(b, `"category":`, c[sCategory])
	b = optField(b, `"type":`, c[sTyp])
	b = optField(b, `"kind":`, c[sKind])
	b = optField(b, `"outcome":`, c[sOutcome])
	b = append(b, tj.dataset...)
	if o := lr.ObservedTimestamp(); o != 0 {
		b = append(b, `,"created":`...)
		b = e.appendTime(b, o)
	}
	b = append(b, '}')

	// audit
	b = append(b, `,"audit":{`...)
	n := 0
	b, n = field(b, n, `"group":`, c[sGroup])
	b, n = field(b, n, `"categories":`, c[sCategories])
	if ok(c[sActorType]) {
		b, n = sep(b, n)
		b = append(b, `"actor":{"type":`...)
		b = appendValue(b, c[sActorType])
		b = append(b, '}')
	}
	if ok(c[sRType]) || ok(c[sRID]) || ok(c[sRName]) {
		b, n = sep(b, n)
		b = append(b, `"resource":{`...)
		m := 0
		b, m = field(b, m, `"type":`, c[sRType])
		b, m = field(b, m, `"id":`, c[sRID])
		b, _ = field(b, m, `"name":`, c[sRName])
		b = append(b, '}')
	}
	b, n = field(b, n, `"route":`, c[sRoute])
	b, n = field(b, n, `"invalid_reason":`, c[sReason])
	if v := c[sID]; ok(v) && v.Str() != id && len(v.Str()) > MaxIDBytes {
		b, n = field(b, n, `"original_id":`, v)
	}
	if len(e.props) > 0 {
		b, _ = sep(b, n)
		b = append(b, `"properties":{`...)
		b = append(b, e.props[1:]...)
		b = append(b, '}')
	}
	b = append(b, '}')

	b = group(b, "user", func(b []byte, n int) ([]byte, int) {
		b, n = field(b, n, `"id":`, c[sUserID])
		b, n = field(b, n, `"name":`, c[sUserName])
		b, n = field(b, n, `"email":`, c[sUserEmail])
		return field(b, n, `"hash":`, c[sUserHash])
	})
	if ok(c[sClient]) {
		b = append(b, `,"client":{"address":`...)
		b = appendValue(b, c[sClient])
		if addr := c[sClient].Str(); isIPv4(addr) {
			b = append(b, `,"ip":`...)
			b = appendString(b, addr)
		} else if strings.IndexByte(addr, ':') >= 0 {
			if ip, err := netip.ParseAddr(addr); err == nil {
				b = append(b, `,"ip":`...)
				if ip.Zone() == "" {
					b = appendString(b, addr)
				} else {
					b = append(b, '"')
					b = ip.WithZone("").AppendTo(b)
					b = append(b, '"')
				}
			}
		}
		b = append(b, '}')
	}
	b = group(b, "user_agent", func(b []byte, n int) ([]byte, int) { return field(b, n, `"original":`, c[sAgent]) })
	b = group(b, "cloud", func(b []byte, n int) ([]byte, int) { return field(b, n, `"region":`, c[sRegion]) })
	b = group(b, "organization", func(b []byte, n int) ([]byte, int) { return field(b, n, `"id":`, c[sOrgID]) })

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

// AppendCreate appends a bulk "create" action line: into the events index
// of period p holding ts, or with no period into t's data stream.
func AppendCreate(b []byte, t Target, p assets.Period, ts pcommon.Timestamp, id string) []byte {
	b = append(b, `{"create":{"_index":`...)
	if plainString(t.Dataset) && plainString(t.Namespace) {
		b = append(b, '"')
		b = appendIndex(b, t, p, ts)
		b = append(b, '"')
	} else {
		b = appendString(b, string(appendIndex(nil, t, p, ts)))
	}
	b = append(b, `,"_id":`...)
	b = appendString(b, id)
	return append(b, "}}\n"...)
}

// AppendCreate is the package's AppendCreate with the target's name
// encoded once and the index date once per day.
func (e *Encoder) AppendCreate(b []byte, t Target, p assets.Period, ts pcommon.Timestamp, id string) []byte {
	tj := e.targetJSON(t)
	if tj.create == nil {
		return AppendCreate(b, t, p, ts, id)
	}
	b = append(b, tj.create...)
	if p != "" {
		days := int64(ts) / 1e9 / 86400
		if days != e.idxDay || p != e.idxPeriod || e.idxDate[0] == 0 {
			copy(e.idxDate[:], appendIndexDate(e.idxDate[:0], p, ts))
			e.idxDay, e.idxPeriod = days, p
		}
		b = append(b, e.idxDate[:]...)
	}
	b = append(b, `","_id":`...)
	b = appendString(b, id)
	return append(b, "}}\n"...)
}

// appendIndex writes logs-<dataset>-<namespace>[-<yyyy.MM.dd>], the date
// being the first day of the period holding ts (UTC; weeks from Monday),
// as assets.Period.Start computes it, without time.Time.
func appendIndex(b []byte, t Target, p assets.Period, ts pcommon.Timestamp) []byte {
	b = append(b, "logs-"...)
	b = append(b, t.Dataset...)
	b = append(b, '-')
	b = append(b, t.Namespace...)
	if p == "" {
		return b
	}
	return appendIndexDate(b, p, ts)
}

// appendIndexDate writes -<yyyy.MM.dd>, the first day of the period
// holding ts.
func appendIndexDate(b []byte, p assets.Period, ts pcommon.Timestamp) []byte {
	days := int64(ts) / 1e9 / 86400
	if p == assets.Week {
		days -= (days + 3) % 7 // 1970-01-01 was a Thursday
	}
	y, m, d := civil(days)
	if p == assets.Month {
		d = 1
	}
	var date [11]byte
	date[0] = '-'
	put4(date[1:], int(y))
	date[5] = '.'
	put2(date[6:], m)
	date[8] = '.'
	put2(date[9:], d)
	return append(b, date[:]...)
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

// field writes key (a quoted name and its colon) and v, when v is set.
func field(b []byte, n int, key string, v pcommon.Value) ([]byte, int) {
	if v == (pcommon.Value{}) {
		return b, n
	}
	// Str is one type assertion; Type is a switch over every kind.
	if s := v.Str(); s != "" {
		b, n = sep(b, n)
		b = append(b, key...)
		return appendString(b, s), n
	}
	if v.Type() == pcommon.ValueTypeEmpty {
		return b, n
	}
	b, n = sep(b, n)
	b = append(b, key...)
	return appendValue(b, v), n
}

func optField(b []byte, key string, v pcommon.Value) []byte {
	b, _ = field(b, 1, key, v)
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

// isIPv4 reports whether s is a dotted-quad address as netip.ParseAddr
// accepts it (no leading zeros), without its general parser.
func isIPv4(s string) bool {
	fields, digits, v := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if digits == 1 && v == 0 {
				return false
			}
			v = v*10 + int(c-'0')
			digits++
			if v > 255 {
				return false
			}
		case c == '.' && digits > 0 && fields < 3:
			fields++
			digits, v = 0, 0
		default:
			return false
		}
	}
	return fields == 3 && digits > 0
}

// appendTime writes RFC 3339 with nanoseconds in UTC, the date_nanos
// format. It computes the civil date itself: time.Format was a fifth of the
// encoder's time.
func appendTime(b []byte, ts pcommon.Timestamp) []byte {
	var e Encoder
	return e.appendTime(b, ts)
}

// appendTime keeps the last date it wrote: records in a batch share it.
func (e *Encoder) appendTime(b []byte, ts pcommon.Timestamp) []byte {
	ns := int64(ts)
	secs, nanos := ns/1e9, ns%1e9
	days, rem := secs/86400, secs%86400
	if days != e.day || e.date[0] == 0 || ns < 0 {
		y, m, d := civil(days)
		// Past math.MaxInt64 a timestamp reads as before 1970 (pdata's
		// AsTime), where the digits below would go negative.
		if ns < 0 || y < 0 || y > 9999 {
			b = append(b, '"')
			b = ts.AsTime().UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
			return append(b, '"')
		}
		e.date[0] = '"'
		put4(e.date[1:], int(y))
		e.date[5] = '-'
		put2(e.date[6:], m)
		e.date[8] = '-'
		put2(e.date[9:], d)
		e.date[11] = 'T'
		e.day = days
	}
	var out [32]byte
	copy(out[:12], e.date[:])
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
// '"' or '\\', none 0x80 or above. A subtraction sets a byte's top bit only
// for a byte that is bad itself or that a bad byte below borrowed from, and
// every byte from 0x80 up keeps its top bit in the first or the second term
// (TestPlainMatchesTable checks every byte at every position).
func plain(w uint64) bool {
	return ((w-0x20*lo)|(w^('"'*lo)-lo)|(w^('\\'*lo)-lo))&hi == 0
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
// Most strings are printable ASCII: they are checked and copied in one pass,
// 8 bytes at a time.
func appendString(b []byte, s string) []byte {
	l, n := len(b), len(s)
	if cap(b)-l < n+2 {
		b = slices.Grow(b, n+2)
	}
	out := b[l : l+n+2]
	out[0] = '"'
	if n >= 8 {
		src, dst := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(&out[1])
		for i := 0; i+8 < n; i += 8 {
			w := *(*uint64)(unsafe.Add(src, i))
			if !plain(w) {
				return appendEscaped(append(b, '"'), s, i)
			}
			*(*uint64)(unsafe.Add(dst, i)) = w
		}
		// The last word overlaps the one before rather than going byte
		// by byte.
		w := *(*uint64)(unsafe.Add(src, n-8))
		if !plain(w) {
			return appendEscaped(append(b, '"'), s, (n-8)&^7)
		}
		*(*uint64)(unsafe.Add(dst, n-8)) = w
	} else if n >= 4 {
		// Two 4-byte words that overlap cover 4 to 7 bytes.
		src, dst := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(&out[1])
		w1, w2 := *(*uint32)(src), *(*uint32)(unsafe.Add(src, n-4))
		if !plain(uint64(w1)<<32 | uint64(w2)) {
			return appendEscaped(append(b, '"'), s, 0)
		}
		*(*uint32)(dst) = w1
		*(*uint32)(unsafe.Add(dst, n-4)) = w2
	} else {
		for i := 0; i < n; i++ {
			c := s[i]
			if !safe[c] {
				return appendEscaped(append(b, '"'), s, i)
			}
			out[1+i] = c
		}
	}
	out[n+1] = '"'
	return b[:l+n+2]
}

// plainString reports whether s needs no escaping.
func plainString(s string) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if !safe[s[i]] {
				return false
			}
		}
		return true
	}
	p := unsafe.Pointer(unsafe.StringData(s))
	for i := 0; i+8 < n; i += 8 {
		if !plain(*(*uint64)(unsafe.Add(p, i))) {
			return false
		}
	}
	return plain(*(*uint64)(unsafe.Add(p, n-8)))
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
