// Package estest is a test double for Elasticsearch 8: it speaks the subset
// of the REST API that otelcol-audit uses (GET /, ILM policies, component
// and index templates, data streams, _bulk with create semantics, _count),
// shapes its answers after real Elasticsearch answers, and injects faults.
// It is not Elasticsearch: it checks no mapping beyond JSON validity and the
// rejections it is told to make. The integration suite runs the same
// scenarios against a real cluster (ELASTICSEARCH_URL).
package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	pathpkg "path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Faults are the failures the double injects. The zero value injects none.
type Faults struct {
	// RequestThrottleFraction of _bulk requests are answered 429 whole.
	RequestThrottleFraction float64 `json:"request_throttle_fraction"`
	// ItemThrottleFraction of bulk items are answered 429.
	ItemThrottleFraction float64 `json:"item_throttle_fraction"`
	// ItemErrorFraction of bulk items are answered 503.
	ItemErrorFraction float64 `json:"item_error_fraction"`
	// Outage: "" (none), "503" (every request answered 503) or "close"
	// (every connection closed without an answer).
	Outage string `json:"outage"`
	// Delay is added before every answer.
	Delay time.Duration `json:"delay"`
	// IndexThenDropFraction of _bulk requests are stored, then the
	// connection is closed without an answer: the write landed, the
	// client does not know.
	IndexThenDropFraction float64 `json:"index_then_drop_fraction"`
	// RejectIDSuffix rejects documents whose _id ends with it, with the
	// mapping error real Elasticsearch gives.
	RejectIDSuffix string `json:"reject_id_suffix"`
	// RejectField rejects documents whose source contains this string.
	RejectField string `json:"reject_field"`
	// RejectDeadLetter rejects every write to a dead-letter stream.
	RejectDeadLetter bool `json:"reject_dead_letter"`
	// MaxBodyBytes answers 413 to larger bulk requests, like
	// http.max_content_length.
	MaxBodyBytes int `json:"max_body_bytes"`
	// RejectRequestContaining answers 400 to a whole bulk request whose
	// body contains this string.
	RejectRequestContaining string `json:"reject_request_containing"`
}

// Stats are the double's counters.
type Stats struct {
	Requests          int64  `json:"requests"`
	BulkRequests      int64  `json:"bulk_requests"`
	Items             int64  `json:"items"`
	Created           int64  `json:"created"`
	Conflicts         int64  `json:"conflicts"`
	Rejected          int64  `json:"rejected"`
	Throttled         int64  `json:"throttled"`
	ItemErrors        int64  `json:"item_errors"`
	OutageAnswers     int64  `json:"outage_answers"`
	DroppedAnswers    int64  `json:"dropped_answers"`
	UntemplatedWrites int64  `json:"untemplated_writes"`
	GzipRequests      int64  `json:"gzip_requests"`
	LastAuthorization string `json:"-"`
	// LatencyP50/P99 are from an event's @timestamp to its storage, in
	// seconds (WithLatency only; the load generator stamps send time).
	LatencyP50 float64 `json:"latency_p50_s,omitempty"`
	LatencyP99 float64 `json:"latency_p99_s,omitempty"`
	// Duplicates counts ids stored in more than one stream.
	Duplicates int64            `json:"duplicates"`
	Streams    map[string]int64 `json:"streams"`
}

type stream struct {
	name     string
	template string
	docs     map[string][]byte
	order    []string
}

// Server is the double. Use New, then Handler or Start.
type Server struct {
	mu         sync.Mutex
	faults     Faults
	stats      Stats
	ilm        map[string]json.RawMessage
	components map[string]json.RawMessage
	roles      map[string]json.RawMessage
	templates  map[string]indexTemplate
	streams    map[string]*stream
	ids        map[string]string // id -> stream it was first stored in
	rnd        *rand.Rand
	// KeepSource stores document sources (for search); off, only ids are kept.
	keepSource  bool
	requests    []string
	latency     *histogram
	pits        map[string]*pit
	pitSeq      int
	parsedCache map[string]*hit
}

// histogram counts latencies in 1 ms buckets up to 10 minutes.
type histogram struct {
	buckets [600_001]int64
	n       int64
}

func (h *histogram) add(d time.Duration) {
	ms := d.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	if ms >= int64(len(h.buckets)) {
		ms = int64(len(h.buckets)) - 1
	}
	h.buckets[ms]++
	h.n++
}

func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	target := int64(q * float64(h.n))
	var seen int64
	for ms, c := range h.buckets {
		seen += c
		if seen > target {
			return float64(ms+1) / 1000
		}
	}
	return float64(len(h.buckets)) / 1000
}

// WithLatency records, per stored document, the time since its @timestamp.
func WithLatency() Option { return func(s *Server) { s.latency = &histogram{} } }

var tsPrefix = []byte(`{"@timestamp":"`)

func docTime(doc []byte) (time.Time, bool) {
	if !bytes.HasPrefix(doc, tsPrefix) {
		return time.Time{}, false
	}
	rest := doc[len(tsPrefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	return t, err == nil
}

type indexTemplate struct {
	raw        json.RawMessage
	patterns   []string
	priority   int
	dataStream bool
}

// Option configures a Server.
type Option func(*Server)

// WithSource keeps every document's source, for searches and assertions.
func WithSource() Option { return func(s *Server) { s.keepSource = true } }

// WithSeed makes fault injection reproducible.
func WithSeed(seed uint64) Option { return func(s *Server) { s.rnd = rand.New(rand.NewPCG(seed, 1)) } }

// New returns an empty double.
func New(opts ...Option) *Server {
	s := &Server{
		ilm: map[string]json.RawMessage{}, components: map[string]json.RawMessage{}, roles: map[string]json.RawMessage{},
		templates: map[string]indexTemplate{}, streams: map[string]*stream{}, ids: map[string]string{},
		rnd: rand.New(rand.NewPCG(1, 1)),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start serves the double on a loopback port until the test ends.
func (s *Server) Start(tb interface{ Cleanup(func()) }) *httptest.Server {
	ts := httptest.NewServer(s.Handler())
	tb.Cleanup(ts.Close)
	return ts
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	if s.latency != nil {
		st.LatencyP50, st.LatencyP99 = s.latency.quantile(0.5), s.latency.quantile(0.99)
	}
	st.Streams = map[string]int64{}
	for n, ds := range s.streams {
		st.Streams[n] = int64(len(ds.docs))
	}
	return st
}

// IDs returns the ids stored in a stream, in write order.
func (s *Server) IDs(streamName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ds, ok := s.streams[streamName]; ok {
		return append([]string(nil), ds.order...)
	}
	return nil
}

// Doc returns a stored document's source (WithSource only).
func (s *Server) Doc(streamName, id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.streams[streamName]
	if !ok {
		return nil, false
	}
	d, ok := ds.docs[id]
	return d, ok
}

// Has reports whether an asset exists: kind is "ilm", "component",
// "index_template" or "data_stream".
func (s *Server) Has(kind, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "ilm":
		_, ok := s.ilm[name]
		return ok
	case "component":
		_, ok := s.components[name]
		return ok
	case "role":
		_, ok := s.roles[name]
		return ok
	case "index_template":
		_, ok := s.templates[name]
		return ok
	case "data_stream":
		_, ok := s.streams[name]
		return ok
	}
	return false
}

// Asset returns an installed asset's body.
func (s *Server) Asset(kind, name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "ilm":
		return s.ilm[name]
	case "component":
		return s.components[name]
	case "role":
		return s.roles[name]
	case "index_template":
		return s.templates[name].raw
	}
	return nil
}

// Requests lists "METHOD path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) chance(f float64) bool { return f > 0 && s.rnd.Float64() < f }

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		s.stats.GzipRequests++
	}
	s.stats.LastAuthorization = r.Header.Get("Authorization")
	f := s.faults
	s.mu.Unlock()

	if strings.HasPrefix(r.URL.Path, "/_testdouble/") {
		s.control(w, r)
		return
	}
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	switch f.Outage {
	case "503":
		s.count(func(st *Stats) { st.OutageAnswers++ })
		writeError(w, http.StatusServiceUnavailable, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];")
		return
	case "close":
		s.count(func(st *Stats) { st.OutageAnswers++ })
		hijackClose(w)
		return
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", "cannot read the request body: "+err.Error())
		return
	}
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	switch {
	case p == "" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{
			"name": "estest", "cluster_name": "otelcol-audit-test-double", "cluster_uuid": "estest",
			"version": map[string]any{"number": "8.15.0", "build_flavor": "default", "lucene_version": "9.11.1",
				"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"},
			"tagline": "You Know, for Search",
		})
	case len(parts) == 3 && parts[0] == "_ilm" && parts[1] == "policy":
		s.asset(w, r, body, s.ilm, parts[2], "policy")
	case len(parts) == 2 && parts[0] == "_component_template":
		s.asset(w, r, body, s.components, parts[1], "component_templates")
	case len(parts) == 2 && parts[0] == "_index_template":
		s.indexTemplate(w, r, body, parts[1])
	case len(parts) == 3 && parts[0] == "_security" && parts[1] == "role":
		s.asset(w, r, body, s.roles, parts[2], "role")
	case len(parts) == 2 && parts[0] == "_data_stream":
		s.dataStream(w, r, parts[1])
	case (len(parts) == 1 && parts[0] == "_bulk") || (len(parts) == 2 && parts[1] == "_bulk"):
		def := ""
		if len(parts) == 2 {
			def = parts[0]
		}
		s.bulk(w, r, body, def, f)
	case len(parts) == 2 && parts[1] == "_count":
		s.countDocs(w, parts[0])
	case (len(parts) == 1 && parts[0] == "_search") || (len(parts) == 2 && parts[1] == "_search"):
		pattern := ""
		if len(parts) == 2 {
			pattern = parts[0]
		}
		s.search(w, body, pattern)
	case len(parts) == 2 && parts[1] == "_pit" && r.Method == http.MethodPost:
		s.openPIT(w, parts[0])
	case len(parts) == 1 && parts[0] == "_pit" && r.Method == http.MethodDelete:
		s.closePIT(w, body)
	case len(parts) == 2 && parts[1] == "_refresh":
		writeJSON(w, 200, map[string]any{"_shards": map[string]any{"total": 1, "successful": 1, "failed": 0}})
	default:
		writeError(w, http.StatusNotFound, "not_implemented_by_test_double", fmt.Sprintf("%s %s is not part of the API subset this test double speaks", r.Method, r.URL.Path))
	}
}

func (s *Server) count(fn func(*Stats)) {
	s.mu.Lock()
	fn(&s.stats)
	s.mu.Unlock()
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_testdouble/stats":
		writeJSON(w, 200, s.Stats())
	case "/_testdouble/faults":
		if r.Method == http.MethodGet {
			s.mu.Lock()
			f := s.faults
			s.mu.Unlock()
			writeJSON(w, 200, f)
			return
		}
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeError(w, 400, "parse_exception", err.Error())
			return
		}
		s.SetFaults(f)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case "/_testdouble/ids":
		s.mu.Lock()
		ids := make([]string, 0, len(s.ids))
		for id := range s.ids {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		sort.Strings(ids)
		writeJSON(w, 200, ids)
	default:
		writeError(w, 404, "not_found", r.URL.Path)
	}
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request, body []byte, store map[string]json.RawMessage, name, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		if !json.Valid(body) {
			writeError(w, 400, "x_content_parse_exception", "request body is not valid JSON")
			return
		}
		store[name] = append(json.RawMessage(nil), body...)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case http.MethodGet:
		b, ok := store[name]
		if !ok {
			writeError(w, 404, "resource_not_found_exception", fmt.Sprintf("%s [%s] not found", key, name))
			return
		}
		writeJSON(w, 200, map[string]any{key: []any{map[string]any{"name": name, "body": b}}})
	case http.MethodDelete:
		delete(store, name)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	default:
		writeError(w, 405, "method_not_allowed", r.Method)
	}
}

func (s *Server) indexTemplate(w http.ResponseWriter, r *http.Request, body []byte, name string) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		t, ok := s.templates[name]
		s.mu.Unlock()
		if !ok {
			writeError(w, 404, "resource_not_found_exception", fmt.Sprintf("index template matching [%s] not found", name))
			return
		}
		writeJSON(w, 200, map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": t.raw}}})
		return
	}
	var t struct {
		IndexPatterns []string        `json:"index_patterns"`
		Priority      int             `json:"priority"`
		DataStream    json.RawMessage `json:"data_stream"`
		ComposedOf    []string        `json:"composed_of"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		writeError(w, 400, "x_content_parse_exception", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range t.ComposedOf {
		if _, ok := s.components[c]; !ok {
			writeError(w, 400, "invalid_index_template_exception", fmt.Sprintf("index_template [%s] invalid, cause [index template [%s] specifies component templates [%s] that do not exist]", name, name, c))
			return
		}
	}
	for other, ot := range s.templates {
		if other != name && ot.priority == t.Priority && overlaps(ot.patterns, t.IndexPatterns) {
			writeError(w, 400, "illegal_argument_exception", fmt.Sprintf("index template [%s] has index patterns %v matching patterns from existing templates [%s] with patterns that have the same priority [%d]", name, t.IndexPatterns, other, t.Priority))
			return
		}
	}
	s.templates[name] = indexTemplate{raw: append(json.RawMessage(nil), body...), patterns: t.IndexPatterns, priority: t.Priority, dataStream: t.DataStream != nil}
	writeJSON(w, 200, map[string]any{"acknowledged": true})
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// matchTemplate is the highest-priority template matching name.
func (s *Server) matchTemplate(name string) (string, indexTemplate, bool) {
	best, bestName, found := indexTemplate{priority: -1}, "", false
	for n, t := range s.templates {
		for _, p := range t.patterns {
			if ok, _ := pathpkg.Match(p, name); ok && t.priority > best.priority {
				best, bestName, found = t, n, true
			}
		}
	}
	return bestName, best, found
}

func (s *Server) dataStream(w http.ResponseWriter, r *http.Request, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		if _, ok := s.streams[name]; ok {
			writeError(w, 400, "resource_already_exists_exception", fmt.Sprintf("data_stream [%s] already exists", name))
			return
		}
		tn, t, ok := s.matchTemplate(name)
		if !ok || !t.dataStream {
			writeError(w, 400, "illegal_argument_exception", fmt.Sprintf("no matching index template found for data stream [%s]", name))
			return
		}
		s.streams[name] = &stream{name: name, template: tn, docs: map[string][]byte{}}
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case http.MethodDelete:
		n := 0
		for sn := range s.streams {
			if ok, _ := pathpkg.Match(name, sn); ok || sn == name {
				for id := range s.streams[sn].docs {
					if s.ids[id] == sn {
						delete(s.ids, id)
					}
				}
				delete(s.streams, sn)
				s.parsedCache = nil
				n++
			}
		}
		if n == 0 && !strings.Contains(name, "*") {
			writeError(w, 404, "index_not_found_exception", fmt.Sprintf("no such index [%s]", name))
			return
		}
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case http.MethodGet:
		ds, ok := s.streams[name]
		if !ok {
			writeError(w, 404, "index_not_found_exception", fmt.Sprintf("no such index [%s]", name))
			return
		}
		writeJSON(w, 200, map[string]any{"data_streams": []any{map[string]any{
			"name": name, "timestamp_field": map[string]any{"name": "@timestamp"}, "template": ds.template,
			"indices": []any{map[string]any{"index_name": backingIndex(name)}}, "status": "GREEN",
		}}})
	default:
		writeError(w, 405, "method_not_allowed", r.Method)
	}
}

func backingIndex(name string) string { return ".ds-" + name + "-2025.11.20-000001" }

func (s *Server) countDocs(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sn, ds := range s.streams {
		if ok, _ := pathpkg.Match(name, sn); ok || sn == name {
			n += len(ds.docs)
		}
	}
	writeJSON(w, 200, map[string]any{"count": n, "_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
}

type bulkAction struct {
	Create *struct {
		Index string `json:"_index"`
		ID    string `json:"_id"`
	} `json:"create"`
	Index  json.RawMessage `json:"index"`
	Update json.RawMessage `json:"update"`
	Delete json.RawMessage `json:"delete"`
}

// itemResult is one bulk item's answer.
type itemResult struct {
	index, id      string
	status, seqNo  int
	errType, cause string
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, body []byte, defIndex string, f Faults) {
	s.mu.Lock()
	s.stats.BulkRequests++
	throttle := s.chance(f.RequestThrottleFraction)
	drop := !throttle && s.chance(f.IndexThenDropFraction)
	s.mu.Unlock()
	if f.MaxBodyBytes > 0 && len(body) > f.MaxBodyBytes {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if f.RejectRequestContaining != "" && bytes.Contains(body, []byte(f.RejectRequestContaining)) {
		writeError(w, 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected START_OBJECT but found [VALUE_STRING]")
		return
	}
	if throttle {
		s.count(func(st *Stats) { st.Throttled++ })
		writeError(w, http.StatusTooManyRequests, "es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]")
		return
	}
	start := time.Now()
	// Parse and validate everything before storing anything: a malformed
	// request is refused as a whole, as Elasticsearch does.
	type op struct {
		index, id string
		doc       []byte
		valid     bool
	}
	var ops []op
	for rest := body; len(rest) > 0; {
		line, next := nextLine(rest)
		rest = next
		if len(line) == 0 {
			continue
		}
		index, id, ok := parseCreate(line)
		if !ok {
			writeError(w, 400, "illegal_argument_exception", "Malformed action/metadata line: expected a create action (the only one this test double speaks)")
			return
		}
		if len(rest) == 0 {
			writeError(w, 400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
			return
		}
		doc, next := nextLine(rest)
		rest = next
		if index == "" {
			index = defIndex
		}
		ops = append(ops, op{index: index, id: id, doc: doc, valid: jsontext.Value(doc).IsValid()})
	}
	items := make([]itemResult, len(ops))
	errorsSeen := false
	s.mu.Lock()
	for i, o := range ops {
		items[i] = s.createItem(o.index, o.id, o.doc, o.valid, f)
		errorsSeen = errorsSeen || items[i].status >= 300
	}
	s.mu.Unlock()
	if drop {
		s.count(func(st *Stats) { st.DroppedAnswers++ })
		hijackClose(w)
		return
	}
	fp := parseFilterPath(r.URL.Query().Get("filter_path"))
	out := make([]byte, 0, 64+len(items)*200)
	out = append(out, '{')
	n := 0
	if fp.keep("took") {
		out, n = appendKey(out, n, "took")
		out = strconv.AppendInt(out, time.Since(start).Milliseconds(), 10)
	}
	if fp.keep("errors") {
		out, n = appendKey(out, n, "errors")
		out = strconv.AppendBool(out, errorsSeen)
	}
	if fp.keep("items") || fp.descends("items") {
		out, n = appendKey(out, n, "items")
		out = append(out, '[')
		for i, it := range items {
			if i > 0 {
				out = append(out, ',')
			}
			out = it.appendJSON(out, fp)
		}
		out = append(out, ']')
	}
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(200)
	_, _ = w.Write(out)
}

// filterPath is Elasticsearch's filter_path response filtering: dotted
// paths whose segments may be "*" wildcards; a path keeps what is under it.
type filterPath [][]string

func parseFilterPath(q string) filterPath {
	if q == "" {
		return nil
	}
	var fp filterPath
	for _, p := range strings.Split(q, ",") {
		if p = strings.TrimSpace(p); p != "" {
			fp = append(fp, strings.Split(p, "."))
		}
	}
	return fp
}

// keep reports whether the value at path is kept whole.
func (fp filterPath) keep(path ...string) bool {
	if fp == nil {
		return true
	}
	for _, p := range fp {
		if len(p) <= len(path) && segmentsMatch(p, path[:len(p)]) {
			return true
		}
	}
	return false
}

// descends reports whether some of what is under path is kept.
func (fp filterPath) descends(path ...string) bool {
	for _, p := range fp {
		if len(p) > len(path) && segmentsMatch(p[:len(path)], path) {
			return true
		}
	}
	return false
}

func segmentsMatch(pattern, path []string) bool {
	for i := range pattern {
		if pattern[i] == "*" || pattern[i] == path[i] {
			continue
		}
		if ok, _ := pathpkg.Match(pattern[i], path[i]); !ok {
			return false
		}
	}
	return true
}

func appendKey(b []byte, n int, key string) ([]byte, int) {
	if n > 0 {
		b = append(b, ',')
	}
	b = appendQuote(b, key)
	return append(b, ':'), n + 1
}

// appendQuote writes s as a JSON string (strconv's quoting is Go's, not JSON's).
func appendQuote(b []byte, s string) []byte {
	out, _ := jsontext.AppendQuote(b, s) // invalid UTF-8 becomes U+FFFD
	return out
}

// nextLine splits off one NDJSON line, without its newline.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimSpace(b), nil
	}
	return bytes.TrimSpace(b[:i]), b[i+1:]
}

// parseCreate reads a create action line; anything else is refused.
func parseCreate(line []byte) (index, id string, ok bool) {
	// Fast path for the exact shape the exporter writes.
	if rest, ok := bytes.CutPrefix(line, []byte(`{"create":{"_index":"`)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			index, rest = string(rest[:i]), rest[i+1:]
			if rest, ok := bytes.CutPrefix(rest, []byte(`,"_id":"`)); ok {
				if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 && string(rest[j+1:]) == "}}" {
					return index, string(rest[:j]), true
				}
			}
		}
	}
	var a bulkAction
	if err := json.Unmarshal(line, &a); err != nil || a.Create == nil || a.Index != nil || a.Update != nil || a.Delete != nil {
		return "", "", false
	}
	return a.Create.Index, a.Create.ID, true
}

// appendJSON writes the item as Elasticsearch does, in its key order,
// keeping what fp keeps.
func (it itemResult) appendJSON(b []byte, fp filterPath) []byte {
	const op = "create"
	b = append(b, `{"create":{`...)
	n := 0
	str := func(key, v string, path ...string) {
		if fp.keep(path...) {
			b, n = appendKey(b, n, key)
			b = appendQuote(b, v)
		}
	}
	num := func(key string, v int, path ...string) {
		if fp.keep(path...) {
			b, n = appendKey(b, n, key)
			b = strconv.AppendInt(b, int64(v), 10)
		}
	}
	str("_index", backingIndex(it.index), "items", op, "_index")
	str("_id", it.id, "items", op, "_id")
	if it.errType != "" {
		num("status", it.status, "items", op, "status")
		if fp.keep("items", op, "error") || fp.descends("items", op, "error") {
			b, n = appendKey(b, n, "error")
			outer := n
			b, n = append(b, '{'), 0
			str("type", it.errType, "items", op, "error", "type")
			str("reason", it.cause, "items", op, "error", "reason")
			str("index_uuid", "aAsFqTI0Tc2W0LCWgPNrOA", "items", op, "error", "index_uuid")
			str("shard", "0", "items", op, "error", "shard")
			str("index", backingIndex(it.index), "items", op, "error", "index")
			b, n = append(b, '}'), outer
		}
		return append(b, "}}"...)
	}
	num("_version", 1, "items", op, "_version")
	str("result", "created", "items", op, "result")
	if fp.keep("items", op, "_shards") {
		b, n = appendKey(b, n, "_shards")
		b = append(b, `{"total":2,"successful":1,"failed":0}`...)
	}
	num("_seq_no", it.seqNo, "items", op, "_seq_no")
	num("_primary_term", 1, "items", op, "_primary_term")
	num("status", it.status, "items", op, "status")
	return append(b, "}}"...)
}

// createItem stores one document; s.mu is held.
func (s *Server) createItem(index, id string, doc []byte, valid bool, f Faults) itemResult {
	s.stats.Items++
	item := itemResult{index: index, id: id}
	fail := func(status int, typ, reason string) itemResult {
		item.status, item.errType, item.cause = status, typ, reason
		return item
	}
	switch {
	case id == "":
		return fail(400, "action_request_validation_exception", "Validation Failed: 1: an id must be provided if version type or value are set;")
	case s.chance(f.ItemThrottleFraction):
		s.stats.Throttled++
		return fail(429, "es_rejected_execution_exception", "rejected execution of primary operation [shard_detail=[logs][0][P], shard_operation_bytes=1024] OR [node_write_bytes=0]")
	case s.chance(f.ItemErrorFraction):
		s.stats.ItemErrors++
		return fail(503, "unavailable_shards_exception", fmt.Sprintf("[%s][0] primary shard is not active Timeout: [1m]", backingIndex(index)))
	case f.RejectDeadLetter && strings.Contains(index, "deadletter"):
		s.stats.Rejected++
		return fail(400, "document_parsing_exception", fmt.Sprintf("[1:1] failed to parse: dead-letter stream refuses document with id '%s'", id))
	case !valid:
		s.stats.Rejected++
		return fail(400, "document_parsing_exception", fmt.Sprintf("[1:1] failed to parse: Unexpected character in document with id '%s'", id))
	case f.RejectIDSuffix != "" && strings.HasSuffix(id, f.RejectIDSuffix) && !strings.Contains(index, "deadletter"),
		f.RejectField != "" && bytes.Contains(doc, []byte(f.RejectField)) && !strings.Contains(index, "deadletter"):
		s.stats.Rejected++
		return fail(400, "document_parsing_exception", fmt.Sprintf("[1:42] failed to parse field [client.ip] of type [ip] in document with id '%s'. Preview of field's value: 'not-an-ip'", id))
	}
	ds, ok := s.streams[index]
	if !ok {
		tn, t, matched := s.matchTemplate(index)
		if !matched || !t.dataStream {
			s.stats.UntemplatedWrites++
		}
		ds = &stream{name: index, template: tn, docs: map[string][]byte{}}
		s.streams[index] = ds
	}
	if _, exists := ds.docs[id]; exists {
		s.stats.Conflicts++
		return fail(409, "version_conflict_engine_exception", fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", id))
	}
	if first, seen := s.ids[id]; seen && first != index {
		s.stats.Duplicates++
	} else if !seen {
		s.ids[id] = index
	}
	if s.keepSource {
		ds.docs[id] = bytes.Clone(doc)
	} else {
		ds.docs[id] = nil
	}
	ds.order = append(ds.order, id)
	s.stats.Created++
	if s.latency != nil {
		if t, ok := docTime(doc); ok {
			s.latency.add(time.Since(t))
		}
	}
	item.status, item.seqNo = 201, len(ds.order)-1
	return item
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		rd = gz
	}
	return io.ReadAll(rd)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in Elasticsearch's error shape.
func writeError(w http.ResponseWriter, code int, typ, reason string) {
	e := map[string]any{"type": typ, "reason": reason}
	writeJSON(w, code, map[string]any{"error": map[string]any{"root_cause": []any{e}, "type": typ, "reason": reason}, "status": code})
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
