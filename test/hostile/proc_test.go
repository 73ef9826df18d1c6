package hostile_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

func procRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// procConfig: OTLP/HTTP in, the audit processor, Elasticsearch (the test
// double) with tiers and tenant namespaces, and the file archive.
func procConfig(root, esURL, archive string, httpPort, healthPort int) string {
	return fmt.Sprintf(`
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:%d}
processors:
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml]
    pseudonym: {key: hostile-test-key-0123456789}
exporters:
  file/archive:
    path: %s
    format: json
    flush_interval: 100ms
  audit_elasticsearch:
    endpoints: [%s]
    request_timeout: 2s
    bootstrap: {retry_interval: 200ms}
    data_stream: {dataset: audit, namespace: default, namespace_attribute: organization.id}
    retention:
      default: 365d
      quarantine: 30d
      tiers:
        - {name: view_data, categories: [view_data, view_content], delete_after: 90d}
        - {name: access_control, categories: [access_control], delete_after: 400d}
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit]
      exporters: [audit_elasticsearch, file/archive]
  telemetry:
    metrics:
      level: none
`, healthPort, httpPort, root, archive, esURL)
}

// procAttr is one OTLP JSON attribute; keys may repeat, as on the wire.
type procAttr struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

func procKV(kvs ...string) []procAttr {
	var out []procAttr
	for i := 0; i+1 < len(kvs); i += 2 {
		out = append(out, procAttr{kvs[i], map[string]string{"stringValue": kvs[i+1]}})
	}
	return out
}

// A sender repeats audit.route (the processor used to remove only the
// first copy: quarantined, 30 days instead of 400), repeats the tenant
// key, claims another category and another user's pseudonym, hides an
// address in the scope and in a user.email the detector missed. What is
// stored: the access_control tier of the first tenant, the processor's
// own tags and pseudonym, and no address anywhere.
func TestProcSenderCannotSteerOrUnmask(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the collector")
	}
	const victim = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f"
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive.jsonl")
	httpPort, healthPort := testcollector.FreePort(t), testcollector.FreePort(t)
	proc := testcollector.Start(t, bin, dir, procConfig(procRoot(), srv.URL, archive, httpPort, healthPort))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 60*time.Second)

	rec := map[string]any{
		"timeUnixNano": fmt.Sprint(time.Now().Add(-time.Hour).UnixNano()),
		"eventName":    "workspace.invitation.create",
		"attributes": procKV(
			"event.id", "hostile-1",
			"organization.id", "tenanta",
			"audit.route", "quarantine",
			"user.email", "x{y}@example.com",
			"audit.categories", "view_data",
			"user.hash", victim,
			"organization.id", "tenantb",
			"audit.route", "quarantine",
			"event.id", "hostile-2",
		),
	}
	req := map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": procKV("service.name", "svc")},
		"schemaUrl": "https://schemas.example/1?u=res.owner@example.com",
		"scopeLogs": []any{map[string]any{
			"scope":      map[string]any{"name": "lib/jane.doe@example.com", "version": "1+bob@example.org"},
			"schemaUrl":  "https://schemas.example/1?u=scope.owner@example.com",
			"logRecords": []any{rec},
		}},
	}}}
	body, err := json.Marshal(req)
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", httpPort), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool { return len(es.IDs("logs-audit*")) > 0 }, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, []string{"hostile-1"}, es.IDs("logs-audit.access_control-tenanta-*"), "the first tenant's 400-day tier")
	assert.Empty(t, es.IDs("logs-audit.quarantine-*"), "not quarantined")
	assert.Empty(t, es.IDs("*tenantb*"), "not the second tenant")
	if src, ok := es.Doc("logs-audit.access_control-tenanta-*", "hostile-1"); assert.True(t, ok, "stored where expected") {
		doc := string(src)
		assert.Contains(t, doc, `"email":"***@example.com"`)
		assert.NotContains(t, doc, victim)
		assert.NotContains(t, doc, `"route"`)
		assert.NotContains(t, doc, "hostile-2")
	}

	var text string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(archive)
		text = string(b)
		return strings.Contains(text, "hostile-1")
	}, 30*time.Second, 50*time.Millisecond)
	for _, leak := range []string{"x{y}", "jane.doe@", "bob@", "res.owner@", "scope.owner@", victim, "tenantb", "hostile-2"} {
		assert.NotContains(t, text, leak)
	}
	assert.NotContains(t, text, `"audit.route"`)
}
