package auditapi

import (
	"fmt"

	"encoding/csv"
	"encoding/json"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/internal/storetest"
)

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// The archive and Elasticsearch give the same events in the same order,
// page after page, for every filter; each organization sees its own only.
func TestBackendsAgreeAndEachOrganizationSeesItsOwn(t *testing.T) {
	f := newFixture(t, 1500)
	queries := []url.Values{
		{},
		{"q": {"REPORT.V"}},
		{"action": {"report.view"}},
		{"category": {"view_data"}},
		{"outcome": {"failure"}},
		{"ip": {"203.0.113.0/24"}},
		{"resource": {"notebook"}},
		{"user": {"***@example.com"}},
		{"from": {storetest.Base.Add(500 * time.Second).Format(time.RFC3339)}, "to": {"2025-11-01T00:20:00Z"}},
		{"since": {"2d"}},
		{"quarantined": {"true"}},
	}
	seen := map[string]string{}
	for org, tok := range f.tokens {
		for _, q := range queries {
			q.Set("page_size", "97")
			fromArchive := walk(t, f.archive.URL, "/api/v1/events", tok, q)
			fromES := walk(t, f.es.URL, "/api/v1/events", tok, q)
			require.Equal(t, ids(fromArchive), ids(fromES), "%s %v", org, q)
			if len(q) == 1 {
				require.NotEmpty(t, fromES, "%s sees no events", org)
			}
			for i, e := range fromES {
				want := org
				if org == "default" {
					want = ""
				}
				require.Equal(t, want, e.Organization, "%s sees %s's event %s", org, e.Organization, e.ID)
				if owner, ok := seen[e.ID]; ok {
					require.Equal(t, org, owner, "event %s seen by two organizations", e.ID)
				}
				seen[e.ID] = org
				if i > 0 {
					prev := fromES[i-1]
					require.False(t, prev.Time.Before(e.Time), "newest first")
				}
			}
		}
	}
	assert.Len(t, seen, 1500, "every event is some organization's")
}

// Cursors stay valid while events arrive, newer and older: every event
// that matched when paging began is returned exactly once.
func TestCursorsWhileEventsArrive(t *testing.T) {
	f := newFixture(t, 600)
	for name, base := range map[string]string{"archive": f.archive.URL, "elasticsearch": f.es.URL} {
		t.Run(name, func(t *testing.T) {
			tok := f.tokens["org-1"]
			before := walk(t, base, "/api/v1/events", tok, url.Values{"page_size": {"1000"}})
			got := map[string]int{}
			p := url.Values{"page_size": {"50"}}
			arrived := false
			for {
				a := get(t, base, "/api/v1/events", tok, p)
				require.Equal(t, http.StatusOK, a.code, "%s", a.body)
				var page eventPage
				a.json(t, &page)
				for _, e := range page.Events {
					got[e.ID]++
				}
				if !arrived {
					// Between two pages: events at the same times as those
					// already there (ties, broken by id) and newer ones.
					f.store.Fill(t, 300, uint64(len(name))*1000+7, 450*time.Second, withOrg)
					arrived = true
				}
				if page.NextCursor == nil {
					break
				}
				p.Set("cursor", *page.NextCursor)
			}
			for _, e := range before {
				assert.Equal(t, 1, got[e.ID], "event %s", e.ID)
			}
			for id, n := range got {
				assert.Equal(t, 1, n, "event %s returned %d times", id, n)
			}
		})
	}
}

// A cursor is bound to its organization and filters, and cannot be forged.
func TestCursorsCannotBeReplayedOrForged(t *testing.T) {
	f := newFixture(t, 300)
	p := url.Values{"page_size": {"2"}, "action": {"report.view"}}
	a := get(t, f.es.URL, "/api/v1/events", f.tokens["org-1"], p)
	require.Equal(t, http.StatusOK, a.code, "%s", a.body)
	var page eventPage
	a.json(t, &page)
	require.NotNil(t, page.NextCursor)
	cur := *page.NextCursor

	payload, sig, _ := strings.Cut(cur, ".")
	flipped := []byte(payload)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name, token, cursor string
		params              url.Values
	}{
		{"another organization", f.tokens["org-2"], cur, p},
		{"other filters", f.tokens["org-1"], cur, url.Values{"action": {"notebook.view"}}},
		{"no filters", f.tokens["org-1"], cur, url.Values{}},
		{"altered payload", f.tokens["org-1"], string(flipped) + "." + sig, p},
		{"no signature", f.tokens["org-1"], payload, p},
		{"garbage", f.tokens["org-1"], "!!!.???", p},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"cursor": {tc.cursor}}
			for k, v := range tc.params {
				q[k] = v
			}
			a := get(t, f.es.URL, "/api/v1/events", tc.token, q)
			require.Equal(t, http.StatusBadRequest, a.code, "%s", a.body)
			e := a.apiError(t)
			assert.Equal(t, "cursor", e.Field)
			assert.Equal(t, reasonBadCursor, e.Reason)
		})
	}
	// Another organization's cursor on the same store with a cursor
	// signed by another service key is refused too.
	other, err := apitoken.ParseKeys([]byte("another-signing-key-0123456789abcdef"))
	require.NoError(t, err)
	forged := encodeCursor(other, cursor{Org: "org-1", Filters: filterDigest("/api/v1/events", p, apitoken.Principal{})})
	a = get(t, f.es.URL, "/api/v1/events", f.tokens["org-1"], url.Values{"cursor": {forged}, "action": {"report.view"}})
	assert.Equal(t, http.StatusBadRequest, a.code)
}

func TestErrors(t *testing.T) {
	f := newFixture(t, 100)
	org1 := f.tokens["org-1"]
	viewer, _, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: "org-1", Role: apitoken.Viewer, Resource: "notebook:nb-1"}, f.now.Add(-time.Minute))
	require.NoError(t, err)
	expired, _, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: "org-1", Role: apitoken.Viewer, TTL: time.Minute}, f.now.Add(-time.Hour))
	require.NoError(t, err)
	for _, tc := range []struct {
		name, path, token string
		params            url.Values
		code              int
		field, reason     string
	}{
		{"no token", "/api/v1/events", "", nil, 401, "", reasonNoToken},
		{"unknown token", "/api/v1/events", "oat_nope_nope", nil, 401, "", reasonBadToken},
		{"expired token", "/api/v1/events", expired, nil, 401, "", reasonBadToken},
		{"bad ip", "/api/v1/events", org1, url.Values{"ip": {"300.1.1.1"}}, 400, "ip", reasonBadFilter},
		{"prefix with host bits", "/api/v1/events", org1, url.Values{"ip": {"10.0.0.1/8"}}, 400, "ip", reasonBadFilter},
		{"bad since", "/api/v1/events", org1, url.Values{"since": {"fortnight"}}, 400, "since", reasonBadFilter},
		{"since and from", "/api/v1/events", org1, url.Values{"since": {"2d"}, "from": {"2025-11-01"}}, 400, "since", reasonBadFilter},
		{"bad from", "/api/v1/events", org1, url.Values{"from": {"yesterday"}}, 400, "from", reasonBadFilter},
		{"to before from", "/api/v1/events", org1, url.Values{"from": {"2025-11-02"}, "to": {"2025-11-01"}}, 400, "to", reasonBadFilter},
		{"bad tz", "/api/v1/events", org1, url.Values{"tz": {"Mars/Olympus"}}, 400, "tz", reasonBadFilter},
		{"blank q", "/api/v1/events", org1, url.Values{"q": {"  "}}, 400, "q", reasonBadFilter},
		{"bad outcome", "/api/v1/events", org1, url.Values{"outcome": {"maybe"}}, 400, "outcome", reasonBadFilter},
		{"page_size 0", "/api/v1/events", org1, url.Values{"page_size": {"0"}}, 400, "page_size", reasonBadFilter},
		{"page_size 1001", "/api/v1/events", org1, url.Values{"page_size": {"1001"}}, 400, "page_size", reasonBadFilter},
		{"unknown parameter", "/api/v1/events", org1, url.Values{"organization": {"org-2"}}, 400, "organization", reasonBadFilter},
		{"repeated parameter", "/api/v1/events", org1, url.Values{"action": {"a", "b"}}, 400, "action", reasonBadFilter},
		{"over-long parameter", "/api/v1/events", org1, url.Values{"q": {strings.Repeat("x", 257)}}, 400, "q", reasonBadFilter},
		{"control character", "/api/v1/events", org1, url.Values{"q": {"a\x1b[2J"}}, 400, "q", reasonBadFilter},
		{"export without format", "/api/v1/events/export", org1, nil, 400, "format", reasonBadFilter},
		{"export as xml", "/api/v1/events/export", org1, url.Values{"format": {"xml"}}, 400, "format", reasonBadFilter},
		{"resource filter on a resource path", "/api/v1/resources/notebook/nb-1/events", org1, url.Values{"resource": {"x"}}, 400, "resource", reasonBadFilter},
		{"scoped token, other resource", "/api/v1/events", viewer, url.Values{"resource": {"notebook:nb-2"}}, 403, "resource", reasonOutOfScope},
		{"scoped token, a whole type", "/api/v1/events", viewer, url.Values{"resource": {"notebook"}}, 403, "resource", reasonOutOfScope},
		{"scoped token, other resource path", "/api/v1/resources/notebook/nb-2/events", viewer, nil, 403, "resource", reasonOutOfScope},
		{"unknown endpoint", "/api/v1/nope", org1, nil, 404, "", reasonNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.rec.all())
			a := get(t, f.es.URL, tc.path, tc.token, tc.params)
			require.Equal(t, tc.code, a.code, "%s", a.body)
			e := a.apiError(t)
			assert.Equal(t, tc.field, e.Field)
			assert.Equal(t, tc.reason, e.Reason)
			assert.NotEmpty(t, e.Message)
			if tc.code == 401 {
				assert.NotEmpty(t, a.header.Get("WWW-Authenticate"))
			}
			assert.Len(t, f.rec.all(), before, "a refused call read nothing, so records nothing")
		})
	}
}

// The store out of reach is a 503 and the read is recorded as failed.
func TestStoreUnavailable(t *testing.T) {
	f := newFixture(t, 10)
	gone := f.serve(t, &eventstore.Archive{Dir: "/nonexistent/archive"}, Config{})
	a := get(t, gone.URL, "/api/v1/events", f.tokens["org-1"], nil)
	require.Equal(t, http.StatusServiceUnavailable, a.code, "%s", a.body)
	assert.Equal(t, reasonStoreUnavailable, a.apiError(t).Reason)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	assert.NotContains(t, string(a.body), "/nonexistent", "the store's address stays in the service's log")
	recs := f.rec.all()
	require.NotEmpty(t, recs)
	assert.Error(t, recs[len(recs)-1].Err)

	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{fmt.Sprintf("http://127.0.0.1:%d", testcollector.FreePort(t))}, MaxRetries: 1})
	require.NoError(t, err)
	down := f.serve(t, &eventstore.Elasticsearch{Client: c}, Config{})
	a = get(t, down.URL, "/api/v1/events/export", f.tokens["org-1"], url.Values{"format": {"csv"}})
	require.Equal(t, http.StatusServiceUnavailable, a.code, "%s", a.body)
	assert.Equal(t, reasonStoreUnavailable, a.apiError(t).Reason)
}

// Each read is recorded before it is answered, with the organization,
// the token, the filters and the count; when it cannot be, nothing is
// returned.
func TestReadsAreAudited(t *testing.T) {
	f := newFixture(t, 200)
	tok := f.tokens["org-2"]
	a := get(t, f.es.URL, "/api/v1/events", tok, url.Values{"action": {"report.view"}, "page_size": {"5"}})
	require.Equal(t, http.StatusOK, a.code)
	var page eventPage
	a.json(t, &page)
	recs := f.rec.all()
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, "org-2", r.Principal.Organization)
	assert.Equal(t, "backend of org-2", r.Principal.Name)
	assert.Equal(t, apitoken.Admin, r.Principal.Role)
	assert.Equal(t, "report.view", r.Query.Action)
	assert.Equal(t, "org-2", r.Query.Organization)
	assert.Equal(t, len(page.Events), r.Count)
	assert.NoError(t, r.Err)

	a = get(t, f.es.URL, "/api/v1/events/export", tok, url.Values{"format": {"ndjson"}})
	require.Equal(t, http.StatusOK, a.code)
	recs = f.rec.all()[1:]
	require.Len(t, recs, 2, "an export is recorded before it starts, and when it ends")
	assert.Equal(t, -1, recs[0].Count)
	assert.Equal(t, strings.Count(string(a.body), "\n"), recs[1].Count)

	f.rec.failWith(errCollectorDown)
	for _, path := range []string{"/api/v1/events", "/api/v1/resources/notebook/nb-1/events", "/api/v1/events/export?format=csv"} {
		a := call(t, http.MethodGet, f.es.URL+path, tok, nil)
		require.Equal(t, http.StatusServiceUnavailable, a.code, "%s: %s", path, a.body)
		assert.Equal(t, reasonAuditUnavailable, a.apiError(t).Reason)
		assert.NotContains(t, string(a.body), `"events"`)
		assert.NotContains(t, string(a.body), "Event ID")
	}
}

// An export is the whole filtered view, in CSV (the layout of auditctl
// export, neutralized) or NDJSON, the same set from both stores.
func TestExportIsTheFilteredView(t *testing.T) {
	f := newFixture(t, 1200)
	tok := f.tokens["org-1"]
	filter := url.Values{"category": {"view_data"}}
	paged := ids(walk(t, f.es.URL, "/api/v1/events", tok, filter))
	require.NotEmpty(t, paged)
	for name, base := range map[string]string{"archive": f.archive.URL, "elasticsearch": f.es.URL} {
		q := url.Values{"format": {"csv"}, "category": {"view_data"}}
		a := get(t, base, "/api/v1/events/export", tok, q)
		require.Equal(t, http.StatusOK, a.code, "%s", a.body)
		assert.Equal(t, "text/csv; charset=utf-8", a.header.Get("Content-Type"))
		rows, err := csv.NewReader(strings.NewReader(string(a.body))).ReadAll()
		require.NoError(t, err)
		col := slices.Index(rows[0], "Event ID")
		require.GreaterOrEqual(t, col, 0, "header %v", rows[0])
		var got []string
		for _, r := range rows[1:] {
			got = append(got, r[col])
		}
		assert.ElementsMatch(t, paged, got, name)

		q.Set("format", "ndjson")
		a = get(t, base, "/api/v1/events/export", tok, q)
		require.Equal(t, http.StatusOK, a.code)
		got = got[:0]
		for _, line := range strings.Split(strings.TrimSpace(string(a.body)), "\n") {
			var e eventstore.Event
			require.NoError(t, json.Unmarshal([]byte(line), &e))
			require.Equal(t, "org-1", e.Organization)
			got = append(got, e.ID)
		}
		assert.ElementsMatch(t, paged, got, name)
	}
}

// A viewer token minted by an admin sees one organization, and only the
// resource or actor it was minted for; a viewer cannot mint.
func TestViewerTokens(t *testing.T) {
	f := newFixture(t, 600)
	admin := f.tokens["org-1"]
	all := walk(t, f.es.URL, "/api/v1/events", admin, url.Values{"resource": {"notebook"}, "page_size": {"1000"}})
	require.NotEmpty(t, all)
	target := all[0].Resource
	mint := func(token, body string) answer {
		return call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", token, []byte(body))
	}
	a := mint(admin, `{"resource":"`+target.Type+`:`+target.ID+`","ttl":"10m","name":"alice@customer"}`)
	require.Equal(t, http.StatusCreated, a.code, "%s", a.body)
	var minted struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}
	a.json(t, &minted)
	assert.Equal(t, f.now.Add(10*time.Minute).Format(time.RFC3339), minted.ExpiresAt)

	who := get(t, f.es.URL, "/api/v1/whoami", minted.Token, nil)
	require.Equal(t, http.StatusOK, who.code)
	assert.JSONEq(t, `{"organization":"org-1","role":"viewer","name":"alice@customer","resource":"`+target.Type+`:`+target.ID+`","expires_at":"`+minted.ExpiresAt+`"}`, string(who.body))

	log := walk(t, f.es.URL, "/api/v1/events", minted.Token, url.Values{"page_size": {"7"}})
	require.NotEmpty(t, log)
	for _, e := range log {
		assert.Equal(t, *target, *e.Resource)
	}
	same := walk(t, f.es.URL, "/api/v1/resources/"+target.Type+"/"+url.PathEscape(target.ID)+"/events", minted.Token, nil)
	assert.Equal(t, ids(log), ids(same))
	last := f.rec.all()[len(f.rec.all())-1]
	assert.Equal(t, "viewer", last.Principal.Role)
	assert.Equal(t, "alice@customer", last.Principal.Name)
	assert.True(t, last.Principal.Signed)
	assert.Equal(t, ids(log), ids(walk(t, f.es.URL, "/api/v1/resources/"+target.Type+"/"+url.PathEscape(target.ID)+"/events", admin, nil)))

	for _, tc := range []struct {
		name, token, body string
		code              int
	}{
		{"a viewer token mints", minted.Token, `{}`, 403},
		{"a viewer API token mints", mustCreate(t, f, apitoken.Viewer), `{}`, 403},
		{"ttl too long", admin, `{"ttl":"25h"}`, 400},
		{"another organization", admin, `{"organization":"org-2"}`, 403},
		{"its own organization, named", admin, `{"organization":"org-1"}`, 201},
		{"unknown field", admin, `{"org":"org-2"}`, 400},
		{"resource without id", admin, `{"resource":"notebook"}`, 400},
		{"not JSON", admin, `resource=x`, 400},
		{"too big", admin, `{"name":"` + strings.Repeat("x", 5000) + `"}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mint(tc.token, tc.body)
			assert.Equal(t, tc.code, a.code, "%s", a.body)
		})
	}

	// An actor-scoped token sees one user's events.
	a = mint(admin, `{"actor":"***@example.com"}`)
	require.Equal(t, http.StatusCreated, a.code, "%s", a.body)
	a.json(t, &minted)
	for _, e := range walk(t, f.es.URL, "/api/v1/events", minted.Token, nil) {
		assert.Equal(t, "***@example.com", e.User.Email)
	}
	assert.Equal(t, http.StatusForbidden, get(t, f.es.URL, "/api/v1/events", minted.Token, url.Values{"user": {"***@other.example"}}).code)

	// Expired.
	f.now = f.now.Add(apitoken.DefaultViewerTTL + time.Second)
	assert.Equal(t, http.StatusUnauthorized, get(t, f.es.URL, "/api/v1/events", minted.Token, nil).code)
}

func mustCreate(t *testing.T, f *fixture, role string) string {
	tok, _, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: "org-1", Role: role}, f.now.Add(-time.Minute))
	require.NoError(t, err)
	return tok
}

// A revoked token stops working without a restart: the file is reread.
func TestRevokedTokenStopsWorking(t *testing.T) {
	f := newFixture(t, 10)
	tok, rec, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: "org-1", Role: apitoken.Viewer}, f.now.Add(-time.Minute))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get(t, f.es.URL, "/api/v1/whoami", tok, nil).code)
	_, err = apitoken.Revoke(f.tokensFile, rec.ID, f.now)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, get(t, f.es.URL, "/api/v1/whoami", tok, nil).code)
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, 10)
	limited := f.serve(t, f.storeOf(), Config{RateLimit: 1, RateBurst: 3})
	tok := f.tokens["org-1"]
	for i := range 3 {
		require.Equal(t, http.StatusOK, get(t, limited.URL, "/api/v1/whoami", tok, nil).code, "request %d", i)
	}
	a := get(t, limited.URL, "/api/v1/whoami", tok, nil)
	require.Equal(t, http.StatusTooManyRequests, a.code)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	assert.Equal(t, reasonRateLimited, a.apiError(t).Reason)
	assert.Equal(t, http.StatusOK, get(t, limited.URL, "/api/v1/whoami", f.tokens["org-2"], nil).code, "another token has its own bucket")
	f.now = f.now.Add(time.Second)
	assert.Equal(t, http.StatusOK, get(t, limited.URL, "/api/v1/whoami", tok, nil).code, "a second later")
}

func (f *fixture) storeOf() eventstore.Store {
	return &eventstore.Elasticsearch{Client: f.store.Client}
}

// Two organizations whose ids make the same namespace (org-1, org_1)
// share indices, never answers: the query filters on organization.id too.
func TestNamespaceCollisionsStayApart(t *testing.T) {
	f := newFixture(t, 60)
	f.store.Fill(t, 40, 99, time.Hour, func(_ int, lr plog.LogRecord) { lr.Attributes().PutStr(fields.Organization, "org_1") })
	twin := mustCreateFor(t, f, "org_1")
	for name, base := range map[string]string{"archive": f.archive.URL, "elasticsearch": f.es.URL} {
		got := walk(t, base, "/api/v1/events", twin, nil)
		assert.Len(t, got, 40, name)
		for _, e := range got {
			assert.Equal(t, "org_1", e.Organization, name)
		}
		for _, e := range walk(t, base, "/api/v1/events", f.tokens["org-1"], nil) {
			assert.Equal(t, "org-1", e.Organization, name)
		}
	}
}

func mustCreateFor(t *testing.T, f *fixture, org string) string {
	tok, _, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: org, Role: apitoken.Admin}, f.now.Add(-time.Minute))
	require.NoError(t, err)
	return tok
}

// Two replicas with the same tokens file and key answer alike: a cursor
// from one is read by the other, and a viewer token minted by one works on
// the other.
func TestReplicasShareCursorsAndTokens(t *testing.T) {
	f := newFixture(t, 400)
	other := f.serve(t, f.storeOf(), Config{})
	tok := f.tokens["org-1"]
	want := ids(walk(t, f.es.URL, "/api/v1/events", tok, url.Values{"page_size": {"13"}}))
	var got []string
	p := url.Values{"page_size": {"13"}}
	for i := 0; ; i++ {
		base := []string{f.es.URL, other.URL}[i%2]
		a := get(t, base, "/api/v1/events", tok, p)
		require.Equal(t, http.StatusOK, a.code, "%s", a.body)
		var page eventPage
		a.json(t, &page)
		got = append(got, ids(page.Events)...)
		if page.NextCursor == nil {
			break
		}
		p.Set("cursor", *page.NextCursor)
	}
	assert.Equal(t, want, got)
	a := call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", tok, []byte(`{}`))
	require.Equal(t, http.StatusCreated, a.code)
	var minted struct {
		Token string `json:"token"`
	}
	a.json(t, &minted)
	assert.Equal(t, http.StatusOK, get(t, other.URL, "/api/v1/whoami", minted.Token, nil).code)
}
