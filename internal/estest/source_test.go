package estest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A search answers each _source with the bytes stored, as sent: no
// compaction, no HTML escaping, key order and number spelling kept (a
// digest hashes them).
func TestSearchReturnsSourceByteForByte(t *testing.T) {
	_, c := setup(t)
	docs := []string{
		`{"@timestamp":"2025-11-20T10:00:00Z","tags":"<b>&amp;</b>","n":1.50}`,
		`{"tags":"z",  "@timestamp":"2025-11-20T10:00:01Z", "x":"\u00e9\n"}`,
		`{"@timestamp":"2025-11-20T10:00:02Z","tags":"\u0000_source\u00000\u0000"}`,
	}
	var body strings.Builder
	for i, d := range docs {
		body.WriteString(`{"create":{"_index":"ev-1","_id":"d` + string(rune('0'+i)) + `"}}` + "\n" + d + "\n")
	}
	code, resp, _ := c.do("POST", "/_bulk?refresh=true", body.String())
	require.Equal(t, 200, code, resp)
	require.Equal(t, false, resp["errors"], resp)

	req, err := http.NewRequest("POST", c.url+"/ev-1/_search", strings.NewReader(`{"sort":[{"@timestamp":"asc"}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	raw, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	require.Len(t, out.Hits.Hits, len(docs))
	for i, h := range out.Hits.Hits {
		assert.Equal(t, docs[i], string(h.Source), h.ID)
	}
}

// An object mapped "enabled": false is not parsed: any value goes, into
// _source only, even under dynamic strict.
func TestDisabledObjectTakesAnyValue(t *testing.T) {
	_, c := setup(t)
	code, body, _ := c.do("PUT", "/_index_template/off", `{"index_patterns":["off-*"],"priority":200,"template":{"mappings":{"dynamic":"strict","properties":{
		"@timestamp":{"type":"date_nanos"},"events":{"type":"object","enabled":false}}}}}`)
	require.Equal(t, 200, code, body)
	for i, v := range []string{`[{"id":"a","sha256":"00"},{"id":"b","x":{"y":[1,2]}}]`, `{"any":"thing"}`, `"scalar"`, `null`, `[]`} {
		_, body, _ := c.do("POST", "/_bulk", `{"create":{"_index":"off-1","_id":"`+string(rune('a'+i))+`"}}`+"\n"+`{"@timestamp":"2025-11-20T10:00:00Z","events":`+v+"}\n")
		assert.EqualValues(t, 201, itemOf(body, 0)["status"], "%s: %v", v, body)
	}
	_, body, _ = c.do("POST", "/_bulk", `{"create":{"_index":"off-1","_id":"z"}}`+"\n"+`{"@timestamp":"2025-11-20T10:00:00Z","other":1}`+"\n")
	assert.EqualValues(t, 400, itemOf(body, 0)["status"], "strict still refuses an unmapped field beside it")
	code, body, _ = c.do("PUT", "/_index_template/bad", `{"index_patterns":["bad-*"],"template":{"mappings":{"properties":{"o":{"type":"object","enabled":"maybe"}}}}}`)
	assert.Equal(t, 400, code, body)
}
