package auditapi

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// Revoking an admin token ends the viewer tokens it minted, and a viewer
// token never outlives its minting token.
func TestViewerTokensEndWithTheirAdminToken(t *testing.T) {
	f := newFixture(t, 10)
	admin, rec, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: "org-1", Role: apitoken.Admin, TTL: 2 * time.Hour}, f.now.Add(-time.Hour))
	require.NoError(t, err)
	a := call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", admin, []byte(`{"ttl":"24h"}`))
	require.Equal(t, http.StatusCreated, a.code, "%s", a.body)
	var m struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}
	a.json(t, &m)
	assert.Equal(t, rec.Expires.Format(time.RFC3339), m.ExpiresAt, "capped at the admin token's expiry")
	require.Equal(t, http.StatusOK, get(t, f.es.URL, "/api/v1/events", m.Token, nil).code)
	_, err = apitoken.Revoke(f.tokensFile, rec.ID, f.now)
	require.NoError(t, err)
	a = get(t, f.es.URL, "/api/v1/events", m.Token, nil)
	assert.Equal(t, http.StatusUnauthorized, a.code, "%s", a.body)
	assert.Contains(t, a.apiError(t).Message, "revoked")
}

// One viewer token is one bucket, however its signature is spelt.
func TestViewerTokenSpellingsShareABucket(t *testing.T) {
	f := newFixture(t, 10)
	limited := f.serve(t, f.storeOf(), Config{RateLimit: 1, RateBurst: 2})
	a := call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", f.tokens["org-1"], []byte(`{}`))
	require.Equal(t, http.StatusCreated, a.code, "%s", a.body)
	var m struct{ Token string }
	a.json(t, &m)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, m.Token[len(m.Token)-1])
	ok := 0
	for v := range 4 {
		tok := m.Token[:len(m.Token)-1] + string(alphabet[(i&^3)|v])
		for range 3 {
			if get(t, limited.URL, "/api/v1/whoami", tok, nil).code == http.StatusOK {
				ok++
			}
		}
	}
	assert.Equal(t, 2, ok, "a burst of 2, whatever the spelling")
}

// A query string that does not parse is refused, never read as fewer
// filters.
func TestMalformedQueryIsRefused(t *testing.T) {
	f := newFixture(t, 10)
	for _, raw := range []string{"action=report.view;x", "action=%zz", "format=csv&action=%zz"} {
		path := "/api/v1/events?"
		if strings.HasPrefix(raw, "format") {
			path = "/api/v1/events/export?"
		}
		a := call(t, http.MethodGet, f.es.URL+path+raw, f.tokens["org-1"], nil)
		require.Equal(t, http.StatusBadRequest, a.code, "%s: %s", raw, a.body)
		assert.Equal(t, reasonBadFilter, a.apiError(t).Reason)
	}
}

// Times outside what a cursor can carry are refused, not wrapped.
func TestTimesOutOfRangeAreRefused(t *testing.T) {
	f := newFixture(t, 10)
	for _, q := range []url.Values{{"since": {"200000d"}}, {"since": {"99999999999d"}}, {"from": {"1500-01-01"}}, {"to": {"2300-01-01"}}} {
		a := get(t, f.es.URL, "/api/v1/events", f.tokens["org-1"], q)
		require.Equal(t, http.StatusBadRequest, a.code, "%v: %s", q, a.body)
		assert.Equal(t, reasonBadFilter, a.apiError(t).Reason)
	}
}

// failAfter lets okay searches through, then fails every one.
type failAfter struct {
	n    atomic.Int32
	okay int32
}

func (f *failAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "_search") && f.n.Add(1) > f.okay {
		return nil, errors.New("connection reset")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// An export that fails midway keeps every row it wrote whole, and ends
// with its own error line; the end is recorded as a failure.
func TestExportFailingMidwaySaysSo(t *testing.T) {
	f := newFixture(t, 600)
	for _, format := range []string{"csv", "ndjson"} {
		c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{f.store.URL}, Transport: &failAfter{okay: 1}, DisableRetry: true})
		require.NoError(t, err)
		srv := f.serve(t, &eventstore.Elasticsearch{Client: c, Batch: 150}, Config{})
		a := get(t, srv.URL, "/api/v1/events/export", f.tokens["org-1"], url.Values{"format": {format}})
		require.Equal(t, http.StatusOK, a.code)
		lines := strings.Split(strings.TrimSuffix(string(a.body), "\n"), "\n")
		last := lines[len(lines)-1]
		rows := lines[:len(lines)-1]
		if format == "csv" {
			assert.Equal(t, "# error: the export stopped early; it is incomplete", last)
			recs, err := csv.NewReader(strings.NewReader(strings.Join(rows, "\n") + "\n")).ReadAll()
			require.NoError(t, err, "every row before the error is whole")
			assert.Len(t, recs, 151, "the header and the first batch")
		} else {
			assert.JSONEq(t, `{"error":"the export stopped early; it is incomplete"}`, last)
			for _, l := range rows {
				assert.True(t, json.Valid([]byte(l)), "%.80s", l)
			}
			assert.Len(t, rows, 150)
		}
		recs := f.rec.all()
		assert.Error(t, recs[len(recs)-1].Err, "the end of the export is recorded as failed")
	}
}

// A platform token (organization '*') mints viewer tokens for any
// organization, which see that organization only, and reads nothing itself.
func TestPlatformToken(t *testing.T) {
	f := newFixture(t, 90)
	platform, rec, err := apitoken.Create(f.tokensFile, apitoken.Spec{Organization: apitoken.Platform, Role: apitoken.Admin, Name: "saas backend"}, f.now.Add(-time.Minute))
	require.NoError(t, err)
	for _, path := range []string{"/api/v1/events", "/api/v1/events/export?format=csv", "/api/v1/resources/notebook/nb-1/events"} {
		a := call(t, http.MethodGet, f.es.URL+path, platform, nil)
		require.Equal(t, http.StatusForbidden, a.code, "%s: %s", path, a.body)
		assert.Equal(t, reasonOutOfScope, a.apiError(t).Reason)
	}
	for _, body := range []string{`{}`, `{"organization":"*"}`} {
		a := call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", platform, []byte(body))
		assert.Equal(t, http.StatusBadRequest, a.code, "%s: %s", body, a.body)
	}
	var viewer string
	for _, org := range []string{"org-1", "org-2"} {
		a := call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", platform, []byte(`{"organization":"`+org+`"}`))
		require.Equal(t, http.StatusCreated, a.code, "%s", a.body)
		var m struct{ Token string }
		a.json(t, &m)
		viewer = m.Token
		got := walk(t, f.es.URL, "/api/v1/events", m.Token, nil)
		require.NotEmpty(t, got)
		for _, e := range got {
			assert.Equal(t, org, e.Organization)
		}
		last := f.rec.all()[len(f.rec.all())-1]
		assert.Equal(t, org, last.Principal.Organization, "the read is recorded in the organization's own log")
		assert.Equal(t, rec.ID, last.Principal.TokenID, "naming the platform token that minted it")
	}
	_, err = apitoken.Revoke(f.tokensFile, rec.ID, f.now)
	require.NoError(t, err)
	a := call(t, http.MethodPost, f.es.URL+"/api/v1/viewer-tokens", platform, []byte(`{"organization":"org-1"}`))
	assert.Equal(t, http.StatusUnauthorized, a.code)
	assert.Equal(t, http.StatusUnauthorized, get(t, f.es.URL, "/api/v1/events", viewer, nil).code, "its viewer tokens end with it")
	_, _, err = apitoken.Create(f.tokensFile, apitoken.Spec{Organization: apitoken.Platform, Role: apitoken.Viewer}, f.now)
	assert.Error(t, err, "a platform token is an admin token")
}
