// Package elasticsearch embeds the Elasticsearch assets of the audit store:
// the component templates (mapping, settings), and the ILM policy and index
// template that are stamped out once per retention tier. The exporter's
// bootstrap and `auditctl setup` both install exactly these.
//
// Events live in concrete indices, one per tier, namespace and period of
// event time: logs-<dataset>-<namespace>-<yyyy.MM.dd>, the date being the
// period's first day. The same event always lands in the same index, so a
// create with its _id is refused as a duplicate however late it is resent;
// and ILM counts retention from that date
// (index.lifecycle.parse_origination_date), not from when the index was
// written. Dead letters go to one data stream that bootstrap creates, and
// so do the tamper-evidence digests (logs-<dataset>.digest-<namespace>).
package elasticsearch

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed *.json
var files embed.FS

// Component templates, by name.
var ComponentTemplates = []struct{ Name, File string }{
	{"audit@mappings", "component-template-mappings.json"},
	{"audit@settings", "component-template-settings.json"},
}

// Roles are the least-privilege roles `auditctl setup` installs, by name.
var Roles = []struct{ Name, File string }{
	{"otelcol_audit_writer", "role-writer.json"},
	{"audit_log_reader", "role-reader.json"},
}

// IndexPatterns are every audit index and data stream that holds events:
// the events tiers' indices and the dead-letter stream, and nothing of
// another dataset (logs-audit*-* would also take Elastic's
// logs-auditd.log-*). The digest streams are excluded: they are not
// events. A leading '-' excludes what the patterns before it matched
// (multi-target syntax, Elasticsearch's api-conventions docs; a Kibana data
// view title takes the same syntax).
var IndexPatterns = []string{"logs-audit-*", "logs-audit.*-*", "-" + DigestPattern("audit")}

// DigestTierName names the digest tier: its dataset is <dataset>.digest, so
// no retention tier may take the name. Its template
// (index-template-digest.json) sets index.mode standard: since 9.0 new
// logs-*-* data streams default to logsdb (docs: manage-data/data-store/
// data-streams/logs-data-stream.md), whose synthetic _source would not be
// the bytes the digests hash.
const DigestTierName = "digest"

// DigestPattern matches the digest data streams of a dataset in every
// namespace.
func DigestPattern(dataset string) string { return "logs-" + dataset + "." + DigestTierName + "-*" }

// Namespace makes s a valid namespace in an index name, as the exporter
// does with namespace_attribute: lower case, and '_' for '-', spaces,
// control characters and \/*?"<>|,#:; leading '_', '+' and '.' dropped; at
// most 100 bytes. It returns def when nothing is left.
func Namespace(s, def string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case strings.ContainsRune(`-\/*?"<>|,#: `, r) || r < 0x20:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimLeft(b.String(), "_+.")
	if len(out) > 100 {
		out = strings.ToValidUTF8(out[:100], "")
	}
	if out == "" {
		return def
	}
	return out
}

// TenantIndexPatterns are the events indices of one namespace, every tier
// and the quarantine: logs-<dataset>-<ns>-* and logs-<dataset>.*-<ns>-*.
// Neither dataset, tier nor namespace holds '-', so no other namespace's
// index matches, and neither do the dead-letter and digest data streams
// (no date after the namespace).
func TenantIndexPatterns(dataset, ns string) []string {
	return []string{"logs-" + dataset + "-" + ns + "-*", "logs-" + dataset + ".*-" + ns + "-*"}
}

// Read returns one embedded file.
func Read(name string) ([]byte, error) { return files.ReadFile(name) }

// Period is how much event time one events index holds.
type Period string

// The periods. Shorter periods keep retention tighter and make more indices.
const (
	Day   Period = "day"
	Week  Period = "week"
	Month Period = "month"
)

// Periods lists the valid periods.
var Periods = []Period{Day, Week, Month}

// Start is the first instant of the period holding t (UTC; weeks start on
// Monday).
func (p Period) Start(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	switch p {
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case Week:
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// MaxLength is the longest a period can be.
func (p Period) MaxLength() time.Duration {
	switch p {
	case Month:
		return 31 * 24 * time.Hour
	case Week:
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Tier is one retention tier: its own indices and ILM policy.
type Tier struct {
	Name    string // "default", "view_data", "quarantine", "deadletter"…
	Dataset string // "audit", "audit.view_data", …
	// DeleteAfter is an Elasticsearch time unit: how long an event is kept.
	DeleteAfter string
	// Period is the event time one index holds; empty for the dead-letter
	// and digest tiers, which are data streams.
	Period Period
	// Rollover* apply to the data streams.
	RolloverMaxAge              string
	RolloverMaxPrimaryShardSize string
}

// DataStream reports whether the tier is a data stream (dead letters,
// digests).
func (t Tier) DataStream() bool { return t.Period == "" }

// PolicyName is the tier's ILM policy; TemplateName its index template.
func (t Tier) PolicyName() string   { return "audit-" + t.Name }
func (t Tier) TemplateName() string { return "audit-" + t.Name }

// IndexPattern matches the tier's indices (or data streams) in every
// namespace: logs-audit-* or logs-audit.<tier>-*, never another dataset
// such as logs-auditd.log-*.
func (t Tier) IndexPattern() string { return "logs-" + t.Dataset + "-*" }

// StreamName names a data-stream tier's stream in a namespace.
func (t Tier) StreamName(namespace string) string { return "logs-" + t.Dataset + "-" + namespace }

// IndexName names the events index holding event time ts.
func (t Tier) IndexName(namespace string, ts time.Time) string {
	return "logs-" + t.Dataset + "-" + namespace + "-" + t.Period.Start(ts).Format("2006.01.02")
}

// DeleteMinAge is the delete phase's min_age: counted from the period's
// first day, an event is kept at least DeleteAfter and less than
// DeleteAfter plus one period. For a data stream it is DeleteAfter,
// counted from rollover.
func (t Tier) DeleteMinAge() (string, error) {
	d, err := Duration(t.DeleteAfter)
	if err != nil {
		return "", err
	}
	if t.DataStream() {
		return t.DeleteAfter, nil
	}
	return FormatDuration(d + t.Period.MaxLength()), nil
}

var timeUnit = regexp.MustCompile(`^([0-9]+)(d|h|m|s|ms|micros|nanos)$`)

var units = map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second,
	"ms": time.Millisecond, "micros": time.Microsecond, "nanos": time.Nanosecond}

// Duration parses an Elasticsearch time unit (90d, 12h, 30m; TimeValue's
// units, without fractions).
func Duration(s string) (time.Duration, error) {
	m := timeUnit.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not an Elasticsearch time unit such as 90d, 400d or 12h", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 || n > int64(1<<62)/int64(units[m[2]]) {
		return 0, fmt.Errorf("%q is not a positive time within range", s)
	}
	return time.Duration(n) * units[m[2]], nil
}

// FormatDuration writes d in the largest Elasticsearch unit that holds it
// exactly.
func FormatDuration(d time.Duration) string {
	for _, u := range []string{"d", "h", "m", "s", "ms", "micros"} {
		if d%units[u] == 0 {
			return strconv.FormatInt(int64(d/units[u]), 10) + u
		}
	}
	return strconv.FormatInt(int64(d), 10) + "nanos"
}

func (t Tier) render(file string) ([]byte, error) {
	raw, err := files.ReadFile(file)
	if err != nil {
		return nil, err
	}
	minAge, err := t.DeleteMinAge()
	if err != nil {
		return nil, fmt.Errorf("tier %q: delete after %w", t.Name, err)
	}
	r := strings.NewReplacer(
		"${TIER}", t.Name, "${INDEX_PATTERN}", t.IndexPattern(), "${ILM_POLICY}", t.PolicyName(),
		"${DELETE_AFTER}", t.DeleteAfter, "${DELETE_MIN_AGE}", minAge, "${PERIOD}", string(t.Period),
		"${ROLLOVER_MAX_AGE}", t.RolloverMaxAge, "${ROLLOVER_MAX_PRIMARY_SHARD_SIZE}", t.RolloverMaxPrimaryShardSize,
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

func (t Tier) kind() string {
	if t.Name == DigestTierName {
		return "digest"
	}
	if t.DataStream() {
		return "deadletter"
	}
	return "events"
}

// LegacyName names the policy and template that keep an earlier
// release's data streams of this tier (see esbootstrap.Legacy).
func (t Tier) LegacyName() string { return "audit-legacy-" + t.Name }

// LegacyPolicy is the rollover policy those data streams keep: rollover,
// then delete DeleteAfter after it, as before.
func (t Tier) LegacyPolicy() ([]byte, error) {
	legacy := t
	legacy.Period = ""
	return legacy.render("ilm-policy-deadletter.json")
}

// LegacyTemplate matches exactly the given data streams, above the events
// template (priority 250), so they keep a data-stream template.
func (t Tier) LegacyTemplate(streams []string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"_meta":          map[string]any{"managed_by": "otelcol-audit", "tier": t.Name, "description": "data streams of an earlier release, kept until they age out"},
		"index_patterns": streams, "data_stream": map[string]any{}, "priority": 250, "allow_auto_create": true,
		"composed_of": []string{"audit@mappings", "audit@settings"},
		"template":    map[string]any{"settings": map[string]any{"index": map[string]any{"lifecycle": map[string]any{"name": t.LegacyName()}}}},
	})
}

// ILMPolicy is the body of PUT _ilm/policy/<PolicyName>.
func (t Tier) ILMPolicy() ([]byte, error) { return t.render("ilm-policy-" + t.kind() + ".json") }

// IndexTemplate is the body of PUT _index_template/<TemplateName>.
func (t Tier) IndexTemplate() ([]byte, error) {
	return t.render("index-template-" + t.kind() + ".json")
}

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
			if multi, ok := v.(map[string]any)["fields"].(map[string]any); ok {
				for mf := range multi {
					out[prefix+k+"."+mf] = true
				}
			}
		}
	}
	walk("", tmpl.Template.Mappings.Properties)
	return out, nil
}
