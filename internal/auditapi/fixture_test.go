package auditapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/internal/storetest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// recorder keeps every recorded read, and fails them all while fail is set.
type recorder struct {
	mu   sync.Mutex
	got  []Access
	fail error
}

func (r *recorder) Record(_ context.Context, a Access) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, a)
	return nil
}

func (r *recorder) all() []Access {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Access(nil), r.got...)
}

func (r *recorder) failWith(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// fixture is one set of events in both stores, and a service over each.
type fixture struct {
	store      *storetest.Store
	tokensFile string
	keys       *apitoken.Keys
	rec        *recorder
	archive    *httptest.Server
	es         *httptest.Server
	tokens     map[string]string // by organization: an admin API token
	now        time.Time
}

// orgOf spreads the generated events over org-1, org-2 and (with no
// organization.id at all) default.
func orgOf(i int) string {
	switch i % 3 {
	case 0:
		return "org-1"
	case 1:
		return "org-2"
	}
	return ""
}

func withOrg(i int, lr plog.LogRecord) {
	if o := orgOf(i); o != "" {
		lr.Attributes().PutStr(fields.Organization, o)
	} else {
		lr.Attributes().Remove(fields.Organization)
	}
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive", "audit.jsonl")
	require.NoError(t, mkdirAll(filepath.Dir(archive)))
	s := storetest.New(t, storetest.Options{Archive: archive, NamespaceAttribute: fields.Organization})
	s.Fill(t, n, 1, 0, withOrg)
	f := &fixture{store: s, tokensFile: filepath.Join(dir, "tokens.yaml"), rec: &recorder{}, tokens: map[string]string{},
		now: storetest.Base.Add(time.Duration(n) * time.Second).Add(time.Hour)}
	keys, err := apitoken.ParseKeys([]byte("fixture-signing-key-0123456789abcdef"))
	require.NoError(t, err)
	f.keys = keys
	for _, org := range []string{"org-1", "org-2", "default"} {
		tok, _, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: org, Role: apitoken.Admin, Name: "backend of " + org}, f.now.Add(-time.Hour))
		require.NoError(t, err)
		f.tokens[org] = tok
	}
	f.archive = f.serve(t, &eventstore.Archive{Dir: filepath.Dir(archive)}, Config{})
	f.es = f.serve(t, &eventstore.Elasticsearch{Client: s.Client}, Config{})
	return f
}

// serve starts a service over store with the fixture's tokens, keys,
// recorder and clock; cfg may set more.
func (f *fixture) serve(t *testing.T, store eventstore.Store, cfg Config) *httptest.Server {
	t.Helper()
	tokens := &apitoken.Store{Path: f.tokensFile}
	require.NoError(t, tokens.Load())
	cat, err := catalog.Load(filepath.Join(testcollector.RepoRoot(), "config", "catalogs", "codatum.yaml"))
	require.NoError(t, err)
	cfg.Store, cfg.Tokens, cfg.Keys, cfg.Access, cfg.Catalog = store, tokens, f.keys, f.rec, cat
	cfg.Now = func() time.Time { return f.now }
	srv, err := New(cfg)
	require.NoError(t, err)
	h := httptest.NewServer(srv)
	t.Cleanup(h.Close)
	return h
}

// answer is one HTTP answer.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(a.body, v), "%s", a.body)
}

func (a answer) apiError(t *testing.T) apiError {
	var e apiError
	a.json(t, &e)
	return e
}

func call(t *testing.T, method, u, token string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, raw}
}

func get(t *testing.T, base, path, token string, params url.Values) answer {
	t.Helper()
	u := base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	return call(t, http.MethodGet, u, token, nil)
}

// walk follows the cursors from the first page and returns every event.
func walk(t *testing.T, base, path, token string, params url.Values) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10000, "the cursors never end")
		a := get(t, base, path, token, p)
		require.Equal(t, http.StatusOK, a.code, "%s", a.body)
		var page eventPage
		a.json(t, &page)
		out = append(out, page.Events...)
		if page.NextCursor == nil {
			return out
		}
		require.NotEmpty(t, page.Events, "a cursor after an empty page")
		p.Set("cursor", *page.NextCursor)
	}
}

func ids(events []eventstore.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

var errCollectorDown = errors.New("connection refused")
