package auditreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver/internal/metadatatest"
)

type harness struct {
	url  string
	tel  *componenttest.Telemetry
	sink *consumertest.LogsSink
	recv *auditReceiver
}

func start(t *testing.T, mut func(*Config), next consumer.Logs, host component.Host) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	cfg.RetryAfter = time.Second
	if mut != nil {
		mut(cfg)
	}
	require.NoError(t, cfg.Validate())
	h := &harness{url: "http://" + cfg.ServerConfig.NetAddr.Endpoint, tel: componenttest.NewTelemetry(), sink: new(consumertest.LogsSink)}
	if next == nil {
		next = h.sink
	}
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, r.Start(context.Background(), host))
	h.recv = r.(*auditReceiver)
	t.Cleanup(func() {
		require.NoError(t, r.Shutdown(context.Background()))
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	return h
}

type reply struct {
	code int
	body answer
	hdr  http.Header
}

func (h *harness) post(t *testing.T, path, contentType string, body []byte, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	_ = json.Unmarshal(raw, &a)
	return reply{code: resp.StatusCode, body: a, hdr: resp.Header}
}

func event(i int) string {
	return fmt.Sprintf(`{"time":"2025-11-20T10:00:%02dZ","action":"notebook.open","actor":{"email":"user%d@example.com"},"client":{"ip":"203.0.113.%d"}}`, i%60, i, i%250)
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name     string
		ct       string
		body     []byte
		hdr      map[string]string
		code     int
		accepted int
		errText  string
	}{
		{"one JSON event", "application/json", []byte(event(1)), nil, 202, 1, ""},
		{"JSON array", "application/json; charset=utf-8", []byte("[" + event(1) + "," + event(2) + "," + event(3) + "]"), nil, 202, 3, ""},
		{"NDJSON", "application/x-ndjson", []byte(event(1) + "\n" + event(2) + "\n"), nil, 202, 2, ""},
		{"gzip JSON", "application/json", gz("[" + event(1) + "," + event(2) + "]"), map[string]string{"Content-Encoding": "gzip"}, 202, 2, ""},
		{"gzip NDJSON", "application/x-ndjson", gz(event(1) + "\n" + event(2)), map[string]string{"Content-Encoding": "gzip"}, 202, 2, ""},
		{"one invalid event refuses all", "application/json", []byte("[" + event(1) + `,{"time":"2025-11-20T10:00:00Z"}]`), nil, 400, 0, "1 problem(s) in the request; nothing from it was accepted"},
		{"malformed JSON", "application/json", []byte(`[{"time":`), nil, 400, 0, "problem"},
		{"empty array", "application/json", []byte(`[]`), nil, 400, 0, "no events in the request"},
		{"unsupported type", "text/plain", []byte(event(1)), nil, 415, 0, `unsupported Content-Type "text/plain"`},
		{"no type", "", []byte(event(1)), nil, 415, 0, "unsupported Content-Type"},
		{"body too large", "application/json", []byte(`{"time":1763805600,"action":"a","message":"` + strings.Repeat("x", 5000) + `"}`), nil, 413, 0, "request body larger than 4096 bytes (max_events_body_size)"},
		{"too many events", "application/x-ndjson", []byte(strings.Repeat(event(1)+"\n", 6)), nil, 413, 0, "more than 5 events in one request (max_events_per_request)"},
		{"bad gzip", "application/json", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, func(c *Config) { c.MaxEventsBodySize = 4096; c.MaxEventsPerRequest = 5 }, nil, nil)
			r := h.post(t, pathEvents, tt.ct, tt.body, tt.hdr)
			assert.Equal(t, tt.code, r.code)
			assert.Equal(t, tt.accepted, r.body.Accepted)
			assert.Contains(t, r.body.Error, tt.errText)
			assert.Equal(t, tt.accepted, h.sink.LogRecordCount(), "accepted means handed to the pipeline, refused means nothing was")
		})
	}
}

func TestProblemsListed(t *testing.T) {
	h := start(t, nil, nil, nil)
	r := h.post(t, pathEvents, "application/json", []byte(`[`+event(1)+`,{"action":"a","time":"soon","client":{"ip":"x"}}]`), nil)
	require.Equal(t, 400, r.code)
	require.Len(t, r.body.Problems, 2)
	assert.Equal(t, 1, *r.body.Problems[0].Index)
	assert.Equal(t, "time", r.body.Problems[0].Field)
	assert.Equal(t, "client.ip", r.body.Problems[1].Field)
	assert.Contains(t, r.body.Problems[1].Reason, "is not an IPv4 or IPv6 address")
}

func TestMethodNotAllowed(t *testing.T) {
	h := start(t, nil, nil, nil)
	resp, err := http.Get(h.url + pathEvents)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
}

const seedCSV = "Time,User,Action,Resource,IP Address,User Agent,Region\n"

func csvRows(n int) string {
	var b strings.Builder
	b.WriteString(seedCSV)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "2025-11-20 10:%02d:%02d,user%d@example.com,UploadFile,file-%d.csv,203.0.113.%d,curl/8,aws-us-west-2\n", i/60%60, i%60, i, i, i%250)
	}
	return b.String()
}

func ids(t *testing.T, all []plog.Logs) []string {
	t.Helper()
	var out []string
	for _, ld := range all {
		recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < recs.Len(); i++ {
			v, ok := recs.At(i).Attributes().Get("event.id")
			require.True(t, ok)
			out = append(out, v.Str())
		}
	}
	return out
}

func TestImport(t *testing.T) {
	h := start(t, func(c *Config) { c.ImportBatchSize = 7 }, nil, nil)
	r := h.post(t, pathImport, "text/csv", []byte(csvRows(50)), nil)
	require.Equal(t, 202, r.code, r.body.Error)
	assert.Equal(t, 50, r.body.Accepted)
	assert.Equal(t, 50, h.sink.LogRecordCount())
	assert.Len(t, h.sink.AllLogs(), 8, "50 rows in batches of 7")
	first := ids(t, h.sink.AllLogs())

	// Re-importing the same file produces the same ids.
	h.sink.Reset()
	r = h.post(t, pathImport, "text/csv; charset=utf-8", gz(csvRows(50)), map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, 202, r.code)
	assert.Equal(t, first, ids(t, h.sink.AllLogs()))
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, ct, body string
		code           int
		errText        string
		line           int
	}{
		{"invalid row refuses the file", "text/csv", csvRows(3) + "yesterday,a@example.com,UploadFile,,,,\n" + csvRows(2)[len(seedCSV):], 400, "1 problem(s) in the file; nothing from it was accepted", 5},
		{"bad header", "text/csv", "When,Who,What\n", 400, "problem", 1},
		{"header only", "text/csv", seedCSV, 400, "the file has a header but no rows", 0},
		{"wrong type", "application/json", csvRows(1), 415, `send text/csv`, 0},
		{"too large", "text/csv", csvRows(100), 413, "request body larger than 2048 bytes (max_request_body_size)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, func(c *Config) { c.ServerConfig.MaxRequestBodySize = 2048; c.MaxEventsBodySize = 1024 }, nil, nil)
			body := tt.body
			r := h.post(t, pathImport, tt.ct, []byte(body), nil)
			assert.Equal(t, tt.code, r.code)
			assert.Contains(t, r.body.Error, tt.errText)
			if tt.line > 0 {
				require.NotEmpty(t, r.body.Problems)
				assert.Equal(t, tt.line, r.body.Problems[0].Line)
			}
			assert.Zero(t, h.sink.LogRecordCount())
		})
	}
}

// flaky refuses the first `fails` calls with a retryable error, like the
// memory limiter or a full queue.
type flaky struct {
	mu    sync.Mutex
	fail  map[int]bool // call numbers (from 1) to refuse
	calls int
	sink  consumertest.LogsSink
	perm  bool
}

func failing(calls ...int) *flaky {
	f := &flaky{fail: map[int]bool{}}
	for _, c := range calls {
		f.fail[c] = true
	}
	return f
}

func (f *flaky) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f *flaky) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	f.mu.Lock()
	f.calls++
	fail := f.fail[f.calls]
	f.mu.Unlock()
	if fail {
		if f.perm {
			return consumererror.NewPermanent(errors.New("mapping broken"))
		}
		return errors.New("data refused due to high memory usage")
	}
	return f.sink.ConsumeLogs(ctx, ld)
}

// postWithRetry is what a well-behaved client does with 503.
func postWithRetry(t *testing.T, h *harness, path, ct string, body []byte) (reply, int) {
	t.Helper()
	for attempt := 1; attempt <= 5; attempt++ {
		r := h.post(t, path, ct, body, nil)
		if r.code != http.StatusServiceUnavailable {
			return r, attempt
		}
		secs, err := strconv.Atoi(r.hdr.Get("Retry-After"))
		require.NoError(t, err, "503 must carry Retry-After")
		time.Sleep(time.Duration(secs) * time.Second / 10) // scaled down for the test
	}
	t.Fatal("still refused after 5 attempts")
	return reply{}, 0
}

func TestBackPressureRetryLosesNothing(t *testing.T) {
	f := failing(1, 2)
	h := start(t, nil, f, nil)
	body := []byte(event(1) + "\n" + event(2) + "\n" + event(3))
	r, attempts := postWithRetry(t, h, pathEvents, "application/x-ndjson", body)
	assert.Equal(t, 202, r.code)
	assert.Equal(t, 3, attempts)
	assert.Equal(t, 3, f.sink.LogRecordCount(), "every event stored exactly once")
	events := attribute.String("endpoint", pathEvents)
	// Two refused attempts of 3 events, then 3 accepted.
	metadatatest.AssertEqualReceiverAuditEventsRefused(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 6, Attributes: attribute.NewSet(events, attribute.String("reason", "pipeline"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualReceiverAuditEventsAccepted(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 3, Attributes: attribute.NewSet(events)},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestImportBackPressureResendIsSafe(t *testing.T) {
	f := failing(3) // the first two batches pass, the third is refused
	h := start(t, func(c *Config) { c.ImportBatchSize = 10 }, f, nil)
	file := []byte(csvRows(45))
	r := h.post(t, pathImport, "text/csv", file, nil)
	require.Equal(t, 503, r.code)
	assert.Equal(t, 20, r.body.Accepted)
	assert.Contains(t, r.body.Error, "re-send the whole file")
	r, _ = postWithRetry(t, h, pathImport, "text/csv", file)
	require.Equal(t, 202, r.code)
	got := ids(t, f.sink.AllLogs())
	assert.Len(t, got, 65, "20 from the first attempt, 45 from the second")
	unique := map[string]bool{}
	for _, id := range got {
		unique[id] = true
	}
	assert.Len(t, unique, 45, "no row lost; the 20 repeats carry the same ids, so the store keeps one copy")
}

func TestPermanentPipelineErrorIs500(t *testing.T) {
	h := start(t, nil, func() *flaky { f := failing(1); f.perm = true; return f }(), nil)
	r := h.post(t, pathEvents, "application/json", []byte(event(1)), nil)
	assert.Equal(t, 500, r.code)
	assert.Contains(t, r.body.Error, "rejected the events permanently")
	assert.Empty(t, r.hdr.Get("Retry-After"))
}

func sum(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	return comptest.Sum(t, tel, name)
}

func TestRequestMetrics(t *testing.T) {
	h := start(t, nil, nil, nil)
	h.post(t, pathEvents, "application/json", []byte(event(1)), nil)
	h.post(t, pathEvents, "text/plain", []byte(event(1)), nil)
	h.post(t, pathEvents, "application/json", []byte(`{}`), nil)
	h.post(t, "/v1/nothing", "application/json", []byte(event(1)), nil)
	// Whole metrics: name, description, unit, kind and attributes as metadata.yaml declares them.
	at := func(kvs ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kvs...) }
	events := attribute.String("endpoint", pathEvents)
	metadatatest.AssertEqualReceiverAuditRequests(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: at(events, attribute.Int("code", 202))},
		{Value: 1, Attributes: at(events, attribute.Int("code", 415))},
		{Value: 1, Attributes: at(events, attribute.Int("code", 400))},
		{Value: 1, Attributes: at(attribute.String("endpoint", "other"), attribute.Int("code", 404))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualReceiverAuditEventsAccepted(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: at(events)},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualReceiverAuditEventsRefused(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: at(events, attribute.String("reason", "invalid"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	// The standard receiver metrics come from receiverhelper.
	assert.Equal(t, int64(1), sum(t, h.tel, "otelcol_receiver_accepted_log_records"))
}

// tokenAuth is a server authenticator accepting one bearer token.
type tokenAuth struct{ extension.Extension }

func (tokenAuth) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") && len(v) == 1 && v[0] == "Bearer s3cret" {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or wrong bearer token")
}

type authHost struct{ component.Host }

func (authHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{component.MustNewID("tokenauth"): tokenAuth{componenttest.NewNopHost().GetExtensions()[component.ID{}]}}
}

func TestAuth(t *testing.T) {
	h := start(t, func(c *Config) {
		c.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("tokenauth")}})
	}, nil, authHost{componenttest.NewNopHost()})
	assert.Equal(t, 401, h.post(t, pathEvents, "application/json", []byte(event(1)), nil).code)
	assert.Equal(t, 401, h.post(t, pathEvents, "application/json", []byte(event(1)), map[string]string{"Authorization": "Bearer wrong"}).code)
	assert.Equal(t, 202, h.post(t, pathEvents, "application/json", []byte(event(1)), map[string]string{"Authorization": "Bearer s3cret"}).code)
	assert.Equal(t, 1, h.sink.LogRecordCount())
}

func TestLifecycle(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	set := receivertest.NewNopSettings(metadata.Type)
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()), "shutdown before start")
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))

	// A second receiver on the same port fails to start with a clear error.
	r2, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r2.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "cannot listen on "+cfg.ServerConfig.NetAddr.Endpoint)
	require.NoError(t, r2.Shutdown(context.Background()))

	require.NoError(t, r.Shutdown(context.Background()))
}

// Header names ignore case; a column we do not know becomes a property.
func TestImportHeaderCaseAndUnknownColumns(t *testing.T) {
	h := start(t, nil, nil, nil)
	r := h.post(t, pathImport, "text/csv", []byte("time,USER,action,Ticket No.\n2025-11-20 10:00:00,a@example.com,UploadFile,T-7\n"), nil)
	require.Equal(t, 202, r.code, r.body.Error)
	require.Equal(t, 1, h.sink.LogRecordCount())
	attrs := h.sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Equal(t, "a@example.com", attrs["user.email"])
	assert.Equal(t, "T-7", attrs["ticket_no"])
}
