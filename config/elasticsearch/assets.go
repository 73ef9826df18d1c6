// Package elasticsearch embeds the Elasticsearch assets of the audit store:
// the component templates (mapping, settings), and the ILM policy and index
// template that are stamped out once per retention tier. The exporter's
// bootstrap and `auditctl setup` both install exactly these.
package elasticsearch

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed *.json
var files embed.FS

// Component templates, by name.
var ComponentTemplates = []struct{ Name, File string }{
	{"audit@mappings", "component-template-mappings.json"},
	{"audit@settings", "component-template-settings.json"},
}

// Read returns one embedded file.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }

// Tier is one retention tier: its own data streams and ILM policy.
type Tier struct {
	Name    string // "default", "view_data", "quarantine", …
	Dataset string // "audit", "audit.view_data", …
	// DeleteAfter and Rollover* are Elasticsearch time and size units.
	DeleteAfter                 string
	RolloverMaxAge              string
	RolloverMaxPrimaryShardSize string
}

// PolicyName is the tier's ILM policy; TemplateName its index template.
func (t Tier) PolicyName() string   { return "audit-" + t.Name }
func (t Tier) TemplateName() string { return "audit-" + t.Name }

// IndexPattern matches the tier's data streams in every namespace.
func (t Tier) IndexPattern() string { return "logs-" + t.Dataset + "-*" }

// DataStream names the tier's stream in a namespace.
func (t Tier) DataStream(namespace string) string { return "logs-" + t.Dataset + "-" + namespace }

func (t Tier) render(file string) ([]byte, error) {
	raw, err := files.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer(
		"${TIER}", t.Name, "${INDEX_PATTERN}", t.IndexPattern(), "${ILM_POLICY}", t.PolicyName(),
		"${DELETE_AFTER}", t.DeleteAfter, "${ROLLOVER_MAX_AGE}", t.RolloverMaxAge,
		"${ROLLOVER_MAX_PRIMARY_SHARD_SIZE}", t.RolloverMaxPrimaryShardSize,
	)
	out := []byte(r.Replace(string(raw)))
	if !json.Valid(out) {
		return nil, fmt.Errorf("%s for tier %q is not valid JSON after substitution", file, t.Name)
	}
	if strings.Contains(string(out), "${") {
		return nil, fmt.Errorf("%s for tier %q has an unfilled placeholder", file, t.Name)
	}
	return out, nil
}

// ILMPolicy is the body of PUT _ilm/policy/<PolicyName>.
func (t Tier) ILMPolicy() ([]byte, error) { return t.render("ilm-policy.json") }

// IndexTemplate is the body of PUT _index_template/<TemplateName>.
func (t Tier) IndexTemplate() ([]byte, error) { return t.render("index-template.json") }

// MappedFields lists every leaf field of the audit mapping, dotted
// ("user.email"), so tests can check documents and saved objects against it.
func MappedFields() (map[string]bool, error) {
	raw, err := files.ReadFile("component-template-mappings.json")
	if err != nil {
		return nil, err
	}
	var tmpl struct {
		Template struct {
			Mappings struct {
				Properties map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for k, v := range props {
			if sub, ok := v.(map[string]any)["properties"].(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = true
		}
	}
	walk("", tmpl.Template.Mappings.Properties)
	return out, nil
}
