package auditprocessor

import (
	"context"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadata"
)

func benchBatch(n int) plog.Logs {
	return auditgen.Batch(n, auditgen.Options{FreeTextEmailFraction: 0.2, UnknownFraction: 0.02, Seed: 1})
}

// BenchmarkProcessor runs batches of 1000 realistic records (12 attributes,
// 20% with an address in free text, 2% unknown actions) through the
// processor, with the pseudonym on. It reports ns/record and allocs/record.
func BenchmarkProcessor(b *testing.B) {
	for _, bc := range []struct {
		name string
		key  string
	}{{"pseudonym_off", ""}, {"pseudonym_on", testKey}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := testConfig(func(c *Config) { c.Pseudonym.Key = configopaque.String(bc.key) })
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			const n = 1000
			src := benchBatch(n)
			batches := make([]plog.Logs, 0, 4)
			var before, after, c0, c1 runtime.MemStats
			var copyMallocs uint64
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
						batches = append(batches, ld)
					}
					runtime.ReadMemStats(&c1)
					copyMallocs += c1.Mallocs - c0.Mallocs
					b.StartTimer()
				}
				ld := batches[len(batches)-1]
				batches = batches[:len(batches)-1]
				if err := p.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs-copyMallocs)/float64(b.N*n), "allocs/record")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			b.ReportMetric(0, "ns/op")
		})
	}
}
