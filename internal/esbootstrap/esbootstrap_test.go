package esbootstrap

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

var tiers = []assets.Tier{
	{Name: "default", Dataset: "audit", DeleteAfter: "365d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
	{Name: "view_data", Dataset: "audit.view_data", DeleteAfter: "90d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
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
		"PUT _ilm/policy/audit-default", "PUT _ilm/policy/audit-view_data",
		"PUT _component_template/audit@mappings", "PUT _component_template/audit@settings",
		"PUT _index_template/audit-default", "PUT _index_template/audit-view_data",
		"PUT _data_stream/logs-audit-default", "PUT _data_stream/logs-audit.view_data-default",
	}, got, "policies and components before the templates that name them, templates before streams")
}

func TestApplyIsIdempotentAndReportsErrors(t *testing.T) {
	es := estest.New()
	srv := es.Start(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	require.NoError(t, err)
	steps, err := Plan(tiers, "default")
	require.NoError(t, err)
	require.NoError(t, Apply(context.Background(), c, steps))
	require.NoError(t, Apply(context.Background(), c, steps), "a second run succeeds: existing data streams are fine")
	assert.True(t, es.Has("data_stream", "logs-audit.view_data-default"))

	es.SetFaults(estest.Faults{Outage: "503"})
	err = Apply(context.Background(), c, steps)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PUT _ilm/policy/audit-default: Elasticsearch answered 503 cluster_block_exception")
}

func TestRenderedAssets(t *testing.T) {
	pol, err := tiers[1].ILMPolicy()
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
	tmpl, err := tiers[1].IndexTemplate()
	require.NoError(t, err)
	assert.Contains(t, string(tmpl), `"index_patterns": ["logs-audit.view_data-*"]`)
	assert.Contains(t, string(tmpl), `"name": "audit-view_data"`)
	_, err = assets.Tier{Name: "x", Dataset: "a", DeleteAfter: `"`}.ILMPolicy()
	assert.Error(t, err, "a value that breaks the JSON is refused")
}
