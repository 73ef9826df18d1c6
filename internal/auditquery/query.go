// Package auditquery is what `auditctl search` and `export` ask: a time
// range, free text and filters. It renders the Elasticsearch request body
// with go-elasticsearch's typed API structs, and matches archived events
// with the same semantics when there is no Elasticsearch.
package auditquery

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Query is one search.
type Query struct {
	From, To time.Time // zero means open
	// Text is a case-insensitive partial match over the user, action,
	// resource and message, like the seeds' search bar.
	Text string
	// User is a masked address (***@example.com) or a user.hash pseudonym.
	User         string
	Action       string
	Category     string
	ResourceType string
	ResourceID   string
	Outcome      string
	// IP is an address or a CIDR prefix.
	IP string
	// Quarantined keeps only the events the processor quarantined
	// (audit.route: quarantine), such as unknown actions.
	Quarantined bool
	// Organization keeps one tenant's events (organization.id); the
	// default organization also owns the events that carry none.
	Organization string
}

// DefaultOrganization owns the events without organization.id.
const DefaultOrganization = "default"

// InOrganization reports whether an event's organization.id belongs to org.
func InOrganization(eventOrg, org string) bool {
	return eventOrg == org || (eventOrg == "" && org == DefaultOrganization)
}

// TextFields are the fields the free text looks in: the wildcard
// multi-fields of keyword fields (a leading-wildcard query on a keyword
// scans its whole terms dictionary), and message, mapped as wildcard.
var TextFields = []string{"user.email.wildcard", "user.name.wildcard", "event.action.wildcard", "audit.resource.name.wildcard", "audit.resource.id.wildcard", "message"}

// ParseSince reads --since: "yesterday" (from the start of yesterday in
// loc), "2d", "7d", "30d", "90d", any N followed by d, or a Go duration.
func ParseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch {
	case s == "yesterday":
		y, m, d := now.In(loc).AddDate(0, 0, -1).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	case strings.HasSuffix(s, "d"):
		// At most 100 000 days: past that AddDate's arithmetic overflows.
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n > 0 && n <= 100_000 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--since %q: use yesterday, 2d, 7d, 30d, 90d, or a duration such as 12h", s)
	}
	return now.Add(-d), nil
}

// ParseTime reads --from and --to: RFC 3339, or a plain date (midnight in loc).
func ParseTime(flag, s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: use RFC 3339 (2025-11-20T10:00:00Z) or a date (2025-11-20)", flag, s)
}

// ParseResource reads --resource: TYPE, or TYPE:ID (the id may hold
// colons). An empty type or id is refused: "", ":" or "TYPE:" would
// otherwise filter on nothing and match every event.
func ParseResource(s string) (typ, id string, err error) {
	typ, id, hasID := strings.Cut(s, ":")
	if strings.TrimSpace(typ) == "" || (hasID && strings.TrimSpace(id) == "") {
		return "", "", fmt.Errorf("--resource %q: use TYPE or TYPE:ID, e.g. notebook or notebook:nb-42; leave the flag out to match every resource", s)
	}
	return typ, id, nil
}

// Outcomes are the values event.outcome holds (the processor maps what
// senders say onto them).
var Outcomes = []string{"success", "failure", "unknown"}

// Validate checks the filters' forms. A filter that is blank, or that
// cannot match by its form, is refused rather than run: it would match
// every event, or none, without saying so.
func (q Query) Validate() error {
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return fmt.Errorf("--to %s is before --from %s", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	for _, f := range []struct{ name, v string }{
		{"free text", q.Text}, {"--user", q.User}, {"--action", q.Action}, {"--category", q.Category},
		{"--resource", q.ResourceType}, {"--resource", q.ResourceID}, {"--outcome", q.Outcome}, {"--ip", q.IP},
	} {
		if f.v != "" && strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s %q is blank: give a value, or leave it out to match every event", f.name, f.v)
		}
	}
	if q.Outcome != "" && !slices.Contains(Outcomes, q.Outcome) {
		return fmt.Errorf("--outcome %q: use success, failure or unknown", q.Outcome)
	}
	if q.IP != "" {
		if err := validIP(q.IP); err != nil {
			return err
		}
	}
	if q.ResourceID != "" && q.ResourceType == "" {
		return fmt.Errorf("--resource: give the type before the id, as TYPE:ID")
	}
	return nil
}

func validIP(s string) error {
	form := fmt.Errorf("--ip %q: use an address (203.0.113.7, 2001:db8::1) or a prefix (203.0.113.0/24)", s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return form
		}
		if p.Masked() != p {
			return fmt.Errorf("--ip %q: the prefix has bits set past /%d; use %s", s, p.Bits(), p.Masked())
		}
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return form
	}
	return nil
}

func term(field, v string) types.Query {
	return types.Query{Term: map[string]types.TermQuery{field: {Value: v}}}
}

// escapeWildcard keeps user text literal inside a wildcard pattern.
func escapeWildcard(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}

// ES is the Elasticsearch query.
func (q Query) ES() types.Query {
	var filter []types.Query
	if !q.From.IsZero() || !q.To.IsZero() {
		r := types.DateRangeQuery{}
		if !q.From.IsZero() {
			s := q.From.UTC().Format(time.RFC3339Nano)
			r.Gte = &s
		}
		if !q.To.IsZero() {
			s := q.To.UTC().Format(time.RFC3339Nano)
			r.Lte = &s
		}
		filter = append(filter, types.Query{Range: map[string]types.RangeQuery{"@timestamp": r}})
	}
	if q.Text != "" {
		ci := true
		pattern := "*" + escapeWildcard(q.Text) + "*"
		var should []types.Query
		for _, f := range TextFields {
			p := pattern
			should = append(should, types.Query{Wildcard: map[string]types.WildcardQuery{f: {Value: &p, CaseInsensitive: &ci}}})
		}
		one := types.MinimumShouldMatch(1)
		filter = append(filter, types.Query{Bool: &types.BoolQuery{Should: should, MinimumShouldMatch: one}})
	}
	if q.User != "" {
		if strings.Contains(q.User, "@") {
			filter = append(filter, term("user.email", q.User))
		} else {
			filter = append(filter, term("user.hash", q.User))
		}
	}
	for _, f := range []struct{ field, v string }{
		{"event.action", q.Action}, {"audit.categories", q.Category}, {"audit.resource.type", q.ResourceType},
		{"audit.resource.id", q.ResourceID}, {"event.outcome", q.Outcome}, {"client.ip", q.IP},
	} {
		if f.v != "" {
			filter = append(filter, term(f.field, f.v))
		}
	}
	if q.Quarantined {
		filter = append(filter, term(fields.AuditRoute, fields.RouteQuarantine))
	}
	switch q.Organization {
	case "":
	case DefaultOrganization:
		// organization.id is "default", or absent.
		one := types.MinimumShouldMatch(1)
		missing := types.Query{Bool: &types.BoolQuery{MustNot: []types.Query{{Exists: &types.ExistsQuery{Field: fields.Organization}}}}}
		filter = append(filter, types.Query{Bool: &types.BoolQuery{Should: []types.Query{term(fields.Organization, q.Organization), missing}, MinimumShouldMatch: one}})
	default:
		filter = append(filter, term(fields.Organization, q.Organization))
	}
	if len(filter) == 0 {
		return types.Query{MatchAll: &types.MatchAllQuery{}}
	}
	return types.Query{Bool: &types.BoolQuery{Filter: filter}}
}

// Sort is newest first. Under a point in time, ties are broken by
// _shard_doc, which is unique (paginate-search-results.md); event.id is
// not (one id may sit in two tiers' indices), so it only orders a single
// page without a point in time.
func Sort(pit bool) []types.SortCombinations {
	tie := "event.id"
	if pit {
		tie = "_shard_doc"
	}
	return []types.SortCombinations{
		types.SortOptions{SortOptions: map[string]types.FieldSort{"@timestamp": {Order: &sortorder.Desc}}},
		types.SortOptions{SortOptions: map[string]types.FieldSort{tie: {Order: &sortorder.Desc}}},
	}
}

// PITKeepAlive is how long a point in time lives between two pages.
const PITKeepAlive = "2m"

// Body is one search request body: size hits after the sort values after
// (nil for the first page), within the point in time pit when set. Only
// the first page counts the total hits exactly; later pages skip it, which
// also lets search_after on _shard_doc stop early.
func (q Query) Body(size int, after []json.RawMessage, pit string) ([]byte, error) {
	es := q.ES()
	req := search.Request{Query: &es, Size: &size, Sort: Sort(pit != "")}
	for _, a := range after {
		req.SearchAfter = append(req.SearchAfter, types.FieldValue(a))
	}
	if pit != "" {
		req.Pit = &types.PointInTimeReference{Id: pit, KeepAlive: PITKeepAlive}
	}
	req.TrackTotalHits = types.TrackHits(len(after) == 0)
	return json.Marshal(req)
}
