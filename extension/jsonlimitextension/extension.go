package jsonlimitextension

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"

	"github.com/otelcol-audit/otelcol-audit/extension/jsonlimitextension/internal/metadata"
)

type limiter struct {
	maxDepth  int
	telemetry *metadata.TelemetryBuilder
}

var _ extensionmiddleware.HTTPServer = (*limiter)(nil)

func (l *limiter) Start(context.Context, component.Host) error { return nil }

func (l *limiter) Shutdown(context.Context) error {
	l.telemetry.Shutdown()
	return nil
}

// GetHTTPHandler wraps a JSON request's body in a reader that fails once
// the nesting passes the limit. The handler behind it sees a read error
// and answers 400 with it (the OTLP receiver does), having decoded nothing.
func (l *limiter) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && isJSON(r.Header.Get("Content-Type")) {
				r.Body = &depthReader{body: r.Body, max: l.maxDepth, refused: func() {
					l.telemetry.JSONLimitRequestsRefused.Add(r.Context(), 1)
				}}
			}
			next.ServeHTTP(w, r)
		}), nil
	}, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.Contains(strings.ToLower(contentType), "json")
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

var _ io.ReadCloser = (*depthReader)(nil)
