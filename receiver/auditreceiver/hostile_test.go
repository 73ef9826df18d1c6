package auditreceiver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver/internal/metadata"
)

// Hostile input: every test here is bounded by the limits it configures,
// not by time; the only clocks are guards against a hang.

func withProps(props string) string {
	return `{"time":"2025-11-20T10:00:00Z","action":"notebook.open","properties":` + props + `}`
}

func propKeys(n int) string {
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

func TestPropertyLimitsAnswer(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxPropertyKeys = 5; c.MaxPropertyDepth = 4; c.MaxPropertyValues = 50 }, nil, nil)
	r := h.post(t, pathEvents, "application/json", []byte(withProps(propKeys(5))), nil)
	assert.Equal(t, 202, r.code, r.body.Error)

	tests := []struct {
		name, ct, body string
		index          *int
		line           int
		field, reason  string
	}{
		{"keys", "application/json", "[" + event(1) + "," + withProps(propKeys(6)) + "]", ptr(1), 0, "properties", "more than 5 keys in one object (max_property_keys)"},
		{"depth", "application/x-ndjson", event(1) + "\n" + withProps(`{"a":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`), nil, 2, "properties.a[][][][]", "nested deeper than 4 levels below properties (max_property_depth)"},
		{"values", "application/json", withProps(`{"a":[` + strings.Repeat("1,", 50) + `1]}`), ptr(0), 0, "properties.a[]", "more than 50 values in the event's properties (max_property_values)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post(t, pathEvents, tt.ct, []byte(tt.body), nil)
			require.Equal(t, 400, r.code, r.body.Error)
			require.Len(t, r.body.Problems, 1)
			p := r.body.Problems[0]
			assert.Equal(t, tt.index, p.Index)
			assert.Equal(t, tt.line, p.Line)
			assert.Equal(t, tt.field, p.Field)
			assert.Equal(t, tt.reason, p.Reason)
		})
	}
	assert.Equal(t, 1, h.sink.LogRecordCount())
}

func ptr(i int) *int { return &i }

// hugeCSV produces, lazily, a header and a row with one quoted field of
// size bytes.
type hugeCSV struct {
	head, tail string
	left       int
}

func newHugeCSV(size int) *hugeCSV {
	return &hugeCSV{head: seedCSV + "2025-11-20 10:00:00,a@example.com,\"", tail: "\",r,,,\n", left: size}
}

func (h *hugeCSV) Read(p []byte) (int, error) {
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

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// A 32 MiB quoted field is refused at the field limit, with memory bounded
// by it: the test process holds client and server, so what both allocate
// is measured.
func TestImportHugeField(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxImportFieldSize = 64 << 10 }, nil, nil)
	before := heapAlloc()
	req, err := http.NewRequest(http.MethodPost, h.url+pathImport, newHugeCSV(32<<20))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	allocated := heapAlloc() - before
	require.Equal(t, 400, resp.StatusCode, a.Error)
	require.Len(t, a.Problems, 1)
	assert.Equal(t, 2, a.Problems[0].Line)
	assert.Equal(t, "Action", a.Problems[0].Field)
	assert.Equal(t, "longer than 65536 bytes (max_import_field_size); the rest of the file was not read", a.Problems[0].Reason)
	assert.Less(t, allocated, uint64(16<<20), "allocated %d bytes for a 32 MiB field", allocated)
	assert.Zero(t, h.sink.LogRecordCount())
}

func TestImportRefusesInvalidUTF8(t *testing.T) {
	h := start(t, nil, nil, nil)
	r := h.post(t, pathImport, "text/csv", []byte(csvRows(2)+"2025-11-20 10:00:00,a@example.com,Up\xc3load,,,,\n"), nil)
	require.Equal(t, 400, r.code)
	require.Len(t, r.body.Problems, 1)
	assert.Equal(t, 4, r.body.Problems[0].Line)
	assert.Equal(t, "Action", r.body.Problems[0].Field)
	assert.Contains(t, r.body.Problems[0].Reason, "invalid UTF-8")
	assert.Zero(t, h.sink.LogRecordCount())
}

// A compressed import is bounded after decompression, while decompressing.
func TestImportDecompressedLimit(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxImportDecompressedSize = 256 << 10 }, nil, nil)
	small := csvRows(100)
	r := h.post(t, pathImport, "text/csv", gz(small), map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, 202, r.code, r.body.Error)
	big := csvRows(20000) // about 1.9 MiB, 40 times smaller compressed
	r = h.post(t, pathImport, "text/csv", gz(big), map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, 413, r.code, r.body.Error)
	assert.Equal(t, "the upload is larger than 262144 bytes once decompressed (max_import_decompressed_size): send it uncompressed, or split it", r.body.Error)
	// The same file uncompressed is bounded by max_request_body_size only.
	r = h.post(t, pathImport, "text/csv", []byte(big), nil)
	require.Equal(t, 202, r.code, r.body.Error)
	assert.Equal(t, 20100, h.sink.LogRecordCount())
}

func TestIdentityEncoding(t *testing.T) {
	h := start(t, nil, nil, nil)
	for _, enc := range []string{"identity", "Identity"} {
		r := h.post(t, pathEvents, "application/json", []byte(event(1)), map[string]string{"Content-Encoding": enc})
		assert.Equal(t, 202, r.code, r.body.Error)
	}
}

// Every answer has a JSON body with an error, whoever gives it: the mux,
// the decompressor, the authenticator, the body limit.
func TestErrorBodiesAreJSON(t *testing.T) {
	h := start(t, func(c *Config) {
		c.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("tokenauth")}})
		c.ServerConfig.MaxRequestBodySize = 4096
		c.MaxEventsBodySize = 4096
	}, nil, authHost{componenttest.NewNopHost()})
	auth := map[string]string{"Authorization": "Bearer s3cret"}
	big := []byte(`[` + strings.Repeat(event(1)+",", 100) + event(2) + `]`)
	tests := []struct {
		name, method, path, ct string
		body                   []byte
		hdr                    map[string]string
		code                   int
	}{
		{"unknown path", "POST", "/nope", "application/json", []byte(event(1)), auth, 404},
		{"trailing slash", "POST", pathEvents + "/", "application/json", []byte(event(1)), auth, 404},
		{"trailing slash, too large", "POST", pathEvents + "/", "application/json", big, auth, 404},
		{"method", "GET", pathEvents, "", nil, auth, 405},
		{"unsupported encoding", "POST", pathEvents, "application/json", []byte(event(1)), map[string]string{"Authorization": "Bearer s3cret", "Content-Encoding": "br"}, 400},
		{"bad gzip", "POST", pathEvents, "application/json", []byte("not gzip"), map[string]string{"Authorization": "Bearer s3cret", "Content-Encoding": "gzip"}, 400},
		{"gzip past max_request_body_size", "POST", pathEvents, "application/json", gz(string(big)), map[string]string{"Authorization": "Bearer s3cret", "Content-Encoding": "gzip"}, 413},
		{"no token", "POST", pathEvents, "application/json", []byte(event(1)), nil, 401},
		{"too large", "POST", pathImport, "text/csv", []byte(csvRows(100)), auth, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, h.url+tt.path, bytes.NewReader(tt.body))
			require.NoError(t, err)
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tt.code, resp.StatusCode, string(raw))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			var a map[string]any
			require.NoError(t, json.Unmarshal(raw, &a), "body %q", raw)
			assert.NotEmpty(t, a["error"], "body %q", raw)
		})
	}
}

// slowBody sends what it is given through a pipe, so a test decides when
// (and whether) the body ends.
type slowBody struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newSlowBody() *slowBody { r, w := io.Pipe(); return &slowBody{r: r, w: w} }

func (s *slowBody) Read(p []byte) (int, error) { return s.r.Read(p) }

// dripUntil writes one byte at a time every interval until done closes.
func (s *slowBody) dripUntil(done <-chan struct{}, interval time.Duration, data string) {
	for i := 0; ; i++ {
		select {
		case <-done:
			s.w.Close()
			return
		case <-time.After(interval):
		}
		if _, err := s.w.Write([]byte{data[i%len(data)]}); err != nil {
			return
		}
	}
}

// send starts a request with body and returns a channel with its answer.
func (h *harness) send(t *testing.T, path, ct string, body io.Reader) <-chan reply {
	t.Helper()
	out := make(chan reply, 1)
	req, err := http.NewRequest(http.MethodPost, h.url+path, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ct)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- reply{code: -1, body: answer{Error: err.Error()}}
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var a answer
		if jerr := json.Unmarshal(raw, &a); jerr != nil {
			a.Error = "not JSON: " + string(raw)
		}
		out <- reply{code: resp.StatusCode, body: a, hdr: resp.Header}
	}()
	return out
}

func wait(t *testing.T, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no answer: the request was not cut off")
		return reply{}
	}
}

// One byte every 50 ms is cut off once it falls body_read_timeout behind
// min_body_rate, on both endpoints.
func TestSlowBodyCutOff(t *testing.T) {
	h := start(t, func(c *Config) { c.BodyReadTimeout = 300 * time.Millisecond; c.MinBodyRate = 1000 }, nil, nil)
	for _, tt := range []struct{ path, ct, data string }{{pathEvents, "application/x-ndjson", event(1) + "\n"}, {pathImport, "text/csv", csvRows(10)}} {
		t.Run(tt.path, func(t *testing.T) {
			body := newSlowBody()
			done := make(chan struct{})
			defer close(done)
			go body.dripUntil(done, 50*time.Millisecond, tt.data)
			r := wait(t, h.send(t, tt.path, tt.ct, body))
			assert.Equal(t, http.StatusRequestTimeout, r.code, r.body.Error)
			assert.Equal(t, "the request body arrived slower than 1000 bytes/s after 300ms (min_body_rate, body_read_timeout); nothing from it was accepted", r.body.Error)
		})
	}
	assert.Zero(t, h.sink.LogRecordCount())
	// A body at the rate passes.
	r := h.post(t, pathImport, "text/csv", []byte(csvRows(100)), nil)
	assert.Equal(t, 202, r.code, r.body.Error)
}

// Past max_concurrent_requests (or max_concurrent_imports for imports),
// requests are answered 503 with Retry-After at once.
func TestConcurrencyBound(t *testing.T) {
	h := start(t, func(c *Config) {
		c.MaxConcurrentRequests = 3
		c.MaxConcurrentImports = 1
		c.BodyReadTimeout = time.Minute
	}, nil, nil)
	var held []*slowBody
	var answers []<-chan reply
	hold := func(path, ct, head string) {
		b := newSlowBody()
		held = append(held, b)
		answers = append(answers, h.send(t, path, ct, b))
		_, err := b.w.Write([]byte(head)) // returns once the handler reads: the request is in progress
		require.NoError(t, err)
	}
	// A held request's body being read by the client says nothing of the
	// server: wait until the guard holds the slots, and until a finished
	// request gave its slot back (after its answer was sent).
	slots := func(requests, imports int) {
		t.Helper()
		require.Eventually(t, func() bool {
			return len(h.recv.guard.requests) == requests && len(h.recv.guard.imports) == imports
		}, 10*time.Second, time.Millisecond, "the guard never held %d requests and %d imports", requests, imports)
	}
	hold(pathImport, "text/csv", seedCSV)
	slots(1, 1)
	r := wait(t, h.send(t, pathImport, "text/csv", strings.NewReader(csvRows(1))))
	assert.Equal(t, 503, r.code, r.body.Error)
	assert.Equal(t, "1", r.hdr.Get("Retry-After"))
	assert.Equal(t, "more than 1 imports in progress (max_concurrent_imports); retry after the Retry-After delay", r.body.Error)

	hold(pathEvents, "application/x-ndjson", event(1)+"\n")
	slots(2, 1)
	assert.Equal(t, 202, h.post(t, pathEvents, "application/json", []byte(event(2)), nil).code, "a third request is within the bound")
	slots(2, 1)
	hold(pathEvents, "application/x-ndjson", event(3)+"\n")
	slots(3, 1)
	r = wait(t, h.send(t, pathEvents, "application/json", strings.NewReader(event(4))))
	assert.Equal(t, 503, r.code, r.body.Error)
	assert.Equal(t, "more than 3 requests in progress (max_concurrent_requests); retry after the Retry-After delay", r.body.Error)

	for _, b := range held {
		b.w.Close()
	}
	for _, a := range answers {
		wait(t, a)
	}
	assert.Equal(t, 202, h.post(t, pathEvents, "application/json", []byte(event(5)), nil).code, "slots are given back")
}

// slowSink takes each batch only after a pause, like a pipeline under load.
type slowSink struct {
	consumertest.LogsSink
	pause time.Duration
}

func (s *slowSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	time.Sleep(s.pause)
	return s.LogsSink.ConsumeLogs(ctx, ld)
}

// An import that takes longer than write_timeout still gets its answer.
func TestSlowImportGetsItsAnswer(t *testing.T) {
	sink := &slowSink{pause: 150 * time.Millisecond}
	h := start(t, func(c *Config) { c.ServerConfig.WriteTimeout = 300 * time.Millisecond; c.ImportBatchSize = 10 }, sink, nil)
	r := wait(t, h.send(t, pathImport, "text/csv", strings.NewReader(csvRows(60))))
	assert.Equal(t, 202, r.code, r.body.Error)
	assert.Equal(t, 60, r.body.Accepted)
	assert.Equal(t, 60, sink.LogRecordCount())
}

// Shutdown waits for requests in progress at most shutdown_timeout, then
// cuts them: a request that never ends cannot hold the collector, and is
// answered 503.
func TestShutdownCutsRequests(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	cfg.ShutdownTimeout = 200 * time.Millisecond
	cfg.BodyReadTimeout = time.Hour
	require.NoError(t, cfg.Validate())
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))

	// Raw connections: the HTTP client would wait for its body to end
	// before it hands over the answer.
	var answers []<-chan reply
	for _, r := range []struct{ path, ct, head string }{{pathEvents, "application/x-ndjson", `{"time":1763805600,`}, {pathImport, "text/csv", seedCSV}} {
		answers = append(answers, rawPost(t, cfg.ServerConfig.NetAddr.Endpoint, r.path, r.ct, r.head))
	}
	time.Sleep(100 * time.Millisecond) // let the handlers start reading; not an assertion
	done := make(chan error, 1)
	go func() { done <- rcv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown waited on requests that never end")
	}
	for _, a := range answers {
		r := wait(t, a)
		assert.Equal(t, 503, r.code, r.body.Error)
		assert.Equal(t, "5", r.hdr.Get("Retry-After"))
		assert.Contains(t, r.body.Error, "the request was cut off")
	}
}

// rawPost sends the headers of a request with a 1 MB body, then head, and
// nothing more; the channel gets the answer, or code -1 if the
// connection closed without one.
func rawPost(t *testing.T, addr, path, ct, head string) <-chan reply {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1000000\r\n\r\n%s", path, ct, head)
	require.NoError(t, err)
	out := make(chan reply, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			out <- reply{code: -1, body: answer{Error: err.Error()}}
			return
		}
		defer resp.Body.Close()
		var a answer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		out <- reply{code: resp.StatusCode, body: a, hdr: resp.Header}
	}()
	return out
}

var _ consumer.Logs = (*slowSink)(nil)

// zstdFrame is a zstd frame declaring a window of 2^windowLog bytes and
// holding data in one raw block.
func zstdFrame(windowLog int, data string) []byte {
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, byte((windowLog - 10) << 3)}
	hdr := uint32(1 | len(data)<<3) // last block, raw
	b = append(b, byte(hdr), byte(hdr>>8), byte(hdr>>16))
	return append(b, data...)
}

// snappyBlock is data in snappy's block format: literals only.
func snappyBlock(data string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(data)))
	for len(data) > 0 {
		n := min(len(data), 60)
		b = append(b, byte((n-1)<<2))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}

// Encodings whose decoder allocates what the sender declares are off by
// default: a 200-byte zstd body declaring a 256 MiB window cost 257 MiB.
func TestDecompressionBombsRefused(t *testing.T) {
	h := start(t, nil, nil, nil)
	for _, tt := range []struct {
		enc  string
		body []byte
	}{{"zstd", zstdFrame(28, event(1))}, {"snappy", snappyBlock(event(1))}} {
		before := heapAlloc()
		r := h.post(t, pathEvents, "application/json", tt.body, map[string]string{"Content-Encoding": tt.enc})
		allocated := heapAlloc() - before
		assert.Equal(t, 400, r.code, tt.enc)
		assert.Equal(t, "unsupported Content-Encoding: "+tt.enc, r.body.Error)
		assert.Less(t, allocated, uint64(16<<20), "%s: allocated %d bytes", tt.enc, allocated)
	}
	// Still there: gzip, zlib/deflate, lz4, snappy's framed format.
	r := h.post(t, pathEvents, "application/json", gz(event(1)), map[string]string{"Content-Encoding": "gzip"})
	assert.Equal(t, 202, r.code, r.body.Error)
}

// snappyFramed is data in snappy's framed format, uncompressed chunks.
func snappyFramed(data []byte) []byte {
	b := []byte{0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'}
	table := crc32.MakeTable(crc32.Castagnoli)
	for len(data) > 0 {
		n := min(len(data), 65536)
		c := crc32.Checksum(data[:n], table)
		c = (c>>15 | c<<17) + 0xa282ead8
		size := n + 4
		b = append(b, 0x01, byte(size), byte(size>>8), byte(size>>16))
		b = binary.LittleEndian.AppendUint32(b, c)
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}

// A request answered before its body was read leaves nothing behind on its
// connection: the server drains it or closes the connection, and never
// reads the rest of a body as the next request (it once did after a
// decoder closed the body early: 431 for the next request).
func TestUnreadBodyIsNotARequest(t *testing.T) {
	h := start(t, nil, nil, nil)
	bad := snappyFramed(make([]byte, 3<<20))
	for range 3 {
		r := h.post(t, pathEvents, "application/json", bad, map[string]string{"Content-Encoding": "x-snappy-framed"})
		assert.Equal(t, 400, r.code, r.body.Error)
		r = h.post(t, pathImport, "text/csv", []byte(csvRows(3)), nil)
		assert.Equal(t, 202, r.code, r.body.Error)
	}
	assert.Equal(t, 9, h.sink.LogRecordCount())
}
