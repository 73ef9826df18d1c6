package auditprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
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

// BenchmarkTagFloor is what pdata alone charges for the required
// tags: the processor's own tags.put on the same batches, without reading
// attributes, deriving ids or masking ("tags"), and then with masking
// ("tags_masking"). BenchmarkProcessor cannot go below "tags" without
// dropping tags; the gap between the two is the processor's own code.
// "read" only reads every attribute value: what walking costs.
func BenchmarkTagFloor(b *testing.B) {
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), testConfig(nil))
	if err != nil {
		b.Fatal(err)
	}
	const id = "0123456789abcdef0123456789abcdef"
	var sink int
	for _, bc := range []struct {
		name             string
		read, mask, tags bool
	}{{"read", true, false, false}, {"tags", false, false, true}, {"tags_masking", false, true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
				forEachRecord(ld, func(lr plog.LogRecord) {
					if bc.read {
						for _, v := range lr.Attributes().All() {
							sink += len(v.Str())
						}
					}
					if bc.mask {
						for _, v := range lr.Attributes().All() {
							p.maskValue(v)
						}
					}
					if t := p.byName[lr.EventName()]; bc.tags && t != nil {
						t.put(lr.Attributes(), id, idNone, "")
					}
				})
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			comptest.PerRecord(b, c, benchBatch(1000))
		})
	}
	_ = sink
}

func forEachRecord(ld plog.Logs, f func(plog.LogRecord)) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				f(lr)
			}
		}
	}
}
