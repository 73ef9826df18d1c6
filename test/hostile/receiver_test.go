// Package hostile_test sends hostile input to the built collector and
// checks that it is refused clearly, within bounds set by configuration.
package hostile_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// rcvCollector is a running collector with the audit receiver on short
// limits and timeouts, writing a JSON-lines archive.
type rcvCollector struct {
	proc    *testcollector.Process
	url     string // of the audit receiver
	addr    string
	metrics string // Prometheus endpoint of the collector's own metrics
	archive string
}

func rcvStart(t *testing.T) *rcvCollector {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the collector")
	}
	dir := t.TempDir()
	audit, health, metrics := testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)
	c := &rcvCollector{
		addr:    fmt.Sprintf("127.0.0.1:%d", audit),
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		archive: filepath.Join(dir, "archive.jsonl"),
	}
	c.url = "http://" + c.addr
	cfg := fmt.Sprintf(`
receivers:
  audit:
    endpoint: %s
    max_events_body_size: 8388608
    max_import_field_size: 65536
    max_import_row_size: 131072
    max_import_decompressed_size: 1048576
    body_read_timeout: 1s
    min_body_rate: 1024
    max_concurrent_requests: 4
    max_concurrent_imports: 1
    shutdown_timeout: 1s
    read_header_timeout: 2s
    retry_after: 2s
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
      receivers: [audit]
      exporters: [file/archive]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`, c.addr, c.archive, health, metrics)
	c.proc = testcollector.Start(t, testcollector.Binary(t), dir, cfg)
	c.proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 60*time.Second)
	return c
}

// rcvAnswer is the receiver's JSON answer.
type rcvAnswer struct {
	Accepted int    `json:"accepted"`
	Error    string `json:"error"`
	Problems []struct {
		Index  *int   `json:"index"`
		Line   int    `json:"line"`
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"problems"`
}

var rcvClient = &http.Client{Timeout: 60 * time.Second}

func rcvPost(t *testing.T, url, ct string, body io.Reader) (int, http.Header, rcvAnswer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ct)
	resp, err := rcvClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a rcvAnswer
	require.NoError(t, json.Unmarshal(raw, &a), "every answer is JSON: %q", raw)
	return resp.StatusCode, resp.Header, a
}

func rcvEvent(action, props string) string {
	return `{"time":"2025-11-20T10:00:00Z","action":"` + action + `","properties":` + props + `}`
}

func rcvKeys(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	b.WriteByte('}')
	return b.String()
}

// rcvTotalAlloc reads the collector's bytes allocated so far. The
// collector reads its memory statistics at most once a second, hence the
// pause first.
func rcvTotalAlloc(t *testing.T, c *rcvCollector) float64 {
	t.Helper()
	time.Sleep(1100 * time.Millisecond)
	resp, err := http.Get(c.metrics)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(f[0], "otelcol_process_runtime_total_alloc_bytes") {
			v, err := strconv.ParseFloat(f[1], 64)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatal("no otelcol_process_runtime_total_alloc_bytes in the collector's metrics")
	return 0
}

// rcvHugeField produces, lazily, a CSV whose second line has one quoted
// field of size bytes.
type rcvHugeField struct {
	head, tail string
	left       int
}

func (h *rcvHugeField) Read(p []byte) (int, error) {
	switch {
	case h.head != "":
		n := copy(p, h.head)
		h.head = h.head[n:]
		return n, nil
	case h.left > 0:
		n := min(len(p), h.left)
		for i := range n {
			p[i] = 'x'
		}
		h.left -= n
		return n, nil
	case h.tail != "":
		n := copy(p, h.tail)
		h.tail = h.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

// rcvRaw sends the headers of a POST announcing a 1 MB body, then head,
// and nothing more unless the caller writes on the connection.
func rcvRaw(t *testing.T, addr, path, ct, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1000000\r\n\r\n%s", path, ct, head)
	require.NoError(t, err)
	return c
}

// rcvTrickle writes 1 KiB of filler every half second until stop closes.
func rcvTrickle(c net.Conn, stop <-chan struct{}, filler string) {
	chunk := []byte(strings.Repeat(filler, 1024))
	for {
		select {
		case <-stop:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// rcvRead reads the answer on a raw connection, bounded by a deadline
// that only guards against a hang.
func rcvRead(t *testing.T, c net.Conn) (int, http.Header, rcvAnswer) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "no answer: the request was not cut off")
	defer resp.Body.Close()
	var a rcvAnswer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp.StatusCode, resp.Header, a
}

const rcvCSVHeader = "Time,User,Action,Resource,IP Address,User Agent,Region\n"

func TestReceiverHostileInput(t *testing.T) {
	c := rcvStart(t)

	t.Run("many keys", func(t *testing.T) {
		code, _, a := rcvPost(t, c.url+"/v1/events", "application/json", strings.NewReader(rcvEvent("many.keys.ok", rcvKeys(1000))))
		require.Equal(t, 202, code, a.Error)
		// 500,000 keys, 6.5 MB: refused at the 1,001st.
		code, _, a = rcvPost(t, c.url+"/v1/events", "application/json", strings.NewReader(rcvEvent("many.keys", rcvKeys(500000))))
		require.Equal(t, 400, code, a.Error)
		require.Len(t, a.Problems, 1)
		assert.Equal(t, 0, *a.Problems[0].Index)
		assert.Equal(t, "properties", a.Problems[0].Field)
		assert.Equal(t, "more than 1000 keys in one object (max_property_keys)", a.Problems[0].Reason)
	})

	t.Run("deep nesting", func(t *testing.T) {
		deep := `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
		code, _, a := rcvPost(t, c.url+"/v1/events", "application/x-ndjson", strings.NewReader(rcvEvent("deep.ok", `{"a":1}`)+"\n"+rcvEvent("deep.nesting", deep)+"\n"))
		require.Equal(t, 400, code, a.Error)
		require.Len(t, a.Problems, 1)
		assert.Equal(t, 2, a.Problems[0].Line)
		assert.Equal(t, "nested deeper than 32 levels below properties (max_property_depth)", a.Problems[0].Reason)
	})

	t.Run("huge CSV field", func(t *testing.T) {
		before := rcvTotalAlloc(t, c)
		body := &rcvHugeField{head: rcvCSVHeader + "2025-11-20 10:00:00,a@example.com,\"", tail: "\",r,,,\n", left: 64 << 20}
		code, _, a := rcvPost(t, c.url+"/v1/import", "text/csv", body)
		allocated := rcvTotalAlloc(t, c) - before
		t.Logf("the collector allocated %.1f MiB while refusing a 64 MiB field", allocated/(1<<20))
		require.Equal(t, 400, code, a.Error)
		require.Len(t, a.Problems, 1)
		assert.Equal(t, 2, a.Problems[0].Line)
		assert.Equal(t, "Action", a.Problems[0].Field)
		assert.Equal(t, "longer than 65536 bytes (max_import_field_size); the rest of the file was not read", a.Problems[0].Reason)
		assert.Less(t, allocated, float64(32<<20), "the collector allocated %.0f bytes for a 64 MiB field", allocated)
	})

	t.Run("slow body cut off", func(t *testing.T) {
		conn := rcvRaw(t, c.addr, "/v1/import", "text/csv", "T")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // one byte every 200 ms, far below 1024 bytes/s
			for _, b := range []byte("ime,User,Action\n" + strings.Repeat("x", 1000)) {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := conn.Write([]byte{b}); err != nil {
					return
				}
			}
		}()
		code, _, a := rcvRead(t, conn)
		assert.Equal(t, http.StatusRequestTimeout, code, a.Error)
		assert.Equal(t, "the request body arrived slower than 1024 bytes/s after 1s (min_body_rate, body_read_timeout); nothing from it was accepted", a.Error)
	})

	t.Run("concurrency bound", func(t *testing.T) {
		// Held requests send blank lines or spaces at 2 KiB/s, fast enough
		// not to be cut for their pace, until stop closes.
		stop := make(chan struct{})
		held := []net.Conn{rcvRaw(t, c.addr, "/v1/import", "text/csv", rcvCSVHeader)}
		go rcvTrickle(held[0], stop, "\n")
		time.Sleep(200 * time.Millisecond) // let it reach its handler; the answers below do not depend on time
		code, hdr, a := rcvPost(t, c.url+"/v1/import", "text/csv", strings.NewReader(rcvCSVHeader+"2025-11-20 10:00:00,a@example.com,Upload,,,,\n"))
		assert.Equal(t, 503, code, a.Error)
		assert.Equal(t, "2", hdr.Get("Retry-After"))
		assert.Equal(t, "more than 1 imports in progress (max_concurrent_imports); retry after the Retry-After delay", a.Error)
		for range 3 {
			h := rcvRaw(t, c.addr, "/v1/events", "application/x-ndjson", `{"time":`)
			go rcvTrickle(h, stop, " ")
			held = append(held, h)
		}
		time.Sleep(200 * time.Millisecond)
		code, hdr, a = rcvPost(t, c.url+"/v1/events", "application/json", strings.NewReader(rcvEvent("concurrency.refused", `{}`)))
		assert.Equal(t, 503, code, a.Error)
		assert.Equal(t, "2", hdr.Get("Retry-After"))
		assert.Equal(t, "more than 4 requests in progress (max_concurrent_requests); retry after the Retry-After delay", a.Error)
		// Once they stop sending, the held requests fall behind the pace
		// and are cut off; their slots come back.
		close(stop)
		for _, h := range held {
			code, _, _ := rcvRead(t, h)
			assert.Equal(t, http.StatusRequestTimeout, code)
		}
		code, _, a = rcvPost(t, c.url+"/v1/events", "application/json", strings.NewReader(rcvEvent("concurrency.ok", `{}`)))
		assert.Equal(t, 202, code, a.Error)
	})

	t.Run("nothing refused is archived", func(t *testing.T) {
		want := map[string]bool{"many.keys.ok": true, "concurrency.ok": true}
		deadline := time.Now().Add(20 * time.Second)
		var got map[string]bool
		for time.Now().Before(deadline) {
			got = rcvArchived(t, c.archive)
			if len(got) >= len(want) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		assert.Equal(t, want, got)
	})
}

// rcvArchived lists the event names in the archive.
func rcvArchived(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	names := map[string]bool{}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var doc struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []struct {
						EventName string `json:"eventName"`
					} `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		require.NoError(t, json.Unmarshal(line, &doc))
		for _, rl := range doc.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					names[lr.EventName] = true
				}
			}
		}
	}
	return names
}

// A request that never ends does not hold the collector on SIGTERM: the
// receiver cuts it after shutdown_timeout and the collector exits cleanly.
func TestReceiverShutdownWithRequestInProgress(t *testing.T) {
	c := rcvStart(t)
	conn := rcvRaw(t, c.addr, "/v1/events", "application/x-ndjson", `{"time":`)
	keep := make(chan struct{})
	defer close(keep)
	go rcvTrickle(conn, keep, " ") // fast enough never to be cut for its pace
	time.Sleep(300 * time.Millisecond)
	c.proc.Stop(20 * time.Second) // SIGTERM, then SIGKILL after 20 s
	assert.Contains(t, c.proc.Output(), "Shutdown complete", "the collector exited on SIGTERM, not SIGKILL")
}

// Idle connections do not pile up. The red team held 10,500 idle
// /v1/import connections until the collector ran out of file descriptors
// and valid requests timed out. Now an import past the concurrency bound
// is answered 503 at once and its connection closed, the one in progress
// is cut when its body falls behind, and a connection that never sends
// its headers is closed after read_header_timeout.
func TestReceiverIdleConnectionsAreShed(t *testing.T) {
	c := rcvStart(t)
	before := c.proc.OpenFiles()
	if before < 0 {
		t.Skip("needs /proc to count the collector's file descriptors")
	}
	const n = 500
	var imports []net.Conn
	for range n {
		conn, err := net.Dial("tcp", c.addr) // sends nothing at all
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		imports = append(imports, rcvRaw(t, c.addr, "/v1/import", "text/csv", ""))
	}
	code, _, a := rcvPost(t, c.url+"/v1/events", "application/json", strings.NewReader(rcvEvent("idle.valid", `{}`)))
	require.Equal(t, 202, code, "a valid request among %d idle connections: %s", 2*n, a.Error)

	answers := map[int]int{}
	for _, conn := range imports {
		code, _, _ := rcvRead(t, conn)
		answers[code]++
	}
	assert.Equal(t, map[int]int{http.StatusServiceUnavailable: n - 1, http.StatusRequestTimeout: 1}, answers,
		"imports past max_concurrent_imports are refused at once, the one in progress is cut for its pace")

	// The collector closes every one of them: its descriptors come back to
	// what it held before, although this test keeps its own ends open.
	var now int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if now = c.proc.OpenFiles(); now <= before+5 {
			break
		}
	}
	assert.LessOrEqual(t, now, before+5, "the collector still holds %d descriptors (%d before %d idle connections)", now, before, 2*n)
}
