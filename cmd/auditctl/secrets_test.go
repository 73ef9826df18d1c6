package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// otlpSink records the raw bodies of the access records sent to it.
func otlpSink(t *testing.T) (string, func() string) {
	var mu sync.Mutex
	var got bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got.Write(b)
		got.WriteString(r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() string { mu.Lock(); defer mu.Unlock(); return got.String() }
}

// withUserinfo puts user:password@ into a URL.
func withUserinfo(u, userinfo string) string {
	return strings.Replace(u, "://", "://"+userinfo+"@", 1)
}

// A password in the URL authenticates, and is neither recorded in the
// audit log nor printed; auditctl warns about it.
func TestURLCredentialsAreNotRecordedOrPrinted(t *testing.T) {
	es := estest.New(estest.WithSource(), estest.WithSecurity("s3cret-pw"))
	srv := es.Start(t)
	sink, recorded := otlpSink(t)
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"search", "--es", withUserinfo(srv.URL, "elastic:s3cret-pw"), "--audit-endpoint", sink, "--output", "json"}, &stdout, &stderr))
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("elastic:s3cret-pw")), es.Stats().LastAuthorization)
	assert.Contains(t, recorded(), "elasticsearch "+srv.URL, "the source is recorded without its userinfo")
	assert.NotContains(t, recorded(), "s3cret-pw")
	assert.NotContains(t, recorded(), "elastic:")
	assert.NotContains(t, stdout.String()+stderr.String(), "s3cret-pw")
	assert.Contains(t, stderr.String(), "warning: the Elasticsearch URL carries credentials")

	// In errors too: Elasticsearch unreachable, the audit endpoint refusing.
	for _, args := range [][]string{
		{"search", "--es", "http://elastic:s3cret-pw@127.0.0.1:1", "--no-audit"},
		{"export", "--es", srv.URL, "--es-user", "elastic", "--audit-endpoint", "http://bob:s3cret-pw@127.0.0.1:1"},
		{"setup", "--es", "http://elastic:s3cret-pw@127.0.0.1:1", "--collector-config", "../../config/elasticsearch.yaml"},
		{"setup", "--es", "%zz://elastic:s3cret-pw@x", "--collector-config", "../../config/elasticsearch.yaml"},
		{"setup", "--es", srv.URL, "--es-user", "elastic", "--kibana", "http://kib:s3cret-pw@127.0.0.1:1", "--collector-config", "../../config/elasticsearch.yaml"},
	} {
		stderr.Reset()
		t.Setenv("ELASTICSEARCH_PASSWORD", "")
		if args[3] == "--es-user" {
			t.Setenv("ELASTICSEARCH_PASSWORD", "s3cret-pw")
		}
		err := run(context.Background(), args, &stdout, &stderr)
		require.Error(t, err, "%q", args)
		assert.NotContains(t, err.Error()+stderr.String(), "s3cret-pw", "%q", args)
		assert.NotContains(t, err.Error(), "bob", "%q", args)
	}
}

// Secrets come from a file or stdin too; on the command line or in a URL
// they draw a warning, since ps shows them.
func TestSecretsFromFilesAndWarnings(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("a2V5LWZyb20tZmlsZQ==\n"), 0o600))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"search", "--es", srv.URL, "--api-key-file", keyFile, "--no-audit", "--output", "json"}, &stdout, &stderr))
	assert.Equal(t, "APIKey a2V5LWZyb20tZmlsZQ==", es.Stats().LastAuthorization, "the line end is not part of the key")
	assert.NotContains(t, stderr.String(), "warning")

	stdin = strings.NewReader("pw-from-stdin\n")
	t.Cleanup(func() { stdin = os.Stdin })
	require.NoError(t, run(context.Background(), []string{"search", "--es", srv.URL, "--es-user", "reader", "--es-password-file", "-", "--no-audit", "--output", "json"}, &stdout, &stderr))
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("reader:pw-from-stdin")), es.Stats().LastAuthorization)

	t.Setenv("ELASTICSEARCH_API_KEY", "a2V5LWZyb20tZW52")
	stderr.Reset()
	require.NoError(t, run(context.Background(), []string{"search", "--es", srv.URL, "--no-audit", "--output", "json"}, &stdout, &stderr))
	assert.Equal(t, "APIKey a2V5LWZyb20tZW52", es.Stats().LastAuthorization)
	assert.NotContains(t, stderr.String(), "warning", "the environment is not shown by ps")
	t.Setenv("ELASTICSEARCH_API_KEY", "")

	for flagName, args := range map[string][]string{
		"--api-key":     {"--api-key", "a2V5"},
		"--es-password": {"--es-user", "reader", "--es-password", "pw"},
	} {
		stderr.Reset()
		require.NoError(t, run(context.Background(), append([]string{"search", "--es", srv.URL, "--no-audit", "--output", "json"}, args...), &stdout, &stderr))
		assert.Contains(t, stderr.String(), "warning: "+flagName+" puts the secret on the command line", flagName)
		assert.Contains(t, stderr.String(), "-file", flagName)
	}
}

// Two credentials at once are refused, saying which and where from.
func TestConflictingCredentialsAreRefused(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("k\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--api-key", "k", "--es-user", "u", "--es-password", "p"}, "an API key (--api-key) and a user/password (--es-user) are both set: use one"},
		{map[string]string{"ELASTICSEARCH_API_KEY": "k"}, []string{"--es-user", "u", "--es-password", "p"}, "an API key (ELASTICSEARCH_API_KEY) and a user/password (--es-user) are both set: use one"},
		{nil, []string{"--es", "http://u:p@localhost:9200", "--api-key", "k"}, "the Elasticsearch URL carries credentials (user:password@) and --api-key is also set: use one"},
		{nil, []string{"--es", "http://u:p@localhost:9200", "--es-user", "v"}, "the Elasticsearch URL carries credentials (user:password@) and --es-user is also set: use one"},
		{nil, []string{"--es-password", "p"}, "a password (--es-password) without a user: set --es-user or ELASTICSEARCH_USER"},
		{nil, []string{"--api-key", "k", "--api-key-file", keyFile}, "--api-key and --api-key-file are both set: use one"},
		{nil, []string{"--es-user", "u", "--es-password-file", "-", "--api-key-file", "-"}, "--api-key-file and --es-password-file both read stdin"},
		{nil, []string{"--api-key-file", empty}, "--api-key-file " + empty + ": empty"},
		{nil, []string{"--api-key-file", filepath.Join(dir, "missing")}, "--api-key-file"},
		{nil, []string{"--es", "ftp://localhost"}, `--es "ftp://localhost": use an http(s) URL with a host`},
	} {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"search", "--no-audit"}, tt.args...), &stdout, &stderr)
		require.Error(t, err, "%q", tt.args)
		assert.Contains(t, err.Error(), tt.want, "%q", tt.args)
		for k := range tt.env {
			t.Setenv(k, "")
		}
	}
}
