package auditevent

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

var now = time.Date(2025, 11, 22, 12, 0, 0, 0, time.UTC)

func decoder() *Decoder {
	return &Decoder{Limits: Limits{Now: now, MaxFuture: 10 * time.Minute}, MaxEvents: 100}
}

const full = `{"time":"2025-11-22T10:00:00Z","action":"notebook.open","id":"evt-1",
 "actor":{"email":"jane@example.com","id":"u-1","name":"Jane","type":"user"},
 "resource":{"type":"notebook","id":"nb-42","name":"Revenue"},
 "client":{"ip":"2001:db8::1","user_agent":"Mozilla/5.0"},
 "region":"aws-us-west-2","outcome":"success","organization":"org-7","message":"opened",
 "properties":{"share":{"mode":"view","count":2,"ratio":0.5,"public":false,"tags":["a","b"],"none":null}}}`

func decodeJSON(t *testing.T, body string) (plog.LogRecordSlice, *Problems, error) {
	t.Helper()
	recs := plog.NewLogRecordSlice()
	probs := &Problems{Max: 100}
	err := decoder().DecodeJSON(strings.NewReader(body), recs, probs)
	return recs, probs, err
}

func TestDecodeFullEvent(t *testing.T) {
	recs, probs, err := decodeJSON(t, full)
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	require.Equal(t, 1, recs.Len())
	lr := recs.At(0)
	assert.Equal(t, "notebook.open", lr.EventName())
	assert.Equal(t, time.Date(2025, 11, 22, 10, 0, 0, 0, time.UTC), lr.Timestamp().AsTime())
	assert.Equal(t, now, lr.ObservedTimestamp().AsTime())
	assert.Equal(t, "opened", lr.Body().Str())
	assert.Equal(t, map[string]any{
		"event.id": "evt-1", "user.email": "jane@example.com", "user.id": "u-1", "user.name": "Jane",
		"audit.actor.type": "user", "audit.resource.type": "notebook", "audit.resource.id": "nb-42",
		"audit.resource.name": "Revenue", "client.address": "2001:db8::1", "user_agent.original": "Mozilla/5.0",
		"cloud.region": "aws-us-west-2", "event.outcome": "success", "organization.id": "org-7",
		"share": map[string]any{"mode": "view", "count": int64(2), "ratio": 0.5, "public": false, "tags": []any{"a", "b"}, "none": nil},
	}, lr.Attributes().AsRaw())
}

func TestDecodeForms(t *testing.T) {
	min := `{"time":1763805600,"action":"a"}`
	tests := []struct {
		name   string
		ndjson bool
		body   string
		n      int
	}{
		{"single object", false, min, 1},
		{"array", false, "[" + min + "," + min + "]", 2},
		{"empty array", false, "[]", 0},
		{"ndjson", true, min + "\n\n" + min + "\r\n" + min, 3},
		{"epoch millis", false, `{"time":1763805600123,"action":"a"}`, 1},
		{"epoch string", false, `{"time":"1763805600","action":"a"}`, 1},
		{"outcome bool", false, `{"time":1763805600,"action":"a","outcome":false}`, 1},
		{"null fields", false, `{"time":1763805600,"action":"a","actor":null,"region":null}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, probs := decodeBody(t, tt.ndjson, tt.body)
			require.Zero(t, probs.Len(), "%+v", probs.List)
			assert.Equal(t, tt.n, recs.Len())
		})
	}
	recs, _, _ := decodeJSON(t, `{"time":1763805600123,"action":"a"}`)
	assert.Equal(t, int64(1763805600123), recs.At(0).Timestamp().AsTime().UnixMilli())
	recs, _, _ = decodeJSON(t, `{"time":1763805600,"action":"a","outcome":false}`)
	v, _ := recs.At(0).Attributes().Get("event.outcome")
	assert.Equal(t, "false", v.Str())
}

func idx(i int) *int { return &i }

// decodeBody runs the JSON or NDJSON decoder and fails on a read error.
func decodeBody(t *testing.T, ndjson bool, body string) (plog.LogRecordSlice, *Problems) {
	t.Helper()
	recs := plog.NewLogRecordSlice()
	probs := &Problems{}
	decode := decoder().DecodeJSON
	if ndjson {
		decode = decoder().DecodeNDJSON
	}
	require.NoError(t, decode(strings.NewReader(body), recs, probs))
	return recs, probs
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name   string
		ndjson bool
		body   string
		want   []Problem
	}{
		{"missing action and time", false, `{}`, []Problem{
			{Index: idx(0), Field: "action", Reason: "required: the audit action name, e.g. \"notebook.open\""},
			{Index: idx(0), Field: "time", Reason: "required: RFC 3339 (2025-11-22T10:00:00Z) or epoch seconds or milliseconds"}}},
		{"bad time string", false, `{"action":"a","time":"yesterday"}`, []Problem{
			{Index: idx(0), Field: "time", Reason: `"yesterday" is neither RFC 3339 (2025-11-22T10:00:00Z) nor epoch seconds or milliseconds`}}},
		{"far future", false, `{"action":"a","time":"2026-01-01T00:00:00Z"}`, []Problem{
			{Index: idx(0), Field: "time", Reason: "2026-01-01T00:00:00Z is 948h0m0s in the future; the bound is 10m0s (max_future_skew)"}}},
		{"wrong types", false, `[{"action":1,"time":true,"actor":"x","properties":[]}]`, []Problem{
			{Index: idx(0), Field: "action", Reason: "must be a string"},
			{Index: idx(0), Field: "time", Reason: "must be an RFC 3339 string or epoch seconds or milliseconds"},
			{Index: idx(0), Field: "actor", Reason: "must be an object"},
			{Index: idx(0), Field: "properties", Reason: "must be an object"}}},
		{"bad values", false, `[{"time":0,"action":"a"},{"time":1763805600,"action":"a","actor":{"type":"robot","mail":"x"},"client":{"ip":"300.1.1.1"}}]`, []Problem{
			{Index: idx(0), Field: "time", Reason: "must be after 1970-01-01"},
			{Index: idx(1), Field: "actor.mail", Reason: "unknown field"},
			{Index: idx(1), Field: "actor.type", Reason: `"robot" is not one of user, api_key, service`},
			{Index: idx(1), Field: "client.ip", Reason: `"300.1.1.1" is not an IPv4 or IPv6 address`}}},
		{"unknown field", false, `{"time":1763805600,"acton":"a","action":"a"}`, []Problem{
			{Index: idx(0), Field: "acton", Reason: "unknown field; the event fields are time, action, id, actor, resource, client, region, outcome, organization, message and properties (put custom data under properties)"}}},
		{"reserved property", false, `{"time":1763805600,"action":"a","properties":{"user.email":"x@example.com"}}`, []Problem{
			{Index: idx(0), Field: "properties.user.email", Reason: "reserved or empty name; core fields go in the event's own fields"}}},
		{"not an object", false, `"hello"`, []Problem{{Reason: "the body must be an event object or an array of event objects"}}},
		{"array of non-objects", false, `[1]`, []Problem{{Index: idx(0), Reason: "each element must be an event object"}}},
		{"trailing data", false, `{"time":1763805600,"action":"a"} {}`, []Problem{{Reason: "unexpected data after the JSON value"}}},
		{"ndjson line numbers", true, "{\"time\":1763805600,\"action\":\"a\"}\n\n{\"time\":1763805600}\n[1]\n{\"time\":1763805600,\"action\":\"a\"} 2", []Problem{
			{Line: 3, Field: "action", Reason: "required: the audit action name, e.g. \"notebook.open\""},
			{Line: 4, Reason: "each line must be one event object"},
			{Line: 5, Reason: "more than one JSON value on the line"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := decodeBody(t, tt.ndjson, tt.body)
			assert.Equal(t, tt.want, probs.List)
		})
	}
}

func TestSyntaxErrorsAreProblems(t *testing.T) {
	for _, body := range []string{`{"time":`, `[{"action":"a"},`, `{"a" 1}`, `{"action":"a","action":"b"}`, "{\"action\":\"\xff\"}", ``} {
		_, probs, err := decodeJSON(t, body)
		require.NoError(t, err, body)
		require.Positive(t, probs.Len(), body)
		assert.Contains(t, probs.List[len(probs.List)-1].Reason, "JSON", body)
	}
}

func TestLimits(t *testing.T) {
	d := decoder()
	d.MaxEvents = 2
	recs := plog.NewLogRecordSlice()
	err := d.DecodeJSON(strings.NewReader(`[{},{},{}]`), recs, &Problems{})
	assert.ErrorIs(t, err, ErrTooManyEvents)
	err = d.DecodeNDJSON(strings.NewReader("{}\n{}\n{}\n"), recs, &Problems{})
	assert.ErrorIs(t, err, ErrTooManyEvents)

	d = decoder()
	d.MaxLine = 64
	probs := &Problems{}
	require.NoError(t, d.DecodeNDJSON(strings.NewReader(`{"action":"`+strings.Repeat("a", 100)+`"}`), recs, probs))
	assert.Equal(t, "a line is longer than 64 bytes", probs.List[0].Reason)

	d = decoder()
	d.Properties.MaxDepth = 3
	probs = &Problems{}
	require.NoError(t, d.DecodeJSON(strings.NewReader(`{"time":1763805600,"action":"a","properties":{"a":{"b":{"c":{"d":1}}}}}`), recs, probs))
	assert.Equal(t, "properties.a.b.c.d", probs.List[0].Field)
}

func TestProblemsJSON(t *testing.T) {
	p := &Problems{Max: 1}
	p.Add(0, 0, "action", "required")
	p.Add(-1, 7, "time", "bad")
	b, err := json.Marshal(p.List)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"index":0,"field":"action","reason":"required"}]`, string(b))
	assert.Equal(t, 2, p.Len())
}

// FuzzDecodeJSON and FuzzDecodeNDJSON: no panic, and a body with no
// problems yields exactly one valid record per event.
func FuzzDecodeJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		recs := plog.NewLogRecordSlice()
		probs := &Problems{Max: 10}
		if err := fuzzDecoder().DecodeJSON(bytes.NewReader(body), recs, probs); err != nil && err != ErrTooManyEvents {
			t.Fatalf("unexpected error: %v", err)
		}
		checkValid(t, recs, probs)
	})
}

func FuzzDecodeNDJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		recs := plog.NewLogRecordSlice()
		probs := &Problems{Max: 10}
		if err := fuzzDecoder().DecodeNDJSON(bytes.NewReader(body), recs, probs); err != nil && err != ErrTooManyEvents {
			t.Fatalf("unexpected error: %v", err)
		}
		checkValid(t, recs, probs)
	})
}

func checkValid(t *testing.T, recs plog.LogRecordSlice, probs *Problems) {
	if probs.Len() > 0 {
		return
	}
	for i := 0; i < recs.Len(); i++ {
		lr := recs.At(i)
		if lr.EventName() == "" || lr.Timestamp() == 0 {
			t.Fatalf("record %d accepted without action or time", i)
		}
		if lr.Timestamp().AsTime().After(now.Add(10 * time.Minute)) {
			t.Fatalf("record %d accepted from the far future", i)
		}
		checkLimits(t, lr.Attributes(), fuzzLimits)
	}
}

// fuzzLimits are small, so the fuzzer reaches every limit.
var fuzzLimits = PropertyLimits{MaxDepth: 3, MaxKeys: 4, MaxValues: 10}

func fuzzDecoder() *Decoder {
	d := decoder()
	d.Properties = fuzzLimits
	return d
}

// checkLimits fails when accepted attributes pass a property limit; the
// event's own fields are top-level attributes too and are not counted.
func checkLimits(t *testing.T, attrs pcommon.Map, lim PropertyLimits) {
	t.Helper()
	values, keys := 0, 0
	var walk func(v pcommon.Value, depth int)
	walk = func(v pcommon.Value, depth int) {
		if depth > lim.MaxDepth {
			t.Fatalf("accepted nesting deeper than %d", lim.MaxDepth)
		}
		switch v.Type() {
		case pcommon.ValueTypeMap:
			if v.Map().Len() > lim.MaxKeys {
				t.Fatalf("accepted an object of %d keys", v.Map().Len())
			}
			for _, e := range v.Map().All() {
				values++
				walk(e, depth+1)
			}
		case pcommon.ValueTypeSlice:
			for i := 0; i < v.Slice().Len(); i++ {
				values++
				walk(v.Slice().At(i), depth+1)
			}
		}
	}
	for k, v := range attrs.All() {
		if fields.IsCore(k) {
			continue
		}
		keys++
		values++
		walk(v, 1)
	}
	if keys > lim.MaxKeys || values > lim.MaxValues {
		t.Fatalf("accepted %d properties and %d values", keys, values)
	}
}

func addSeeds(f *testing.F) {
	entries, _ := os.ReadDir("testdata/fuzzseeds")
	for _, e := range entries {
		if b, err := os.ReadFile("testdata/fuzzseeds/" + e.Name()); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(full))
	// At and one past each of fuzzLimits.
	for _, props := range []string{keys(4), keys(5), `{"x":` + nest('o', 2, "1") + `}`, `{"x":` + nest('o', 3, "1") + `}`,
		`{"x":` + nest('a', 2, "[]") + `}`, `{"x":` + nest('a', 3, "[]") + `}`, `{"x":[1,2,3,4,5,6,7,8,9]}`, `{"x":[1,2,3,4,5,6,7,8,9,10]}`,
		`{"x":` + nest('a', 200, "") + `}`} {
		f.Add([]byte(event(props)))
		f.Add([]byte("[" + event(props) + "," + event(keys(1)) + "]"))
		f.Add([]byte(event(keys(1)) + "\n" + event(props) + "\n"))
	}
}
