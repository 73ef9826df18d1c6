// Package auditapi is the audit log service: a tenant-scoped, read-only
// JSON API over the audit events (openapi.yaml) and the embeddable viewer
// that calls it. Every token sees one organization; every read that returns
// events is itself recorded as an audit_log_accessed event first.
package auditapi

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// OpenAPI is the API's description, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Config is what a Server needs.
type Config struct {
	Store  eventstore.Store
	Tokens *apitoken.Store
	// Keys sign viewer tokens and cursors; every replica needs the same.
	Keys *apitoken.Keys
	// Access records each read before it is answered.
	Access Recorder
	// Catalog feeds GET /api/v1/catalog (nil: empty).
	Catalog *catalog.Catalog
	// RateLimit is requests per second per token, with bursts of
	// RateBurst (0: no limit).
	RateLimit float64
	RateBurst int
	// MaxConcurrentReads bounds the reads of the store in progress, over
	// every token (default 16); past it, 503 with Retry-After.
	MaxConcurrentReads int
	// MaxReadsPerOrganization bounds one organization's share of them
	// (default 4), so one tenant cannot keep the others out.
	MaxReadsPerOrganization int
	// WriteStall is how long an export may wait for the client to take
	// more (default 30 s): a client that stops reading is cut off.
	WriteStall time.Duration
	// MaxExportDuration ends an export that takes longer (default 1 h),
	// however slowly its client reads.
	MaxExportDuration time.Duration
	// Assets are the viewer's built files (nil or without index.html: a
	// page saying how to build them).
	Assets fs.FS
	// FrameAncestors may embed the viewer in an iframe (CSP
	// frame-ancestors; default 'self').
	FrameAncestors []string
	// AllowOrigins may call the API from a browser on another origin
	// (the web component embedded in a SaaS page).
	AllowOrigins []string
	Log          *slog.Logger
	Now          func() time.Time
}

// Server serves the API and the viewer.
type Server struct {
	cfg     Config
	limiter *limiter
	reads   chan struct{}
	mu      sync.Mutex
	byOrg   map[string]int // reads in progress per organization
	mux     *http.ServeMux
}

// Routes lists the API's method and path patterns (TestOpenAPIMatchesHandlers
// holds them to openapi.yaml).
var Routes = []string{
	"GET /api/v1/events",
	"GET /api/v1/events/export",
	"GET /api/v1/resources/{type}/{id}/events",
	"GET /api/v1/catalog",
	"GET /api/v1/whoami",
	"POST /api/v1/viewer-tokens",
}

// New checks the config and builds the handlers.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Keys == nil || cfg.Access == nil {
		return nil, errors.New("auditapi: Store, Tokens, Keys and Access are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = max(1, int(cfg.RateLimit*2))
	}
	if cfg.MaxConcurrentReads <= 0 {
		cfg.MaxConcurrentReads = 16
	}
	if cfg.MaxReadsPerOrganization <= 0 {
		cfg.MaxReadsPerOrganization = 4
	}
	if cfg.WriteStall <= 0 {
		cfg.WriteStall = 30 * time.Second
	}
	if cfg.MaxExportDuration <= 0 {
		cfg.MaxExportDuration = time.Hour
	}
	s := &Server{cfg: cfg, limiter: newLimiter(cfg.RateLimit, cfg.RateBurst), reads: make(chan struct{}, cfg.MaxConcurrentReads),
		byOrg: map[string]int{}, mux: http.NewServeMux()}
	handlers := []http.HandlerFunc{s.bounded(s.events), s.bounded(s.export), s.bounded(s.resourceEvents), s.catalog, s.whoami, s.viewerToken}
	for i, pattern := range Routes {
		s.mux.Handle(pattern, s.api(handlers[i]))
	}
	s.mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.mux.HandleFunc("OPTIONS /api/", s.preflight)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, Message: fmt.Sprintf("no API endpoint %s %s; see /api/v1/openapi.yaml", r.Method, r.URL.Path), Reason: reasonNotFound})
	})
	s.mux.Handle("/", s.viewer())
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.cors(w, r)
	s.mux.ServeHTTP(w, r)
}

type principalKey struct{}

// api authenticates and rate-limits, then calls next with the principal
// in the request's context.
func (s *Server) api(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, aerr := s.authenticate(r)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		key := "api:" + p.TokenID
		if p.Signed {
			key = "viewer:" + viewerKey(r)
		}
		if ok, wait := s.limiter.allow(key, s.cfg.Now()); !ok {
			writeError(w, &apiError{status: http.StatusTooManyRequests, Reason: reasonRateLimited, retryAfter: wait,
				Message: fmt.Sprintf("this token made more than %g requests per second (bursts of %d); retry after %d s", s.cfg.RateLimit, s.cfg.RateBurst, wait)})
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// bounded runs a read of the store only while fewer than
// MaxConcurrentReads are in progress, and fewer than
// MaxReadsPerOrganization of the caller's organization: the archive store
// scans the whole archive per read, and an export can last.
func (s *Server) bounded(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org := principalOf(r).Organization
		s.mu.Lock()
		mine := s.byOrg[org]
		if mine < s.cfg.MaxReadsPerOrganization {
			s.byOrg[org]++
		}
		s.mu.Unlock()
		if mine >= s.cfg.MaxReadsPerOrganization {
			writeError(w, &apiError{status: http.StatusServiceUnavailable, Reason: reasonBusy, retryAfter: 1,
				Message: fmt.Sprintf("this organization has %d reads in progress, the most it may run at once; retry after 1 s", mine)})
			return
		}
		defer func() {
			s.mu.Lock()
			if s.byOrg[org]--; s.byOrg[org] == 0 {
				delete(s.byOrg, org)
			}
			s.mu.Unlock()
		}()
		select {
		case s.reads <- struct{}{}:
			defer func() { <-s.reads }()
			next(w, r)
		default:
			writeError(w, &apiError{status: http.StatusServiceUnavailable, Reason: reasonBusy, retryAfter: 1,
				Message: fmt.Sprintf("%d reads are in progress, the most this service runs at once; retry after 1 s", cap(s.reads))})
		}
	}
}

func principalOf(r *http.Request) apitoken.Principal {
	return r.Context().Value(principalKey{}).(apitoken.Principal)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// viewerKey names a viewer token's rate-limit bucket by its signed claims:
// a signature has several base64 spellings that verify, its payload one.
func viewerKey(r *http.Request) string {
	tok, _ := bearer(r)
	if i := strings.LastIndexByte(tok, '.'); i >= 0 {
		tok = tok[:i]
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:16])
}

func (s *Server) authenticate(r *http.Request) (apitoken.Principal, *apiError) {
	tok, ok := bearer(r)
	if !ok {
		return apitoken.Principal{}, &apiError{status: http.StatusUnauthorized, Reason: reasonNoToken,
			Message: "no token: send Authorization: Bearer <token> (an API token from `auditctl token create`, or a viewer token)"}
	}
	if len(tok) > apitoken.MaxTokenBytes {
		return apitoken.Principal{}, &apiError{status: http.StatusUnauthorized, Reason: reasonBadToken, Message: "the token is too long to be one of ours"}
	}
	now := s.cfg.Now()
	var p apitoken.Principal
	var err error
	if apitoken.IsViewerToken(tok) {
		if p, err = s.cfg.Keys.VerifyViewer(tok, now); err == nil {
			err = s.cfg.Tokens.CheckMinter(p, now)
		}
	} else {
		p, err = s.cfg.Tokens.Authenticate(tok, now)
	}
	if err != nil {
		return p, &apiError{status: http.StatusUnauthorized, Reason: reasonBadToken, Message: err.Error()}
	}
	return p, nil
}

// scope applies what the token may see to the query: its organization
// always; its resource and actor, refusing a filter that asks beyond them.
func scope(p apitoken.Principal, q *auditquery.Query) *apiError {
	if p.Organization == apitoken.Platform {
		return &apiError{status: http.StatusForbidden, Reason: reasonOutOfScope,
			Message: "a platform token reads no organization's log: mint a viewer token for one (POST /api/v1/viewer-tokens with \"organization\")"}
	}
	q.Organization = p.Organization
	if p.Resource != "" {
		typ, id, _ := strings.Cut(p.Resource, ":")
		if q.ResourceType != "" && (q.ResourceType != typ || q.ResourceID != id) {
			return outOfScope("resource", fmt.Sprintf("this token sees the change log of %s only; leave resource out, or set it to %s", p.Resource, p.Resource))
		}
		q.ResourceType, q.ResourceID = typ, id
	}
	if p.Actor != "" {
		if q.User != "" && q.User != p.Actor {
			return outOfScope("user", fmt.Sprintf("this token sees the events of user %s only; leave user out, or set it to %s", p.Actor, p.Actor))
		}
		q.User = p.Actor
	}
	return nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, "list events", append(slices.Clone(FilterParams), PageParams...), nil)
}

func (s *Server) resourceEvents(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	allowed := append(slices.DeleteFunc(slices.Clone(FilterParams), func(p string) bool { return p == "resource" }), PageParams...)
	s.list(w, r, "resource change log", allowed, func(q *auditquery.Query) *apiError {
		if strings.TrimSpace(typ) == "" || strings.TrimSpace(id) == "" {
			return badFilter("resource", "the path names a resource type and id: /api/v1/resources/{type}/{id}/events")
		}
		q.ResourceType, q.ResourceID = typ, id
		return nil
	})
}

// queryOf parses the query string, refusing what does not parse: the
// lenient URL.Query would drop a malformed pair, and with it a filter.
func queryOf(r *http.Request) (url.Values, *apiError) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badFilter("", fmt.Sprintf("the query string does not parse (%v): percent-encode values and separate parameters with &", err))
	}
	return v, nil
}

// eventPage is the answer of a list (openapi.yaml, EventPage).
type eventPage struct {
	Events     []eventstore.Event `json:"events"`
	NextCursor *string            `json:"next_cursor"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, command string, allowed []string, fix func(*auditquery.Query) *apiError) {
	p := principalOf(r)
	now := s.cfg.Now()
	params, aerr := queryOf(r)
	var req request
	if aerr == nil {
		req, aerr = parseRequest(params, allowed, now)
	}
	if aerr == nil && fix != nil {
		aerr = fix(&req.query)
	}
	if aerr == nil {
		aerr = scope(p, &req.query)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	digest := filterDigest(r.URL.Path, params, p)
	var after *eventstore.Key
	if req.cursor != "" {
		c, aerr := decodeCursor(s.cfg.Keys, req.cursor, p.Organization, digest)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		after = &c.Key
		if req.since && c.From != 0 {
			req.query.From = time.Unix(0, c.From).UTC()
		}
	}
	page, err := s.cfg.Store.Page(r.Context(), req.query, after, req.pageSize)
	if err != nil {
		s.storeFailed(w, r, p, command, req.query, err)
		return
	}
	if err := s.cfg.Access.Record(r.Context(), Access{Principal: p, Command: command, Query: req.query, Count: len(page.Events)}); err != nil {
		s.auditFailed(w, err)
		return
	}
	out := eventPage{Events: page.Events}
	if out.Events == nil {
		out.Events = []eventstore.Event{}
	}
	if page.More {
		c := cursor{Key: page.Keys[len(page.Keys)-1], Org: p.Organization, Filters: digest}
		if req.since {
			c.From = unixNano(req.query.From)
		}
		next := encodeCursor(s.cfg.Keys, c)
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// storeFailed answers a read the store could not serve, and records it
// (best effort: the read returned nothing).
func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, p apitoken.Principal, command string, q auditquery.Query, err error) {
	if rerr := s.cfg.Access.Record(r.Context(), Access{Principal: p, Command: command, Query: q, Count: -1, Err: err}); rerr != nil {
		s.cfg.Log.Warn("a failed read could not be recorded", "error", rerr)
	}
	if errors.Is(err, eventstore.ErrUnavailable) {
		s.cfg.Log.Error("the event store is unavailable", "error", err)
		writeError(w, &apiError{status: http.StatusServiceUnavailable, Reason: reasonStoreUnavailable, retryAfter: 5,
			Message: "the audit log store cannot be reached; try again shortly"})
		return
	}
	if errors.Is(err, eventstore.ErrTooBroad) {
		writeError(w, badFilter("", err.Error()+"; narrow the query with since, from and to, or filters, or serve from Elasticsearch"))
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.cfg.Log.Error("a read failed", "error", err)
	writeError(w, &apiError{status: http.StatusInternalServerError, Reason: reasonInternal, Message: "the read failed; the service's log says why"})
}

func (s *Server) auditFailed(w http.ResponseWriter, err error) {
	s.cfg.Log.Error("a read was refused: it could not be recorded", "error", err)
	writeError(w, &apiError{status: http.StatusServiceUnavailable, Reason: reasonAuditUnavailable, retryAfter: 5,
		Message: "reading the audit log is itself audited, and this read could not be recorded; nothing was returned; try again shortly"})
}

// countingWriter tells whether anything reached the client, and gives
// each write stall to complete.
type countingWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
	n     int64
	last  byte
}

func (c *countingWriter) Write(b []byte) (int, error) {
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.stall))
	n, err := c.w.Write(b)
	c.n += int64(n)
	if n > 0 {
		c.last = b[n-1]
	}
	return n, err
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	params, aerr := queryOf(r)
	var req request
	if aerr == nil {
		req, aerr = parseRequest(params, append(slices.Clone(FilterParams), "format"), s.cfg.Now())
	}
	if aerr == nil && req.format != eventstore.CSV && req.format != eventstore.NDJSON {
		aerr = badFilter("format", fmt.Sprintf("format %q: use csv or ndjson", req.format))
	}
	if aerr == nil {
		aerr = scope(p, &req.query)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	const command = "export events"
	if err := s.cfg.Access.Record(r.Context(), Access{Principal: p, Command: command, Query: req.query, Count: -1, Format: req.format}); err != nil {
		s.auditFailed(w, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if req.format == eventstore.CSV {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="audit-log.csv"`)
	} else {
		h.Set("Content-Type", "application/x-ndjson")
		h.Set("Content-Disposition", `attachment; filename="audit-log.ndjson"`)
	}
	cw := &countingWriter{w: w, rc: http.NewResponseController(w), stall: s.cfg.WriteStall}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxExportDuration)
	defer cancel()
	n, err := s.cfg.Store.Export(ctx, req.query, req.format, cw)
	done := Access{Principal: p, Command: command + " (completed)", Query: req.query, Count: n, Format: req.format, Err: err}
	if err != nil && cw.n == 0 {
		h.Del("Content-Disposition")
		s.storeFailed(w, r, p, command, req.query, err)
		return
	}
	if err != nil {
		s.cfg.Log.Error("an export failed midway", "error", err, "events", n)
		if cw.last != '\n' {
			_, _ = io.WriteString(w, "\n")
		}
		if req.format == eventstore.CSV {
			_, _ = io.WriteString(w, "# error: the export stopped early; it is incomplete\n")
		} else {
			_, _ = io.WriteString(w, `{"error":"the export stopped early; it is incomplete"}`+"\n")
		}
	}
	if rerr := s.cfg.Access.Record(context.WithoutCancel(r.Context()), done); rerr != nil {
		s.cfg.Log.Warn("the end of an export could not be recorded (its start was)", "error", rerr)
	}
}

// catalogDoc is openapi.yaml's Catalog.
type catalogDoc struct {
	Actions    []catalogAction    `json:"actions"`
	Groups     []string           `json:"groups"`
	Categories []catalog.Category `json:"categories"`
}

type catalogAction struct {
	Name        string   `json:"name"`
	Group       string   `json:"group,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	Description string   `json:"description,omitempty"`
}

func (s *Server) catalog(w http.ResponseWriter, _ *http.Request) {
	doc := catalogDoc{Actions: []catalogAction{}, Groups: []string{}, Categories: []catalog.Category{}}
	if c := s.cfg.Catalog; c != nil {
		for _, a := range c.Actions() {
			doc.Actions = append(doc.Actions, catalogAction{Name: a.Name, Group: a.Group, Categories: a.Categories, Description: a.Description})
			if a.Group != "" && !slices.Contains(doc.Groups, a.Group) {
				doc.Groups = append(doc.Groups, a.Group)
			}
		}
		doc.Categories = c.Categories()
	}
	writeJSON(w, http.StatusOK, doc)
}

type principalDoc struct {
	Organization string     `json:"organization"`
	Role         string     `json:"role"`
	Name         string     `json:"name,omitempty"`
	Resource     string     `json:"resource,omitempty"`
	Actor        string     `json:"actor,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	d := principalDoc{Organization: p.Organization, Role: p.Role, Name: p.Name, Resource: p.Resource, Actor: p.Actor}
	if !p.Expires.IsZero() {
		e := p.Expires.UTC()
		d.ExpiresAt = &e
	}
	writeJSON(w, http.StatusOK, d)
}

type viewerTokenRequest struct {
	Organization string `json:"organization"`
	Resource     string `json:"resource"`
	Actor        string `json:"actor"`
	TTL          string `json:"ttl"`
	Name         string `json:"name"`
}

// maxBodyBytes bounds a POST body.
const maxBodyBytes = 4096

func (s *Server) viewerToken(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if p.Role != apitoken.Admin || p.Signed {
		writeError(w, &apiError{status: http.StatusForbidden, Reason: reasonNotAdmin, Message: "only an admin API token mints viewer tokens (`auditctl token create --role admin`)"})
		return
	}
	var req viewerTokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Message: fmt.Sprintf("the body is not a viewer token request (at most %d bytes of JSON with resource, actor, ttl, name): %v", maxBodyBytes, err)})
		return
	}
	ttl := apitoken.DefaultViewerTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < apitoken.MinViewerTTL || d > apitoken.MaxViewerTTL {
			writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Field: "ttl", Message: fmt.Sprintf("ttl %q: a duration from %s to %s, such as 15m", req.TTL, apitoken.MinViewerTTL, apitoken.MaxViewerTTL)})
			return
		}
		ttl = d
	}
	for _, f := range []struct{ name, v string }{{"organization", req.Organization}, {"resource", req.Resource}, {"actor", req.Actor}, {"name", req.Name}} {
		if len(f.v) > maxParamBytes || strings.ContainsFunc(f.v, isControl) || (f.v != "" && strings.TrimSpace(f.v) == "") {
			writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Field: f.name, Message: fmt.Sprintf("%s: at most %d bytes, not blank, no control characters", f.name, maxParamBytes)})
			return
		}
	}
	if req.Resource != "" {
		if _, id, err := auditquery.ParseResource(req.Resource); err != nil || id == "" {
			writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Field: "resource", Message: fmt.Sprintf("resource %q: use TYPE:ID, e.g. notebook:nb-42", req.Resource)})
			return
		}
	}
	// A platform token names the organization; an organization's admin
	// token mints for its own only.
	switch {
	case p.Organization == apitoken.Platform && req.Organization == "":
		writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Field: "organization", Message: "a platform token names the organization the viewer token reads: {\"organization\": \"org-7\"}"})
		return
	case p.Organization == apitoken.Platform && req.Organization == apitoken.Platform:
		writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Field: "organization", Message: "a viewer token reads one organization, not '*'"})
		return
	case p.Organization == apitoken.Platform:
		p.Organization = req.Organization
	case req.Organization != "" && req.Organization != p.Organization:
		writeError(w, outOfScope("organization", fmt.Sprintf("this admin token mints viewer tokens for organization %s only", p.Organization)))
		return
	}
	q := auditquery.Query{ResourceType: "", User: req.Actor}
	if req.Resource != "" {
		q.ResourceType, q.ResourceID, _ = auditquery.ParseResource(req.Resource)
	}
	if aerr := scope(p, &q); aerr != nil {
		writeError(w, aerr)
		return
	}
	v := apitoken.Principal{Organization: p.Organization, Name: req.Name, TokenID: p.TokenID, Actor: q.User, Expires: p.Expires}
	if q.ResourceType != "" {
		v.Resource = q.ResourceType + ":" + q.ResourceID
	}
	if v.Name == "" {
		v.Name = p.Name + " (viewer)"
	}
	tok, exp, err := s.cfg.Keys.MintViewer(v, s.cfg.Now(), ttl)
	if err != nil {
		writeError(w, &apiError{status: http.StatusBadRequest, Reason: reasonBadBody, Field: "ttl", Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339)})
}

func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || !strings.HasPrefix(r.URL.Path, "/api/") || !slices.Contains(s.cfg.AllowOrigins, origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Retry-After, Content-Disposition")
}

func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", strconv.Itoa(600))
	}
	w.WriteHeader(http.StatusNoContent)
}
