// Package hostile_test runs the built distribution and auditctl against
// hostile input, end to end.
package hostile_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// ctlRun runs auditctl and returns its stdout, stderr and error.
func ctlRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(testcollector.Auditctl(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "AUDITCTL_CONFIG=", "HOME="+t.TempDir()) // no config file
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func ctlConfig(otlpHTTP, health int, archive string) string {
	root := testcollector.RepoRoot()
	return fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:%d}
processors:
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml]
  batch: {timeout: 100ms}
exporters:
  file/archive:
    path: %s
    format: json
    flush_interval: 100ms
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit, batch]
      exporters: [file/archive]
  telemetry:
    metrics: {level: none}
`, otlpHTTP, root, archive, health)
}

// ctlHostileValue is what a sender writes into every field it can: a
// spreadsheet formula, terminal escapes, a fake row, a bidi override.
const ctlHostileValue = "=HYPERLINK(\"http://evil.example\",\"x\")\x1b]0;pwned\x07\x1b[2J\rEVIL\nfake row\u202egnp"

// Events through the collector into its archive, plus a line nested
// 10 000 levels deep: auditctl reads around the bad line, its table is
// inert on a terminal, its CSV inert in a spreadsheet.
func TestCtlArchiveFromTheCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the collector")
	}
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive")
	require.NoError(t, os.MkdirAll(archive, 0o755))
	otlpPort, health := testcollector.FreePort(t), testcollector.FreePort(t)
	proc := testcollector.Start(t, bin, dir, ctlConfig(otlpPort, health, filepath.Join(archive, "audit.jsonl")))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 60*time.Second)

	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < 3; i++ {
		lr := recs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Duration(i) * time.Minute)))
		lr.SetEventName("notebook.open")
		lr.Body().SetStr(ctlHostileValue)
		a := lr.Attributes()
		a.PutStr("event.id", fmt.Sprintf("ctl-%d", i))
		a.PutStr("user.email", "jane@example.com")
		a.PutStr("audit.resource.name", ctlHostileValue)
		a.PutStr("user_agent.original", ctlHostileValue)
		a.PutStr("cloud.region", "-1+1")
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", otlpPort), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(archive, "audit.jsonl"))
		return bytes.Count(b, []byte("ctl-")) >= 3
	}, 30*time.Second, 100*time.Millisecond, "the archive never held the events")

	// A line as the file exporter writes it, one record nested 10 000
	// levels deep (in its own file: the collector keeps writing its own).
	poison := plog.NewLogs()
	lr := poison.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.SetEventName("notebook.open")
	m := lr.Attributes().PutEmptyMap("deep")
	for i := 0; i < 10000; i++ {
		m = m.PutEmptyMap("d")
	}
	line, err := (&plog.JSONMarshaler{}).MarshalLogs(poison)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(archive, "audit-old.jsonl"), append(line, '\n'), 0o644))

	stdout, stderr, err := ctlRun(t, "search", "--archive", archive, "--no-audit", "--output", "table", "--tz", "UTC")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "audit-old.jsonl:1: skipped 1 of 1 records")
	assert.Contains(t, stderr, "skipped 1 record and 0 lines of")
	assert.Contains(t, stderr, "3 matching events")
	assert.Equal(t, 4, strings.Count(stdout, "\n"), "a header and 3 rows, no fake row: %q", stdout)
	for _, c := range stdout {
		if (c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x202e {
			t.Fatalf("%U reached the terminal: %q", c, stdout)
		}
	}
	assert.Contains(t, stdout, `\x1b]0;pwned\x07`)

	out := filepath.Join(dir, "export.csv")
	_, stderr, err = ctlRun(t, "export", "--archive", archive, "--no-audit", "--file", out)
	require.NoError(t, err, stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" {
				assert.NotContains(t, "=+-@\t\r", cell[:1], "cell %q", cell)
			}
		}
	}
	assert.Contains(t, string(b), `'=HYPERLINK(`)
	assert.Contains(t, string(b), `'-1+1`)
}
