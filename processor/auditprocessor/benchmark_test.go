package auditprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
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
			b.Run("pooling_off", func(b *testing.B) { comptest.PerRecord(b, p, benchBatch(1000)) })
			b.Run("pooling_on", func(b *testing.B) { comptest.PerRecordPooled(b, p, benchBatch(1000)) })
		})
	}
}
