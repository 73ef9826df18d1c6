// Package estest is a test double for Elasticsearch 8.17+ and 9.x: it speaks
// the subset of the REST API that otelcol-audit uses and models the
// behaviour our promises rest on. It refuses what Elasticsearch refuses
// (invalid names, unknown mapping types and parameters, overlapping
// templates, bad ILM policies, ids over 512 bytes, documents that break the
// mapping) and models what it does (templates and auto-creation, data
// streams with rollover and per-backing-index _id uniqueness, ILM ages,
// security, refresh, points in time, logsdb's synthetic _source). Each
// behaviour names its source in a comment: the REST specification
// (elastic/elasticsearch-specification), Elasticsearch's docs and YAML REST
// tests, or its Java source. The conformance suite (test/conformance) holds
// the double and a real cluster to the same expectations.
//
// Files: estest.go (server, routing, answers), store.go (indices, data
// streams, rollover, ILM), bulk.go (the bulk path), search.go (search,
// count, points in time), templates.go, mappings.go, names.go, ilm.go,
// security.go, faults.go.
package estest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Version is the Elasticsearch version the double answers GET / with.
const Version = "8.19.0"

// Server is the double. Use New, then Handler or Start.
type Server struct {
	mu     sync.Mutex
	faults Faults
	stats  Stats
	rnd    *rand.Rand
	now    func() time.Time

	keepSource bool
	latency    *histogram

	// Cluster settings (PUT _cluster/settings).
	autoCreate      autoCreateSetting
	logsdb          bool // cluster.logsdb.enabled
	destructiveName bool // action.destructive_requires_name
	maxShards       int  // cluster.max_shards_per_node

	ilm        map[string]*ilmPolicy
	components map[string]*componentTemplate
	templates  map[string]*indexTemplate
	indices    map[string]*index
	streams    map[string]*dataStream
	pits       map[string]*pit
	pitSeq     int
	seq        int64 // global write order

	sec *security // nil: security off

	ids      map[string]string // _id -> the index it was first stored in
	requests []string
}

// Option configures a Server.
type Option func(*Server)

// WithSource keeps every document's source, for searches and assertions.
func WithSource() Option { return func(s *Server) { s.keepSource = true } }

// WithSeed makes fault injection reproducible.
func WithSeed(seed uint64) Option { return func(s *Server) { s.rnd = rand.New(rand.NewPCG(seed, 1)) } }

// WithLatency records, per stored document, the time since its @timestamp.
func WithLatency() Option { return func(s *Server) { s.latency = &histogram{} } }

// WithLogsdb turns cluster.logsdb.enabled on, as it is by default on 9.x.
func WithLogsdb() Option { return func(s *Server) { s.logsdb = true } }

// WithClock replaces the wall clock (ILM ages, point-in-time expiry,
// refresh intervals, creation dates).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSecurity turns security on, with a superuser named elastic whose
// password is given. Every request then needs credentials.
func WithSecurity(elasticPassword string) Option {
	return func(s *Server) { s.sec = newSecurity(elasticPassword) }
}

// New returns an empty cluster holding Elasticsearch's built-in logs
// template.
func New(opts ...Option) *Server {
	s := &Server{
		rnd: rand.New(rand.NewPCG(1, 1)), now: time.Now,
		autoCreate: autoCreateSetting{all: true}, destructiveName: true, maxShards: 1000,
		ilm: map[string]*ilmPolicy{}, components: map[string]*componentTemplate{}, templates: map[string]*indexTemplate{},
		indices: map[string]*index{}, streams: map[string]*dataStream{}, pits: map[string]*pit{}, ids: map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	s.installBuiltins()
	return s
}

// Start serves the double on a loopback port until the test ends.
func (s *Server) Start(tb interface{ Cleanup(func()) }) *httptest.Server {
	ts := httptest.NewServer(s.Handler())
	tb.Cleanup(ts.Close)
	return ts
}

// Handler serves the API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// route is one API endpoint: a method, a path of literal segments and
// {placeholders}, and the handler.
type route struct {
	method string
	path   []string
	fn     func(s *Server, c *call)
}

// call is one request on its way through a route.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	params map[string]string
	user   *principal // nil when security is off
	faults Faults
}

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

var routes = []route{
	{"GET", nil, (*Server).info},
	{"HEAD", nil, (*Server).info},
	{"PUT", p("_ilm/policy/{name}"), (*Server).putILM},
	{"GET", p("_ilm/policy/{name}"), (*Server).getILM},
	{"DELETE", p("_ilm/policy/{name}"), (*Server).deleteILM},
	{"PUT", p("_component_template/{name}"), (*Server).putComponent},
	{"POST", p("_component_template/{name}"), (*Server).putComponent},
	{"GET", p("_component_template/{name}"), (*Server).getComponent},
	{"DELETE", p("_component_template/{name}"), (*Server).deleteComponent},
	{"PUT", p("_index_template/{name}"), (*Server).putIndexTemplate},
	{"POST", p("_index_template/{name}"), (*Server).putIndexTemplate},
	{"GET", p("_index_template/{name}"), (*Server).getIndexTemplate},
	{"DELETE", p("_index_template/{name}"), (*Server).deleteIndexTemplate},
	{"PUT", p("_data_stream/{name}"), (*Server).createDataStream},
	{"GET", p("_data_stream/{name}"), (*Server).getDataStream},
	{"DELETE", p("_data_stream/{name}"), (*Server).deleteDataStream},
	{"POST", p("{index}/_rollover"), (*Server).rolloverAPI},
	{"GET", p("_cluster/settings"), (*Server).getClusterSettings},
	{"PUT", p("_cluster/settings"), (*Server).putClusterSettings},
	{"PUT", p("_security/role/{name}"), (*Server).putRole},
	{"POST", p("_security/role/{name}"), (*Server).putRole},
	{"GET", p("_security/role/{name}"), (*Server).getRole},
	{"DELETE", p("_security/role/{name}"), (*Server).deleteRole},
	{"PUT", p("_security/user/{name}"), (*Server).putUser},
	{"POST", p("_security/user/{name}"), (*Server).putUser},
	{"DELETE", p("_security/user/{name}"), (*Server).deleteUser},
	{"GET", p("_security/_authenticate"), (*Server).authenticate},
	{"POST", p("_bulk"), (*Server).bulk},
	{"PUT", p("_bulk"), (*Server).bulk},
	{"POST", p("{index}/_bulk"), (*Server).bulk},
	{"PUT", p("{index}/_bulk"), (*Server).bulk},
	{"GET", p("_search"), (*Server).search},
	{"POST", p("_search"), (*Server).search},
	{"GET", p("{index}/_search"), (*Server).search},
	{"POST", p("{index}/_search"), (*Server).search},
	{"GET", p("{index}/_count"), (*Server).countAPI},
	{"POST", p("{index}/_count"), (*Server).countAPI},
	{"POST", p("{index}/_pit"), (*Server).openPIT},
	{"DELETE", p("_pit"), (*Server).closePIT},
	{"POST", p("_refresh"), (*Server).refreshAPI},
	{"GET", p("_refresh"), (*Server).refreshAPI},
	{"POST", p("{index}/_refresh"), (*Server).refreshAPI},
	{"GET", p("{index}/_refresh"), (*Server).refreshAPI},
	{"GET", p("_resolve/index/{index}"), (*Server).resolveIndex},
	{"GET", p("{index}/_settings"), (*Server).getSettings},
	{"GET", p("{index}/_settings/{name}"), (*Server).getSettings},
	{"GET", p("{index}/_mapping"), (*Server).getMapping},
	{"GET", p("{index}/_ilm/explain"), (*Server).explainILM},
	{"PUT", p("{index}"), (*Server).createIndex},
	{"DELETE", p("{index}"), (*Server).deleteIndex},
	{"HEAD", p("{index}"), (*Server).indexExists},
	{"GET", p("{index}"), (*Server).getIndex},
}

func p(path string) []string { return strings.Split(path, "/") }

func (rt route) match(method string, parts []string) (map[string]string, bool) {
	if rt.method != method || len(rt.path) != len(parts) {
		return nil, false
	}
	var params map[string]string
	for i, seg := range rt.path {
		if strings.HasPrefix(seg, "{") {
			// In a longer path an {index} never takes an API name
			// (_cluster, _security); alone it takes any name, which
			// index name validation then refuses.
			if strings.HasPrefix(parts[i], "_") && seg == "{index}" && len(parts) > 1 && parts[i] != "_all" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[strings.Trim(seg, "{}")] = parts[i]
			continue
		}
		if seg != parts[i] {
			return nil, false
		}
	}
	return params, true
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
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", "cannot read the request body: "+err.Error())
		return
	}
	c := &call{w: w, r: r, body: body, faults: f}
	if s.sec != nil {
		s.mu.Lock()
		c.user, err = s.sec.authenticate(r)
		s.mu.Unlock()
		if err != nil {
			// Source: x-pack security's DefaultAuthenticationFailureHandler:
			// 401 with the schemes the realms accept.
			w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
			w.Header().Add("WWW-Authenticate", "ApiKey")
			writeError(w, http.StatusUnauthorized, "security_exception", err.Error()+" for REST request ["+r.URL.Path+"]")
			return
		}
	}
	path := strings.Trim(r.URL.Path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	for _, rt := range routes {
		if params, ok := rt.match(r.Method, parts); ok {
			c.params = params
			rt.fn(s, c)
			return
		}
	}
	// Source: RestController.handleBadRequest / methodNotAllowed.
	writeError(w, http.StatusBadRequest, "illegal_argument_exception", fmt.Sprintf("request [%s] contains unrecognized parameters or is not part of the API subset this test double speaks: [%s]", r.URL.Path, r.Method))
}

// info answers GET /. Source: specification/_global/info/RootNodeInfoResponse.ts.
func (s *Server) info(c *call) {
	if !s.allowCluster(c, "cluster:monitor/main") {
		return
	}
	writeJSON(c.w, 200, map[string]any{
		"name": "estest", "cluster_name": "otelcol-audit-test-double", "cluster_uuid": "estest",
		"version": map[string]any{"number": Version, "build_flavor": "default", "lucene_version": "9.12.2",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"},
		"tagline": "You Know, for Search",
	})
}

func (s *Server) count(fn func(*Stats)) {
	s.mu.Lock()
	fn(&s.stats)
	s.mu.Unlock()
}

func (s *Server) clock() time.Time { return s.now() }

// control serves the double's own endpoints, for a double in its own
// process (cmd/es-testdouble, the load harness).
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

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	if s.latency != nil {
		st.LatencyP50, st.LatencyP99 = s.latency.quantile(0.5), s.latency.quantile(0.99)
	}
	st.Streams = map[string]int64{}
	for n, ix := range s.indices {
		name := n
		if ix.stream != "" {
			name = ix.stream
		}
		st.Streams[name] += int64(len(ix.docs))
	}
	return st
}

// IDs returns the ids stored in the indices an expression names (an index,
// a data stream, a pattern, or several separated by commas), in write
// order.
func (s *Server) IDs(expr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var docs []*document
	for _, ix := range s.resolveAll(expr) {
		docs = append(docs, ix.order...)
	}
	slices.SortFunc(docs, func(a, b *document) int { return int(a.seq - b.seq) })
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.id
	}
	return out
}

// Doc returns a stored document's source (WithSource only) from the
// indices expr names.
func (s *Server) Doc(expr, id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ix := range s.resolveAll(expr) {
		if d, ok := ix.docs[id]; ok {
			return d.src, true
		}
	}
	return nil, false
}

// Indices lists the concrete indices an expression names, sorted.
func (s *Server) Indices(expr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ix := range s.resolveAll(expr) {
		out = append(out, ix.name)
	}
	sort.Strings(out)
	return out
}

// DataStreams lists the data streams, sorted.
func (s *Server) DataStreams() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := keys(s.streams)
	return out
}

// Has reports whether an asset exists: kind is "ilm", "component",
// "index_template", "data_stream", "index" or "role".
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
		if s.sec == nil {
			return false
		}
		_, ok := s.sec.roles[name]
		return ok
	case "index_template":
		_, ok := s.templates[name]
		return ok
	case "data_stream":
		_, ok := s.streams[name]
		return ok
	case "index":
		_, ok := s.indices[name]
		return ok
	}
	// A misspelt kind would make every "has not" assertion pass.
	panic("estest: Has of unknown kind " + kind)
}

// Asset returns an installed asset's body as it was sent.
func (s *Server) Asset(kind, name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "ilm":
		if p := s.ilm[name]; p != nil {
			return p.raw
		}
	case "component":
		if c := s.components[name]; c != nil {
			return c.raw
		}
	case "role":
		if s.sec != nil {
			if r := s.sec.roles[name]; r != nil {
				return r.raw
			}
		}
	case "index_template":
		if t := s.templates[name]; t != nil {
			return t.raw
		}
	default:
		panic("estest: Asset of unknown kind " + kind)
	}
	return nil
}

// Requests lists "METHOD path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// SetClusterSetting sets a persistent cluster setting, as PUT
// _cluster/settings does.
func (s *Server) SetClusterSetting(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setClusterSetting(key, value)
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

// writeJSON answers with v. Elasticsearch sends X-Elastic-Product on every
// answer (since 7.14), which go-elasticsearch checks on the first 2xx one.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// esError is Elasticsearch's error object: type, reason, and optionally a
// cause and extra keys (index, resource.id).
type esError struct {
	Type   string
	Reason string
	Extra  map[string]any
}

func (e esError) object() map[string]any {
	m := map[string]any{"type": e.Type, "reason": e.Reason}
	for k, v := range e.Extra {
		m[k] = v
	}
	return m
}

// writeError answers in Elasticsearch's error shape. Source:
// specification/_types/Errors.ts (ErrorResponseBase: error, status).
func writeError(w http.ResponseWriter, code int, typ, reason string) {
	writeErr(w, code, esError{Type: typ, Reason: reason})
}

func writeErr(w http.ResponseWriter, code int, e esError) {
	obj := e.object()
	root := e.object()
	obj["root_cause"] = []any{root}
	writeJSON(w, code, map[string]any{"error": obj, "status": code})
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

func acknowledged(w http.ResponseWriter) { writeJSON(w, 200, map[string]any{"acknowledged": true}) }
