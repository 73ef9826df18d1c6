package kibanatest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var latest = map[string]string{"index-pattern": "8.0.0", "search": "10.5.0", "lens": "8.9.0", "dashboard": "10.2.0"}

func importFile(t *testing.T, url, name, ndjson string) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	require.NoError(t, err)
	part.Write([]byte(ndjson))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/saved_objects/_import?overwrite=true", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("kbn-xsrf", "test")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

const dataView = `{"type":"index-pattern","id":"dv","coreMigrationVersion":"8.8.0","typeMigrationVersion":"8.0.0","attributes":{"title":"logs-*"},"references":[]}`

func TestImport(t *testing.T) {
	k := New("8.17.0", latest)
	url := k.Start(t).URL
	search := `{"type":"search","id":"s","typeMigrationVersion":"8.0.0","attributes":{"title":"S","kibanaSavedObjectMeta":{"searchSourceJSON":"{}"}},"references":[{"name":"r","type":"index-pattern","id":"dv"}]}`

	code, out := importFile(t, url, "x.json", dataView)
	assert.Equal(t, 400, code, "the file must be .ndjson: %v", out)

	code, out = importFile(t, url, "x.ndjson", search)
	require.Equal(t, 200, code)
	assert.Equal(t, false, out["success"])
	assert.Equal(t, "missing_references", out["errors"].([]any)[0].(map[string]any)["error"].(map[string]any)["type"])
	assert.Empty(t, k.Objects("default"), "a missing reference blocks the whole file")

	code, out = importFile(t, url, "x.ndjson", dataView+"\n"+search+"\n")
	require.Equal(t, 200, code, "%v", out)
	assert.Equal(t, true, out["success"])
	assert.Len(t, k.Objects("default"), 2)

	code, out = importFile(t, url, "x.ndjson", `{"type":"lens","id":"l","typeMigrationVersion":"10.1.0","attributes":{}}`)
	assert.Equal(t, 422, code, "newer than Kibana 8.17 knows: %v", out)
	code, out = importFile(t, url, "x.ndjson", `{"type":"search","id":"s2","typeMigrationVersion":"8.0.0","attributes":{"title":"S","kibanaSavedObjectMeta":{"searchSourceJSON":"{}"},"frobnicate":1}}`)
	require.Equal(t, 200, code)
	assert.Contains(t, out["errors"].([]any)[0].(map[string]any)["error"].(map[string]any)["message"], "[attributes.frobnicate]")
	code, _ = importFile(t, url, "x.ndjson", dataView+"\n"+dataView)
	assert.Equal(t, 400, code, "duplicate objects")
}

func TestSettingsAndSpaces(t *testing.T) {
	k := New("9.1.0", latest)
	url := k.Start(t).URL
	post := func(path, body string, internal bool) int {
		req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader([]byte(body)))
		req.Header.Set("kbn-xsrf", "t")
		req.Header.Set("Content-Type", "application/json")
		if internal {
			req.Header.Set("x-elastic-internal-origin", "t")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	ranges := `{"changes":{"timepicker:quickRanges":"[{\"from\":\"now-1h\",\"to\":\"now\",\"display\":\"h\"}]"}}`
	assert.Equal(t, 400, post("/api/kibana/settings", ranges, false), "9.x: internal route without the header")
	assert.Equal(t, 200, post("/api/kibana/settings", ranges, true))
	assert.Equal(t, 400, post("/api/kibana/settings", `{"changes":{"timepicker:quickRanges":"[{\"from\":\"a\",\"to\":\"b\",\"display\":\"c\",\"section\":1}]"}}`, true), "unknown key")
	assert.Equal(t, 404, post("/s/team/api/kibana/settings", ranges, true), "no such space")
	k.AddSpace("team")
	assert.Equal(t, 200, post("/s/team/api/kibana/settings", ranges, true))
	var got []map[string]string
	require.NoError(t, k.BrowserJSONSetting("team", "timepicker:quickRanges", &got))
	assert.Equal(t, "h", got[0]["display"])
	assert.Equal(t, 200, post("/api/kibana/settings", `{"changes":{"timepicker:quickRanges":[{"from":"a","to":"b","display":"c"}]}}`, true), "the server takes an array")
	assert.ErrorContains(t, k.BrowserJSONSetting("default", "timepicker:quickRanges", &got), "not a string", "the browser does not")
}
