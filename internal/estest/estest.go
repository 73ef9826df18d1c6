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
// Files: estest.go (server, options, routing), answers.go (bodies, answers,
// errors); the document store: store.go (indices, data streams, rollover,
// auto-creation), indexapi.go (the index and data stream APIs), cluster.go
// (cluster settings), templates.go, mappings.go, names.go, ilm.go; the
// bulk path: bulk.go; search: search.go (search, count, points in time);
// faults: faults.go (what the double injects), stats.go (its counters);
// inspect.go (the control endpoints and what tests read); security.go.
package estest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
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
	if s.outage(w, f) {
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
