package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func setup(t *testing.T) (*Server, client) {
	s := New(WithSource())
	ts := s.Start(t)
	c := client{t, ts.URL}
	code, _, _ := c.do("PUT", "/_component_template/audit@mappings", `{"template":{}}`)
	require.Equal(t, 200, code)
	code, _, _ = c.do("PUT", "/_index_template/audit-default", `{"index_patterns":["logs-audit-*"],"data_stream":{},"priority":200,"composed_of":["audit@mappings"]}`)
	require.Equal(t, 200, code)
	return s, c
}

func TestInfoHasProductHeader(t *testing.T) {
	_, c := setup(t)
	code, body, hdr := c.do("GET", "/", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "Elasticsearch", hdr.Get("X-Elastic-Product"))
	assert.Equal(t, "8.15.0", body["version"].(map[string]any)["number"])
}

func TestTemplatesAndDataStreams(t *testing.T) {
	s, c := setup(t)
	code, body, _ := c.do("PUT", "/_index_template/bad", `{"index_patterns":["x-*"],"composed_of":["missing"]}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, "invalid_index_template_exception", body["error"].(map[string]any)["type"])
	code, body, _ = c.do("PUT", "/_index_template/clash", `{"index_patterns":["logs-audit-*"],"priority":200,"data_stream":{}}`)
	assert.Equal(t, 400, code, "same pattern and priority as audit-default: %v", body)

	code, _, _ = c.do("PUT", "/_data_stream/logs-audit-default", "")
	assert.Equal(t, 200, code)
	code, body, _ = c.do("PUT", "/_data_stream/logs-audit-default", "")
	assert.Equal(t, 400, code)
	assert.Equal(t, "resource_already_exists_exception", body["error"].(map[string]any)["type"])
	code, body, _ = c.do("PUT", "/_data_stream/other-x-y", "")
	assert.Equal(t, 400, code)
	assert.Contains(t, body["error"].(map[string]any)["reason"], "no matching index template found")
	assert.True(t, s.Has("data_stream", "logs-audit-default"))
	code, _, _ = c.do("DELETE", "/_data_stream/logs-audit*", "")
	assert.Equal(t, 200, code)
	assert.False(t, s.Has("data_stream", "logs-audit-default"))
}

const bulk = `{"create":{"_index":"logs-audit-default","_id":"a"}}
{"@timestamp":"2025-11-20T10:00:00Z"}
{"create":{"_index":"logs-audit-default","_id":"b"}}
{"@timestamp":"2025-11-20T10:00:00Z"}
`

func TestBulkCreateSemantics(t *testing.T) {
	s, c := setup(t)
	code, body, _ := c.do("POST", "/_bulk", bulk)
	require.Equal(t, 200, code)
	assert.Equal(t, false, body["errors"])
	items := body["items"].([]any)
	require.Len(t, items, 2)
	first := items[0].(map[string]any)["create"].(map[string]any)
	assert.EqualValues(t, 201, first["status"])
	assert.Equal(t, "created", first["result"])

	code, body, _ = c.do("POST", "/_bulk", bulk)
	require.Equal(t, 200, code)
	assert.Equal(t, true, body["errors"])
	again := body["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
	assert.EqualValues(t, 409, again["status"])
	assert.Equal(t, "version_conflict_engine_exception", again["error"].(map[string]any)["type"])
	st := s.Stats()
	assert.Equal(t, int64(2), st.Created)
	assert.Equal(t, int64(2), st.Conflicts)
	assert.Equal(t, int64(2), st.Streams["logs-audit-default"])
	assert.Zero(t, st.UntemplatedWrites)

	code, _, _ = c.do("POST", "/_bulk", `{"index":{"_index":"x","_id":"1"}}`+"\n{}\n")
	assert.Equal(t, 400, code, "only create is spoken")
	code, body, _ = c.do("GET", "/logs-audit-*/_count", "")
	assert.Equal(t, 200, code)
	assert.EqualValues(t, 2, body["count"])
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
	assert.EqualValues(t, 429, body["items"].([]any)[0].(map[string]any)["create"].(map[string]any)["status"])

	s.SetFaults(Faults{RejectIDSuffix: "a"})
	_, body, _ = c.do("POST", "/_bulk", bulk)
	rej := body["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
	assert.EqualValues(t, 400, rej["status"])
	assert.Equal(t, "document_parsing_exception", rej["error"].(map[string]any)["type"])

	s.SetFaults(Faults{IndexThenDropFraction: 1})
	_, err = http.Post(c.url+"/_bulk", "application/json", strings.NewReader(strings.ReplaceAll(bulk, `"_id":"`, `"_id":"z`)))
	assert.Error(t, err)
	assert.Equal(t, int64(3), s.Stats().Streams["logs-audit-default"], "b, then za and zb landed although no answer came")
	assert.Equal(t, int64(1), s.Stats().DroppedAnswers)
}

func TestControlEndpoints(t *testing.T) {
	s, c := setup(t)
	code, _, _ := c.do("POST", "/_testdouble/faults", `{"item_throttle_fraction":0.5}`)
	assert.Equal(t, 200, code)
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	assert.Equal(t, 0.5, f.ItemThrottleFraction)
	code, body, _ := c.do("GET", "/_testdouble/stats", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "created")
	code, _, _ = c.do("GET", "/_unknown/api", "")
	assert.Equal(t, 404, code)
}

func TestLatency(t *testing.T) {
	s := New(WithLatency())
	ts := s.Start(t)
	c := client{t, ts.URL}
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
		post("?filter_path=took,items.*._id", `{"create":{"_index":"logs-audit-default","_id":"c"}}`+"\n{}\n"))
	assert.Regexp(t, `^\{"took":\d+,"errors":false,"items":\[\{"create":\{"_index":"\.ds-logs-audit-default-[^"]+","_id":"d","_version":1,"result":"created",`+
		`"_shards":\{"total":2,"successful":1,"failed":0\},"_seq_no":3,"_primary_term":1,"status":201\}\}\]\}$`,
		post("", `{"create":{"_index":"logs-audit-default","_id":"d"}}`+"\n{}\n"), "unfiltered, in Elasticsearch's key order")
}

// Ids and reasons are JSON strings, not Go-quoted ones.
func TestBulkAnswerIsJSONForOddIDs(t *testing.T) {
	_, c := setup(t)
	odd := "ctl\x01-é-\u2028"
	line := `{"create":{"_index":"logs-audit-default","_id":"ctl\u0001-é-\u2028"}}` + "\n{}\n"
	for range 2 { // the second answer is a 409 whose reason quotes the id
		code, body, _ := c.do("POST", "/_bulk", line)
		require.Equal(t, 200, code)
		require.NotNil(t, body, "the answer must parse as JSON")
		item := body["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
		assert.Equal(t, odd, item["_id"])
	}
}
