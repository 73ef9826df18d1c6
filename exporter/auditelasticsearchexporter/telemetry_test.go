package auditelasticsearchexporter

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadatatest"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// The exporter's metrics are whole as metadata.yaml declares them (name,
// description, unit, type), with the attributes the README names: the
// generated metadatatest helpers compare everything but the times.
func TestTelemetryMatchesMetadata(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	v.es.SetFaults(estest.Faults{RejectIDSuffix: "-bad"})
	require.NoError(t, consume(exp, logs(
		rec{id: "a-1", action: "notebook.open"},
		rec{id: "a-2", action: "notebook.open"},
		rec{id: "q-1", action: "nope", route: "quarantine"},
		rec{id: "x-bad", action: "notebook.open"},
	)), retried400)
	require.NoError(t, consume(exp, logs(rec{id: "a-1", action: "notebook.open"})), retried409)

	kind := func(k string) attribute.Set { return attribute.NewSet(attribute.String("kind", k)) }
	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}
	metadatatest.AssertEqualExporterAuditEsDocsIndexed(t, v.tel, []metricdata.DataPoint[int64]{
		{Attributes: kind("audit"), Value: 2},
		{Attributes: kind("quarantine"), Value: 1},
		{Attributes: kind("deadletter"), Value: 1},
	}, opts...)
	metadatatest.AssertEqualExporterAuditEsDocsDuplicate(t, v.tel, []metricdata.DataPoint[int64]{
		{Attributes: kind("audit"), Value: 1},
	}, opts...)
	metadatatest.AssertEqualExporterAuditEsDocsDeadLettered(t, v.tel, []metricdata.DataPoint[int64]{{Value: 1}}, opts...)
	// Bucket counts and sums are times: only the shape is compared.
	metadatatest.AssertEqualExporterAuditEsBulkLatency(t, v.tel, []metricdata.HistogramDataPoint[float64]{{}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue(), metricdatatest.IgnoreExemplars())
}

// The README names every metric metadata.yaml declares (in full, or as
// `…_suffix` after the first), so a metric added or renamed there is
// documented.
func TestReadmeNamesEveryMetric(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	names := declaredMetrics(t)
	require.Len(t, names, 12)
	for _, name := range names {
		short := "`…_" + strings.TrimPrefix(name, "exporter_audit_es_")
		named := false
		for _, form := range []string{"`otelcol_" + name, short} {
			named = named || bytes.Contains(readme, []byte(form+"`")) || bytes.Contains(readme, []byte(form+"{"))
		}
		assert.True(t, named,
			"README.md does not name %s: add it to the exporter's Telemetry paragraph", name)
	}
}

// declaredMetrics are the metric names metadata.yaml declares, sorted.
func declaredMetrics(t *testing.T) []string {
	t.Helper()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	metrics, err := cm.Sub("telemetry::metrics")
	require.NoError(t, err)
	return slices.Sorted(maps.Keys(metrics.ToStringMap()))
}

func requireDeclared(t *testing.T, name string) {
	t.Helper()
	require.Contains(t, declaredMetrics(t), name, "metadata.yaml declares no metric %s", name)
}
