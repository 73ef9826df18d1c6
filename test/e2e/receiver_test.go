package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/masking"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

func receiverConfig(p ports, audit int, archive string) string {
	root := repoRoot()
	return fmt.Sprintf(`
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
  bearertokenauth:
    token: e2e-token
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:%d}
  audit:
    endpoint: 127.0.0.1:%d
    auth: {authenticator: bearertokenauth}
processors:
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml, %s/config/catalogs/wherobots.yaml]
  batch: {timeout: 200ms}
exporters:
  file/archive:
    path: %s
    format: json
    flush_interval: 100ms
service:
  extensions: [health_check, bearertokenauth]
  pipelines:
    logs:
      receivers: [otlp, audit]
      processors: [audit, batch]
      exporters: [file/archive]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`, p.health, p.http, audit, root, root, archive, p.metrics)
}

// jsonEvent and otlpEvent are the same event, shaped by the README's table.
const jsonEvent = `{"time":"2025-11-20T10:00:00Z","action":"report.view","id":"%s",
 "actor":{"email":"Jane.Doe@Example.com","id":"u-1","name":"Jane","type":"user"},
 "resource":{"type":"report","id":"r-9","name":"Revenue"},
 "client":{"ip":"2001:db8::7","user_agent":"Mozilla/5.0"},
 "region":"aws-eu-west-1","outcome":"ok","organization":"org-7","message":"viewed by jane@example.com",
 "properties":{"share":{"mode":"view"},"cc":"bob@example.org"}}`

func otlpEvent(id string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC)))
	lr.SetEventName("report.view")
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.Body().SetStr("viewed by jane@example.com")
	a := lr.Attributes()
	a.PutStr("event.id", id)
	a.PutStr("user.email", "Jane.Doe@Example.com")
	a.PutStr("user.id", "u-1")
	a.PutStr("user.name", "Jane")
	a.PutStr("audit.actor.type", "user")
	a.PutStr("audit.resource.type", "report")
	a.PutStr("audit.resource.id", "r-9")
	a.PutStr("audit.resource.name", "Revenue")
	a.PutStr("client.address", "2001:db8::7")
	a.PutStr("user_agent.original", "Mozilla/5.0")
	a.PutStr("cloud.region", "aws-eu-west-1")
	a.PutStr("event.outcome", "ok")
	a.PutStr("organization.id", "org-7")
	a.PutEmptyMap("share").PutStr("mode", "view")
	a.PutStr("cc", "bob@example.org")
	return ld
}

func TestAuditReceiverToArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "audit.jsonl")
	p := ports{0, testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	auditPort := testcollector.FreePort(t)
	proc := testcollector.Start(t, bin, dir, receiverConfig(p, auditPort, archive))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", auditPort)

	post := func(path, ct string, body []byte, gzipped, auth bool) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		if gzipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if auth {
			req.Header.Set("Authorization", "Bearer e2e-token")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}

	// Bearer-token auth guards the receiver.
	assert.Equal(t, http.StatusUnauthorized, post("/v1/events", "application/json", []byte(fmt.Sprintf(jsonEvent, "no-auth")), false, false))

	// JSON array, gzipped NDJSON, and a CSV import.
	var arr []string
	for i := 0; i < 20; i++ {
		arr = append(arr, fmt.Sprintf(jsonEvent, fmt.Sprintf("json-%d", i)))
	}
	require.Equal(t, http.StatusAccepted, post("/v1/events", "application/json", []byte("["+strings.Join(arr, ",")+"]"), false, true))
	var nd []string
	for i := 0; i < 20; i++ {
		nd = append(nd, strings.ReplaceAll(fmt.Sprintf(jsonEvent, fmt.Sprintf("ndjson-%d", i)), "\n", ""))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Join(nd, "\n")))
	require.NoError(t, zw.Close())
	require.Equal(t, http.StatusAccepted, post("/v1/events", "application/x-ndjson", gz.Bytes(), true, true))
	csv := "Time,User,Action,Resource,IP Address,User Agent,Region\n"
	for i := 0; i < 30; i++ {
		csv += fmt.Sprintf("2025-11-20 10:00:%02d,user%d@example.com,UploadFile,file-%d,203.0.113.%d,curl/8,aws-us-west-2\n", i, i, i, i)
	}
	require.Equal(t, http.StatusAccepted, post("/v1/import", "text/csv", []byte(csv), false, true))

	// The same event over OTLP.
	body, err := plogotlp.NewExportRequestFromLogs(otlpEvent("otlp-0")).MarshalJSON()
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", p.http), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var records map[string]plog.LogRecord
	var raw string
	require.Eventually(t, func() bool {
		records, raw = readArchive(t, archive)
		return len(records) >= 71
	}, 30*time.Second, 100*time.Millisecond)
	assert.Len(t, records, 71)
	assert.NotContains(t, records, "no-auth")
	assert.False(t, masking.Contains(raw), "an address survived")

	viaJSON, viaOTLP := records["json-0"], records["otlp-0"]
	require.NotEqual(t, plog.LogRecord{}, viaJSON)
	require.NotEqual(t, plog.LogRecord{}, viaOTLP)
	j, o := viaJSON.Attributes().AsRaw(), viaOTLP.Attributes().AsRaw()
	delete(j, "event.id")
	delete(o, "event.id")
	assert.Equal(t, o, j, "the receiver's record equals the OTLP record")
	assert.Equal(t, viaOTLP.Body().AsRaw(), viaJSON.Body().AsRaw())
	assert.Equal(t, viaOTLP.Timestamp(), viaJSON.Timestamp())
	assert.Equal(t, "***@Example.com", j["user.email"])
	assert.Equal(t, "Report", j["audit.group"])
	assert.Equal(t, "success", j["event.outcome"])

	imported := 0
	for id, lr := range records {
		if strings.HasPrefix(id, "csv-") {
			imported++
			v, _ := lr.Attributes().Get("audit.group")
			assert.Equal(t, "File modifications", v.Str())
		}
	}
	assert.Equal(t, 30, imported)
	_ = os.Remove(archive)
}
