package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// hit is a stored document prepared for searching. The source is parsed
// only when a query looks at fields other than @timestamp, so a 1M-document
// export needs no parsed copies.
type hit struct {
	index, id string
	ts        int64 // @timestamp in nanoseconds
	src       map[string]any
	parsed    bool
	raw       []byte
}

func (h *hit) source() map[string]any {
	if !h.parsed {
		h.parsed = true
		_ = json.Unmarshal(h.raw, &h.src)
	}
	return h.src
}

type pit struct {
	pattern string
	docs    []*hit // sorted newest first, then id descending
}

// openPIT snapshots the documents of the streams matching pattern.
func (s *Server) openPIT(w http.ResponseWriter, pattern string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pits == nil {
		s.pits = map[string]*pit{}
	}
	s.pitSeq++
	id := fmt.Sprintf("estest-pit-%d", s.pitSeq)
	s.pits[id] = &pit{pattern: pattern, docs: s.snapshot(pattern)}
	writeJSON(w, 200, map[string]any{"id": id, "_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
}

func (s *Server) closePIT(w http.ResponseWriter, body []byte) {
	var req struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	_, ok := s.pits[req.ID]
	delete(s.pits, req.ID)
	s.mu.Unlock()
	n := 0
	if ok {
		n = 1
	}
	writeJSON(w, 200, map[string]any{"succeeded": true, "num_freed": n})
}

// snapshot collects and sorts documents; the caller holds s.mu.
func (s *Server) snapshot(pattern string) []*hit {
	var out []*hit
	for name, ds := range s.streams {
		if !matchIndex(pattern, name) {
			continue
		}
		for _, id := range ds.order {
			h := s.parsed(name, id, ds.docs[id])
			if h != nil {
				out = append(out, h)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ts != out[j].ts {
			return out[i].ts > out[j].ts
		}
		return out[i].id > out[j].id
	})
	return out
}

func matchIndex(pattern, name string) bool {
	for _, p := range strings.Split(pattern, ",") {
		if ok, _ := path.Match(p, name); ok || p == name || p == "_all" {
			return true
		}
	}
	return false
}

func (s *Server) parsed(index, id string, raw []byte) *hit {
	if s.parsedCache == nil {
		s.parsedCache = map[string]*hit{}
	}
	key := index + "\x00" + id
	if h, ok := s.parsedCache[key]; ok {
		return h
	}
	if raw == nil {
		return nil
	}
	h := &hit{index: index, id: id, raw: raw}
	if t, ok := docTime(raw); ok {
		h.ts = t.UnixNano()
	} else if src := h.source(); src != nil {
		if t, ok := src["@timestamp"].(string); ok {
			if tt, err := time.Parse(time.RFC3339Nano, t); err == nil {
				h.ts = tt.UnixNano()
			}
		}
	}
	s.parsedCache[key] = h
	return h
}

type searchRequest struct {
	Query       map[string]json.RawMessage `json:"query"`
	Size        *int                       `json:"size"`
	From        int                        `json:"from"`
	SearchAfter []json.RawMessage          `json:"search_after"`
	Pit         *struct {
		ID string `json:"id"`
	} `json:"pit"`
}

func (s *Server) search(w http.ResponseWriter, body []byte, pattern string) {
	var req searchRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, 400, "parsing_exception", err.Error())
			return
		}
	}
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	if req.From+size > 10000 {
		writeError(w, 400, "illegal_argument_exception", fmt.Sprintf("Result window is too large, from + size must be less than or equal to: [10000] but was [%d]. See the scroll api for a more efficient way to request large data sets.", req.From+size))
		return
	}
	s.mu.Lock()
	var docs []*hit
	pitID := ""
	if req.Pit != nil {
		p, ok := s.pits[req.Pit.ID]
		if !ok {
			s.mu.Unlock()
			writeError(w, 404, "search_context_missing_exception", "No search context found for id ["+req.Pit.ID+"]")
			return
		}
		if pattern != "" {
			s.mu.Unlock()
			writeError(w, 400, "action_request_validation_exception", "Validation Failed: 1: [indices] cannot be used with point in time;")
			return
		}
		docs, pitID = p.docs, req.Pit.ID
	} else {
		docs = s.snapshot(pattern)
	}
	s.mu.Unlock()

	q, err := compile(req.Query)
	if err != nil {
		writeError(w, 400, "parsing_exception", err.Error())
		return
	}
	var matched []*hit
	for _, h := range docs {
		if q(h) {
			matched = append(matched, h)
		}
	}
	start := 0
	if len(req.SearchAfter) == 2 {
		ts, _ := strconv.ParseInt(strings.Trim(string(req.SearchAfter[0]), `"`), 10, 64)
		var id string
		_ = json.Unmarshal(req.SearchAfter[1], &id)
		start = sort.Search(len(matched), func(i int) bool {
			h := matched[i]
			return h.ts < ts || (h.ts == ts && h.id < id)
		})
	} else {
		start = min(req.From, len(matched))
	}
	end := min(start+size, len(matched))
	hits := make([]map[string]any, 0, end-start)
	for _, h := range matched[start:end] {
		hits = append(hits, map[string]any{"_index": backingIndex(h.index), "_id": h.id, "_score": nil, "_source": json.RawMessage(h.raw), "sort": []any{h.ts, h.id}})
	}
	out := map[string]any{"took": 1, "timed_out": false,
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits":    map[string]any{"total": map[string]any{"value": len(matched), "relation": "eq"}, "max_score": nil, "hits": hits}}
	if pitID != "" {
		out["pit_id"] = pitID
	}
	writeJSON(w, 200, out)
}

type matcher func(*hit) bool

// compile turns the query subset auditctl uses into a matcher: match_all,
// bool (filter, must, should, must_not, minimum_should_match), term, terms,
// range and wildcard.
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
		case "term", "terms", "range", "wildcard":
			return compileLeaf(kind, raw)
		default:
			return nil, fmt.Errorf("unknown query [%s] (not part of the subset this test double speaks)", kind)
		}
	}
	return nil, nil
}

func compileBool(raw json.RawMessage) (matcher, error) {
	var b struct {
		Filter, Must, Should, MustNot []map[string]json.RawMessage
		MinimumShouldMatch            json.RawMessage `json:"minimum_should_match"`
	}
	var generic map[string]json.RawMessage
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	load := func(key string, dst *[]map[string]json.RawMessage) error {
		v, ok := generic[key]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			var one map[string]json.RawMessage
			if err2 := json.Unmarshal(v, &one); err2 != nil {
				return err
			}
			*dst = []map[string]json.RawMessage{one}
		}
		return nil
	}
	for key, dst := range map[string]*[]map[string]json.RawMessage{"filter": &b.Filter, "must": &b.Must, "should": &b.Should, "must_not": &b.MustNot} {
		if err := load(key, dst); err != nil {
			return nil, err
		}
	}
	msm := 0
	if v, ok := generic["minimum_should_match"]; ok {
		n, _ := strconv.Atoi(strings.Trim(string(v), `"`))
		msm = n
	} else if len(b.Filter)+len(b.Must) == 0 && len(b.Should) > 0 {
		msm = 1
	}
	compileAll := func(qs []map[string]json.RawMessage) ([]matcher, error) {
		var out []matcher
		for _, q := range qs {
			m, err := compile(q)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}
	all, err := compileAll(append(b.Filter, b.Must...))
	if err != nil {
		return nil, err
	}
	should, err := compileAll(b.Should)
	if err != nil {
		return nil, err
	}
	not, err := compileAll(b.MustNot)
	if err != nil {
		return nil, err
	}
	return func(h *hit) bool {
		for _, m := range all {
			if !m(h) {
				return false
			}
		}
		for _, m := range not {
			if m(h) {
				return false
			}
		}
		n := 0
		for _, m := range should {
			if m(h) {
				n++
			}
		}
		return n >= msm
	}, nil
}

// values returns the field's values in the source: dotted path, arrays
// flattened.
func values(src map[string]any, field string) []any {
	var cur any = src
	for _, part := range strings.Split(field, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
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
				for _, x := range values(h.source(), field) {
					if fmt.Sprint(x) == want {
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
				for _, x := range values(h.source(), field) {
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
				for _, x := range values(h.source(), field) {
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
		for _, x := range values(h.source(), field) {
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
