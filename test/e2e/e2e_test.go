// Package e2e runs the built otelcol-audit distribution as a user would:
// OTLP in, the audit processor, the JSON-lines archive out.
package e2e

import (
	"bytes"
	"context"
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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/masking"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type ports struct{ grpc, http, health, metrics int }

func config(p ports, archive string) string {
	root := repoRoot()
	return fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%d}
      http: {endpoint: 127.0.0.1:%d}
processors:
  memory_limiter: {check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 20}
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml, %s/config/catalogs/wherobots.yaml]
    pseudonym: {key: e2e-test-key-0123456789}
  batch: {timeout: 200ms, send_batch_size: 500}
exporters:
  file/archive:
    path: %s
    format: json
    flush_interval: 100ms
    rotation: {max_megabytes: 10}
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [otlp]
      processors: [memory_limiter, audit, batch]
      exporters: [file/archive]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`, p.grpc, p.http, root, root, archive, p.health, p.metrics)
}

func TestOTLPToArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the collector")
	}
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive", "audit.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Dir(archive), 0o755))
	p := ports{testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	proc := testcollector.Start(t, bin, dir, config(p, archive))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)

	const perPath = 500
	opts := func(prefix string, seed uint64) auditgen.Options {
		return auditgen.Options{FreeTextEmailFraction: 0.3, UnknownFraction: 0.05, Seed: seed, IDPrefix: prefix}
	}
	httpBatch := auditgen.Batch(perPath, opts("http-", 1))
	grpcBatch := auditgen.Batch(perPath, opts("grpc-", 2))
	wantUnknown := countUnknown(httpBatch) + countUnknown(grpcBatch)
	require.Positive(t, wantUnknown, "the generator should include unknown actions")

	// OTLP/HTTP with JSON, as the README's curl example does.
	body, err := plogotlp.NewExportRequestFromLogs(httpBatch).MarshalJSON()
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", p.http), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// OTLP/gRPC.
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", p.grpc), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(grpcBatch))
	require.NoError(t, err)

	var records map[string]plog.LogRecord
	var raw string
	require.Eventually(t, func() bool {
		records, raw = readArchive(t, archive)
		return len(records) >= 2*perPath
	}, 30*time.Second, 100*time.Millisecond, "archive never held every record")
	assert.Len(t, records, 2*perPath, "every record exactly once")

	assert.False(t, masking.Contains(raw), "an address survived in the archive")
	assert.NotContains(t, raw, "user1", "a local part survived")
	unknown := 0
	for id, lr := range records {
		get := func(k string) string {
			if v, ok := lr.Attributes().Get(k); ok {
				return v.AsString()
			}
			return ""
		}
		require.True(t, strings.HasPrefix(get("user.email"), "***@"), id)
		require.Len(t, get("user.hash"), 64, id)
		if get("audit.route") == "quarantine" {
			unknown++
			assert.Contains(t, get("audit.invalid_reason"), "unknown action", id)
			assert.Equal(t, "pipeline_error", get("event.kind"), id)
			continue
		}
		assert.NotEmpty(t, get("audit.group"), id)
		assert.NotEmpty(t, get("audit.categories"), id)
		assert.Equal(t, "event", get("event.kind"), id)
		assert.Contains(t, []string{"success", "failure"}, get("event.outcome"), id)
	}
	assert.Equal(t, wantUnknown, unknown, "unknown actions are quarantined, not lost")
}

func countUnknown(ld plog.Logs) int {
	n := 0
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		if recs.At(i).EventName() == "legacy.unmapped_action" {
			n++
		}
	}
	return n
}

// readArchive returns the archived records by event.id and the raw text.
func readArchive(t *testing.T, path string) (map[string]plog.LogRecord, string) {
	t.Helper()
	out := map[string]plog.LogRecord{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out, ""
	}
	var u plog.JSONUnmarshaler
	lines := bytes.Split(b, []byte("\n"))
	for n, line := range lines {
		if len(line) == 0 {
			continue
		}
		ld, err := u.UnmarshalLogs(line)
		if err != nil {
			if n == len(lines)-1 {
				continue // the last line, still being written
			}
			t.Errorf("archive line %d is not OTLP/JSON: %v", n+1, err)
			continue
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				recs := sls.At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					lr := recs.At(k)
					id, ok := lr.Attributes().Get("event.id")
					if !ok || id.Type() != pcommon.ValueTypeStr || id.Str() == "" {
						t.Errorf("archive line %d: a record without event.id", n+1)
						continue
					}
					if _, dup := out[id.Str()]; dup {
						t.Errorf("event %s archived twice", id.Str())
					}
					out[id.Str()] = lr
				}
			}
		}
	}
	return out, string(b)
}
