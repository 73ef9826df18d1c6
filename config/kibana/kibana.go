// Package kibana embeds the Kibana assets `auditctl setup --kibana`
// installs: a data view over the audit indices, a saved search with the
// audit log's columns, Lens visualizations and a dashboard, and the time
// picker's quick ranges. Sources (elastic/kibana):
//   - saved objects import: core's saved-objects server routes/import.ts and
//     import/lib (a file field named *.ndjson; nothing is created when one
//     object has a conflict or a missing reference);
//   - type versions: each type's migrations and model versions
//     (data_views, saved_search, lens, dashboard saved_objects);
//   - timepicker:quickRanges: the data plugin's server/ui_settings.ts (type
//     json, its value a JSON string) and core-ui-settings-browser-internal's
//     ui_settings_client.ts (the browser JSON.parses that string);
//   - the settings API: core's ui-settings routes (POST /api/kibana/settings
//     with {"changes": …}; GET answers only user-set values).
package kibana

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// SavedObjects is the NDJSON for POST /api/saved_objects/_import.
//
//go:embed saved-objects.ndjson
var SavedObjects []byte

// OldestVersion is the oldest Kibana the saved objects import into.
const OldestVersion = "8.17.0"

// LatestTypeVersions are, for OldestVersion, the newest typeMigrationVersion
// each type we ship knows; an object claiming a newer one is refused with
// 422, so ours must not be newer.
var LatestTypeVersions = map[string]string{
	"index-pattern": "8.0.0",
	"search":        "10.5.0",
	"lens":          "8.9.0",
	"dashboard":     "10.2.0",
	"visualization": "8.5.0",
}

// CoreMigrationVersion is what every object carries (typeMigrationVersion
// replaced migrationVersion in 8.8.0).
const CoreMigrationVersion = "8.8.0"

// ImportResponse is the saved objects import answer.
type ImportResponse struct {
	Success      bool `json:"success"`
	SuccessCount int  `json:"successCount"`
	Errors       []struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Error struct {
			Type       string `json:"type"`
			Message    string `json:"message,omitempty"`
			References []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"references,omitempty"`
		} `json:"error"`
	} `json:"errors"`
}

// QuickRangesSetting is the advanced setting of the time picker's
// "Commonly used" ranges.
const QuickRangesSetting = "timepicker:quickRanges"

// QuickRange is one entry of the setting; Kibana's schema allows exactly
// these three keys.
type QuickRange struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Display string `json:"display"`
}

// QuickRanges are the seeds' date shortcuts: today, yesterday, and 2, 7,
// 30 and 90 days ago.
var QuickRanges = []QuickRange{
	{From: "now/d", To: "now/d", Display: "Today"},
	{From: "now-1d/d", To: "now-1d/d", Display: "Yesterday"},
	{From: "now-2d", To: "now", Display: "2 days ago"},
	{From: "now-7d", To: "now", Display: "7 days ago"},
	{From: "now-30d", To: "now", Display: "30 days ago"},
	{From: "now-90d", To: "now", Display: "90 days ago"},
}

// defaults8 is the setting's default in Kibana 8.x (the data plugin's
// ui_settings.ts); defaults9 adds the 9.x entries.
var defaults8 = []QuickRange{
	{"now/d", "now/d", "Today"}, {"now/w", "now/w", "This week"}, {"now-15m", "now", "Last 15 minutes"},
	{"now-30m", "now", "Last 30 minutes"}, {"now-1h", "now", "Last 1 hour"}, {"now-24h/h", "now", "Last 24 hours"},
	{"now-7d/d", "now", "Last 7 days"}, {"now-30d/d", "now", "Last 30 days"}, {"now-90d/d", "now", "Last 90 days"},
	{"now-1y/d", "now", "Last 1 year"},
}

var defaults9 = []QuickRange{
	{"now/d", "now/d", "Today"}, {"now-1d/d", "now-1d/d", "Yesterday"}, {"now-1m", "now", "Last 1 minute"},
	{"now-15m", "now", "Last 15 minutes"}, {"now-30m", "now", "Last 30 minutes"}, {"now-1h", "now", "Last 1 hour"},
	{"now-3h", "now", "Last 3 hours"}, {"now-12h", "now", "Last 12 hours"}, {"now-24h/h", "now", "Last 24 hours"},
	{"now-3d", "now", "Last 3 days"}, {"now-7d/d", "now", "Last 7 days"}, {"now-30d/d", "now", "Last 30 days"},
	{"now-90d/d", "now", "Last 90 days"}, {"now-1y/d", "now", "Last 1 year"}, {"now/w", "now/w", "This week"},
	{"now/w", "now", "This week until now"}, {"now/M", "now/M", "This month"}, {"now/M", "now", "This month until now"},
	{"now/y", "now/y", "This year"}, {"now/y", "now", "This year until now"},
}

// DefaultQuickRanges is Kibana's own default for a version ("8.17.0").
func DefaultQuickRanges(version string) []QuickRange {
	major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if major >= 9 {
		return append([]QuickRange(nil), defaults9...)
	}
	return append([]QuickRange(nil), defaults8...)
}

// MaxQuickRanges is the schema's bound on the list (self-managed Kibana;
// serverless has no settings API).
const MaxQuickRanges = 50

// AddQuickRanges appends ours that are not there yet (same from and to),
// keeping the existing ones and their order.
func AddQuickRanges(current []QuickRange) ([]QuickRange, bool) {
	out := append([]QuickRange(nil), current...)
	changed := false
	for _, q := range QuickRanges {
		found := false
		for _, c := range current {
			if c.From == q.From && c.To == q.To {
				found = true
				break
			}
		}
		if !found && len(out) < MaxQuickRanges {
			out = append(out, q)
			changed = true
		}
	}
	return out, changed
}

// ParseQuickRanges reads the setting's stored value: a JSON string holding
// the list (what the browser parses), or, as some clients stored it, the
// list itself.
func ParseQuickRanges(raw json.RawMessage) ([]QuickRange, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]QuickRange, 0, len(items))
	for i, it := range items {
		var q QuickRange
		for k, v := range it {
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				return nil, fmt.Errorf("entry %d: %s is not a string", i, k)
			}
			switch k {
			case "from":
				q.From = str
			case "to":
				q.To = str
			case "display":
				q.Display = str
			default:
				return nil, fmt.Errorf("entry %d: unknown key %q (Kibana allows from, to and display)", i, k)
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// QuickRangesValue is the value to send: the list as a JSON string.
func QuickRangesValue(ranges []QuickRange) (string, error) {
	b, err := json.MarshalIndent(ranges, "", "  ")
	return string(b), err
}
