package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

func TestSetupReadsTiersFromTheCollectorConfig(t *testing.T) {
	es := estest.New()
	srv := es.Start(t)
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"setup", "--es", srv.URL, "--collector-config", "../../config/elasticsearch.yaml"}, &out, &errOut))
	for _, p := range []string{"audit-default", "audit-view_data", "audit-access_control", "audit-quarantine", "audit-deadletter"} {
		assert.True(t, es.Has("ilm", p), p)
	}
	assert.Contains(t, string(es.Asset("ilm", "audit-access_control")), `"400d"`)
}

func TestErrorsSayWhatToFix(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"setup", "--es", "http://127.0.0.1:1", "--collector-config", "../../config/elasticsearch.yaml"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reach Elasticsearch at http://127.0.0.1:1")
	assert.Contains(t, err.Error(), "set ELASTICSEARCH_URL or --es")

	err = run(context.Background(), []string{"setup", "--dry-run", "--collector-config", "../../config/local.yaml"}, &out, &errOut)
	assert.ErrorContains(t, err, "has no audit_elasticsearch exporter")
	err = run(context.Background(), []string{"frobnicate"}, &out, &errOut)
	assert.ErrorContains(t, err, `unknown command "frobnicate"`)
	err = run(context.Background(), []string{"catalog", "docs"}, &out, &errOut)
	assert.ErrorContains(t, err, "name exactly one catalog file")
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &out, os.Stderr))
	assert.Contains(t, out.String(), "auditctl setup")
}

func TestSearchAndExportFlags(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	var out, errOut bytes.Buffer
	// An empty store: the flags parse, the query runs, nothing matches.
	require.NoError(t, run(context.Background(), []string{"setup", "--es", srv.URL, "--collector-config", "../../config/elasticsearch.yaml"}, &out, &errOut))
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"search", "--es", srv.URL, "jane", "--since", "7d", "--resource", "notebook:nb-1", "--ip", "203.0.113.0/24", "--output", "table", "--tz", "UTC", "--no-audit"}, &out, &errOut))
	assert.Contains(t, out.String(), "Time")
	assert.Contains(t, errOut.String(), "0 matching events")
	out.Reset()
	errOut.Reset()
	require.NoError(t, run(context.Background(), []string{"export", "--es", srv.URL, "--since", "yesterday", "--no-audit"}, &out, &errOut))
	assert.True(t, bytes.HasPrefix(out.Bytes(), []byte("Time,User,Action,Resource,IP Address")))
	assert.Contains(t, errOut.String(), "exported 0 events")

	for args, want := range map[string]string{
		"search --since soon":                 "use yesterday, 2d",
		"search --since 2d --from 2025-01-01": "--since and --from both set",
		"search --from 2025-13-01":            "--from \"2025-13-01\"",
		"search --ip 999.1.1.1":               "--ip",
		"search --tz Mars/Olympus":            "--tz",
		"export --output table":               "export writes csv or json",
	} {
		fields := []string{}
		for _, f := range bytes.Fields([]byte(args)) {
			fields = append(fields, string(f))
		}
		err := run(context.Background(), append(fields, "--es", srv.URL, "--no-audit"), &out, &errOut)
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want, args)
	}
}

// Reading the log is itself audited: the access is recorded first, and
// when it cannot be recorded nothing is read.
func TestReadingIsAudited(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	var got []plog.Logs
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := plogotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		got = append(got, req.Logs())
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer otlp.Close()
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"search", "--es", srv.URL, "--audit-endpoint", otlp.URL, "--actor", "admin@corp", "--action", "report.view", "revenue"}, &out, &errOut))
	require.Len(t, got, 1)
	lr := got[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "audit_log_accessed", lr.EventName())
	attrs := lr.Attributes().AsRaw()
	assert.Equal(t, "admin@corp", attrs["user.name"])
	assert.Equal(t, "search", attrs["audit.command"])
	assert.Equal(t, `text="revenue" action="report.view"`, attrs["audit.query"])

	requests := reads(es)
	err := run(context.Background(), []string{"export", "--es", srv.URL, "--audit-endpoint", "http://127.0.0.1:1"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reading the audit log is itself audited")
	assert.Contains(t, err.Error(), "--no-audit")
	assert.Equal(t, requests, reads(es), "nothing was read")
}

func TestArchiveFlag(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"search", "--archive", dir, "--no-audit"}, &out, &errOut)
	assert.ErrorContains(t, err, "no *.jsonl files")
}

func TestConfigFile(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	dir := t.TempDir()
	cfg := dir + "/auditctl.yaml"
	require.NoError(t, os.WriteFile(cfg, []byte("elasticsearch_url: "+srv.URL+"\naudit: \"off\"\n"), 0o600))
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"--config", cfg, "search", "--output", "json"}, &out, &errOut))
	assert.NotEmpty(t, es.Requests(), "the URL came from the file")
	require.NoError(t, os.WriteFile(cfg, []byte("elastic_url: x\n"), 0o600))
	err := run(context.Background(), []string{"--config", cfg, "search"}, &out, &errOut)
	assert.ErrorContains(t, err, `unknown key "elastic_url"`)
	err = run(context.Background(), []string{"--config", dir + "/missing.yaml", "search"}, &out, &errOut)
	assert.ErrorContains(t, err, "--config")
	for k := range fileConfig {
		delete(fileConfig, k)
	}
}

// A collector that answers but refuses the access record (an error
// status, or OTLP's partial success rejecting the record) stops the read
// as an unreachable one does.
func TestRefusedAccessRecordStopsTheRead(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	rejected := plogotlp.NewExportResponse()
	rejected.PartialSuccess().SetRejectedLogRecords(1)
	rejected.PartialSuccess().SetErrorMessage("unknown action audit_log_accessed")
	rejectedBody, err := rejected.MarshalProto()
	require.NoError(t, err)
	for _, tt := range []struct {
		name   string
		status int
		body   []byte
		want   string
	}{
		{"forbidden", http.StatusForbidden, nil, "refused the access record with 403"},
		{"server error", http.StatusInternalServerError, nil, "refused the access record with 500"},
		{"throttled", http.StatusTooManyRequests, nil, "refused the access record with 429"},
		{"partial success", http.StatusOK, rejectedBody, "rejected the access record: unknown action audit_log_accessed"},
	} {
		otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(tt.status)
			_, _ = w.Write(tt.body)
		}))
		for _, cmd := range []string{"search", "export"} {
			requests := reads(es)
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{cmd, "--es", srv.URL, "--audit-endpoint", otlp.URL, "--output", "json"}, &out, &errOut)
			require.Error(t, err, "%s %s", tt.name, cmd)
			assert.Contains(t, err.Error(), "reading the audit log is itself audited", "%s %s", tt.name, cmd)
			assert.Contains(t, err.Error(), tt.want, "%s %s", tt.name, cmd)
			assert.Contains(t, err.Error(), "--no-audit", "%s %s", tt.name, cmd)
			assert.Equal(t, requests, reads(es), "%s %s: nothing was read", tt.name, cmd)
			assert.Empty(t, out.String(), "%s %s", tt.name, cmd)
		}
		otlp.Close()
	}
}

// reads counts the requests that read events (searches and points in
// time), not the one asking who the credentials authenticate.
func reads(es *estest.Server) int {
	n := 0
	for _, r := range es.Requests() {
		if !strings.Contains(r, "_security/_authenticate") {
			n++
		}
	}
	return n
}

// The hint for an unreachable Elasticsearch names the archive that
// config/local.yaml's audit_file exporter writes.
func TestArchiveDirsReadsAuditFile(t *testing.T) {
	t.Setenv("AUDIT_ARCHIVE_PATH", "/srv/audit/archive/audit.jsonl")
	assert.Equal(t, []string{"/srv/audit/archive"}, archiveDirs("../../config/local.yaml"))
}

// setup installs the digest stream's policy, template and stream whether
// or not this host holds the signing key.
func TestSetupInstallsTheDigestTier(t *testing.T) {
	var out, errOut bytes.Buffer
	t.Setenv("AUDIT_SIGNING_KEY_FILE", "")
	require.NoError(t, run(context.Background(), []string{"setup", "--dry-run", "--collector-config", "../../config/elasticsearch.yaml"}, &out, &errOut))
	for _, want := range []string{"PUT _ilm/policy/audit-digest", "PUT _index_template/audit-digest", "PUT _data_stream/logs-audit.digest-default"} {
		assert.Contains(t, out.String(), want)
	}
}
