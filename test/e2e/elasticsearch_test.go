package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// esConfig is the production-shaped pipeline, pointed at the test double.
func esConfig(p ports, esURL, queueDir string) string {
	root := repoRoot()
	return fmt.Sprintf(`
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
  journal_storage/queue: {directory: %s, fsync: true}
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:%d}
processors:
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml, %s/config/catalogs/wherobots.yaml]
exporters:
  audit_elasticsearch:
    endpoints: [%s]
    request_timeout: 2s
    bootstrap: {retry_interval: 200ms}
    bulk: {max_retries: 2, initial_backoff: 20ms, max_backoff: 100ms}
    sending_queue:
      enabled: true
      storage: journal_storage/queue
      sizer: items
      queue_size: 1000000
      num_consumers: 2
      batch: {sizer: items, flush_timeout: 200ms, min_size: 500, max_size: 2000}
    retry_on_failure: {enabled: true, initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s}
service:
  extensions: [health_check, journal_storage/queue]
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit]
      exporters: [audit_elasticsearch]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`, p.health, queueDir, p.http, root, root, esURL, p.metrics)
}

func sendOTLP(t *testing.T, port, n int, prefix string, seed uint64) {
	t.Helper()
	const per = 250
	for sent := 0; sent < n; sent += per {
		ld := auditgen.Batch(min(per, n-sent), auditgen.Options{Seed: seed + uint64(sent), IDPrefix: fmt.Sprintf("%s%d-", prefix, sent), FreeTextEmailFraction: 0.2})
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		require.NoError(t, err)
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", port), "application/x-protobuf", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "accepted means persisted in the queue")
	}
}

func storedIDs(es *estest.Server) map[string]int {
	ids := map[string]int{}
	for stream := range es.Stats().Streams {
		for _, id := range es.IDs(stream) {
			ids[id]++
		}
	}
	return ids
}

// A collector SIGKILLed during an outage and restarted on the same
// persistent queue stores every acknowledged event exactly once.
func TestKilledDuringOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	es := estest.New()
	srv := es.Start(t)
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	queue := filepath.Join(dir, "queue")
	p := ports{0, testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	cfg := esConfig(p, srv.URL, queue)

	proc := testcollector.Start(t, bin, dir, cfg)
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)
	require.Eventually(t, func() bool { return es.Has("data_stream", "logs-audit.deadletter-default") }, 20*time.Second, 50*time.Millisecond)

	const before = 3000
	sendOTLP(t, p.http, before/2, "pre", 1)
	require.Eventually(t, func() bool { return len(storedIDs(es)) == before/2 }, 30*time.Second, 50*time.Millisecond)

	es.SetFaults(estest.Faults{Outage: "503"})
	sendOTLP(t, p.http, before/2, "outage", 2)
	time.Sleep(500 * time.Millisecond) // let the exporter fail against the outage
	proc.Kill()
	assert.Len(t, storedIDs(es), before/2, "nothing got through the outage")

	proc2 := testcollector.Start(t, bin, dir, cfg)
	proc2.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)
	es.SetFaults(estest.Faults{})
	require.Eventually(t, func() bool { return len(storedIDs(es)) == before }, 60*time.Second, 100*time.Millisecond,
		"every acknowledged event stored after the restart")
	for id, n := range storedIDs(es) {
		require.Equal(t, 1, n, "event %s stored %d times", id, n)
	}
	st := es.Stats()
	assert.Zero(t, st.Duplicates)
	assert.Zero(t, st.UntemplatedWrites)
	t.Logf("stored=%d conflicts(refused re-sends)=%d outage answers=%d", st.Created, st.Conflicts, st.OutageAnswers)
}

// With Elasticsearch down and the queue full, senders are refused (HTTP
// 503) instead of losing data silently; everything acknowledged is stored
// once Elasticsearch is back.
func TestBackPressureWhenQueueIsFull(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	es := estest.New()
	srv := es.Start(t)
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	p := ports{0, testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	cfg := strings.Replace(esConfig(p, srv.URL, filepath.Join(dir, "queue")), "queue_size: 1000000", "queue_size: 2000", 1)
	proc := testcollector.Start(t, bin, dir, cfg)
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)
	require.Eventually(t, func() bool { return es.Has("data_stream", "logs-audit.deadletter-default") }, 20*time.Second, 50*time.Millisecond)
	es.SetFaults(estest.Faults{Outage: "503"})

	acked, refused := 0, 0
	for i := 0; i < 40 && refused == 0; i++ {
		ld := auditgen.Batch(250, auditgen.Options{Seed: uint64(i), IDPrefix: fmt.Sprintf("bp%d-", i)})
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		require.NoError(t, err)
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", p.http), "application/x-protobuf", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			acked += 250
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("unexpected status %d", resp.StatusCode)
		}
	}
	require.Positive(t, refused, "a full queue must refuse, not drop")
	assert.LessOrEqual(t, acked, 2500, "the queue bound (2000 events, plus batches being exported) holds")
	es.SetFaults(estest.Faults{})
	require.Eventually(t, func() bool { return len(storedIDs(es)) == acked }, 30*time.Second, 100*time.Millisecond, "every acknowledged event is stored")
	time.Sleep(300 * time.Millisecond)
	assert.Len(t, storedIDs(es), acked, "and nothing that was refused")
	t.Logf("acknowledged %d events, then refused with 503", acked)
}
