package elasticsearch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Exact-match fields are keyword (wildcard is for leading-wildcard search
// on high-cardinality fields, and slower for exact matches); those the
// search bar matches by partial text add a wildcard multi-field.
func TestExactMatchFieldsAreKeyword(t *testing.T) {
	raw, err := Read("component-template-mappings.json")
	require.NoError(t, err)
	var m struct {
		Template struct {
			Mappings struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	field := func(path ...string) map[string]any {
		props := m.Template.Mappings.Properties
		var f map[string]any
		for i, p := range path {
			require.NoError(t, json.Unmarshal(props[p], &f), "%v", path)
			if i < len(path)-1 {
				sub, _ := json.Marshal(f["properties"])
				props = nil
				require.NoError(t, json.Unmarshal(sub, &props))
			}
		}
		return f
	}
	for _, path := range [][]string{{"event", "action"}, {"user", "email"}, {"user", "name"}, {"audit", "resource", "id"}, {"audit", "resource", "name"}} {
		f := field(path...)
		assert.Equal(t, "keyword", f["type"], "%v", path)
		assert.Equal(t, map[string]any{"wildcard": map[string]any{"type": "wildcard"}}, f["fields"], "%v", path)
	}
	for _, path := range [][]string{{"event", "id"}, {"user", "hash"}, {"client", "address"}, {"organization", "id"}, {"event", "outcome"}} {
		assert.Equal(t, "keyword", field(path...)["type"], "%v", path)
	}
}

func TestPeriodsAndIndexNames(t *testing.T) {
	thu := time.Date(2025, 11, 20, 23, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		p    Period
		want string
		len  time.Duration
	}{
		{Day, "logs-audit-acme-2025.11.20", 24 * time.Hour},
		{Week, "logs-audit-acme-2025.11.17", 7 * 24 * time.Hour},
		{Month, "logs-audit-acme-2025.11.01", 31 * 24 * time.Hour},
	} {
		tier := Tier{Name: "default", Dataset: "audit", DeleteAfter: "90d", Period: tc.p}
		assert.Equal(t, tc.want, tier.IndexName("acme", thu))
		assert.Equal(t, tc.len, tc.p.MaxLength())
		minAge, err := tier.DeleteMinAge()
		require.NoError(t, err)
		d, err := Duration(minAge)
		require.NoError(t, err)
		assert.Equal(t, 90*24*time.Hour+tc.len, d, "kept at least 90 days counted from the period's first day")
	}
	dl := Tier{Name: "deadletter", Dataset: "audit.deadletter", DeleteAfter: "90d"}
	assert.True(t, dl.DataStream())
	minAge, err := dl.DeleteMinAge()
	require.NoError(t, err)
	assert.Equal(t, "90d", minAge, "a data stream's age counts from rollover")
	for _, bad := range []string{"90 days", "1w", "0d", "1.5d", "-1d", ""} {
		_, err := Duration(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, "36h", FormatDuration(36*time.Hour))
	assert.Equal(t, "121d", FormatDuration(121*24*time.Hour))
}

// The digest tier is a data stream with its own mapping, in standard mode
// (logsdb would synthesize _source, which the digests hash), kept
// DeleteAfter past rollover.
func TestDigestTier(t *testing.T) {
	tier := Tier{Name: DigestTierName, Dataset: "audit.digest", DeleteAfter: "462d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"}
	require.True(t, tier.DataStream())
	assert.Equal(t, "logs-audit.digest-default", tier.StreamName("default"))
	assert.Equal(t, "audit-digest", tier.TemplateName())
	raw, err := tier.IndexTemplate()
	require.NoError(t, err)
	var tmpl struct {
		IndexPatterns []string       `json:"index_patterns"`
		DataStream    map[string]any `json:"data_stream"`
		ComposedOf    []string       `json:"composed_of"`
		Template      struct {
			Settings struct {
				Index struct {
					Mode      string            `json:"mode"`
					Lifecycle map[string]string `json:"lifecycle"`
				} `json:"index"`
			} `json:"settings"`
			Mappings struct {
				Properties map[string]struct {
					Type       string                    `json:"type"`
					Index      *bool                     `json:"index"`
					Properties map[string]map[string]any `json:"properties"`
				} `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(raw, &tmpl))
	assert.Equal(t, []string{"logs-audit.digest-*"}, tmpl.IndexPatterns)
	assert.Equal(t, DigestPattern("audit"), tmpl.IndexPatterns[0])
	assert.NotNil(t, tmpl.DataStream)
	assert.Empty(t, tmpl.ComposedOf, "not the events mapping")
	assert.Equal(t, "standard", tmpl.Template.Settings.Index.Mode)
	assert.Equal(t, "audit-digest", tmpl.Template.Settings.Index.Lifecycle["name"])
	props := tmpl.Template.Mappings.Properties
	assert.Equal(t, "date_nanos", props["@timestamp"].Type)
	d := props["digest"].Properties
	for field, typ := range map[string]string{"chain": "keyword", "seq": "long", "from": "date_nanos", "to": "date_nanos", "count": "long",
		"key_id": "keyword", "final": "boolean", "previous": "keyword", "version": "integer", "events": "object"} {
		assert.Equal(t, typ, d[field]["type"], field)
	}
	assert.Equal(t, false, d["events"]["enabled"])
	require.NotNil(t, props["signature"].Index)
	assert.False(t, *props["signature"].Index)

	policy, err := tier.ILMPolicy()
	require.NoError(t, err)
	assert.Contains(t, string(policy), `"min_age": "462d"`)
	assert.Contains(t, string(policy), `"max_age": "30d"`)
}
