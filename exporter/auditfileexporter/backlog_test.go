package auditfileexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// A write refused because too many events wait for a digest is not lost
// silently: the sender gets the error and exporterhelper counts the
// records as failed under audit_file's own id.
func TestBacklogRefusalIsCounted(t *testing.T) {
	ctx := context.Background()
	tel := componenttest.NewTelemetry()
	defer tel.Shutdown(ctx)
	keyFile, _ := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	cfg := testConfig(dir, keyFile)
	cfg.Digest.MaxEvents, cfg.Digest.MaxPendingEvents = 5, 5
	require.NoError(t, cfg.Validate())
	set := settings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	e, err := NewFactory().CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctx, h))
	defer func() { require.NoError(t, e.Shutdown(ctx)) }()

	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 5)))
	err = e.ConsumeLogs(ctx, batch(5, 5))
	require.ErrorIs(t, err, digest.ErrBacklog)

	m, err := tel.GetMetric("otelcol_exporter_send_failed_log_records")
	require.NoError(t, err)
	sum := m.Data.(metricdata.Sum[int64])
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(5), sum.DataPoints[0].Value)
	exp, _ := sum.DataPoints[0].Attributes.Value("exporter")
	assert.Equal(t, "audit_file/archive", exp.AsString())
}
