package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	kibana "github.com/otelcol-audit/otelcol-audit/config/kibana"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/kibanatest"
)

// kibanaTarget is a Kibana under test: the double always, a real one at
// KIBANA_URL (with ELASTICSEARCH_URL for its cluster) when set.
type kibanaTarget struct {
	name   string
	es     *elasticsearch.Client
	kibana auditctl.Kibana
}

func kibanaTargets(t *testing.T) []kibanaTarget {
	es := estest.New()
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{es.Start(t).URL}})
	require.NoError(t, err)
	kd := kibanatest.New(kibana.OldestVersion, kibana.LatestTypeVersions)
	out := []kibanaTarget{{name: "test-double", es: c, kibana: auditctl.Kibana{URL: kd.Start(t).URL}}}
	u := os.Getenv("KIBANA_URL")
	if u == "" {
		t.Log("KIBANA_URL is not set: setup --kibana runs against the Kibana test double only")
		return out
	}
	user, pass, key := os.Getenv("ELASTICSEARCH_USER"), os.Getenv("ELASTICSEARCH_PASSWORD"), os.Getenv("ELASTICSEARCH_API_KEY")
	rc, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{os.Getenv("ELASTICSEARCH_URL")}, Username: user, Password: pass, APIKey: key})
	require.NoError(t, err)
	auth := func(r *http.Request) {
		switch {
		case key != "":
			r.Header.Set("Authorization", "ApiKey "+key)
		case user != "":
			r.SetBasicAuth(user, pass)
		}
	}
	return append(out, kibanaTarget{name: "kibana", es: rc, kibana: auditctl.Kibana{URL: u, Auth: auth}})
}

// setup --kibana imports every saved object (the import answer is checked
// inside Setup), the objects read back through Kibana's API, and the quick
// ranges are a string the browser parses.
func TestIntegrationKibanaSetup(t *testing.T) {
	for _, tg := range kibanaTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tiers := []assets.Tier{{Name: "default", Dataset: "audit", DeleteAfter: "365d", Period: assets.Month},
				{Name: "deadletter", Dataset: "audit.deadletter", DeleteAfter: "90d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"}}
			var out strings.Builder
			require.NoError(t, auditctl.Setup(context.Background(), auditctl.SetupOptions{ES: tg.es, Tiers: tiers, Namespace: "default", Kibana: tg.kibana, Out: &out}))
			t.Log(out.String())
			for _, o := range []struct{ typ, id string }{
				{"index-pattern", "otelcol-audit-data-view"}, {"search", "otelcol-audit-search"}, {"dashboard", "otelcol-audit-dashboard"},
				{"lens", "otelcol-audit-events-by-category"},
			} {
				raw := kibanaGet(t, tg.kibana, "/api/saved_objects/"+o.typ+"/"+o.id)
				var got struct {
					ID         string         `json:"id"`
					Attributes map[string]any `json:"attributes"`
				}
				require.NoError(t, json.Unmarshal(raw, &got), "%s", raw)
				assert.Equal(t, o.id, got.ID)
				assert.NotEmpty(t, got.Attributes["title"], o.id)
			}
			raw := kibanaGet(t, tg.kibana, "/api/kibana/settings")
			var settings struct {
				Settings map[string]struct {
					UserValue json.RawMessage `json:"userValue"`
				} `json:"settings"`
			}
			require.NoError(t, json.Unmarshal(raw, &settings))
			var asString string
			require.NoError(t, json.Unmarshal(settings.Settings[kibana.QuickRangesSetting].UserValue, &asString), "stored as a JSON string")
			ranges, err := kibana.ParseQuickRanges(json.RawMessage(asString))
			require.NoError(t, err)
			var shown []string
			for _, r := range ranges {
				shown = append(shown, r.Display)
			}
			assert.Subset(t, shown, []string{"Yesterday", "2 days ago", "7 days ago", "30 days ago", "90 days ago"})
		})
	}
}

func kibanaGet(t *testing.T, k auditctl.Kibana, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(k.URL, "/")+path, nil)
	require.NoError(t, err)
	req.Header.Set("x-elastic-internal-origin", "otelcol-audit")
	if k.Auth != nil {
		k.Auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, "GET %s: %s", path, raw)
	return raw
}
