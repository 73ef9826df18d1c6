package comptest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// failTB records a failure and stops the helper, as testing.T does.
type failTB struct {
	testing.TB
	msg string
}

type stopped struct{}

func (f *failTB) Helper() {}
func (f *failTB) Errorf(format string, args ...any) {
	f.msg += fmt.Sprintf(format, args...)
}
func (f *failTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	panic(stopped{})
}
func (f *failTB) FailNow() { panic(stopped{}) }

// fails runs fn and returns what it failed with; "" when it passed.
func fails(t *testing.T, fn func(tb testing.TB)) (msg string) {
	f := &failTB{TB: t}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
		}
		msg = f.msg
	}()
	fn(f)
	return f.msg
}

func telemetry(t *testing.T) *componenttest.Telemetry {
	t.Chdir("testdata") // the package under test's metadata.yaml
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	c, err := tel.NewTelemetrySettings().MeterProvider.Meter("test").Int64Counter("otelcol_test_recorded")
	require.NoError(t, err)
	c.Add(context.Background(), 2, metric.WithAttributes(attribute.String("reason", "duplicate")))
	c.Add(context.Background(), 3, metric.WithAttributes(attribute.String("reason", "reserved")))
	h, err := tel.NewTelemetrySettings().MeterProvider.Meter("test").Float64Histogram("otelcol_test_histogram")
	require.NoError(t, err)
	h.Record(context.Background(), 1)
	return tel
}

func TestSum(t *testing.T) {
	tel := telemetry(t)
	tests := []struct {
		name, metric string
		want         int64
		fail         string
	}{
		{"recorded", "otelcol_test_recorded", 5, ""},
		{"declared, never recorded", "otelcol_test_declared_only", 0, ""},
		{"misspelt", "otelcol_test_recorded_typo", 0, "metric otelcol_test_recorded_typo was never recorded and metadata.yaml declares no such metric (declared: otelcol_test_declared_only, otelcol_test_recorded)"},
		{"not a counter", "otelcol_test_histogram", 0, "metric otelcol_test_histogram is a metricdata.Histogram[float64], not an int64 counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got int64
			msg := fails(t, func(tb testing.TB) { got = Sum(tb, tel, tt.metric) })
			assert.Equal(t, tt.fail, msg)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSumWhere(t *testing.T) {
	tel := telemetry(t)
	tests := []struct {
		name, metric, key, value string
		want                     int64
		fail                     string
	}{
		{"one value", "otelcol_test_recorded", "reason", "reserved", 3, ""},
		{"declared, never recorded", "otelcol_test_declared_only", "reason", "reserved", 0, ""},
		{"misspelt metric", "otelcol_test_typo", "reason", "reserved", 0, "metric otelcol_test_typo was never recorded and metadata.yaml declares no such metric (declared: otelcol_test_declared_only, otelcol_test_recorded)"},
		{"misspelt key", "otelcol_test_recorded", "reasons", "reserved", 0, `no data point of otelcol_test_recorded has the attribute "reasons"`},
		{"value not declared", "otelcol_test_recorded", "reason", "duplicated", 0, `metadata.yaml lists no value "duplicated" for attribute "reason": it has duplicate, reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got int64
			msg := fails(t, func(tb testing.TB) { got = SumWhere(tb, tel, tt.metric, tt.key, tt.value) })
			assert.Equal(t, tt.fail, msg)
			assert.Equal(t, tt.want, got)
		})
	}
}
