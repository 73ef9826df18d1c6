package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the double shares with Elasticsearch is in test/conformance, which
// holds both to one table. These tests cover what only the double has
// (faults, counters, the clock-driven models) and the models in detail.

type client struct {
	t   *testing.T
	url string
}

func (c client) do(method, path, body string, hdr ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

// clock is a settable time for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC)} }

func setup(t *testing.T, opts ...Option) (*Server, client) {
	s := New(append([]Option{WithSource()}, opts...)...)
	c := client{t, s.Start(t).URL}
	code, body, _ := c.do("PUT", "/_component_template/m", `{"template":{"mappings":{"dynamic":false,"properties":{
		"@timestamp":{"type":"date_nanos"},"client":{"properties":{"ip":{"type":"ip"}}},
		"data_stream":{"properties":{"namespace":{"type":"constant_keyword"}}},
		"user":{"properties":{"email":{"type":"keyword"}}},"props":{"type":"flattened","depth_limit":3},
		"tags":{"type":"keyword"}}},"settings":{"index":{"mode":"standard"}}}}`)
	require.Equal(t, 200, code, body)
	code, body, _ = c.do("PUT", "/_index_template/events", `{"index_patterns":["ev-*"],"priority":200,"composed_of":["m"],"allow_auto_create":true}`)
	require.Equal(t, 200, code, body)
	code, body, _ = c.do("PUT", "/_index_template/stream", `{"index_patterns":["ds-*"],"priority":200,"composed_of":["m"],"data_stream":{}}`)
	require.Equal(t, 200, code, body)
	return s, c
}

func itemOf(body map[string]any, i int) map[string]any {
	for _, v := range body["items"].([]any)[i].(map[string]any) {
		return v.(map[string]any)
	}
	return nil
}

const bulk = `{"create":{"_index":"ev-1","_id":"a"}}
{"@timestamp":"2025-11-20T10:00:00Z"}
{"create":{"_index":"ev-1","_id":"b"}}
{"@timestamp":"2025-11-20T10:00:00Z"}
`

func TestInfoHasProductHeader(t *testing.T) {
	_, c := setup(t)
	code, body, hdr := c.do("GET", "/", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "Elasticsearch", hdr.Get("X-Elastic-Product"))
	assert.Equal(t, Version, body["version"].(map[string]any)["number"])
}

// Documents are checked against the mapping, field by field, as
// Elasticsearch's document parser does.
func TestDocumentsMustFitTheMapping(t *testing.T) {
	deep := `{"a":{"b":{"c":{"d":1}}}}`
	for _, tc := range []struct {
		name, doc, typ, reason string
	}{
		{"not an ip", `{"client":{"ip":"not-an-ip"}}`, "document_parsing_exception", "failed to parse field [client.ip] of type [ip]"},
		{"date_nanos before 1970", `{"@timestamp":"1969-12-31T23:59:59Z"}`, "document_parsing_exception", "failed to parse field [@timestamp] of type [date_nanos]"},
		{"not a date", `{"@timestamp":"yesterday"}`, "document_parsing_exception", "failed to parse field [@timestamp]"},
		{"object for a concrete value", `{"client":"x"}`, "document_parsing_exception", "object mapping for [client] tried to parse field [client] as object, but found a concrete value"},
		{"flattened too deep", `{"props":` + deep + `}`, "document_parsing_exception", "failed to parse field [props] of type [flattened]"},
		{"immense keyword", `{"user":{"email":"` + strings.Repeat("x", 40000) + `"}}`, "illegal_argument_exception", "Document contains at least one immense term in field=\"user.email\""},
		{"duplicate key", `{"tags":"a","tags":"b"}`, "document_parsing_exception", "failed to parse"},
		{"not JSON", `{"tags":`, "document_parsing_exception", "failed to parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := setup(t)
			_, body, _ := c.do("POST", "/_bulk", `{"create":{"_index":"ev-1","_id":"x"}}`+"\n"+tc.doc+"\n")
			it := itemOf(body, 0)
			require.EqualValues(t, 400, it["status"], "%v", it)
			assert.Equal(t, tc.typ, it["error"].(map[string]any)["type"])
			assert.Contains(t, it["error"].(map[string]any)["reason"], tc.reason)
		})
	}
	_, c := setup(t)
	_, body, _ := c.do("POST", "/_bulk", `{"create":{"_index":"ev-1","_id":"ok"}}`+"\n"+
		`{"@timestamp":"2025-11-20T10:00:00.123456789Z","client":{"ip":"2001:db8::1"},"props":{"a":{"b":1}},"unmapped":{"x":[1,{"y":2}]},"tags":["a","b"]}`+"\n")
	assert.EqualValues(t, 201, itemOf(body, 0)["status"], "%v", body)
}

// A constant_keyword takes its value from the first document; another
// value is refused (one namespace per index).
func TestConstantKeywordKeepsItsFirstValue(t *testing.T) {
	_, c := setup(t)
	doc := func(id, ns string) string {
		return `{"create":{"_index":"ev-1","_id":"` + id + `"}}` + "\n" + `{"data_stream":{"namespace":"` + ns + `"}}` + "\n"
	}
	_, body, _ := c.do("POST", "/_bulk", doc("1", "a")+doc("2", "a")+doc("3", "b"))
	assert.EqualValues(t, 201, itemOf(body, 0)["status"])
	assert.EqualValues(t, 201, itemOf(body, 1)["status"])
	assert.EqualValues(t, 400, itemOf(body, 2)["status"])
	assert.Contains(t, itemOf(body, 2)["error"].(map[string]any)["caused_by"].(map[string]any)["reason"], "only accepts values that are equal to the value defined in the mappings [a], but got [b]")
}

// RolloverEveryDocs rolls a data stream over as a max_docs condition
// would; the same _id after a rollover is stored again (#44794), and the
// double counts it as a duplicate.
func TestRolloverStoresAnIDTwice(t *testing.T) {
	s, c := setup(t)
	s.SetFaults(Faults{RolloverEveryDocs: 2})
	line := func(id string) string {
		return `{"create":{"_index":"ds-x","_id":"` + id + `"}}` + "\n" + `{"@timestamp":"2025-11-20T10:00:00Z"}` + "\n"
	}
	_, body, _ := c.do("POST", "/_bulk", line("a")+line("b")+line("a"))
	assert.EqualValues(t, 201, itemOf(body, 0)["status"])
	assert.EqualValues(t, 201, itemOf(body, 2)["status"], "a new write index does not know the id")
	assert.Regexp(t, `-000002$`, itemOf(body, 2)["_index"])
	st := s.Stats()
	assert.Equal(t, int64(1), st.Rollovers)
	assert.Equal(t, int64(1), st.Duplicates)
	assert.Equal(t, []string{"a", "b", "a"}, s.IDs("ds-x"))
}

// ILM: a concrete index ages from its origination date; a data stream's
// backing index from its rollover; a write index first rolls over.
func TestILMAgesFromOriginationAndRollover(t *testing.T) {
	clk := newClock()
	s, c := setup(t, WithClock(clk.now))
	code, body, _ := c.do("PUT", "/_ilm/policy/p", `{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_age":"1d"}}},"delete":{"min_age":"10d","actions":{"delete":{}}}}}}`)
	require.Equal(t, 200, code, body)
	code, body, _ = c.do("PUT", "/_index_template/events", `{"index_patterns":["ev-*"],"priority":200,"composed_of":["m"],"allow_auto_create":true,
		"template":{"settings":{"index":{"lifecycle":{"name":"p","parse_origination_date":true}}}}}`)
	require.Equal(t, 200, code, body)
	code, body, _ = c.do("PUT", "/_index_template/stream", `{"index_patterns":["ds-*"],"priority":200,"composed_of":["m"],"data_stream":{},
		"template":{"settings":{"index":{"lifecycle":{"name":"p"}}}}}`)
	require.Equal(t, 200, code, body)
	_, body, _ = c.do("POST", "/_bulk", `{"create":{"_index":"ev-2025.11.01","_id":"old"}}`+"\n{}\n"+
		`{"create":{"_index":"ev-2025.11.15","_id":"new"}}`+"\n{}\n"+`{"create":{"_index":"ds-x","_id":"d"}}`+"\n"+`{"@timestamp":"2025-11-20T10:00:00Z"}`+"\n")
	require.Equal(t, false, body["errors"], "%v", body)
	assert.Equal(t, []string{"ev-2025.11.01"}, s.AdvanceILM(), "20 days old by its name: gone; 5 days: kept")
	_, body, _ = c.do("GET", "/ev-2025.11.15/_ilm/explain", "")
	assert.EqualValues(t, time.Date(2025, 11, 15, 0, 0, 0, 0, time.UTC).UnixMilli(), body["indices"].(map[string]any)["ev-2025.11.15"].(map[string]any)["lifecycle_date_millis"])
	clk.add(36 * time.Hour)
	assert.Empty(t, s.AdvanceILM(), "the stream rolled over; its old index is young counted from then")
	assert.Len(t, s.Indices("ds-x"), 2)
	clk.add(10 * 24 * time.Hour)
	assert.Equal(t, []string{".ds-ds-x-2025.11.20-000001", "ev-2025.11.15"}, s.AdvanceILM(),
		"10 days after its rollover the old backing index goes, and the index of 15 November 16 days after its date")
	assert.Equal(t, []string{".ds-ds-x-2025.11.21-000002"}, s.Indices("ds-x"), "the write index stays")
	assert.Empty(t, s.IDs("ev-*"))
}

// A point in time expires after its keep_alive unless a search renews it.
func TestPointInTimeExpires(t *testing.T) {
	clk := newClock()
	_, c := setup(t, WithClock(clk.now))
	c.do("POST", "/_bulk?refresh=true", bulk)
	_, body, _ := c.do("POST", "/ev-1/_pit?keep_alive=1m", "")
	id := body["id"].(string)
	search := `{"pit":{"id":"` + id + `","keep_alive":"1m"}}`
	clk.add(50 * time.Second)
	code, _, _ := c.do("POST", "/_search", search)
	assert.Equal(t, 200, code, "renewed")
	clk.add(50 * time.Second)
	code, _, _ = c.do("POST", "/_search", search)
	assert.Equal(t, 200, code, "still within the renewed minute")
	clk.add(61 * time.Second)
	code, body, _ = c.do("POST", "/_search", search)
	assert.Equal(t, 404, code)
	assert.Equal(t, "search_context_missing_exception", body["error"].(map[string]any)["root_cause"].([]any)[0].(map[string]any)["type"])
}

// A search sees what was written before the last refresh; the scheduled
// refresh runs when refresh_interval has passed.
func TestRefreshInterval(t *testing.T) {
	clk := newClock()
	_, c := setup(t, WithClock(clk.now))
	c.do("PUT", "/ev-1", "")
	c.do("POST", "/_bulk", bulk)
	_, body, _ := c.do("GET", "/ev-1/_count", "")
	assert.EqualValues(t, 0, body["count"])
	clk.add(time.Second)
	_, body, _ = c.do("GET", "/ev-1/_count", "")
	assert.EqualValues(t, 2, body["count"])
}

// With logsdb on, a logs-*-* data stream without index.mode answers with
// synthetic _source: flattened leaves become strings, arrays are sorted.
// index.mode standard keeps the source exact.
func TestLogsdbSyntheticSource(t *testing.T) {
	s, c := setup(t, WithLogsdb())
	c.do("PUT", "/_index_template/logs-plain", `{"index_patterns":["logs-plain-*"],"priority":200,"data_stream":{},"template":{"mappings":{"properties":{"p":{"type":"flattened"},"k":{"type":"keyword"}}}}}`)
	c.do("PUT", "/_index_template/logs-pinned", `{"index_patterns":["logs-pinned-*"],"priority":200,"data_stream":{},"template":{"settings":{"index":{"mode":"standard"}},"mappings":{"properties":{"p":{"type":"flattened"},"k":{"type":"keyword"}}}}}`)
	src := `{"@timestamp":"2025-11-20T10:00:00Z","p":{"n":42,"t":["z","a"]},"k":["z","a"]}`
	for _, ds := range []string{"logs-plain-x", "logs-pinned-x"} {
		_, body, _ := c.do("POST", "/_bulk?refresh=true", `{"create":{"_index":"`+ds+`","_id":"1"}}`+"\n"+src+"\n")
		require.Equal(t, false, body["errors"], "%v", body)
	}
	hit := func(ds string) map[string]any {
		_, body, _ := c.do("POST", "/"+ds+"/_search", "")
		return body["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)["_source"].(map[string]any)
	}
	plain := hit("logs-plain-x")
	assert.Equal(t, map[string]any{"n": "42", "t": []any{"a", "z"}}, plain["p"])
	assert.Equal(t, []any{"a", "z"}, plain["k"])
	pinned := hit("logs-pinned-x")
	assert.Equal(t, map[string]any{"n": float64(42), "t": []any{"z", "a"}}, pinned["p"])
	var mode []string
	for _, name := range s.Indices("logs-*") {
		s.mu.Lock()
		mode = append(mode, s.indices[name].mode)
		s.mu.Unlock()
	}
	assert.ElementsMatch(t, []string{"logsdb", "standard"}, mode)
}

// Security off: the security APIs answer as Elasticsearch does then.
func TestSecurityOffRefusesRoles(t *testing.T) {
	_, c := setup(t)
	code, body, _ := c.do("PUT", "/_security/role/r", `{"cluster":[]}`)
	assert.Equal(t, 500, code)
	assert.Contains(t, body["error"].(map[string]any)["reason"], "Security must be explicitly enabled")
}

func TestAPIKeysAndMissingCredentials(t *testing.T) {
	s := New(WithSecurity("pw"))
	c := client{t, s.Start(t).URL}
	code, _, hdr := c.do("GET", "/", "")
	assert.Equal(t, 401, code)
	assert.Contains(t, hdr.Values("WWW-Authenticate"), "ApiKey")
	code, _, _ = c.do("PUT", "/_security/role/reader", `{"indices":[{"names":["ev-*"],"privileges":["read"]}]}`, "Authorization", "Basic ZWxhc3RpYzpwdw==")
	require.Equal(t, 200, code)
	key := s.AddAPIKey("svc", "reader")
	code, _, _ = c.do("POST", "/ev-*/_search", "", "Authorization", "ApiKey "+key)
	assert.Equal(t, 200, code, "a wildcard expands to what the key may read")
	code, body, _ := c.do("POST", "/_bulk", bulk, "Authorization", "ApiKey "+key)
	assert.Equal(t, 200, code)
	assert.Contains(t, itemOf(body, 0)["error"].(map[string]any)["reason"], "API key id [key1] of user [svc]")
}

func TestTemplateInUseByDataStream(t *testing.T) {
	_, c := setup(t)
	code, _, _ := c.do("PUT", "/_data_stream/ds-x", "")
	require.Equal(t, 200, code)
	code, body, _ := c.do("DELETE", "/_index_template/stream", "")
	assert.Equal(t, 400, code, "%v", body)
	code, body, _ = c.do("PUT", "/_index_template/stream", `{"index_patterns":["ds-*"],"priority":200,"composed_of":["m"]}`)
	assert.Equal(t, 400, code, "would leave ds-x without a data stream template: %v", body)
	code, body, _ = c.do("DELETE", "/ds-*", "")
	assert.Equal(t, 400, code, "action.destructive_requires_name: %v", body)
}

func TestGlobsIntersect(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"logs-audit-*", "logs-audit.view_data-*", false},
		{"logs-audit-*", "logs-*-*", true},
		{"logs-*", "*-audit", true},
		{"audit-*", "logs-*-*", false},
		{"a*b", "ab", true},
		{"abc", "abd", false},
		{"*", "anything", true},
	} {
		assert.Equal(t, tc.want, globsIntersect(tc.a, tc.b), "%s ∩ %s", tc.a, tc.b)
		assert.Equal(t, tc.want, globsIntersect(tc.b, tc.a), "%s ∩ %s", tc.b, tc.a)
	}
}

func TestGzipBody(t *testing.T) {
	s, c := setup(t)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(bulk))
	require.NoError(t, zw.Close())
	code, _, _ := c.do("POST", "/_bulk", b.String(), "Content-Encoding", "gzip")
	assert.Equal(t, 200, code)
	assert.Equal(t, int64(2), s.Stats().Created)
	assert.Equal(t, int64(1), s.Stats().GzipRequests)
}

func TestFaults(t *testing.T) {
	s, c := setup(t)
	s.SetFaults(Faults{Outage: "503"})
	code, body, _ := c.do("GET", "/", "")
	assert.Equal(t, 503, code)
	assert.Equal(t, "cluster_block_exception", body["error"].(map[string]any)["type"])

	s.SetFaults(Faults{Outage: "close"})
	_, err := http.Get(c.url + "/")
	assert.Error(t, err, "the connection is closed without an answer")

	s.SetFaults(Faults{RequestThrottleFraction: 1})
	code, _, _ = c.do("POST", "/_bulk", bulk)
	assert.Equal(t, 429, code)

	s.SetFaults(Faults{ItemThrottleFraction: 1})
	_, body, _ = c.do("POST", "/_bulk", bulk)
	assert.EqualValues(t, 429, itemOf(body, 0)["status"])

	s.SetFaults(Faults{ItemForbiddenFraction: 1})
	_, body, _ = c.do("POST", "/_bulk", bulk)
	assert.EqualValues(t, 403, itemOf(body, 0)["status"])
	assert.Equal(t, "security_exception", itemOf(body, 0)["error"].(map[string]any)["type"])

	s.SetFaults(Faults{RejectIDSuffix: "a"})
	_, body, _ = c.do("POST", "/_bulk", bulk)
	assert.EqualValues(t, 400, itemOf(body, 0)["status"])
	assert.Equal(t, "document_parsing_exception", itemOf(body, 0)["error"].(map[string]any)["type"])

	s.SetFaults(Faults{IndexThenDropFraction: 1})
	_, err = http.Post(c.url+"/_bulk", "application/json", strings.NewReader(strings.ReplaceAll(bulk, `"_id":"`, `"_id":"z`)))
	assert.Error(t, err)
	assert.Equal(t, int64(3), s.Stats().Streams["ev-1"], "b, then za and zb landed although no answer came")
	assert.Equal(t, int64(1), s.Stats().DroppedAnswers)
}

func TestControlEndpoints(t *testing.T) {
	s, c := setup(t)
	code, _, _ := c.do("POST", "/_testdouble/faults", `{"item_throttle_fraction":0.5,"rollover_every_docs":7}`)
	assert.Equal(t, 200, code)
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	assert.Equal(t, 0.5, f.ItemThrottleFraction)
	assert.Equal(t, 7, f.RolloverEveryDocs)
	code, body, _ := c.do("GET", "/_testdouble/stats", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "created")
	code, _, _ = c.do("GET", "/_unknown/api", "")
	assert.Equal(t, 400, code, "an API the double does not speak is refused, never answered empty")
}

func TestLatency(t *testing.T) {
	s := New(WithLatency())
	c := client{t, s.Start(t).URL}
	stamp := time.Now().Add(-1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	code, _, _ := c.do("POST", "/_bulk", `{"create":{"_index":"x","_id":"1"}}`+"\n"+`{"@timestamp":"`+stamp+`"}`+"\n")
	require.Equal(t, 200, code)
	st := s.Stats()
	assert.InDelta(t, 1.5, st.LatencyP50, 0.2)
	assert.InDelta(t, 1.5, st.LatencyP99, 0.2)
}

func TestBulkFilterPath(t *testing.T) {
	_, c := setup(t)
	post := func(query, body string) string {
		t.Helper()
		resp, err := http.Post(c.url+"/_bulk"+query, "application/x-ndjson", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(raw))
		return strings.TrimSpace(string(raw))
	}
	const exporterFilter = "?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason"
	assert.Equal(t, `{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`, post(exporterFilter, bulk))
	assert.Equal(t, `{"errors":true,"items":[`+
		`{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[a]: version conflict, document already exists (current version [1])"}}},`+
		`{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[b]: version conflict, document already exists (current version [1])"}}}]}`,
		post(exporterFilter, bulk))
	assert.Regexp(t, `^\{"took":\d+,"items":\[\{"create":\{"_id":"c"\}\}\]\}$`,
		post("?filter_path=took,items.*._id", `{"create":{"_index":"ev-1","_id":"c"}}`+"\n{}\n"))
	assert.Regexp(t, `^\{"took":\d+,"errors":false,"items":\[\{"create":\{"_index":"\.ds-ds-x-[^"]+","_id":"d","_version":1,"result":"created",`+
		`"_shards":\{"total":2,"successful":1,"failed":0\},"_seq_no":0,"_primary_term":1,"status":201\}\}\]\}$`,
		post("", `{"create":{"_index":"ds-x","_id":"d"}}`+"\n"+`{"@timestamp":"2025-11-20T10:00:00Z"}`+"\n"), "unfiltered, in Elasticsearch's key order")
}

// Ids and reasons are JSON strings, not Go-quoted ones.
func TestBulkAnswerIsJSONForOddIDs(t *testing.T) {
	_, c := setup(t)
	odd := "ctl\x01-é-\u2028"
	line := `{"create":{"_index":"ev-1","_id":"ctl\u0001-é-\u2028"}}` + "\n{}\n"
	for range 2 { // the second answer is a 409 whose reason quotes the id
		code, body, _ := c.do("POST", "/_bulk", line)
		require.Equal(t, 200, code)
		require.NotNil(t, body, "the answer must parse as JSON")
		assert.Equal(t, odd, itemOf(body, 0)["_id"])
	}
}

// A misspelt kind must not answer "absent": every negative assertion would pass.
func TestAssetKindsAreChecked(t *testing.T) {
	s := New()
	assert.Panics(t, func() { s.Has("data_strem", "x") })
	assert.Panics(t, func() { s.Asset("index-template", "x") })
	assert.False(t, s.Has("data_stream", "x"))
	assert.Nil(t, s.Asset("index_template", "x"))
}

// Keyset paging without a point in time, as the audit log API pages: sort
// on _index (a virtual keyword, mapping-index-field.md) breaks ties that
// an _id shares across indices, and exists finds documents without a field.
func TestSortOnIndexAndExists(t *testing.T) {
	_, c := setup(t)
	code, body, _ := c.do("POST", "/_bulk?refresh=true", `{"create":{"_index":"ev-1","_id":"a"}}
{"@timestamp":"2025-11-20T10:00:00Z","user":{"email":"x"}}
{"create":{"_index":"ev-2","_id":"a"}}
{"@timestamp":"2025-11-20T10:00:00Z"}
{"create":{"_index":"ev-2","_id":"b"}}
{"@timestamp":"2025-11-20T09:00:00Z","user":{"email":null}}
`)
	require.Equal(t, 200, code, body)
	sort := `"sort":[{"@timestamp":"desc"},{"_index":"desc"}]`
	var order []string
	after := ""
	for range 3 {
		code, body, _ = c.do("POST", "/ev-*/_search", `{"size":1,`+sort+after+`}`)
		require.Equal(t, 200, code, body)
		h := body["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)
		order = append(order, h["_index"].(string)+"/"+h["_id"].(string))
		raw, _ := json.Marshal(h["sort"])
		after = `,"search_after":` + string(raw)
	}
	assert.Equal(t, []string{"ev-2/a", "ev-1/a", "ev-2/b"}, order)
	code, body, _ = c.do("POST", "/ev-*/_search", `{"query":{"bool":{"must_not":[{"exists":{"field":"user.email"}}]}},`+sort+`}`)
	require.Equal(t, 200, code, body)
	var ids []string
	for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
		ids = append(ids, h.(map[string]any)["_index"].(string)+"/"+h.(map[string]any)["_id"].(string))
	}
	assert.Equal(t, []string{"ev-2/a", "ev-2/b"}, ids, "a null value is no value")
}
