// Package integration runs the exporter's scenarios against an
// Elasticsearch: always against the in-repo test double, and against a real
// cluster when ELASTICSEARCH_URL is set (make test-integration). Each run
// writes to its own namespace and deletes its data streams afterwards.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// target is an Elasticsearch under test.
type target struct {
	name   string
	url    string
	apiKey string
	double *estest.Server // nil for a real cluster
	client *elasticsearch.Client
}

func targets(t *testing.T) []target {
	double := estest.New(estest.WithSource())
	srv := double.Start(t)
	out := []target{{name: "test-double", url: srv.URL, double: double}}
	if u := os.Getenv("ELASTICSEARCH_URL"); u != "" {
		out = append(out, target{name: "elasticsearch", url: u, apiKey: os.Getenv("ELASTICSEARCH_API_KEY")})
	} else {
		t.Log("ELASTICSEARCH_URL is not set: the scenarios run against the test double only; set it (and ELASTICSEARCH_API_KEY if needed) to run them against a real Elasticsearch")
	}
	for i := range out {
		c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{out[i].url}, APIKey: out[i].apiKey})
		require.NoError(t, err)
		out[i].client = c
	}
	return out
}

// TestIntegrationRealElasticsearch says clearly when the real-cluster half
// of the suite did not run.
func TestIntegrationRealElasticsearch(t *testing.T) {
	if os.Getenv("ELASTICSEARCH_URL") == "" {
		t.Skip("SKIPPED: ELASTICSEARCH_URL is not set, so no scenario ran against a real Elasticsearch (they ran against the test double). Run: ELASTICSEARCH_URL=http://localhost:9200 make test-integration")
	}
	tg := targets(t)[1]
	resp, err := tg.client.Info()
	require.NoError(t, err)
	defer resp.Body.Close()
	require.False(t, resp.IsError(), resp.String())
}

func namespace() string { return fmt.Sprintf("it%d", rand.Uint32()) }

func startExporter(t *testing.T, tg target, ns string, mut func(*auditelasticsearchexporter.Config)) exporter.Logs {
	t.Helper()
	f := auditelasticsearchexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	cfg.Endpoints = []string{tg.url}
	cfg.APIKey = configopaqueString(tg.apiKey)
	cfg.DataStream.Namespace = ns
	cfg.Bootstrap.RetryInterval = 100 * time.Millisecond
	cfg.QueueConfig = configoptional.None[exporterhelperQueue]()
	cfg.Retention.Tiers = []auditelasticsearchexporter.TierConfig{{Name: "view_data", Categories: []string{"view_data"}, DeleteAfter: "90d"}}
	if mut != nil {
		mut(cfg)
	}
	require.NoError(t, cfg.Validate())
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, exp.Shutdown(context.Background()))
		resp, err := esapi.IndicesDeleteDataStreamRequest{Name: []string{"logs-audit*-" + ns}}.Do(context.Background(), tg.client)
		if err == nil {
			resp.Body.Close()
		}
	})
	require.Eventually(t, func() bool { return exists(tg, "logs-audit-"+ns) }, 20*time.Second, 50*time.Millisecond, "bootstrap")
	return exp
}

func exists(tg target, stream string) bool {
	resp, err := esapi.IndicesGetDataStreamRequest{Name: []string{stream}}.Do(context.Background(), tg.client)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == 200
}

func count(t *testing.T, tg target, stream string) int {
	t.Helper()
	r, err := esapi.IndicesRefreshRequest{Index: []string{stream}}.Do(context.Background(), tg.client)
	require.NoError(t, err)
	r.Body.Close()
	resp, err := esapi.CountRequest{Index: []string{stream}}.Do(context.Background(), tg.client)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == 404 {
		return 0
	}
	var c struct{ Count int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	return c.Count
}

func events(prefix string, n int, mut func(i int, lr plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetEventName("notebook.open")
		lr.Attributes().PutStr("event.id", fmt.Sprintf("%s-%d", prefix, i))
		lr.Attributes().PutStr("user.email", "***@example.com")
		lr.Attributes().PutStr("client.address", "203.0.113.9")
		if mut != nil {
			mut(i, lr)
		}
	}
	return ld
}

func TestIntegrationBootstrapTwice(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			startExporter(t, tg, ns, nil)
			startExporter(t, tg, ns, nil) // idempotent
			for _, s := range []string{"logs-audit-", "logs-audit.quarantine-", "logs-audit.deadletter-", "logs-audit.view_data-"} {
				assert.True(t, exists(tg, s+ns), s+ns)
			}
			resp, err := esapi.IndicesGetIndexTemplateRequest{Name: "audit-default"}.Do(context.Background(), tg.client)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
		})
	}
}

func TestIntegrationRoutingAndDuplicates(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			ld := events("route", 6, func(i int, lr plog.LogRecord) {
				switch i {
				case 1, 2:
					lr.Attributes().PutStr("audit.categories", "view_data")
				case 3:
					lr.Attributes().PutStr("audit.route", "quarantine")
				}
			})
			require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("route", 6, func(i int, lr plog.LogRecord) {
				switch i {
				case 1, 2:
					lr.Attributes().PutStr("audit.categories", "view_data")
				case 3:
					lr.Attributes().PutStr("audit.route", "quarantine")
				}
			})), "the same events again are refused by _id and counted as duplicates, not errors")
			assert.Equal(t, 3, count(t, tg, "logs-audit-"+ns))
			assert.Equal(t, 2, count(t, tg, "logs-audit.view_data-"+ns))
			assert.Equal(t, 1, count(t, tg, "logs-audit.quarantine-"+ns))
		})
	}
}

// A document Elasticsearch cannot map ends in the dead-letter stream. On a
// real cluster the cause is real (a flattened field deeper than its
// depth_limit of 20); the double is told to reject the same document.
func TestIntegrationMappingRejectionDeadLetters(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			if tg.double != nil {
				tg.double.SetFaults(estest.Faults{RejectField: `"level25"`})
				defer tg.double.SetFaults(estest.Faults{})
			}
			ld := events("map", 3, func(i int, lr plog.LogRecord) {
				if i == 1 {
					m := lr.Attributes().PutEmptyMap("deep")
					for d := 0; d < 25; d++ {
						m = m.PutEmptyMap(fmt.Sprintf("level%d", d+1))
					}
					m.PutStr("leaf", "x")
				}
			})
			require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
			assert.Equal(t, 2, count(t, tg, "logs-audit-"+ns))
			assert.Equal(t, 1, count(t, tg, "logs-audit.deadletter-"+ns))
		})
	}
}

// auditctl's search and export, against the same targets.
func TestIntegrationSearchAndExport(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("search-"+ns, 30, func(i int, lr plog.LogRecord) {
				lr.Attributes().PutStr("audit.resource.name", fmt.Sprintf("Report %s %d", ns, i))
				if i%3 == 0 {
					lr.Attributes().PutStr("event.outcome", "failure")
				}
			})))
			r, err := esapi.IndicesRefreshRequest{Index: []string{"logs-audit*-" + ns}}.Do(context.Background(), tg.client)
			require.NoError(t, err)
			r.Body.Close()
			var out bytes.Buffer
			total, err := auditctl.Search(context.Background(), auditctl.SearchOptions{ES: tg.client, Query: auditquery.Query{Text: strings.ToUpper(ns)}, Size: 7, Page: 2, Output: auditctl.JSON, Out: &out, TZ: time.UTC})
			require.NoError(t, err)
			assert.Equal(t, 30, total, "case-insensitive partial match on the resource name")
			assert.Equal(t, 7, strings.Count(out.String(), "\n"))
			total, err = auditctl.Search(context.Background(), auditctl.SearchOptions{ES: tg.client, Query: auditquery.Query{Text: ns, Outcome: "failure"}, Size: 50, Page: 1, Output: auditctl.JSON, Out: &out, TZ: time.UTC})
			require.NoError(t, err)
			assert.Equal(t, 10, total)
			var csvOut bytes.Buffer
			n, err := auditctl.Export(context.Background(), auditctl.ExportOptions{ES: tg.client, Query: auditquery.Query{Text: ns}, Output: auditctl.CSV, Out: &csvOut, Batch: 8})
			require.NoError(t, err)
			assert.Equal(t, 30, n, "point in time + search_after across batches")
		})
	}
}
