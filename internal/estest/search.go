package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hit is a stored document prepared for searching; the source is parsed
// only when a query looks at a field, once, whichever search asks first
// (searches run outside the server's lock).
type hit struct {
	ix     *index
	doc    *document
	ts     int64 // @timestamp in nanoseconds
	sortTS int64 // @timestamp as a sort value: milliseconds for date, nanoseconds for date_nanos
	src    map[string]any
	parse  sync.Once
}

func (h *hit) source() map[string]any {
	h.parse.Do(func() {
		if h.doc.src != nil {
			_ = json.Unmarshal(h.doc.src, &h.src)
		}
	})
	return h.src
}

func (s *Server) hitOf(ix *index, d *document) *hit {
	if d.searched != nil && d.searched.ix == ix {
		return d.searched
	}
	h := &hit{ix: ix, doc: d, ts: d.ts}
	if h.ts == 0 {
		if v, ok := h.source()["@timestamp"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				h.ts = t.UnixNano()
			}
		}
	}
	h.sortTS = h.ts
	if f := ix.mapping.fieldType("@timestamp"); f == nil || f.typ == "date" {
		h.sortTS = h.ts / 1e6
	}
	d.searched = h
	return h
}

// pit is an open point in time: the documents visible when it opened.
type pit struct {
	hits    []*hit
	expires time.Time
	// sorted keeps each query and sort's matches: a point in time does not
	// change, so paging through it costs one sort, not one per page.
	sorted map[string][]*hit
}

// openPIT: POST <index>/_pit?keep_alive=…. Source:
// specification/_global/open_point_in_time (keep_alive is required).
func (s *Server) openPIT(c *call) {
	ka := c.query("keep_alive")
	if ka == "" {
		writeError(c.w, 400, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is not specified;")
		return
	}
	d, err := parseTimeValue("keep_alive", ka)
	if err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, ok := s.resolveFor(c, "indices:data/read/open_point_in_time", c.params["index"])
	if !ok {
		return
	}
	s.pitSeq++
	id := fmt.Sprintf("estest-pit-%d", s.pitSeq)
	now := s.clock()
	var hits []*hit
	for _, ix := range targets {
		for _, doc := range ix.searchable(now) {
			hits = append(hits, s.hitOf(ix, doc))
		}
	}
	s.pits[id] = &pit{hits: hits, expires: now.Add(d)}
	writeJSON(c.w, 200, map[string]any{"id": id, "_shards": map[string]any{"total": len(targets), "successful": len(targets), "skipped": 0, "failed": 0}})
}

// closePIT: DELETE /_pit. Answers 404 when nothing was freed. Source:
// ClosePointInTimeResponse.status.
func (s *Server) closePIT(c *call) {
	var req struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(c.body, &req)
	s.mu.Lock()
	_, ok := s.pits[req.ID]
	delete(s.pits, req.ID)
	s.mu.Unlock()
	n, code := 0, 404
	if ok {
		n, code = 1, 200
	}
	writeJSON(c.w, code, map[string]any{"succeeded": true, "num_freed": n})
}

// expirePITs drops every point in time, as their keep_alive running out
// would.
func (s *Server) expirePITs() {
	s.mu.Lock()
	clear(s.pits)
	s.mu.Unlock()
}

type searchRequest struct {
	Query          map[string]json.RawMessage `json:"query"`
	Size           *int                       `json:"size"`
	From           int                        `json:"from"`
	Sort           []json.RawMessage          `json:"sort"`
	SearchAfter    []json.RawMessage          `json:"search_after"`
	TrackTotalHits json.RawMessage            `json:"track_total_hits"`
	Pit            *struct {
		ID        string `json:"id"`
		KeepAlive string `json:"keep_alive"`
	} `json:"pit"`
}

type sortKey struct {
	field string
	desc  bool
}

func parseSort(raw []json.RawMessage) ([]sortKey, error) {
	var out []sortKey
	for _, r := range raw {
		var name string
		if json.Unmarshal(r, &name) == nil {
			out = append(out, sortKey{field: name, desc: name == "_score"})
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r, &m); err != nil || len(m) != 1 {
			return nil, fmt.Errorf("malformed sort")
		}
		for f, spec := range m {
			k := sortKey{field: f}
			var order string
			if json.Unmarshal(spec, &order) != nil {
				var o struct {
					Order string `json:"order"`
				}
				_ = json.Unmarshal(spec, &o)
				order = o.Order
			}
			k.desc = order == "desc"
			out = append(out, k)
		}
	}
	return out, nil
}

// sortValue is a hit's value for a sort key: int64 for dates and
// _shard_doc, string for keywords.
func (h *hit) sortValue(field string) any {
	switch field {
	case "@timestamp":
		return h.sortTS
	case "_shard_doc", "_doc":
		return h.doc.seq
	case "_index":
		// mapping-index-field.md: _index is a virtual keyword field that
		// queries, aggregations and sorts can use.
		return h.ix.name
	}
	for _, v := range values(h.source(), field, h.ix.mapping) {
		return fmt.Sprint(v)
	}
	return ""
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case int64:
		y, _ := b.(int64)
		return cmpInt(x, y)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseAfter(raw json.RawMessage, like any) any {
	if _, ok := like.(int64); ok {
		n, _ := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
		return n
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	return s
}

// search serves _search. Sources: specification/_global/search
// (SearchRequest.ts: track_total_hits defaults to 10000, pit, search_after),
// paginate-search-results.md (PIT searches add an implicit _shard_doc
// tiebreaker), RestSearchAction (no index with a PIT), and
// index.max_result_window (10000).
func (s *Server) search(c *call) {
	var req searchRequest
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := json.Unmarshal(c.body, &req); err != nil {
			writeError(c.w, 400, "parsing_exception", err.Error())
			return
		}
	}
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	if req.From+size > 10000 {
		writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("Result window is too large, from + size must be less than or equal to: [10000] but was [%d]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.", req.From+size))
		return
	}
	keys, err := parseSort(req.Sort)
	if err != nil {
		writeError(c.w, 400, "parsing_exception", err.Error())
		return
	}
	explicitShardDoc := slices.ContainsFunc(keys, func(k sortKey) bool { return k.field == "_shard_doc" })
	if explicitShardDoc && req.Pit == nil {
		writeError(c.w, 400, "action_request_validation_exception", "Validation Failed: 1: [_shard_doc] sort field cannot be used without [point in time];")
		return
	}
	s.mu.Lock()
	now := s.clock()
	var hits []*hit
	pitID := ""
	var thePit *pit
	if req.Pit != nil {
		if c.params["index"] != "" {
			s.mu.Unlock()
			writeError(c.w, 400, "action_request_validation_exception", "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;")
			return
		}
		p, ok := s.pits[req.Pit.ID]
		if ok && now.After(p.expires) {
			delete(s.pits, req.Pit.ID)
			ok = false
		}
		if !ok {
			s.mu.Unlock()
			// Source: SearchContextMissingException (404), wrapped as
			// search_phase_execution_exception "all shards failed".
			missing := map[string]any{"type": "search_context_missing_exception", "reason": "No search context found for id [" + req.Pit.ID + "]"}
			writeJSON(c.w, 404, map[string]any{"error": map[string]any{"root_cause": []any{missing}, "type": "search_phase_execution_exception",
				"reason": "all shards failed", "phase": "query", "grouped": true, "caused_by": missing}, "status": 404})
			return
		}
		if req.Pit.KeepAlive != "" {
			if d, err := parseTimeValue("keep_alive", req.Pit.KeepAlive); err == nil {
				p.expires = now.Add(d)
			}
		}
		hits, pitID, thePit = p.hits, req.Pit.ID, p
		if !explicitShardDoc {
			keys = append(keys, sortKey{field: "_shard_doc"})
		}
	} else {
		expr := c.params["index"]
		if expr == "" {
			expr = "_all"
		}
		targets, ok := s.resolveFor(c, "indices:data/read/search", expr)
		if !ok {
			s.mu.Unlock()
			return
		}
		for _, ix := range targets {
			for _, d := range ix.searchable(now) {
				hits = append(hits, s.hitOf(ix, d))
			}
		}
	}
	s.mu.Unlock()

	q, err := compile(req.Query)
	if err != nil {
		writeError(c.w, 400, "parsing_exception", err.Error())
		return
	}
	cacheKey := ""
	var matched []*hit
	cached := false
	if thePit != nil {
		qk, _ := json.Marshal(req.Query)
		cacheKey = fmt.Sprint(string(qk), keys)
		s.mu.Lock()
		matched, cached = thePit.sorted[cacheKey]
		s.mu.Unlock()
	}
	if !cached {
		for _, h := range hits {
			if q(h) {
				matched = append(matched, h)
			}
		}
		sortHits(matched, keys)
		if thePit != nil {
			s.mu.Lock()
			if thePit.sorted == nil {
				thePit.sorted = map[string][]*hit{}
			}
			thePit.sorted[cacheKey] = matched
			s.mu.Unlock()
		}
	}
	start := min(req.From, len(matched))
	if len(req.SearchAfter) > 0 {
		if len(req.SearchAfter) != len(keys) {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("search_after has %d value(s) but sort has %d.", len(req.SearchAfter), len(keys)))
			return
		}
		// matched is in sort order: the first hit after the values.
		start = sort.Search(len(matched), func(i int) bool { return afterCmp(matched[i], keys, req.SearchAfter) > 0 })
	}
	end := min(start+size, len(matched))
	out := make([]map[string]any, 0, end-start)
	var sources [][]byte
	for _, h := range matched[start:end] {
		src := json.RawMessage(h.doc.src)
		if h.ix.mode == "logsdb" && src != nil {
			src = synthetic(h.ix.mapping, src)
		}
		sortVals := make([]any, len(keys))
		for i, k := range keys {
			sortVals[i] = h.sortValue(k.field)
		}
		e := map[string]any{"_index": h.ix.name, "_id": h.doc.id, "_score": nil, "sort": sortVals}
		if src != nil {
			e["_source"] = sourcePlaceholder(len(sources))
			sources = append(sources, src)
		}
		out = append(out, e)
	}
	hitsObj := map[string]any{"max_score": nil, "hits": out}
	if total, ok := trackTotal(req.TrackTotalHits, len(matched)); ok {
		hitsObj["total"] = total
	}
	resp := map[string]any{"took": 1, "timed_out": false,
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}, "hits": hitsObj}
	if pitID != "" {
		resp["pit_id"] = pitID
	}
	writeWithSources(c.w, resp, sources)
}

// sourcePlaceholder stands for the i-th hit's _source until
// writeWithSources puts the stored bytes in its place.
func sourcePlaceholder(i int) string { return "\x00_source\x00" + strconv.Itoa(i) + "\x00" }

// writeWithSources answers with resp, each _source the bytes stored, as
// sent: in a standard-mode index the _source field is the original JSON
// document body passed at index time, returned as it is
// (mapping-reference/mapping-source-field.md; SourceFieldMapper stores the
// request's bytes). encoding/json would compact a json.RawMessage and
// escape <, > and & in it, which a hash of the document would catch.
func writeWithSources(w http.ResponseWriter, resp any, sources [][]byte) {
	if len(sources) == 0 {
		writeJSON(w, 200, resp)
		return
	}
	out, err := json.Marshal(resp)
	if err != nil {
		writeError(w, 500, "exception", err.Error())
		return
	}
	pos := 0
	for i, src := range sources {
		ph, _ := json.Marshal(sourcePlaceholder(i))
		j := bytes.Index(out[pos:], ph)
		if j < 0 {
			writeError(w, 500, "exception", "estest: lost a _source placeholder")
			return
		}
		j += pos
		out = append(out[:j], append(append([]byte(nil), src...), out[j+len(ph):]...)...)
		pos = j + len(src)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(200)
	_, _ = w.Write(append(out, '\n'))
}

// afterCmp compares a hit with search_after values in sort order: > 0
// when the hit comes after them.
func afterCmp(h *hit, keys []sortKey, after []json.RawMessage) int {
	for i, k := range keys {
		v := h.sortValue(k.field)
		c := compareValues(v, parseAfter(after[i], v))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// trackTotal renders hits.total: track_total_hits true counts exactly,
// false omits it, a number (10000 by default) counts up to it.
func trackTotal(raw json.RawMessage, n int) (map[string]any, bool) {
	limit := 10000
	switch s := string(raw); s {
	case "true":
		return map[string]any{"value": n, "relation": "eq"}, true
	case "false":
		return nil, false
	case "":
	default:
		limit, _ = strconv.Atoi(s)
	}
	if n > limit {
		return map[string]any{"value": limit, "relation": "gte"}, true
	}
	return map[string]any{"value": n, "relation": "eq"}, true
}

// count serves _count over the documents a search would see.
func (s *Server) countAPI(c *call) {
	var req struct {
		Query map[string]json.RawMessage `json:"query"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := json.Unmarshal(c.body, &req); err != nil {
			writeError(c.w, 400, "parsing_exception", err.Error())
			return
		}
	}
	q, err := compile(req.Query)
	if err != nil {
		writeError(c.w, 400, "parsing_exception", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, ok := s.resolveFor(c, "indices:data/read/search", c.params["index"])
	if !ok {
		return
	}
	n := 0
	now := s.clock()
	for _, ix := range targets {
		for _, d := range ix.searchable(now) {
			if req.Query == nil || q(s.hitOf(ix, d)) {
				n++
			}
		}
	}
	writeJSON(c.w, 200, map[string]any{"count": n, "_shards": map[string]any{"total": len(targets), "successful": len(targets), "skipped": 0, "failed": 0}})
}

type matcher func(*hit) bool

// compile turns the query subset auditctl uses into a matcher: match_all,
// bool (filter, must, should, must_not, minimum_should_match), term, terms,
// range, wildcard, exists and ids.
func compile(q map[string]json.RawMessage) (matcher, error) {
	if len(q) == 0 {
		return func(*hit) bool { return true }, nil
	}
	if len(q) != 1 {
		return nil, fmt.Errorf("[_na] query malformed, must have exactly one clause, found %d", len(q))
	}
	for kind, raw := range q {
		switch kind {
		case "match_all":
			return func(*hit) bool { return true }, nil
		case "bool":
			return compileBool(raw)
		case "ids":
			var ids struct {
				Values []string `json:"values"`
			}
			if err := json.Unmarshal(raw, &ids); err != nil {
				return nil, err
			}
			return func(h *hit) bool { return slices.Contains(ids.Values, h.doc.id) }, nil
		case "term", "terms", "range", "wildcard":
			return compileLeaf(kind, raw)
		case "exists":
			// query-dsl-exists-query.md: a document matches when the field
			// has an indexed value; null and [] are no value.
			var ex struct {
				Field string `json:"field"`
			}
			if err := json.Unmarshal(raw, &ex); err != nil || ex.Field == "" {
				return nil, fmt.Errorf("[exists] must be provided with a [field]")
			}
			return func(h *hit) bool { return len(values(h.source(), ex.Field, h.ix.mapping)) > 0 }, nil
		default:
			return nil, fmt.Errorf("unknown query [%s] (not part of the subset this test double speaks)", kind)
		}
	}
	return nil, nil
}

func compileBool(raw json.RawMessage) (matcher, error) {
	var generic map[string]json.RawMessage
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	clauses := map[string][]matcher{}
	for _, key := range []string{"filter", "must", "should", "must_not"} {
		v, ok := generic[key]
		if !ok {
			continue
		}
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			var one map[string]json.RawMessage
			if err2 := json.Unmarshal(v, &one); err2 != nil {
				return nil, err
			}
			list = []map[string]json.RawMessage{one}
		}
		for _, q := range list {
			m, err := compile(q)
			if err != nil {
				return nil, err
			}
			clauses[key] = append(clauses[key], m)
		}
	}
	msm := 0
	if v, ok := generic["minimum_should_match"]; ok {
		msm, _ = strconv.Atoi(strings.Trim(string(v), `"`))
	} else if len(clauses["filter"])+len(clauses["must"]) == 0 && len(clauses["should"]) > 0 {
		msm = 1
	}
	all := append(clauses["filter"], clauses["must"]...)
	return func(h *hit) bool {
		for _, m := range all {
			if !m(h) {
				return false
			}
		}
		for _, m := range clauses["must_not"] {
			if m(h) {
				return false
			}
		}
		n := 0
		for _, m := range clauses["should"] {
			if m(h) {
				n++
			}
		}
		return n >= msm
	}, nil
}

// values returns a field's values in the source: a dotted path, arrays
// flattened; a multi-field (user.email.wildcard) reads its parent's value.
func values(src map[string]any, field string, m *fieldMapping) []any {
	if m != nil {
		if f := m.fieldType(field); f != nil {
			parent := field[:max(strings.LastIndexByte(field, '.'), 0)]
			if pf := m.fieldType(parent); pf != nil && pf.fields != nil && pf.fields[field[len(parent)+1:]] == f {
				field = parent
			}
		}
	}
	var cur any = src
	for _, part := range strings.Split(field, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[part]
	}
	if arr, ok := cur.([]any); ok {
		return arr
	}
	if cur == nil {
		return nil
	}
	return []any{cur}
}

func compileLeaf(kind string, raw json.RawMessage) (matcher, error) {
	var byField map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byField); err != nil {
		return nil, err
	}
	if len(byField) != 1 {
		return nil, fmt.Errorf("[%s] query doesn't support multiple fields", kind)
	}
	for field, spec := range byField {
		switch kind {
		case "term":
			var v any
			var obj struct {
				Value           any  `json:"value"`
				CaseInsensitive bool `json:"case_insensitive"`
			}
			if json.Unmarshal(spec, &obj) == nil && obj.Value != nil {
				v = obj.Value
			} else {
				_ = json.Unmarshal(spec, &v)
			}
			want := fmt.Sprint(v)
			if field == "client.ip" {
				return ipMatcher(field, want)
			}
			return func(h *hit) bool {
				for _, x := range values(h.source(), field, h.ix.mapping) {
					if s := fmt.Sprint(x); s == want || obj.CaseInsensitive && strings.EqualFold(s, want) {
						return true
					}
				}
				return false
			}, nil
		case "terms":
			var vs []any
			if err := json.Unmarshal(spec, &vs); err != nil {
				return nil, err
			}
			set := map[string]bool{}
			for _, v := range vs {
				set[fmt.Sprint(v)] = true
			}
			return func(h *hit) bool {
				for _, x := range values(h.source(), field, h.ix.mapping) {
					if set[fmt.Sprint(x)] {
						return true
					}
				}
				return false
			}, nil
		case "range":
			if field != "@timestamp" {
				return nil, fmt.Errorf("the test double ranges only over @timestamp, not [%s]", field)
			}
			var r struct{ Gte, Lte, Gt, Lt string }
			if err := json.Unmarshal(spec, &r); err != nil {
				return nil, err
			}
			bound := func(s string) (int64, bool, error) {
				if s == "" {
					return 0, false, nil
				}
				t, err := time.Parse(time.RFC3339Nano, s)
				return t.UnixNano(), true, err
			}
			gte, hasGte, err1 := bound(r.Gte)
			lte, hasLte, err2 := bound(r.Lte)
			gt, hasGt, err3 := bound(r.Gt)
			lt, hasLt, err4 := bound(r.Lt)
			for _, e := range []error{err1, err2, err3, err4} {
				if e != nil {
					return nil, fmt.Errorf("failed to parse date field: %v", e)
				}
			}
			return func(h *hit) bool {
				return (!hasGte || h.ts >= gte) && (!hasLte || h.ts <= lte) && (!hasGt || h.ts > gt) && (!hasLt || h.ts < lt)
			}, nil
		case "wildcard":
			var w struct {
				Value           string `json:"value"`
				CaseInsensitive bool   `json:"case_insensitive"`
			}
			if err := json.Unmarshal(spec, &w); err != nil {
				return nil, err
			}
			re, err := wildcardRegexp(w.Value, w.CaseInsensitive)
			if err != nil {
				return nil, err
			}
			return func(h *hit) bool {
				for _, x := range values(h.source(), field, h.ix.mapping) {
					if s, ok := x.(string); ok && re.MatchString(s) {
						return true
					}
				}
				return false
			}, nil
		}
	}
	return nil, nil
}

func ipMatcher(field, want string) (matcher, error) {
	prefix, err := netip.ParsePrefix(want)
	if err != nil {
		addr, err2 := netip.ParseAddr(want)
		if err2 != nil {
			return nil, fmt.Errorf("'%s' is not an IP string literal", want)
		}
		prefix = netip.PrefixFrom(addr, addr.BitLen())
	}
	return func(h *hit) bool {
		for _, x := range values(h.source(), field, h.ix.mapping) {
			if s, ok := x.(string); ok {
				if a, err := netip.ParseAddr(s); err == nil && prefix.Contains(a) {
					return true
				}
			}
		}
		return false
	}, nil
}

// wildcardRegexp translates Elasticsearch wildcard syntax: * and ?, with
// backslash escapes.
func wildcardRegexp(p string, ci bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if ci {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(string(p[i])))
			}
		case '*':
			b.WriteString("(?s:.*)")
		case '?':
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// sortHits orders hits by keys, stably.
func sortHits(matched []*hit, keys []sortKey) {
	slices.SortStableFunc(matched, func(a, b *hit) int {
		for _, k := range keys {
			c := compareValues(a.sortValue(k.field), b.sortValue(k.field))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}
