package auditelasticsearchexporter

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
)

// telemetry is the generated builder (names and descriptions come from
// metadata.yaml) and the attribute sets its counters are recorded with,
// made once rather than per document.
type telemetry struct {
	*metadata.TelemetryBuilder
	kindAudit, kindQuarantine, kindDeadLetter metric.MeasurementOption
	retryReasons                              map[string]metric.MeasurementOption
}

// Retry reasons: why Elasticsearch refused an item that is tried again.
const (
	reasonThrottled    = "throttled"     // 429
	reasonUnavailable  = "unavailable"   // 5xx
	reasonUnauthorized = "unauthorized"  // 401, 403
	reasonIndexMissing = "index_missing" // 404: auto-creation refused
	reasonIndexRefused = "index_refused" // the index cannot take documents now
)

func newTelemetry(set component.TelemetrySettings) (telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return telemetry{}, err
	}
	t := telemetry{TelemetryBuilder: tb}
	t.kindAudit = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "audit")))
	t.kindQuarantine = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "quarantine")))
	t.kindDeadLetter = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "deadletter")))
	t.retryReasons = map[string]metric.MeasurementOption{}
	for _, r := range []string{reasonThrottled, reasonUnavailable, reasonUnauthorized, reasonIndexMissing, reasonIndexRefused} {
		t.retryReasons[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	return t, nil
}

func (e *auditExporter) kind(d pending) metric.MeasurementOption {
	switch {
	case d.dead:
		return e.tel.kindDeadLetter
	case d.target.Dataset == e.router.quarantine:
		return e.tel.kindQuarantine
	}
	return e.tel.kindAudit
}
