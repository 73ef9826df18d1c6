package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, run(context.Background(), []string{"search", "--es", srv.URL, "jane", "--since", "7d", "--resource", "notebook:nb-1", "--ip", "203.0.113.0/24", "--output", "table", "--tz", "UTC"}, &out, &errOut))
	assert.Contains(t, out.String(), "Time")
	assert.Contains(t, errOut.String(), "0 matching events")
	out.Reset()
	errOut.Reset()
	require.NoError(t, run(context.Background(), []string{"export", "--es", srv.URL, "--since", "yesterday"}, &out, &errOut))
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
		err := run(context.Background(), append(fields, "--es", srv.URL), &out, &errOut)
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want, args)
	}
}
