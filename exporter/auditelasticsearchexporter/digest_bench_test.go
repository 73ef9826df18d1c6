package auditelasticsearchexporter

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// BenchmarkPushLogsDigests compares pushLogs with tamper evidence off and
// on, over the same batches into the in-process double: on, each push
// also hashes every document, persists the intents (Begin) and commits;
// digests are sealed and written as the recorder does in production
// (every max_events, at most once a second). "on_fsync" is the shipped
// config/elasticsearch.yaml, whose file_storage fsyncs. "on_unsealed"
// never seals during the run (max_events 1000000): the cost on the export
// path alone (hashing, Begin, Commit), without the recorder's sealing.
//
//	go test -run '^$' -bench BenchmarkPushLogsDigests -benchtime 200x -count 5 ./exporter/auditelasticsearchexporter/
func BenchmarkPushLogsDigests(b *testing.B) {
	const batch = 2000
	for _, mode := range []string{"off", "on", "on_fsync", "on_unsealed"} {
		b.Run(mode, func(b *testing.B) {
			timeNow = func() time.Time { return testNow }
			defer func() { timeNow = time.Now }()
			es := estest.New()
			ts := es.Start(b)
			cfg := createDefaultConfig().(*Config)
			cfg.Endpoints = []string{ts.URL}
			cfg.QueueConfig = configoptional.None[exporterhelperQueue]()
			var host component.Host = componenttest.NewNopHost()
			if mode != "off" {
				dir := b.TempDir()
				_, err := digest.Keygen(dir)
				require.NoError(b, err)
				f := filestorage.NewFactory()
				scfg := f.CreateDefaultConfig().(*filestorage.Config)
				scfg.Directory = b.TempDir()
				scfg.FSync = mode == "on_fsync"
				ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), scfg)
				require.NoError(b, err)
				require.NoError(b, ext.Start(context.Background(), componenttest.NewNopHost()))
				defer func() { _ = ext.Shutdown(context.Background()) }()
				host = storageHost{exts: map[component.ID]component.Component{storageID: ext}}
				cfg.Digest.KeyFile = filepath.Join(dir, digest.PrivateKeyFile)
				cfg.Digest.Storage = &storageID
				if mode == "on_unsealed" {
					cfg.Digest.MaxEvents, cfg.Digest.MaxPendingEvents = 1_000_000, 1_000_000
				}
			}
			require.NoError(b, cfg.Validate())
			e, err := newExporter(exportertest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			require.NoError(b, e.start(context.Background(), host))
			defer func() { require.NoError(b, e.shutdown(context.Background())) }()
			require.Eventually(b, e.bootstrapped.Load, 5*time.Second, time.Millisecond)

			ld := many("bench", batch)
			ids := make([]plog.LogRecord, 0, batch)
			sl := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < sl.Len(); i++ {
				ids = append(ids, sl.At(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				for i, lr := range ids { // new ids: every push stores, none conflicts
					lr.Attributes().PutStr("event.id", fmt.Sprintf("ev-%d-%d", n, i))
				}
				b.StartTimer()
				if err := e.pushLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
