package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// recordSink collects the attributes of every access record sent to it.
func recordSink(t *testing.T) (string, func() []map[string]any) {
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := plogotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		mu.Lock()
		got = append(got, req.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []map[string]any { mu.Lock(); defer mu.Unlock(); return append([]map[string]any(nil), got...) }
}

// user.id is who Elasticsearch authenticated; without security, or
// reading the archive, the operating-system account. user.name is
// --actor, or the login name.
func TestAccessRecordNamesTheReader(t *testing.T) {
	me, err := user.Current()
	require.NoError(t, err)
	es := estest.New(estest.WithSource(), estest.WithSecurity("changeme"))
	es.AddUser("ana", "ana-pw", "superuser")
	secured := es.Start(t)
	open := estest.New(estest.WithSource()).Start(t)
	archive := filepath.Join(t.TempDir(), "audit.jsonl")
	writeArchive(t, archive, 3)
	sink, records := recordSink(t)
	t.Setenv("ELASTICSEARCH_PASSWORD", "ana-pw")
	for _, tt := range []struct {
		name                   string
		args                   []string
		id, userName, identity string
	}{
		{"secured", []string{"--es", secured.URL, "--es-user", "ana", "--actor", "Ana Reader"}, "ana", "Ana Reader", "elasticsearch"},
		{"no security", []string{"--es", open.URL}, me.Username, me.Username, "os"},
		{"archive", []string{"--archive", archive, "--actor", "Ana Reader"}, me.Username, "Ana Reader", "os"},
	} {
		if tt.name == "no security" {
			t.Setenv("ELASTICSEARCH_PASSWORD", "")
			t.Setenv("AUDITCTL_ACTOR", "")
			t.Setenv("USER", "someone-else")
		}
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), append([]string{"search", "--audit-endpoint", sink, "--output", "json"}, tt.args...), &stdout, &stderr), tt.name)
		all := records()
		require.NotEmpty(t, all, tt.name)
		got := all[len(all)-1]
		assert.Equal(t, tt.id, got["user.id"], tt.name)
		assert.Equal(t, tt.userName, got["user.name"], tt.name)
		assert.Equal(t, tt.identity, got["audit.identity"], tt.name)
		assert.Equal(t, "success", got["event.outcome"], tt.name)
	}
}

// A read that fails is recorded with outcome failure and the reason,
// whether it failed before reading (Elasticsearch out of reach, wrong
// credentials, no archive) or while reading.
func TestFailedReadIsRecordedAsFailure(t *testing.T) {
	es := estest.New(estest.WithSource(), estest.WithSecurity("changeme"))
	secured := es.Start(t)
	sink, records := recordSink(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unreachable", []string{"search", "--es", "http://127.0.0.1:1"}, "cannot reach Elasticsearch"},
		{"wrong password", []string{"search", "--es", secured.URL, "--es-user", "elastic", "--es-password-file", writeSecret(t, "wrong")}, "401"},
		{"no archive", []string{"export", "--archive", filepath.Join(t.TempDir(), "missing")}, "--archive"},
		{"failing search", []string{"export", "--es", failingSearch(t, 0)}, "500"},
	} {
		before := len(records())
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(tt.args, "--audit-endpoint", sink), &stdout, &stderr)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
		all := records()
		require.Greater(t, len(all), before, "%s: the failed read is recorded", tt.name)
		last := all[len(all)-1]
		assert.Equal(t, "failure", last["event.outcome"], tt.name)
		assert.Contains(t, last["audit.error"], tt.want, tt.name)
	}
}

func writeSecret(t *testing.T, secret string) string {
	p := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, writeFile(p, secret+"\n"))
	return p
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// A collector whose OTLP receiver takes a bearer token (as
// config/elasticsearch.yaml's does) gets it with the access record.
func TestAccessRecordCarriesTheCollectorsToken(t *testing.T) {
	es := estest.New(estest.WithSource()).Start(t)
	var mu sync.Mutex
	var auth []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	args := []string{"search", "--es", es.URL, "--audit-endpoint", collector.URL, "--output", "json"}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused the access record with 401")
	assert.Contains(t, err.Error(), "AUDITCTL_AUDIT_TOKEN")

	t.Setenv("AUDITCTL_AUDIT_TOKEN", "s3cret-token")
	require.NoError(t, run(context.Background(), args, &stdout, &stderr))
	t.Setenv("AUDITCTL_AUDIT_TOKEN", "")
	require.NoError(t, run(context.Background(), append(args, "--audit-token-file", writeSecret(t, "s3cret-token")), &stdout, &stderr))

	err = run(context.Background(), append(args, "--audit-token-file", writeSecret(t, "wrong-token")), &stdout, &stderr)
	require.Error(t, err)
	assert.NotContains(t, err.Error()+stderr.String(), "wrong-token")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"", "Bearer s3cret-token", "Bearer s3cret-token", "Bearer wrong-token"}, auth)
}
