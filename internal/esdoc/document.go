package esdoc

import (
	"encoding/hex"
	"net/netip"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// AppendDocument appends the JSON document for lr, with event time ts (see
// Timestamp) and event id id (see ID), section by section in the order of
// DOCUMENT_STRUCTURE.md.
func (e *Encoder) AppendDocument(b []byte, res pcommon.Resource, lr plog.LogRecord, t Target, id string, ts pcommon.Timestamp) []byte {
	var c core
	e.props = c.scan(lr.Attributes(), e.props[:0])

	tj := e.targetJSON(t)
	b = append(b, `{"@timestamp":`...)
	b = e.appendTime(b, ts)
	b = append(b, tj.dataStream...)
	b = e.appendEvent(b, lr, &c, tj, id)
	b = e.appendAudit(b, &c, id)
	b = appendUser(b, &c)
	b = appendClient(b, &c)
	b = group(b, "user_agent", func(b []byte, n int) ([]byte, int) { return field(b, n, `"original":`, c[sAgent]) })
	b = group(b, "cloud", func(b []byte, n int) ([]byte, int) { return field(b, n, `"region":`, c[sRegion]) })
	b = group(b, "organization", func(b []byte, n int) ([]byte, int) { return field(b, n, `"id":`, c[sOrgID]) })
	b = appendMessage(b, lr.Body())
	b = appendOrigin(b, res, lr)
	return append(b, '}')
}

// appendEvent writes the event object's members after its opening (which
// the target's data_stream bytes end with): id, action, ECS categorization,
// dataset, created.
func (e *Encoder) appendEvent(b []byte, lr plog.LogRecord, c *core, tj *targetJSON, id string) []byte {
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
	return append(b, '}')
}

// appendAudit writes the audit object: our own fields and, in properties,
// every attribute that is not a core field.
func (e *Encoder) appendAudit(b []byte, c *core, id string) []byte {
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
	if v := c[sID]; ok(v) && v.Str() != id && len(v.Str()) > maxIDBytes {
		b, n = field(b, n, `"original_id":`, v)
	}
	if len(e.props) > 0 {
		b, _ = sep(b, n)
		b = append(b, `"properties":{`...)
		b = append(b, e.props[1:]...)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendUser(b []byte, c *core) []byte {
	return group(b, "user", func(b []byte, n int) ([]byte, int) {
		b, n = field(b, n, `"id":`, c[sUserID])
		b, n = field(b, n, `"name":`, c[sUserName])
		b, n = field(b, n, `"email":`, c[sUserEmail])
		return field(b, n, `"hash":`, c[sUserHash])
	})
}

// appendClient writes client.address as sent and, when it is an IP
// address, client.ip (without an IPv6 zone, which the ip type refuses).
func appendClient(b []byte, c *core) []byte {
	if !ok(c[sClient]) {
		return b
	}
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
	return append(b, '}')
}

// appendMessage writes the body as message: a string as it is, a
// structured body whole, as JSON text.
func appendMessage(b []byte, body pcommon.Value) []byte {
	switch body.Type() {
	case pcommon.ValueTypeEmpty:
	case pcommon.ValueTypeStr:
		b = append(b, `,"message":`...)
		b = appendString(b, body.Str())
	default:
		b = append(b, `,"message":`...)
		b = appendString(b, string(appendValue(nil, body)))
	}
	return b
}

// appendOrigin writes where the event came from: service and host (from the
// resource), trace and span.
func appendOrigin(b []byte, res pcommon.Resource, lr plog.LogRecord) []byte {
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
	return b
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
