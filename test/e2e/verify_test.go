package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// archiveDigestConfig is config/local.yaml's shape with digests every
// second: OTLP and the audit receiver into the archive, no batch processor
// (each request is one write).
func archiveDigestConfig(p ports, audit int, archive, key, state string) string {
	root := repoRoot()
	return fmt.Sprintf(`
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
  file_storage/digest: {directory: %s, create_directory: true}
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:%d}
  audit:
    endpoint: 127.0.0.1:%d
processors:
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml, %s/config/catalogs/wherobots.yaml]
exporters:
  audit_file/archive:
    path: %s
    format: json
    flush_interval: 100ms
    rotation: {max_megabytes: 10}
    digest: {key_file: %s, storage: file_storage/digest, interval: 1s}
service:
  extensions: [health_check, file_storage/digest]
  pipelines:
    logs:
      receivers: [otlp, audit]
      processors: [audit]
      exporters: [audit_file/archive]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`, p.health, state, p.http, audit, root, root, archive, key, p.metrics)
}

// sendUntil posts OTLP batches of 100 until stop is closed, and counts the
// accepted events. A refused or failed send is not counted.
func sendUntil(port int, prefix string, stop <-chan struct{}, accepted *atomic.Int64) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		ld := auditgen.Batch(100, auditgen.Options{Seed: uint64(i), IDPrefix: fmt.Sprintf("%s%d-", prefix, i), FreeTextEmailFraction: 0.2})
		body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", port), "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			accepted.Add(100)
		}
	}
}

// verify runs bin/auditctl verify and returns its exit code and output.
func verify(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testcollector.Auditctl(t), append([]string{"verify"}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, string(out)
}

func keyPair(t *testing.T) (priv, pub string) {
	dir := t.TempDir()
	_, err := digest.Keygen(dir)
	require.NoError(t, err)
	return filepath.Join(dir, digest.PrivateKeyFile), filepath.Join(dir, digest.PublicKeyFile)
}

// The archive: a collector SIGKILLed under load and restarted on the same
// storage, then a re-import of an export, leave digests that verify finds
// intact; one edited byte in the archive afterwards is found.
func TestArchiveDigestsNoFalseAlarmAfterKillAndReimport(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	archiveDir := filepath.Join(dir, "archive")
	require.NoError(t, os.MkdirAll(archiveDir, 0o755))
	priv, pub := keyPair(t)
	p := ports{0, testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	audit := testcollector.FreePort(t)
	cfg := archiveDigestConfig(p, audit, filepath.Join(archiveDir, "audit.jsonl"), priv, filepath.Join(dir, "state"))
	health := fmt.Sprintf("http://127.0.0.1:%d/", p.health)

	proc := testcollector.Start(t, bin, dir, cfg)
	proc.WaitHealthy(t, health, 60*time.Second)
	var accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sendUntil(p.http, "k", stop, &accepted) }()
	require.Eventually(t, func() bool { return accepted.Load() >= 3000 }, 60*time.Second, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond) // at least one digest is written before the kill
	proc.Kill()
	close(stop)
	wg.Wait()

	proc2 := testcollector.Start(t, bin, dir, cfg)
	proc2.WaitHealthy(t, health, 60*time.Second)
	sendOTLP(t, p.http, 500, "after", 7)

	// Re-import what the archive holds, as the README shows.
	csvFile := filepath.Join(dir, "export.csv")
	out, err := exec.Command(testcollector.Auditctl(t), "export", "--archive", archiveDir, "--file", csvFile,
		"--audit-endpoint", fmt.Sprintf("http://127.0.0.1:%d", p.http)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	body, err := os.ReadFile(csvFile)
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/import", audit), "text/csv", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	proc2.Stop(30 * time.Second)

	code, text := verify(t, "--archive", archiveDir, "--public-key", pub, "--grace", "0s")
	t.Logf("accepted before the kill: %d\n%s", accepted.Load(), text)
	require.Equal(t, 0, code, "no false alarm after a SIGKILL, a restart and a re-import:\n%s", text)

	// The same archive with one event's action edited is not intact.
	files, err := filepath.Glob(filepath.Join(archiveDir, "*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	i := bytes.Index(raw, []byte(`"stringValue":"`))
	require.Positive(t, i)
	edited := append([]byte(nil), raw...)
	edited[i+len(`"stringValue":"`)] ^= 0x01
	require.NoError(t, os.WriteFile(files[0], edited, 0o600))
	code, text = verify(t, "--archive", archiveDir, "--public-key", pub, "--grace", "0s")
	assert.Equal(t, 1, code, "%s", text)
	assert.Contains(t, text, "modified")
}

// Elasticsearch: with digests on, a collector SIGKILLed during an outage
// and restarted on the same queue and storage stores every acknowledged
// event once, and verify finds the store intact.
func TestElasticsearchDigestsNoFalseAlarmAfterKillDuringOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	es := estest.New(estest.WithSource()) // verify hashes _source
	srv := es.Start(t)
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	priv, pub := keyPair(t)
	p := ports{0, testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	cfg := esConfig(p, srv.URL, filepath.Join(dir, "queue"))
	cfg = insertBefore(t, cfg, "    retry_on_failure:", fmt.Sprintf("    digest: {key_file: %s, storage: journal_storage/queue, interval: 1s}\n", priv))
	health := fmt.Sprintf("http://127.0.0.1:%d/", p.health)

	proc := testcollector.Start(t, bin, dir, cfg)
	proc.WaitHealthy(t, health, 60*time.Second)
	require.Eventually(t, func() bool { return es.Has("data_stream", "logs-audit.deadletter-default") }, 20*time.Second, 50*time.Millisecond)
	sendOTLP(t, p.http, 1500, "pre", 1)
	time.Sleep(2 * time.Second) // digests of the first events are written
	es.SetFaults(estest.Faults{Outage: "503"})
	sendOTLP(t, p.http, 1500, "outage", 2)
	time.Sleep(500 * time.Millisecond)
	proc.Kill()

	proc2 := testcollector.Start(t, bin, dir, cfg)
	proc2.WaitHealthy(t, health, 60*time.Second)
	es.SetFaults(estest.Faults{})
	require.Eventually(t, func() bool { return len(eventIDs(es)) == 3000 }, 60*time.Second, 100*time.Millisecond)
	proc2.Stop(30 * time.Second)

	code, text := verify(t, "--es", srv.URL, "--public-key", pub, "--grace", "0s")
	t.Logf("%s", text)
	require.Equal(t, 0, code, "no false alarm after a SIGKILL during an outage:\n%s", text)
}

// eventIDs are the stored events' ids, digests left out.
func eventIDs(es *estest.Server) map[string]int {
	ids := map[string]int{}
	for stream := range es.Stats().Streams {
		if bytes.Contains([]byte(stream), []byte(".digest-")) {
			continue
		}
		for _, id := range es.IDs(stream) {
			ids[id]++
		}
	}
	return ids
}

func insertBefore(t *testing.T, s, line, add string) string {
	i := bytes.Index([]byte(s), []byte(line))
	require.Positive(t, i, "no %q in the config", line)
	return s[:i] + add + s[i:]
}
