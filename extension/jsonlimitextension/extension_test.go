package jsonlimitextension

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-audit/otelcol-audit/extension/jsonlimitextension/internal/metadatatest"
)

// A JSON body past the limit fails the handler's read (which answers 400)
// and is counted; other content types and shallow JSON pass unchanged.
func TestMiddleware(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	ext, err := NewFactory().Create(context.Background(), metadatatest.NewSettings(tt), &Config{MaxDepth: 16})
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	wrap, err := ext.(*limiter).GetHTTPHandler(context.Background())
	require.NoError(t, err)
	// Like the OTLP receiver: read it all, answer 400 with the read error.
	h, err := wrap(context.Background(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	}))
	require.NoError(t, err)

	deep := strings.Repeat("[", 17) + strings.Repeat("]", 17)
	tests := []struct {
		name, contentType, body string
		code                    int
	}{
		{"shallow JSON", "application/json", `{"a":[1]}`, 200},
		{"deep JSON", "application/json", deep, 400},
		{"deep JSON with a charset", "application/json; charset=utf-8", deep, 400},
		{"deep +json media type", "application/vnd.example+json", deep, 400},
		{"protobuf is not scanned", "application/x-protobuf", deep, 200},
		{"no content type is not scanned", "", deep, 200},
	}
	refused := int64(0)
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/logs", strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, c.code, rec.Code, rec.Body.String())
			if c.code == 200 {
				assert.Equal(t, c.body, rec.Body.String())
			} else {
				refused++
				assert.Contains(t, rec.Body.String(), "nested deeper than 16 levels")
			}
		})
	}
	metadatatest.AssertEqualJSONLimitRequestsRefused(t, tt, []metricdata.DataPoint[int64]{{Value: refused}}, metricdatatest.IgnoreTimestamp())
}
