package e2e

import (
	"bytes"
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
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

func TestComponentsListsOurs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	out, err := exec.Command(testcollector.Binary(t), "components").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, want := range []string{"name: audit", "name: otlp", "name: memory_limiter", "name: batch", "name: debug", "name: nop", "name: file", "name: file_storage", "name: journal_storage", "name: health_check"} {
		assert.Contains(t, string(out), want)
	}
}

// The shipped config/local.yaml, run the way `make run` runs it, archives
// the README's first event (testdata/first-event.json) masked and tagged.
func TestLocalConfigAndReadmeEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	root := repoRoot()
	bin := testcollector.Binary(t)
	validate := exec.Command(bin, "validate", "--config", "config/local.yaml")
	validate.Dir = root
	out, err := validate.CombinedOutput()
	require.NoError(t, err, string(out))

	archive := filepath.Join(t.TempDir(), "audit.jsonl")
	p := ports{testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	proc := testcollector.Start(t, bin, root, mustRead(t, filepath.Join(root, "config/local.yaml")),
		fmt.Sprintf("OTLP_GRPC_ENDPOINT=127.0.0.1:%d", p.grpc),
		fmt.Sprintf("OTLP_HTTP_ENDPOINT=127.0.0.1:%d", p.http),
		fmt.Sprintf("HEALTH_CHECK_ENDPOINT=127.0.0.1:%d", p.health),
		fmt.Sprintf("METRICS_PORT=%d", p.metrics),
		fmt.Sprintf("AUDIT_RECEIVER_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
		"AUDIT_ARCHIVE_PATH="+archive)
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)

	body := mustRead(t, filepath.Join(root, "testdata/first-event.json"))
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", p.http), "application/json", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var raw string
	require.Eventually(t, func() bool {
		_, raw = readArchive(t, archive)
		return strings.Contains(raw, "notebook.open")
	}, 20*time.Second, 100*time.Millisecond)
	assert.Contains(t, raw, `"***@example.com"`)
	assert.NotContains(t, raw, "jane.doe")
	assert.Contains(t, raw, `"audit.group","value":{"stringValue":"Notebook"}`)
	assert.Contains(t, raw, `"audit.categories","value":{"stringValue":"view_content"}`)

	// The processor's own counters are exposed for Prometheus.
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.metrics))
	require.NoError(t, err)
	defer resp.Body.Close()
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(resp.Body)
	assert.Contains(t, metrics.String(), "otelcol_processor_audit_records_processed 1")
	assert.Contains(t, metrics.String(), "otelcol_processor_audit_emails_masked 1")
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// The README's Go SDK example reaches the archive, masked and tagged.
func TestGoSDKExample(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	root := repoRoot()
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	example := filepath.Join(dir, "otel-go-sdk")
	build := exec.Command("go", "build", "-o", example, "./examples/otel-go-sdk")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	archive := filepath.Join(dir, "audit.jsonl")
	p := ports{testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	proc := testcollector.Start(t, bin, dir, config(p, archive))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)

	out, err = exec.Command(example, "-endpoint", fmt.Sprintf("127.0.0.1:%d", p.http), "-id", "sdk-1").CombinedOutput()
	require.NoError(t, err, string(out))
	var records map[string]plog.LogRecord
	require.Eventually(t, func() bool {
		records, _ = readArchive(t, archive)
		return len(records) == 1
	}, 20*time.Second, 100*time.Millisecond)
	lr, ok := records["sdk-1"]
	require.True(t, ok)
	attrs := lr.Attributes().AsRaw()
	assert.Equal(t, "notebook.open", lr.EventName())
	assert.Equal(t, "***@example.com", attrs["user.email"])
	assert.Equal(t, "Notebook", attrs["audit.group"])
}
