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
