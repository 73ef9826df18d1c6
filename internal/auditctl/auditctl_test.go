package auditctl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	kibana "github.com/otelcol-audit/otelcol-audit/config/kibana"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

var tiers = []assets.Tier{
	{Name: "default", Dataset: "audit", DeleteAfter: "365d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
	{Name: "view_data", Dataset: "audit.view_data", DeleteAfter: "90d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
}

// kibanaDouble is a test double for the two Kibana APIs setup calls.
type kibanaDouble struct {
	mu       sync.Mutex
	calls    []string
	imported []byte
	settings map[string]any
}

func (k *kibanaDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("kbn-xsrf") == "" {
		http.Error(w, `{"statusCode":400,"error":"Bad Request","message":"Request must contain a kbn-xsrf header."}`, 400)
		return
	}
	switch r.URL.Path {
	case "/api/saved_objects/_import":
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, err := mr.NextPart()
		if err != nil || part.FormName() != "file" {
			http.Error(w, `{"statusCode":400,"message":"expected a file part"}`, 400)
			return
		}
		k.imported, _ = io.ReadAll(part)
		n := bytes.Count(k.imported, []byte("\n"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"success": true, "successCount": n})
	case "/internal/kibana/settings":
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		k.settings = body
		w.Write([]byte(`{"settings":{}}`))
	default:
		http.NotFound(w, r)
	}
}

func TestSetupInstallsEverythingTwice(t *testing.T) {
	es := estest.New()
	esSrv := es.Start(t)
	kd := &kibanaDouble{}
	kSrv := httptest.NewServer(kd)
	defer kSrv.Close()
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{esSrv.URL}})
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		var out bytes.Buffer
		require.NoError(t, Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", KibanaURL: kSrv.URL, Out: &out}))
		assert.Contains(t, out.String(), "ok   elasticsearch: PUT _security/role/otelcol_audit_writer")
	}
	assert.True(t, es.Has("data_stream", "logs-audit.view_data-default"))
	var writer struct {
		Indices []struct {
			Names      []string `json:"names"`
			Privileges []string `json:"privileges"`
		} `json:"indices"`
	}
	require.NoError(t, json.Unmarshal(es.Asset("role", "otelcol_audit_writer"), &writer))
	assert.Equal(t, []string{"create_doc", "auto_configure"}, writer.Indices[0].Privileges, "least privilege: cannot delete or overwrite")
	require.True(t, es.Has("role", "audit_log_reader"))
	assert.Equal(t, kibana.SavedObjects, kd.imported)
	assert.Equal(t, []string{
		"POST /api/saved_objects/_import?overwrite=true", "POST /internal/kibana/settings",
		"POST /api/saved_objects/_import?overwrite=true", "POST /internal/kibana/settings",
	}, kd.calls)
	ranges := kd.settings["changes"].(map[string]any)["timepicker:quickRanges"].([]any)
	var shown []string
	for _, r := range ranges {
		shown = append(shown, r.(map[string]any)["display"].(string))
	}
	assert.Subset(t, shown, []string{"Yesterday", "2 days ago", "7 days ago", "30 days ago", "90 days ago"})
}

func TestDryRunChangesNothing(t *testing.T) {
	es := estest.New()
	esSrv := es.Start(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{esSrv.URL}})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", KibanaURL: "http://127.0.0.1:1", DryRun: true, Out: &out}))
	assert.Empty(t, es.Requests())
	assert.Contains(t, out.String(), "would elasticsearch: PUT _index_template/audit-view_data")
	assert.Contains(t, out.String(), "would kibana: POST /api/saved_objects/_import")
}

func TestKibanaErrorsAreActionable(t *testing.T) {
	es := estest.New()
	esSrv := es.Start(t)
	c, _ := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{esSrv.URL}})
	err := Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", KibanaURL: "http://127.0.0.1:1", Out: io.Discard})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reach Kibana at http://127.0.0.1:1")
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"success":false,"errors":[{"id":"x","error":{"type":"unknown"}}]}`))
	}))
	defer refusing.Close()
	err = Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", KibanaURL: refusing.URL, Out: io.Discard})
	assert.ErrorContains(t, err, "Kibana refused some saved objects")
}

// The saved objects are valid NDJSON, their references resolve, and every
// field they use exists in our mapping.
func TestSavedObjectsAreConsistent(t *testing.T) {
	mapped := mappedFields(t)
	ids := map[string]string{}
	var objs []map[string]any
	for i, line := range strings.Split(strings.TrimSpace(string(kibana.SavedObjects)), "\n") {
		var o map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &o), "line %d", i+1)
		objs = append(objs, o)
		ids[o["id"].(string)] = o["type"].(string)
	}
	types := map[string]bool{}
	for _, o := range objs {
		types[o["type"].(string)] = true
		for _, r := range o["references"].([]any) {
			ref := r.(map[string]any)
			assert.Equal(t, ref["type"], ids[ref["id"].(string)], "reference %v of %s resolves", ref, o["id"])
		}
		attrs := o["attributes"].(map[string]any)
		if cols, ok := attrs["columns"].([]any); ok {
			for _, c := range cols {
				assert.True(t, mapped[c.(string)], "saved search column %s is mapped", c)
			}
		}
		if vs, ok := attrs["visState"].(string); ok {
			var v struct {
				Aggs []struct {
					Params map[string]any `json:"params"`
				} `json:"aggs"`
			}
			require.NoError(t, json.Unmarshal([]byte(vs), &v))
			for _, a := range v.Aggs {
				if f, ok := a.Params["field"].(string); ok {
					assert.True(t, mapped[f], "visualization field %s is mapped", f)
				}
			}
		}
	}
	assert.Equal(t, map[string]bool{"index-pattern": true, "search": true, "visualization": true, "dashboard": true}, types)
}

func mappedFields(t *testing.T) map[string]bool {
	m, err := assets.MappedFields()
	require.NoError(t, err)
	return m
}

func TestCatalogLintAndDocs(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, CatalogLint(&out, []string{"../../config/catalogs/codatum.yaml", "../../config/catalogs/wherobots.yaml"}))
	assert.Contains(t, out.String(), "codatum.yaml: ok, 89 events in 6 categories")
	err := CatalogLint(io.Discard, []string{"../../config/catalogs/codatum.yaml", "../../config/catalogs/codatum.yaml"})
	assert.ErrorContains(t, err, "duplicate event")
	assert.Error(t, CatalogLint(io.Discard, nil))

	out.Reset()
	require.NoError(t, CatalogDocs(&out, "../../config/catalogs/wherobots.yaml"))
	doc := out.String()
	assert.Contains(t, doc, "# Auditable events: wherobots")
	assert.Contains(t, doc, "## Credential\n\n| Event | Action name | Categories |")
	assert.Contains(t, doc, "| Create an API key credential | `CreateApiKeyCredential` | access_control |")
	assert.Equal(t, 48, strings.Count(doc, "| `")-6, "every event in a row (plus the six categories)")
}

func TestProgressBar(t *testing.T) {
	assert.Equal(t, "[==========          ] 50/100 (50%)", ProgressBar(50, 100, 20))
	assert.Equal(t, "[====================] 100/100 (100%)", ProgressBar(100, 100, 20))
	assert.Equal(t, "7", ProgressBar(7, 0, 20), "unknown total")
}
