// Package hostile_test sends what a hostile or broken sender would to the
// built collector, on its shipped limits, and checks that it answers with
// a clear refusal, stays up, and goes on storing what is valid.
package hostile_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

func otlpRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// otlpConfig is OTLP on loopback with the limits every shipped config
// sets (the json_limit middleware on HTTP; gRPC's 4 MiB messages), the
// audit processor and the archive.
func otlpConfig(root, archive string, grpcPort, httpPort, healthPort int) string {
	return fmt.Sprintf(`
extensions:
  health_check: {endpoint: 127.0.0.1:%d}
  json_limit: {}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
        max_recv_msg_size_mib: 4
      http:
        endpoint: 127.0.0.1:%d
        max_request_body_size: 20971520
        middlewares: [{id: json_limit}]
processors:
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml]
exporters:
  file/archive:
    path: %s
    format: json
    flush_interval: 100ms
service:
  extensions: [health_check, json_limit]
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit]
      exporters: [file/archive]
  telemetry:
    metrics:
      level: none
`, healthPort, grpcPort, httpPort, root, archive)
}

// Protobuf field tags (opentelemetry-proto logs/v1 and common/v1).
const (
	otlpTagResourceLogs = 1<<3 | 2 // ExportLogsServiceRequest.resource_logs
	otlpTagScopeLogs    = 2<<3 | 2 // ResourceLogs.scope_logs
	otlpTagLogRecords   = 2<<3 | 2 // ScopeLogs.log_records
	otlpTagTime         = 1<<3 | 1 // LogRecord.time_unix_nano, fixed64
	otlpTagAttributes   = 6<<3 | 2 // LogRecord.attributes
	otlpTagEventName    = 12<<3 | 2
	otlpTagKey          = 1<<3 | 2 // KeyValue.key
	otlpTagValue        = 2<<3 | 2 // KeyValue.value
	otlpTagArrayValue   = 5<<3 | 2 // AnyValue.array_value
	otlpTagValues       = 1<<3 | 2 // ArrayValue.values
)

// otlpNestedProto is an ExportLogsServiceRequest of one record whose
// attribute "deep" is depth arrays, each holding the next. It is written
// outside in from precomputed lengths, without recursion.
func otlpNestedProto(depth int) []byte {
	lens := make([]uint32, depth+1) // lens[i]: bytes of the AnyValue i levels deep
	for i := 1; i <= depth; i++ {
		inner := uint64(1 + otlpVarintLen(uint64(lens[i-1])) + int(lens[i-1]))
		lens[i] = uint32(1 + otlpVarintLen(inner) + int(inner))
	}
	nested := make([]byte, 0, lens[depth])
	for i := depth; i >= 1; i-- {
		inner := uint64(1 + otlpVarintLen(uint64(lens[i-1])) + int(lens[i-1]))
		nested = append(nested, otlpTagArrayValue)
		nested = binary.AppendUvarint(nested, inner)
		nested = append(nested, otlpTagValues)
		nested = binary.AppendUvarint(nested, uint64(lens[i-1]))
	}
	kv := otlpField(otlpField(nil, otlpTagKey, []byte("deep")), otlpTagValue, nested)
	rec := binary.LittleEndian.AppendUint64([]byte{otlpTagTime}, uint64(time.Now().UnixNano()))
	rec = otlpField(rec, otlpTagEventName, []byte("report.view"))
	rec = otlpField(rec, otlpTagAttributes, kv)
	scope := otlpField(nil, otlpTagLogRecords, rec)
	res := otlpField(nil, otlpTagScopeLogs, scope)
	return otlpField(nil, otlpTagResourceLogs, res)
}

func otlpField(b []byte, tag byte, v []byte) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func otlpVarintLen(v uint64) int { return len(binary.AppendUvarint(nil, v)) }

// otlpNestedJSON is the same request in OTLP/JSON.
func otlpNestedJSON(depth int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","eventName":"report.view","attributes":[{"key":"deep","value":`, time.Now().UnixNano())
	b.WriteString(strings.Repeat(`{"arrayValue":{"values":[`, depth))
	b.WriteString(`{}`)
	b.WriteString(strings.Repeat(`]}}`, depth))
	b.WriteString(`}]}]}]}]}`)
	return b.Bytes()
}

// otlpRaw sends bytes as they are over gRPC.
type otlpRaw struct{}

func (otlpRaw) Name() string { return "proto" }
func (otlpRaw) Marshal(v any) ([]byte, error) {
	return *(v.(*[]byte)), nil
}
func (otlpRaw) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

func otlpValid(id string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.SetEventName("report.view")
	lr.Attributes().PutStr("event.id", id)
	lr.Attributes().PutStr("user.email", "jane@example.com")
	return ld
}

// TestOTLPDeepNestingIsRefused: nesting past the limit is refused on every
// OTLP path before a recursive decoder walks it, the collector stays up
// and keeps storing, and nesting within the limit is stored.
func TestOTLPDeepNestingIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built collector")
	}
	bin := testcollector.Binary(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "audit.jsonl")
	grpcPort, httpPort, health := testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)
	proc := testcollector.Start(t, bin, dir, otlpConfig(otlpRoot(), archive, grpcPort, httpPort, health))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 60*time.Second)

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()

	postHTTP := func(body []byte, contentType string, gz bool) (int, string) {
		t.Helper()
		if gz {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, _ = w.Write(body)
			require.NoError(t, w.Close())
			body = z.Bytes()
		}
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/logs", httpPort), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(msg)
	}
	sendGRPC := func(body []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var reply []byte
		return conn.Invoke(ctx, "/opentelemetry.proto.collector.logs.v1.LogsService/Export", &body, &reply, grpc.ForceCodec(otlpRaw{}))
	}
	stored := 0
	sendValid := func(step string) {
		t.Helper()
		require.True(t, proc.Alive(), "the collector died after %s:\n%s", step, proc.Output())
		body, err := plogotlp.NewExportRequestFromLogs(otlpValid("valid-after-" + step)).MarshalProto()
		require.NoError(t, err)
		code, msg := postHTTP(body, "application/x-protobuf", false)
		require.Equal(t, http.StatusOK, code, "a valid request after %s: %s", step, msg)
		stored++
	}

	cases := []struct {
		name   string
		send   func() (refused bool, why string)
		stores bool
	}{
		{"http protobuf, 2.1M nested arrays, gzipped", func() (bool, string) {
			code, msg := postHTTP(otlpNestedProto(2_100_000), "application/x-protobuf", true)
			return code == http.StatusBadRequest, fmt.Sprintf("%d %s", code, msg)
		}, false},
		{"http json, 700k nested arrays", func() (bool, string) {
			code, msg := postHTTP(otlpNestedJSON(700_000), "application/json", false)
			return code == http.StatusBadRequest, fmt.Sprintf("%d %s", code, msg)
		}, false},
		{"http json, 200 nested arrays", func() (bool, string) {
			code, msg := postHTTP(otlpNestedJSON(200), "application/json", false)
			return code == http.StatusBadRequest, fmt.Sprintf("%d %s", code, msg)
		}, false},
		{"grpc protobuf, 300k nested arrays", func() (bool, string) {
			// pdata's decoder stops at depth 100; gRPC reports its
			// unmarshal failure as Internal.
			err := sendGRPC(otlpNestedProto(300_000))
			return err != nil && strings.Contains(err.Error(), "exceeded max recursion depth"), fmt.Sprint(err)
		}, false},
		{"grpc protobuf, 2.1M nested arrays (past the message size)", func() (bool, string) {
			err := sendGRPC(otlpNestedProto(2_100_000))
			return status.Code(err) == codes.ResourceExhausted, fmt.Sprint(err)
		}, false},
		{"http protobuf, 20 nested arrays", func() (bool, string) {
			code, msg := postHTTP(otlpNestedProto(20), "application/x-protobuf", false)
			return code != http.StatusOK, fmt.Sprintf("%d %s", code, msg)
		}, true},
		{"http json, 20 nested arrays", func() (bool, string) {
			code, msg := postHTTP(otlpNestedJSON(20), "application/json", false)
			return code != http.StatusOK, fmt.Sprintf("%d %s", code, msg)
		}, true},
		{"grpc protobuf, 20 nested arrays", func() (bool, string) {
			err := sendGRPC(otlpNestedProto(20))
			return err != nil, fmt.Sprint(err)
		}, true},
	}
	for _, c := range cases {
		refused, why := c.send()
		if c.stores {
			assert.False(t, refused, "%s: within the limit, yet refused: %s", c.name, why)
			stored++
		} else {
			assert.True(t, refused, "%s: not refused as expected: %s", c.name, why)
			if refused {
				t.Logf("%s: %s", c.name, why)
			}
		}
		sendValid(c.name)
	}

	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(archive)
		return bytes.Count(b, []byte(`"report.view"`)) >= stored
	}, 30*time.Second, 100*time.Millisecond, "the archive never held the %d accepted records", stored)
	b, err := os.ReadFile(archive)
	require.NoError(t, err)
	assert.Equal(t, stored, bytes.Count(b, []byte(`"report.view"`)), "only what was accepted is stored")
	peak := proc.PeakRSSMiB(t)
	t.Logf("collector peak RSS %.0f MiB", peak)
	assert.Less(t, peak, 512.0, "memory stays bounded by the request limits")
}
