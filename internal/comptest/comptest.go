// Package comptest holds what the components' tests share: loading a
// component's config from testdata/config.yaml, summing a counter from test
// telemetry, and measuring per-record cost in benchmarks.
package comptest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// LoadConfig unmarshals the section typ/name of testdata/config.yaml over
// cfg (the factory's default) and validates it.
func LoadConfig(t *testing.T, typ component.Type, name string, cfg component.Config) error {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(component.MustNewIDWithName(typ.String(), name).String())
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		return err
	}
	return confmap.Validate(cfg)
}

// Load is LoadConfig over the factory's default config, typed: what every
// component's config test starts from.
func Load[C any](t *testing.T, typ component.Type, name string, createDefault func() component.Config) (*C, error) {
	t.Helper()
	cfg := createDefault().(*C)
	if err := LoadConfig(t, typ, name, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Sum adds up every data point of an int64 counter. A metric with no data
// is 0 only when the metadata.yaml of the package under test declares it
// (a counter nothing was added to yet); any other name fails the test, so
// an assertion cannot pass on a misspelt or renamed metric.
func Sum(t testing.TB, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, ok := find(t, tel, name)
	if !ok {
		return 0
	}
	var total int64
	for _, dp := range points(t, m) {
		total += dp.Value
	}
	return total
}

// SumWhere adds up the data points of an int64 counter whose attribute key
// has value. As Sum for a metric with no data; it fails when no data point
// carries key at all, and, when metadata.yaml lists the attribute's values,
// when value is not one of them.
func SumWhere(t testing.TB, tel *componenttest.Telemetry, name, key, value string) int64 {
	t.Helper()
	if vals, ok := declaredValues(t, key); ok && !slices.Contains(vals, value) {
		t.Fatalf("metadata.yaml lists no value %q for attribute %q: it has %s", value, key, strings.Join(vals, ", "))
	}
	m, ok := find(t, tel, name)
	if !ok {
		return 0
	}
	var total int64
	seen := false
	for _, dp := range points(t, m) {
		v, has := dp.Attributes.Value(attribute.Key(key))
		seen = seen || has
		if has && v.Emit() == value {
			total += dp.Value
		}
	}
	if !seen {
		t.Fatalf("no data point of %s has the attribute %q", name, key)
	}
	return total
}

// find returns the recorded metric name; false when it has no data and
// metadata.yaml declares it.
func find(t testing.TB, tel *componenttest.Telemetry, name string) (metricdata.Metrics, bool) {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err == nil {
		return m, true
	}
	if !slices.Contains(declaredMetrics(t), name) {
		t.Fatalf("metric %s was never recorded and metadata.yaml declares no such metric (declared: %s)",
			name, strings.Join(declaredMetrics(t), ", "))
	}
	return metricdata.Metrics{}, false
}

func points(t testing.TB, m metricdata.Metrics) []metricdata.DataPoint[int64] {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("metric %s is a %T, not an int64 counter", m.Name, m.Data)
	}
	return s.DataPoints
}

// declaredMetrics lists the telemetry metrics of ./metadata.yaml (the
// package under test) by their exported names; none without the file.
func declaredMetrics(t testing.TB) []string {
	t.Helper()
	cm := metadataYAML(t)
	if cm == nil {
		return nil
	}
	sub, err := cm.Sub("telemetry::metrics")
	require.NoError(t, err)
	var names []string
	for k := range sub.ToStringMap() {
		names = append(names, "otelcol_"+k)
	}
	slices.Sort(names)
	return names
}

// declaredValues lists the enum of attribute key in ./metadata.yaml.
func declaredValues(t testing.TB, key string) ([]string, bool) {
	t.Helper()
	cm := metadataYAML(t)
	if cm == nil || !cm.IsSet("attributes::"+key+"::enum") {
		return nil, false
	}
	var vals []string
	for _, v := range cm.Get("attributes::" + key + "::enum").([]any) {
		vals = append(vals, fmt.Sprint(v))
	}
	return vals, true
}

func metadataYAML(t testing.TB) *confmap.Conf {
	t.Helper()
	if _, err := os.Stat("metadata.yaml"); err != nil {
		return nil
	}
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	return cm
}

// PerRecord runs b.N batches, fresh copies of src, through c and reports
// ns/record and allocs/record, leaving out the cost of the copies.
func PerRecord(b *testing.B, c consumer.Logs, src plog.Logs) {
	perRecord(b, c, src, false)
}

// PoolingGate is the pdata feature gate that recycles value wrappers
// through pools once the pipeline has released a batch.
const PoolingGate = "pdata.useProtoPooling"

// PerRecordPooled is PerRecord as a collector runs with the PoolingGate on:
// each batch is owned by the pipeline and released after c returns, as the
// service and the exporter queue do, so its wrappers go back to the pools.
// The release is left out of the time like the copy; it is reported as
// release-ns/record.
func PerRecordPooled(b *testing.B, c consumer.Logs, src plog.Logs) {
	reg := featuregate.GlobalRegistry()
	was := false
	reg.VisitAll(func(g *featuregate.Gate) {
		if g.ID() == PoolingGate {
			was = g.IsEnabled()
		}
	})
	if err := reg.Set(PoolingGate, true); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = reg.Set(PoolingGate, was) }()
	perRecord(b, c, src, true)
}

func perRecord(b *testing.B, c consumer.Logs, src plog.Logs, pooled bool) {
	n := src.LogRecordCount()
	batches := make([]plog.Logs, 0, 4)
	var before, after, c0, c1 runtime.MemStats
	var setupMallocs uint64
	var release time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	runtime.ReadMemStats(&before)
	for i := 0; i < b.N; i++ {
		if len(batches) == 0 {
			b.StopTimer()
			runtime.ReadMemStats(&c0)
			for j := 0; j < cap(batches); j++ {
				ld := plog.NewLogs()
				src.CopyTo(ld)
				if pooled {
					pref.MarkPipelineOwnedLogs(ld)
				}
				batches = append(batches, ld)
			}
			runtime.ReadMemStats(&c1)
			setupMallocs += c1.Mallocs - c0.Mallocs
			b.StartTimer()
		}
		ld := batches[len(batches)-1]
		batches = batches[:len(batches)-1]
		if err := c.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
		if pooled {
			b.StopTimer()
			runtime.ReadMemStats(&c0)
			t0 := time.Now()
			pref.UnrefLogs(ld)
			release += time.Since(t0)
			runtime.ReadMemStats(&c1)
			setupMallocs += c1.Mallocs - c0.Mallocs
			b.StartTimer()
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs-setupMallocs)/float64(b.N*n), "allocs/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	if pooled {
		b.ReportMetric(float64(release.Nanoseconds())/float64(b.N*n), "release-ns/record")
	}
	b.ReportMetric(0, "ns/op")
}
