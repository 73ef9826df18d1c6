// Package storetest fills an Elasticsearch test double, and optionally a
// JSON-lines archive, through the real audit processor and exporter: the
// data that tests of the readers (auditctl, the audit log API) read.
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor"
)

// Store is the double and the pipeline into it.
type Store struct {
	ES     *estest.Server
	Client *elasticsearch.Client
	URL    string
	// Archive is the .jsonl file every batch is also appended to ("" for
	// none).
	Archive string
	// Next is the processor, feeding the exporter (and the archive).
	Next consumer.Logs
}

// Options shape the pipeline.
type Options struct {
	// Archive, when set, also receives each processed batch as one OTLP
	// JSON line, as the file exporter of config/local.yaml writes it.
	Archive string
	// NamespaceAttribute is the exporter's namespace_attribute
	// (organization.id: one set of indices per tenant).
	NamespaceAttribute string
	// Catalogs default to the shipped codatum, wherobots and analytics
	// catalogs.
	Catalogs []string
}

// Base is the time of the first event Fill writes.
var Base = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

// New starts a double and the processor and exporter into it.
func New(t testing.TB, o Options) *Store {
	t.Helper()
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	require.NoError(t, err)

	ef := auditelasticsearchexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	ecfg.Endpoints = []string{srv.URL}
	ecfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	ecfg.Bootstrap.RetryInterval = 20 * time.Millisecond
	ecfg.DataStream.NamespaceAttribute = o.NamespaceAttribute
	// The events are of November 2025: retentions long enough that each
	// keeps its own month's index whatever today's date.
	ecfg.Retention.Default, ecfg.Retention.Quarantine = "3650d", "3650d"
	ecfg.Retention.Tiers = []auditelasticsearchexporter.TierConfig{{Name: "view_data", Categories: []string{"view_data", "view_content"}, DeleteAfter: "3650d"}}
	exp, err := ef.CreateLogs(context.Background(), exportertest.NewNopSettings(ef.Type()), ecfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	require.Eventually(t, func() bool { return es.Has("data_stream", "logs-audit.deadletter-default") }, 5*time.Second, 10*time.Millisecond)

	pf := auditprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*auditprocessor.Config)
	pcfg.Catalogs = o.Catalogs
	if len(pcfg.Catalogs) == 0 {
		root := testcollector.RepoRoot()
		for _, f := range []string{"codatum", "wherobots", "analytics"} {
			pcfg.Catalogs = append(pcfg.Catalogs, filepath.Join(root, "config", "catalogs", f+".yaml"))
		}
	}
	pcfg.Pseudonym.Key = "auditctl-test-key-0123456789"
	// The stores restore exports (the round trip): a trusted pipeline
	// keeps the exported user.hash of an already masked address.
	pcfg.Pseudonym.TrustSenderHash = true
	var next consumer.Logs = exp
	if o.Archive != "" {
		next = both{&archiveWriter{path: o.Archive}, exp}
	}
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pcfg, next)
	require.NoError(t, err)
	return &Store{ES: es, Client: c, URL: srv.URL, Archive: o.Archive, Next: proc}
}

// Fill writes n generated events, one second apart from Base + offset,
// newest last; edit, when set, changes each record before it is sent.
func (s *Store) Fill(t testing.TB, n int, seed uint64, offset time.Duration, edit func(i int, lr plog.LogRecord)) {
	t.Helper()
	for done := 0; done < n; done += 1000 {
		ld := auditgen.Batch(min(1000, n-done), auditgen.Options{Seed: seed + uint64(done), FreeTextEmailFraction: 0.2, UnknownFraction: 0.02, IDPrefix: fmt.Sprintf("e%d-%d-", seed, done)})
		recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < recs.Len(); i++ {
			recs.At(i).SetTimestamp(pcommon.NewTimestampFromTime(Base.Add(offset + time.Duration(done+i)*time.Second)))
			if edit != nil {
				edit(done+i, recs.At(i))
			}
		}
		require.NoError(t, s.Next.ConsumeLogs(context.Background(), ld))
	}
	s.Refresh(t)
}

// Refresh makes what was written visible to search, as the refresh
// interval would a second later.
func (s *Store) Refresh(t testing.TB) {
	t.Helper()
	resp, err := esapi.IndicesRefreshRequest{Index: []string{"logs-audit-*", "logs-audit.*-*"}}.Do(context.Background(), s.Client)
	require.NoError(t, err)
	resp.Body.Close()
	require.False(t, resp.IsError())
}

// archiveWriter appends each batch as one OTLP JSON line, like the file
// exporter in config/local.yaml.
type archiveWriter struct {
	mu   sync.Mutex
	path string
}

func (a *archiveWriter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (a *archiveWriter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// both sends each batch to the archive, then to the exporter.
type both struct{ a, b consumer.Logs }

func (x both) Capabilities() consumer.Capabilities { return consumer.Capabilities{MutatesData: false} }
func (x both) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if err := x.a.ConsumeLogs(ctx, ld); err != nil {
		return err
	}
	return x.b.ConsumeLogs(ctx, ld)
}
