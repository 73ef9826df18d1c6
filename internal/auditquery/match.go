package auditquery

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
)

// Match applies the query to one event, with the semantics of the
// Elasticsearch query ES builds, for sources without Elasticsearch (the
// JSON-lines archive).
func (q Query) Match(r *auditcsv.Row) bool {
	e := &r.Event
	if !q.From.IsZero() && e.Time.Before(q.From) {
		return false
	}
	if !q.To.IsZero() && e.Time.After(q.To) {
		return false
	}
	if q.Text != "" {
		t := strings.ToLower(q.Text)
		found := false
		for _, v := range []string{e.ActorEmail, e.ActorName, e.Action, e.ResourceName, e.ResourceID, e.Message} {
			if strings.Contains(strings.ToLower(v), t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if q.User != "" {
		if strings.Contains(q.User, "@") {
			if e.ActorEmail != q.User {
				return false
			}
		} else if e.UserHash != q.User {
			return false
		}
	}
	switch {
	case q.Action != "" && e.Action != q.Action,
		q.Category != "" && !slices.Contains(r.Categories, q.Category),
		q.ResourceType != "" && e.ResourceType != q.ResourceType,
		q.ResourceID != "" && e.ResourceID != q.ResourceID,
		q.Outcome != "" && e.Outcome != q.Outcome,
		q.Quarantined && !r.Quarantined,
		q.Organization != "" && !InOrganization(e.Organization, q.Organization):
		return false
	}
	if q.IP != "" {
		prefix, err := netip.ParsePrefix(q.IP)
		if err != nil {
			a, _ := netip.ParseAddr(q.IP)
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		a, err := netip.ParseAddr(e.ClientIP)
		if err != nil || !prefix.Contains(a) {
			return false
		}
	}
	return true
}
