package auditevent

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The published JSON Schema and the decoder must agree on the fields.
func TestSchemaMatchesDecoder(t *testing.T) {
	raw, err := os.ReadFile("../../config/audit-event.schema.json")
	require.NoError(t, err)
	var schema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	assert.ElementsMatch(t, []string{"time", "action"}, schema.Required)

	// Every schema field (and sub-field) is accepted by the decoder...
	for name, p := range schema.Properties {
		probs := &Problems{}
		body := `{"time":1763805600,"action":"a","` + name + `":` + sample(name) + `}`
		if len(p.Properties) > 0 {
			var subs []string
			for sub := range p.Properties {
				subs = append(subs, `"`+sub+`":"x"`)
			}
			slices.Sort(subs)
			body = `{"time":1763805600,"action":"a","` + name + `":{` + strings.Join(subs, ",") + `}}`
		}
		require.NoError(t, decoder().DecodeJSON(strings.NewReader(body), plog.NewLogRecordSlice(), probs))
		for _, pr := range probs.List {
			assert.NotContains(t, pr.Reason, "unknown field", "schema field %s: %s", name, body)
		}
	}
	// ...and a field outside the schema is refused.
	probs := &Problems{}
	require.NoError(t, decoder().DecodeJSON(strings.NewReader(`{"time":1763805600,"action":"a","tenant":"x"}`), plog.NewLogRecordSlice(), probs))
	require.Equal(t, 1, probs.Len())
	assert.Contains(t, probs.List[0].Reason, "unknown field")
}

func sample(name string) string {
	switch name {
	case "time":
		return "1763805600"
	case "properties":
		return `{"k":"v"}`
	}
	return `"x"`
}
