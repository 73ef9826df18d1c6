// Package kibana embeds the Kibana assets `auditctl setup --kibana`
// installs: a data view over the audit data streams, a saved search with
// the audit log's columns, a dashboard, and the time picker's quick ranges.
package kibana

import _ "embed"

// SavedObjects is the NDJSON for POST /api/saved_objects/_import.
//
//go:embed saved-objects.ndjson
var SavedObjects []byte

// QuickRange is one entry of the timepicker:quickRanges advanced setting.
type QuickRange struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Display string `json:"display"`
}

// QuickRanges are the seeds' date shortcuts: Yesterday, 2, 7, 30 and 90
// days ago.
var QuickRanges = []QuickRange{
	{From: "now-1d/d", To: "now-1d/d", Display: "Yesterday"},
	{From: "now-2d", To: "now", Display: "2 days ago"},
	{From: "now-7d", To: "now", Display: "7 days ago"},
	{From: "now-30d", To: "now", Display: "30 days ago"},
	{From: "now-90d", To: "now", Display: "90 days ago"},
	{From: "now/d", To: "now/d", Display: "Today"},
}
