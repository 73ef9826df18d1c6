package auditapi

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// FilterParams are the query parameters that pick events, on every
// endpoint that returns them (openapi.yaml; TestOpenAPIMatchesHandlers).
var FilterParams = []string{"q", "since", "from", "to", "tz", "action", "user", "resource", "category", "outcome", "ip", "quarantined"}

// PageParams page a list.
var PageParams = []string{"page_size", "cursor"}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
	// maxParamBytes bounds one parameter's value.
	maxParamBytes = 256
	// maxCursorBytes bounds a cursor: a key, a digest and a MAC.
	maxCursorBytes = 2048
)

// The times a cursor can carry: Unix nanoseconds in an int64.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC().Truncate(24 * time.Hour)
)

// request is what a list or export call asks: the query, the page, the
// raw filters (which a cursor is bound to).
type request struct {
	query    auditquery.Query
	pageSize int
	cursor   string
	format   string
	since    bool // the window is relative to now: a cursor carries it
}

// parseRequest reads the parameters an endpoint allows. Anything else,
// repeated, over-long or malformed is refused, naming the parameter.
func parseRequest(v url.Values, allowed []string, now time.Time) (request, *apiError) {
	r := request{pageSize: DefaultPageSize}
	for k, vals := range v {
		if !slices.Contains(allowed, k) {
			return r, badFilter(k, fmt.Sprintf("unknown parameter %q; this endpoint takes %s", k, strings.Join(allowed, ", ")))
		}
		if len(vals) != 1 {
			return r, badFilter(k, fmt.Sprintf("%s is given %d times; give it once", k, len(vals)))
		}
		limit := maxParamBytes
		if k == "cursor" {
			limit = maxCursorBytes
		}
		if len(vals[0]) > limit {
			return r, badFilter(k, fmt.Sprintf("%s is %d bytes long; at most %d", k, len(vals[0]), limit))
		}
		if !utf8.ValidString(vals[0]) || strings.ContainsFunc(vals[0], isControl) {
			return r, badFilter(k, k+" holds invalid UTF-8 or control characters")
		}
	}
	get := v.Get
	loc := time.UTC
	if tz := get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return r, badFilter("tz", fmt.Sprintf("tz %q is not an IANA time zone such as Europe/Berlin or UTC", tz))
		}
		loc = l
	}
	q := &r.query
	q.Text, q.Action, q.User, q.Category, q.Outcome, q.IP = get("q"), get("action"), get("user"), get("category"), get("outcome"), get("ip")
	if s := get("since"); s != "" {
		if get("from") != "" {
			return r, badFilter("since", "give since or from, not both")
		}
		t, err := auditquery.ParseSince(s, now, loc)
		if err != nil {
			return r, badFilter("since", flagless(err))
		}
		q.From, r.since = t, true
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := get(f.name); s != "" {
			t, err := auditquery.ParseTime(f.name, s, loc)
			if err != nil {
				return r, badFilter(f.name, flagless(err))
			}
			*f.dst = t
		}
	}
	if s := get("resource"); s != "" {
		typ, id, err := auditquery.ParseResource(s)
		if err != nil {
			return r, badFilter("resource", flagless(err))
		}
		q.ResourceType, q.ResourceID = typ, id
	}
	switch s := get("quarantined"); s {
	case "", "false":
	case "true":
		q.Quarantined = true
	default:
		return r, badFilter("quarantined", "quarantined is true or false")
	}
	if s := get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return r, badFilter("page_size", fmt.Sprintf("page_size %q: a whole number from 1 to %d", s, MaxPageSize))
		}
		r.pageSize = n
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"since", q.From}, {"from", q.From}, {"to", q.To}} {
		if !f.t.IsZero() && (f.t.Before(minTime) || f.t.After(maxTime)) && (f.name != "since" || r.since) && (f.name != "from" || !r.since) {
			return r, badFilter(f.name, fmt.Sprintf("%s is %s, outside the times this API pages over (%s to %s)", f.name, f.t.UTC().Format(time.RFC3339), minTime.Format("2006-01-02"), maxTime.Format("2006-01-02")))
		}
	}
	r.cursor = get("cursor")
	r.format = get("format")
	if err := q.Validate(); err != nil {
		return r, badFilter(fieldOf(err.Error()), flagless(err))
	}
	return r, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// flagless speaks of parameters, not the CLI's flags.
func flagless(err error) string {
	s := strings.ReplaceAll(err.Error(), "--", "")
	return strings.Replace(s, "free text", "q", 1)
}

// fieldOf names the parameter a query error is about.
func fieldOf(msg string) string {
	for _, p := range FilterParams {
		if strings.HasPrefix(msg, "--"+p) {
			return p
		}
	}
	if strings.HasPrefix(msg, "free text") {
		return "q"
	}
	return ""
}
