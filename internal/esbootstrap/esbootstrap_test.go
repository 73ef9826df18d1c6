package esbootstrap

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

var tiers = []assets.Tier{
	{Name: "default", Dataset: "audit", DeleteAfter: "365d", Period: assets.Month, RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
	{Name: "deadletter", Dataset: "audit.deadletter", DeleteAfter: "90d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
	{Name: "view_data", Dataset: "audit.view_data", DeleteAfter: "90d", Period: assets.Month, RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
}

func TestPlanOrder(t *testing.T) {
	steps, err := Plan(tiers, "default")
	require.NoError(t, err)
	var got []string
	for _, s := range steps {
		got = append(got, s.Desc)
		if s.Body != nil {
			assert.True(t, json.Valid(s.Body), s.Desc)
		}
	}
	assert.Equal(t, []string{
		"PUT _ilm/policy/audit-default", "PUT _ilm/policy/audit-deadletter", "PUT _ilm/policy/audit-view_data",
		"PUT _component_template/audit@mappings", "PUT _component_template/audit@settings",
		"PUT _index_template/audit-default", "PUT _index_template/audit-deadletter", "PUT _index_template/audit-view_data",
		"PUT _data_stream/logs-audit.deadletter-default",
	}, got, "policies and components before the templates that name them, templates before the dead-letter stream")
}

func TestApplyIsIdempotentAndReportsErrors(t *testing.T) {
	es := estest.New()
	srv := es.Start(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	require.NoError(t, err)
	steps, err := Plan(tiers, "default")
	require.NoError(t, err)
	require.NoError(t, Apply(context.Background(), c, steps))
	require.NoError(t, Apply(context.Background(), c, steps), "a second run succeeds: an existing data stream is fine")
	assert.Equal(t, []string{"logs-audit.deadletter-default"}, es.DataStreams())

	es.SetFaults(estest.Faults{Outage: "503"})
	err = Apply(context.Background(), c, steps)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PUT _ilm/policy/audit-default: Elasticsearch answered 503 cluster_block_exception")
}

func TestRenderedAssets(t *testing.T) {
	pol, err := tiers[1].ILMPolicy() // dead letters: rollover, delete 90d after it
	require.NoError(t, err)
	var p struct {
		Policy struct {
			Phases map[string]struct {
				MinAge  string         `json:"min_age"`
				Actions map[string]any `json:"actions"`
			} `json:"phases"`
		} `json:"policy"`
	}
	require.NoError(t, json.Unmarshal(pol, &p))
	assert.Equal(t, "90d", p.Policy.Phases["delete"].MinAge)
	assert.Contains(t, p.Policy.Phases["hot"].Actions, "rollover")
	require.NoError(t, json.Unmarshal(mustPolicy(t, tiers[2]), &p))
	assert.Equal(t, "121d", p.Policy.Phases["delete"].MinAge, "events: 90d from the month's first day, plus the longest month")
	assert.NotContains(t, p.Policy.Phases["hot"].Actions, "rollover")
	tmpl, err := tiers[2].IndexTemplate()
	require.NoError(t, err)
	assert.Contains(t, string(tmpl), `"index_patterns": ["logs-audit.view_data-*"]`)
	assert.Contains(t, string(tmpl), `"name": "audit-view_data"`)
	assert.Contains(t, string(tmpl), `"parse_origination_date": true`)
	_, err = assets.Tier{Name: "x", Dataset: "a", DeleteAfter: `"`}.ILMPolicy()
	assert.Error(t, err, "a value that breaks the JSON is refused")
}

func mustPolicy(t *testing.T, tier assets.Tier) []byte {
	b, err := tier.ILMPolicy()
	require.NoError(t, err)
	return b
}

// A cluster that an earlier release wrote to has audit data streams under
// the events templates' patterns. Elasticsearch refuses a template that
// leaves a data stream without one, so the bootstrap first gives those
// streams a template of their own: writes go on, old events age out under
// the policy they had, new ones go to the events indices.
func TestUpgradeOverDataStreamsOfAnEarlierRelease(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	require.NoError(t, err)
	put := func(path, body string) int {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	// The earlier release: one data-stream template per tier, streams per namespace.
	require.Equal(t, 200, put("/_index_template/audit-default", `{"index_patterns":["logs-audit-*"],"data_stream":{},"priority":200}`))
	require.Equal(t, 200, put("/_data_stream/logs-audit-default", ""))
	require.Equal(t, 200, put("/_data_stream/logs-audit-org_7", ""))

	steps, err := Plan(tiers, "default")
	require.NoError(t, err)
	err = Apply(context.Background(), c, steps)
	require.ErrorContains(t, err, "would cause data streams", "without the legacy step, Elasticsearch refuses the new template")

	legacy, err := Legacy(context.Background(), c, tiers)
	require.NoError(t, err)
	require.Len(t, legacy, 2)
	assert.Equal(t, "PUT _index_template/audit-legacy-default (logs-audit-default, logs-audit-org_7)", legacy[1].Desc)
	require.NoError(t, Apply(context.Background(), c, WithLegacy(steps, legacy)))
	require.NoError(t, Apply(context.Background(), c, WithLegacy(steps, legacy)), "and again")

	resp, err := c.Bulk(strings.NewReader(`{"create":{"_index":"logs-audit-default","_id":"old"}}` + "\n" + `{"@timestamp":"2025-11-20T10:00:00Z"}` + "\n" +
		`{"create":{"_index":"logs-audit-default-2025.11.01","_id":"new"}}` + "\n" + `{"@timestamp":"2025-11-20T10:00:00Z"}` + "\n"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"old"}, es.IDs("logs-audit-default"), "the old stream still takes writes")
	assert.Equal(t, []string{"new"}, es.IDs("logs-audit-default-2025.11.01"))
	assert.True(t, es.Has("ilm", "audit-legacy-default"))
}
