package auditctl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	kibana "github.com/otelcol-audit/otelcol-audit/config/kibana"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/kibanatest"
)

var tiers = []assets.Tier{
	{Name: "default", Dataset: "audit", DeleteAfter: "365d", Period: assets.Month},
	{Name: "deadletter", Dataset: "audit.deadletter", DeleteAfter: "90d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
	{Name: "view_data", Dataset: "audit.view_data", DeleteAfter: "90d", Period: assets.Month},
}

func newKibana(t *testing.T, version string) (*kibanatest.Server, string) {
	k := kibanatest.New(version, kibana.LatestTypeVersions)
	return k, k.Start(t).URL
}

func esClient(t *testing.T, url string, auth ...string) *elasticsearch.Client {
	cfg := elasticsearch.Config{Addresses: []string{url}}
	if len(auth) == 2 {
		cfg.Username, cfg.Password = auth[0], auth[1]
	}
	c, err := elasticsearch.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func TestSetupInstallsEverythingTwice(t *testing.T) {
	es := estest.New(estest.WithSecurity("changeme"))
	c := esClient(t, es.Start(t).URL, "elastic", "changeme")
	kd, kURL := newKibana(t, "8.17.0")
	for i := 0; i < 2; i++ {
		var out bytes.Buffer
		require.NoError(t, Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: kURL}, Out: &out}))
		assert.Contains(t, out.String(), "ok   elasticsearch: PUT _security/role/otelcol_audit_writer")
	}
	assert.Equal(t, []string{"logs-audit.deadletter-default"}, es.DataStreams(), "only dead letters are a data stream; events indices come with their events")
	var writer struct {
		Cluster []string `json:"cluster"`
		Indices []struct {
			Names      []string `json:"names"`
			Privileges []string `json:"privileges"`
		} `json:"indices"`
	}
	require.NoError(t, json.Unmarshal(es.Asset("role", "otelcol_audit_writer"), &writer))
	assert.Empty(t, writer.Cluster, "go-elasticsearch sends no GET /: no monitor")
	assert.Equal(t, []string{"logs-audit-*", "logs-audit.*-*"}, writer.Indices[0].Names, "not logs-audit*-*, which takes logs-auditd.log-* too")
	assert.Equal(t, []string{"create_doc", "auto_configure"}, writer.Indices[0].Privileges, "least privilege: cannot delete or overwrite")
	require.True(t, es.Has("role", "audit_log_reader"))

	objs := kd.Objects("default")
	require.Len(t, objs, 7, "every saved object imported")
	var ranges []kibana.QuickRange
	require.NoError(t, kd.BrowserJSONSetting("default", kibana.QuickRangesSetting, &ranges), "the browser can parse the stored value")
	var shown []string
	for _, r := range ranges {
		shown = append(shown, r.Display)
	}
	assert.Equal(t, []string{"Today", "This week", "Last 15 minutes", "Last 30 minutes", "Last 1 hour", "Last 24 hours", "Last 7 days",
		"Last 30 days", "Last 90 days", "Last 1 year", "Yesterday", "2 days ago", "7 days ago", "30 days ago", "90 days ago"}, shown,
		"Kibana 8's defaults kept, ours added once (Today is already there), a second run adds nothing")
	posts := 0
	for _, call := range kd.Calls() {
		if call == "POST /api/kibana/settings" {
			posts++
		}
	}
	assert.Equal(t, 1, posts, "the second run found the ranges and changed nothing")
}

// Kibana keeps a json setting's value as sent and the browser parses it:
// an array (what setup used to send) breaks the time picker; a string does
// not. The setting adds to what an admin already set.
func TestQuickRangesAreAStringAddedToTheSpacesOwn(t *testing.T) {
	kd, kURL := newKibana(t, "8.17.0")
	kd.SetSetting("default", kibana.QuickRangesSetting, json.RawMessage(`[{"from":"now-1h","to":"now","display":"Last hour"}]`))
	var broken []kibana.QuickRange
	assert.ErrorContains(t, kd.BrowserJSONSetting("default", kibana.QuickRangesSetting, &broken), "not a string", "the double breaks like the browser on an array")
	kd.SetSetting("default", kibana.QuickRangesSetting, json.RawMessage(`"[{\"from\":\"now-1h\",\"to\":\"now\",\"display\":\"Last hour\"}]"`))
	k := Kibana{URL: kURL}
	require.NoError(t, k.addQuickRanges(context.Background()))
	var ranges []kibana.QuickRange
	require.NoError(t, kd.BrowserJSONSetting("default", kibana.QuickRangesSetting, &ranges))
	require.Len(t, ranges, 1+len(kibana.QuickRanges))
	assert.Equal(t, "Last hour", ranges[0].Display, "the admin's own range stays first")
}

// On 9.x the settings routes answer only requests marked internal, and
// the defaults are the 9.x list.
func TestQuickRangesOnKibana9(t *testing.T) {
	kd, kURL := newKibana(t, "9.1.0")
	require.NoError(t, Kibana{URL: kURL}.addQuickRanges(context.Background()))
	var ranges []kibana.QuickRange
	require.NoError(t, kd.BrowserJSONSetting("default", kibana.QuickRangesSetting, &ranges))
	assert.Len(t, ranges, 20+4, "9.x's 20 defaults, and ours but Today and Yesterday (already there)")
	req, _ := http.NewRequest(http.MethodGet, kURL+"/api/kibana/settings", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode, "the double refuses an unmarked request, as Kibana 9 does")
}

func TestKibanaSpace(t *testing.T) {
	es := estest.New()
	c := esClient(t, es.Start(t).URL)
	kd, kURL := newKibana(t, "8.17.0")
	err := Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: kURL, Space: "audit"}, Out: io.Discard})
	assert.ErrorContains(t, err, `Kibana space "audit" does not exist`)
	kd.AddSpace("audit")
	var out bytes.Buffer
	require.NoError(t, Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: kURL, Space: "audit"}, Out: &out}))
	assert.Contains(t, out.String(), "ok   kibana: POST /s/audit/api/saved_objects/_import?overwrite=true")
	assert.Len(t, kd.Objects("audit"), 7)
	assert.Empty(t, kd.Objects("default"), "nothing in the default space")
	assert.NotNil(t, kd.Setting("audit", kibana.QuickRangesSetting))
	assert.Nil(t, kd.Setting("default", kibana.QuickRangesSetting))
	assert.ErrorContains(t, ValidateSpace("Audit Team"), "lower case")
}

// Roles need security; on a cluster without it, setup says so and goes on.
func TestSetupWithoutSecuritySkipsRoles(t *testing.T) {
	es := estest.New()
	var out bytes.Buffer
	require.NoError(t, Setup(context.Background(), SetupOptions{ES: esClient(t, es.Start(t).URL), Tiers: tiers, Namespace: "default", Out: &out}))
	assert.Contains(t, out.String(), "skip elasticsearch: PUT _security/role/otelcol_audit_writer (security is disabled")
}

func TestDryRunChangesNothing(t *testing.T) {
	es := estest.New()
	c := esClient(t, es.Start(t).URL)
	var out bytes.Buffer
	require.NoError(t, Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: "http://127.0.0.1:1"}, DryRun: true, Out: &out}))
	assert.Empty(t, es.Requests())
	assert.Contains(t, out.String(), "would elasticsearch: PUT _index_template/audit-view_data")
	assert.Contains(t, out.String(), "would kibana: POST /api/saved_objects/_import")
}

func TestKibanaErrorsAreActionable(t *testing.T) {
	es := estest.New()
	c := esClient(t, es.Start(t).URL)
	err := Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: "http://127.0.0.1:1"}, Out: io.Discard})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reach Kibana at http://127.0.0.1:1")
	// A Kibana older than the saved objects refuses the whole file.
	_, old := newKibana(t, "8.7.0")
	err = Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: old}, Out: io.Discard})
	assert.ErrorContains(t, err, "Kibana answered 422 while importing the saved objects")
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"success":false,"errors":[{"type":"lens","id":"x","error":{"type":"missing_references"}}]}`))
	}))
	defer refusing.Close()
	err = Setup(context.Background(), SetupOptions{ES: c, Tiers: tiers, Namespace: "default", Kibana: Kibana{URL: refusing.URL}, Out: io.Discard})
	assert.ErrorContains(t, err, "Kibana refused the saved objects (nothing was imported): lens x: missing_references")
}

// The saved objects are valid NDJSON, carry versions the oldest supported
// Kibana knows, their references resolve (dashboard panels, Lens layers,
// the saved search's data view), and every field they use is mapped.
func TestSavedObjectsAreConsistent(t *testing.T) {
	mapped := mappedFields(t)
	ids := map[string]string{}
	var objs []kibanatest.Object
	for i, line := range strings.Split(strings.TrimSpace(string(kibana.SavedObjects)), "\n") {
		var o kibanatest.Object
		require.NoError(t, json.Unmarshal([]byte(line), &o), "line %d", i+1)
		objs = append(objs, o)
		ids[o.ID] = o.Type
	}
	types := map[string]int{}
	for _, o := range objs {
		types[o.Type]++
		assert.Equal(t, kibana.CoreMigrationVersion, o.CoreMigrationVersion, o.ID)
		assert.NotEmpty(t, o.TypeMigrationVersion, "%s: without it every migration runs on import", o.ID)
		assert.LessOrEqual(t, compareVersions(o.TypeMigrationVersion, kibana.LatestTypeVersions[o.Type]), 0, "%s: %s is newer than %s knows", o.ID, o.TypeMigrationVersion, kibana.OldestVersion)
		refs := map[string]bool{}
		for _, ref := range o.References {
			assert.Equal(t, ref.Type, ids[ref.ID], "reference %v of %s resolves", ref, o.ID)
			refs[ref.Name] = true
		}
		var attrs struct {
			Columns    []string        `json:"columns"`
			PanelsJSON string          `json:"panelsJSON"`
			State      json.RawMessage `json:"state"`
			Meta       struct {
				SearchSourceJSON string `json:"searchSourceJSON"`
			} `json:"kibanaSavedObjectMeta"`
		}
		require.NoError(t, json.Unmarshal(o.Attributes, &attrs))
		for _, c := range attrs.Columns {
			assert.True(t, mapped[c], "saved search column %s is mapped", c)
		}
		var src struct {
			IndexRefName string `json:"indexRefName"`
		}
		if attrs.Meta.SearchSourceJSON != "" {
			require.NoError(t, json.Unmarshal([]byte(attrs.Meta.SearchSourceJSON), &src))
			if src.IndexRefName != "" {
				assert.True(t, refs[src.IndexRefName], "%s: indexRefName %s is a reference", o.ID, src.IndexRefName)
			}
		}
		if attrs.PanelsJSON != "" {
			var panels []struct {
				PanelIndex   string `json:"panelIndex"`
				PanelRefName string `json:"panelRefName"`
			}
			require.NoError(t, json.Unmarshal([]byte(attrs.PanelsJSON), &panels))
			for _, p := range panels {
				assert.True(t, refs[p.PanelIndex+":"+p.PanelRefName], "%s: panel %s has its reference", o.ID, p.PanelIndex)
			}
		}
		if o.Type == "lens" {
			var st struct {
				DatasourceStates struct {
					FormBased struct {
						Layers map[string]struct {
							Columns map[string]struct {
								SourceField string `json:"sourceField"`
							} `json:"columns"`
							ColumnOrder []string `json:"columnOrder"`
						} `json:"layers"`
					} `json:"formBased"`
				} `json:"datasourceStates"`
			}
			require.NoError(t, json.Unmarshal(attrs.State, &st))
			require.NotEmpty(t, st.DatasourceStates.FormBased.Layers, o.ID)
			for id, layer := range st.DatasourceStates.FormBased.Layers {
				assert.True(t, refs["indexpattern-datasource-layer-"+id], "%s: layer %s has its data view reference", o.ID, id)
				assert.Len(t, layer.ColumnOrder, len(layer.Columns), o.ID)
				for _, cid := range layer.ColumnOrder {
					col, ok := layer.Columns[cid]
					require.True(t, ok, "%s: column %s in columnOrder exists", o.ID, cid)
					assert.True(t, col.SourceField == "___records___" || mapped[col.SourceField], "%s: field %s is mapped", o.ID, col.SourceField)
				}
			}
		}
	}
	assert.Equal(t, map[string]int{"index-pattern": 1, "search": 1, "lens": 4, "dashboard": 1}, types, "Lens panels, no legacy visState")
}

// compareVersions compares dotted versions numerically.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range pa {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return 0
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
