package auditfileexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter"
)

// BenchmarkConsumeLogs writes batches of 1000 records (config/local.yaml's
// batch size) with the settings of config/local.yaml: rotation, flush
// every second, digest state in a file_storage with fsync. The same batch
// with digests off and on.
//
//	go test -run '^$' -bench ConsumeLogs -benchtime 5s ./exporter/auditfileexporter/
func BenchmarkConsumeLogs(b *testing.B) {
	ld := batch(0, 1000, "", "acme", "globex")
	for _, tc := range []struct {
		name          string
		digests, sync bool
	}{
		{"digests=off", false, false},
		{"digests=on", true, true},
		{"digests=on,storage_fsync=false", true, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			keyFile := ""
			var h host
			if tc.digests {
				keyFile, _ = testKey(b)
				hh, ext := startStorageSync(b, b.TempDir(), tc.sync)
				defer ext.Shutdown(ctx)
				h = hh
			}
			cfg := testConfig(dir, keyFile)
			cfg.FlushInterval = time.Second
			cfg.Digest.Interval = time.Minute
			// Records wait flush_interval + settleMargin (3s) and up to a
			// second more for a digest: past ~250k records/s that is more
			// than the default max_pending_events (1M), and Begin refuses.
			cfg.Digest.MaxPendingEvents = 10_000_000
			var e exporter.Logs
			if tc.digests {
				e = startExporter(b, cfg, h)
			} else {
				e = startExporter(b, cfg, host{})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := e.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)*float64(ld.LogRecordCount())/b.Elapsed().Seconds(), "records/s")
			require.NoError(b, e.Shutdown(ctx))
		})
	}
}

// BenchmarkHash is the exporter's own share with digests on: each record's
// canonical document and its SHA-256 (the rest is the recorder's).
func BenchmarkHash(b *testing.B) {
	ld := batch(0, 1000, "", "acme", "globex")
	h := &hasher{ns: map[string]string{}}
	b.ReportAllocs()
	for b.Loop() {
		_ = h.pending(ld)
	}
	b.ReportMetric(float64(b.N)*float64(ld.LogRecordCount())/b.Elapsed().Seconds(), "records/s")
}
