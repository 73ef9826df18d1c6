package esdoc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// docInput is what FuzzAppendDocument builds a record from.
type docInput struct {
	action, id, user, client, resource, category, service string
	propKey, propStr                                      string
	propInt                                               int64
	propFloat                                             float64
	raw                                                   []byte
	body                                                  string
	bodyKind                                              uint8 // 0 none, 1 string, 2 map, 3 slice
	ts, observed                                          uint64
	trace                                                 []byte
}

func (in docInput) record() (pcommon.Resource, plog.LogRecord) {
	res := pcommon.NewResource()
	if in.service != "" {
		res.Attributes().PutStr("service.name", in.service)
	}
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.Timestamp(in.ts))
	lr.SetObservedTimestamp(pcommon.Timestamp(in.observed))
	lr.SetEventName(in.action)
	var tid [16]byte
	copy(tid[:], in.trace)
	lr.SetTraceID(tid)
	a := lr.Attributes()
	for k, v := range map[string]string{fields.EventID: in.id, fields.UserID: in.user, fields.ClientAddress: in.client,
		fields.ResourceID: in.resource, fields.EventCategory: in.category} {
		if v != "" {
			a.PutStr(k, v)
		}
	}
	p := a.PutEmptyMap(in.propKey)
	p.PutStr("s", in.propStr)
	p.PutInt("i", in.propInt)
	p.PutDouble("f", in.propFloat)
	p.PutEmptyBytes("b").FromRaw(in.raw)
	p.PutEmptySlice("l").FromRaw([]any{in.propStr, in.propInt, true})
	switch in.bodyKind % 4 {
	case 1:
		lr.Body().SetStr(in.body)
	case 2:
		lr.Body().SetEmptyMap().PutStr("text", in.body)
	case 3:
		lr.Body().SetEmptySlice().AppendEmpty().SetStr(in.body)
	}
	return res, lr
}

// FuzzAppendDocument holds the whole encoder to its promise: any record
// gives one valid JSON object (no duplicate names, valid UTF-8) whose
// fields read back as the record's values.
func FuzzAppendDocument(f *testing.F) {
	f.Add("report.view", "evt-1", "u-1", "2001:db8::7%eth0", "r-9", "iam", "notebooks", "share", "view", int64(2), 0.5, []byte("hi"), "viewed \"Q3\"", uint8(1), uint64(1763632800123456789), uint64(1763632800223456789), []byte{1, 2, 3})
	f.Add("", "", "", "203.0.113.7", "", "", "", "", "\xff\u2028", int64(-1), math.NaN(), []byte(nil), "", uint8(2), uint64(0), uint64(0), []byte(nil))
	f.Add("a\x00", strings.Repeat("x", 600), "\xed\xa0\x80", "not-an-ip", "\\", "\"", "\t", "user.id", "", int64(math.MaxInt64), math.Inf(1), []byte{0xff}, "\xc3", uint8(3), uint64(math.MaxUint64), uint64(1), []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, action, id, user, client, resource, category, service, propKey, propStr string, propInt int64, propFloat float64, raw []byte, body string, bodyKind uint8, ts, observed uint64, trace []byte) {
		if coreKeys.slot(propKey) != sNone || propKey == fields.UserID || propKey == fields.ClientAddress {
			propKey = "p." + propKey // a core key is not a property
		}
		in := docInput{action, id, user, client, resource, category, service, propKey, propStr, propInt, propFloat, raw, body, bodyKind, ts, observed, trace}
		for _, s := range []string{action, id, user, client, resource, category, service, propKey, propStr, body, string(raw)} {
			if len(s) > 2048 {
				t.Skip("bounded inputs")
			}
		}
		res, lr := in.record()
		var e Encoder
		docID := e.ID(lr)
		evTime := e.Timestamp(lr)
		doc := e.AppendDocument(nil, res, lr, Target{Dataset: "audit", Namespace: "default"}, docID, evTime)
		checkDocument(t, doc, in, lr, docID, evTime)
	})
}

func checkDocument(t *testing.T, doc []byte, in docInput, lr plog.LogRecord, docID string, evTime pcommon.Timestamp) {
	t.Helper()
	// jsontext refuses what encoding/json lets through: duplicate names,
	// invalid UTF-8, a second value.
	dec := jsontext.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.ReadValue(); err != nil {
		t.Fatalf("not one valid JSON value: %v\n%s", err, doc)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		t.Fatalf("trailing data after the document: %v\n%s", err, doc)
	}
	var d map[string]any
	jd := json.NewDecoder(bytes.NewReader(doc))
	jd.UseNumber()
	if err := jd.Decode(&d); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	get := func(path string) any {
		var v any = d
		for _, k := range strings.Split(path, "/") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	want := func(path string, w any) {
		t.Helper()
		if got := get(path); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("%s: got %#v, want %#v\n%s", path, got, w, doc)
		}
	}
	optional := func(path, s string) {
		t.Helper()
		if s == "" {
			return
		}
		want(path, readBack(s))
	}
	if in.ts != 0 && uint64(evTime) != in.ts || in.ts == 0 && in.observed != 0 && uint64(evTime) != in.observed {
		t.Fatalf("event time %d, want the record's time %d, else its observed time %d", evTime, in.ts, in.observed)
	}
	if in.id != "" && len(in.id) <= maxIDBytes && docID != in.id {
		t.Fatalf("_id %q, want event.id %q", docID, in.id)
	}
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(get("@timestamp")))
	if err != nil || !at.Equal(evTime.AsTime()) {
		t.Fatalf("@timestamp %v (%v), want %v\n%s", get("@timestamp"), err, evTime.AsTime(), doc)
	}
	want("event/id", readBack(docID))
	optional("event/action", in.action)
	optional("event/category", in.category)
	optional("user/id", in.user)
	optional("client/address", in.client)
	optional("audit/resource/id", in.resource)
	optional("service/name", in.service)
	if tid := lr.TraceID(); !tid.IsEmpty() {
		want("trace/id", hex.EncodeToString(tid[:]))
	}

	props, _ := get("audit/properties").(map[string]any)
	prop, _ := props[readBack(in.propKey)].(map[string]any)
	if prop == nil {
		t.Fatalf("audit.properties[%q] missing\n%s", in.propKey, doc)
	}
	for k, w := range map[string]any{
		"s": readBack(in.propStr), "i": strconv.FormatInt(in.propInt, 10), "b": base64.StdEncoding.EncodeToString(in.raw),
		"l": fmt.Sprint([]any{readBack(in.propStr), strconv.FormatInt(in.propInt, 10), true}),
	} {
		if got := fmt.Sprint(prop[k]); got != fmt.Sprint(w) {
			t.Fatalf("property %s: got %#v, want %#v\n%s", k, prop[k], w, doc)
		}
	}
	switch f := in.propFloat; {
	case math.IsNaN(f) || math.IsInf(f, 0):
		if prop["f"] != nil {
			t.Fatalf("a non-finite double is null, got %v", prop["f"])
		}
	default:
		got, err := prop["f"].(json.Number).Float64()
		if err != nil || got != f {
			t.Fatalf("property f: got %v (%v), want %v", prop["f"], err, f)
		}
	}

	switch in.bodyKind % 4 {
	case 0:
		if _, ok := d["message"]; ok {
			t.Fatalf("an empty body has no message\n%s", doc)
		}
	case 1:
		want("message", readBack(in.body))
	default:
		// A structured body is its JSON text in message.
		var got any
		if err := json.Unmarshal([]byte(fmt.Sprint(get("message"))), &got); err != nil {
			t.Fatalf("message of a structured body is not JSON: %v\n%s", err, doc)
		}
		if fmt.Sprint(got) != fmt.Sprint(lr.Body().AsRaw()) && utf8.ValidString(in.body) {
			t.Fatalf("message: got %v, want %v", got, lr.Body().AsRaw())
		}
	}
}

// readBack is s as a JSON reader sees it after appendString: each byte of
// invalid UTF-8 becomes U+FFFD.
func readBack(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += n
	}
	return b.String()
}
