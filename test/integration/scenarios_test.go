// Package integration runs the exporter's scenarios against an
// Elasticsearch: always against the in-repo test double, and against a real
// cluster when ELASTICSEARCH_URL is set (make test-integration). Each run
// writes to its own namespace and deletes its indices and dead-letter
// stream afterwards.
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
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// target is an Elasticsearch under test.
type target struct {
	name   string
	url    string
	apiKey string
	user   string
	pass   string
	double *estest.Server // nil for a real cluster
	client *elasticsearch.Client
}

func targets(t *testing.T, opts ...estest.Option) []target {
	double := estest.New(append([]estest.Option{estest.WithSource()}, opts...)...)
	srv := double.Start(t)
	out := []target{{name: "test-double", url: srv.URL, double: double}}
	if u := os.Getenv("ELASTICSEARCH_URL"); u != "" {
		out = append(out, target{name: "elasticsearch", url: u, apiKey: os.Getenv("ELASTICSEARCH_API_KEY"),
			user: os.Getenv("ELASTICSEARCH_USER"), pass: os.Getenv("ELASTICSEARCH_PASSWORD")})
	} else {
		t.Log("ELASTICSEARCH_URL is not set: the scenarios run against the test double only; set it (and ELASTICSEARCH_API_KEY, or ELASTICSEARCH_USER and ELASTICSEARCH_PASSWORD, of a superuser) to run them against a real Elasticsearch")
	}
	for i := range out {
		c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{out[i].url}, APIKey: out[i].apiKey, Username: out[i].user, Password: out[i].pass})
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

// nsIndices names every index and data stream of a test namespace.
func nsIndices(ns string) string {
	return fmt.Sprintf("logs-audit-%s-*,logs-audit.*-%s-*,logs-audit.deadletter-%s", ns, ns, ns)
}

func startExporter(t *testing.T, tg target, ns string, mut func(*auditelasticsearchexporter.Config)) exporter.Logs {
	t.Helper()
	f := auditelasticsearchexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	cfg.Endpoints = []string{tg.url}
	cfg.APIKey = configopaqueString(tg.apiKey)
	cfg.User, cfg.Password = tg.user, configopaqueString(tg.pass)
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
		cleanup(t, tg, ns)
	})
	require.Eventually(t, func() bool { return exists(tg, "logs-audit.deadletter-"+ns) }, 20*time.Second, 50*time.Millisecond, "bootstrap")
	return exp
}

// cleanup deletes a namespace's indices by name (wildcard deletes are
// refused: action.destructive_requires_name) and its dead-letter stream.
func cleanup(t *testing.T, tg target, ns string) {
	resp, err := esapi.IndicesResolveIndexRequest{Name: []string{nsIndices(ns)}}.Do(context.Background(), tg.client)
	if err != nil {
		return
	}
	var resolved struct {
		Indices []struct {
			Name       string `json:"name"`
			DataStream string `json:"data_stream"`
		} `json:"indices"`
		DataStreams []struct {
			Name string `json:"name"`
		} `json:"data_streams"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&resolved)
	resp.Body.Close()
	var plain, streams []string
	for _, ix := range resolved.Indices {
		if ix.DataStream == "" {
			plain = append(plain, ix.Name)
		}
	}
	for _, ds := range resolved.DataStreams {
		streams = append(streams, ds.Name)
	}
	if len(plain) > 0 {
		r, err := esapi.IndicesDeleteRequest{Index: plain}.Do(context.Background(), tg.client)
		if assert.NoError(t, err) {
			assert.False(t, r.IsError(), "deleting %v: %s", plain, r.String())
			r.Body.Close()
		}
	}
	if len(streams) > 0 {
		r, err := esapi.IndicesDeleteDataStreamRequest{Name: streams}.Do(context.Background(), tg.client)
		if assert.NoError(t, err) {
			r.Body.Close()
		}
	}
}

func exists(tg target, name string) bool {
	resp, err := esapi.IndicesExistsRequest{Index: []string{name}}.Do(context.Background(), tg.client)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == 200
}

// count refreshes, then counts, as a reader would see the data.
func count(t *testing.T, tg target, expr string) int {
	t.Helper()
	r, err := esapi.IndicesRefreshRequest{Index: []string{expr}, AllowNoIndices: esapi.BoolPtr(true)}.Do(context.Background(), tg.client)
	require.NoError(t, err)
	r.Body.Close()
	resp, err := esapi.CountRequest{Index: []string{expr}}.Do(context.Background(), tg.client)
	require.NoError(t, err)
	defer resp.Body.Close()
	// A wildcard matching nothing counts 0; a 404 is a name that does not
	// exist, which a zero would hide.
	require.NotEqual(t, 404, resp.StatusCode, "%s does not exist", expr)
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
			for _, name := range []string{"audit-default", "audit-quarantine", "audit-deadletter", "audit-view_data"} {
				resp, err := esapi.IndicesGetIndexTemplateRequest{Name: name}.Do(context.Background(), tg.client)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode, name)
			}
		})
	}
}

func routed(i int, lr plog.LogRecord) {
	switch i {
	case 1, 2:
		lr.Attributes().PutStr("audit.categories", "view_data")
	case 3:
		lr.Attributes().PutStr("audit.route", "quarantine")
	}
}

func TestIntegrationRoutingAndDuplicates(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("route", 6, routed)))
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("route", 6, routed)),
				"the same events again are refused by _id and counted as duplicates, not errors")
			assert.Equal(t, 3, count(t, tg, "logs-audit-"+ns+"-*"))
			assert.Equal(t, 2, count(t, tg, "logs-audit.view_data-"+ns+"-*"))
			assert.Equal(t, 1, count(t, tg, "logs-audit.quarantine-"+ns+"-*"))
		})
	}
}

// Events of different months land in their months' indices; sent again
// later (a retry, a re-import), each one meets its own _id in the same
// index and is refused as a duplicate. ILM counts each index's age from
// the first day of its month (index.lifecycle.parse_origination_date).
func TestIntegrationEventTimeIndicesDeduplicateAndAge(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			now := time.Now().UTC()
			old := now.AddDate(0, -2, 0)
			batch := func() plog.Logs {
				return events("months", 4, func(i int, lr plog.LogRecord) {
					if i%2 == 0 {
						lr.SetTimestamp(pcommon.NewTimestampFromTime(old))
					}
				})
			}
			require.NoError(t, exp.ConsumeLogs(context.Background(), batch()))
			require.NoError(t, exp.ConsumeLogs(context.Background(), batch()))
			assert.Equal(t, 4, count(t, tg, "logs-audit-"+ns+"-*"), "stored once each")
			oldIndex := fmt.Sprintf("logs-audit-%s-%s", ns, time.Date(old.Year(), old.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006.01.02"))
			assert.Equal(t, 2, count(t, tg, oldIndex))
			resp, err := esapi.ILMExplainLifecycleRequest{Index: oldIndex}.Do(context.Background(), tg.client)
			require.NoError(t, err)
			defer resp.Body.Close()
			var explain struct {
				Indices map[string]struct {
					Policy        string `json:"policy"`
					LifecycleDate int64  `json:"lifecycle_date_millis"`
				} `json:"indices"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&explain))
			e := explain.Indices[oldIndex]
			assert.Equal(t, "audit-default", e.Policy)
			assert.Equal(t, time.Date(old.Year(), old.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli(), e.LifecycleDate,
				"retention counts from the month of the events, not from when the index was written")
		})
	}
}

// An event id over Elasticsearch's 512 bytes (which would refuse the whole
// bulk) is stored under its digest, next to a normal one.
func TestIntegrationLongIDs(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("long", 2, func(i int, lr plog.LogRecord) {
				if i == 0 {
					lr.Attributes().PutStr("event.id", strings.Repeat("x", 600))
				}
			})))
			assert.Equal(t, 2, count(t, tg, "logs-audit-"+ns+"-*"))
			assert.Zero(t, count(t, tg, "logs-audit.deadletter-"+ns))
		})
	}
}

// A document Elasticsearch cannot map ends in the dead-letter stream: a
// flattened field deeper than its depth_limit of 20, refused by a real
// cluster and by the double's mapping check alike.
func TestIntegrationMappingRejectionDeadLetters(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
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
			assert.Equal(t, 2, count(t, tg, "logs-audit-"+ns+"-*"))
			assert.Equal(t, 1, count(t, tg, "logs-audit.deadletter-"+ns))
		})
	}
}

// With logsdb on (the default of new 9.x clusters), stored documents keep
// their _source exactly: numbers in audit.properties stay numbers and
// arrays keep their order, so an export round-trips.
func TestIntegrationLogsdbKeepsSourceExact(t *testing.T) {
	for _, tg := range targets(t, estest.WithLogsdb()) {
		t.Run(tg.name, func(t *testing.T) {
			if tg.double == nil {
				restore := setClusterSetting(t, tg, "cluster.logsdb.enabled", "true")
				defer restore()
			}
			ns := namespace()
			exp := startExporter(t, tg, ns, nil)
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("typed-"+ns, 2, func(i int, lr plog.LogRecord) {
				lr.Attributes().PutStr("audit.resource.name", "typed-"+ns)
				m := lr.Attributes().PutEmptyMap("share")
				m.PutInt("count", 42)
				m.PutDouble("ratio", 0.5)
				m.PutBool("public", true)
				m.PutEmptySlice("tags").FromRaw([]any{"zeta", "alpha"})
			})))
			count(t, tg, nsIndices(ns))
			var out bytes.Buffer
			n, err := auditctl.Export(context.Background(), auditctl.ExportOptions{ES: tg.client, Query: auditquery.Query{Text: "typed-" + ns}, Output: auditctl.JSON, Out: &out})
			require.NoError(t, err)
			require.Equal(t, 2, n)
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var doc struct {
					Audit struct {
						Properties map[string]any `json:"properties"`
					} `json:"audit"`
				}
				require.NoError(t, json.Unmarshal([]byte(line), &doc))
				share := doc.Audit.Properties["share"].(map[string]any)
				assert.Equal(t, map[string]any{"count": float64(42), "ratio": 0.5, "public": true, "tags": []any{"zeta", "alpha"}}, share)
			}
			// Events indices are plain indices, which logsdb leaves alone;
			// the dead-letter stream matches logs-*-*, and logsdb would
			// take it but for index.mode standard in audit@settings.
			resp, err := esapi.IndicesGetSettingsRequest{Index: []string{"logs-audit-" + ns + "-*", "logs-audit.deadletter-" + ns}, Name: []string{"index.mode"}}.Do(context.Background(), tg.client)
			require.NoError(t, err)
			defer resp.Body.Close()
			var settings map[string]struct {
				Settings struct {
					Index struct {
						Mode string `json:"mode"`
					} `json:"index"`
				} `json:"settings"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
			require.Len(t, settings, 2, "the events index and the dead-letter stream's backing index")
			for name, s := range settings {
				assert.Equal(t, "standard", s.Settings.Index.Mode, name)
			}
		})
	}
}

// setClusterSetting sets a persistent cluster setting and returns what
// restores the previous value.
func setClusterSetting(t *testing.T, tg target, key, value string) func() {
	t.Helper()
	put := func(v any) {
		b, _ := json.Marshal(map[string]any{"persistent": map[string]any{key: v}})
		r, err := esapi.ClusterPutSettingsRequest{Body: bytes.NewReader(b)}.Do(context.Background(), tg.client)
		require.NoError(t, err)
		defer r.Body.Close()
		require.False(t, r.IsError(), r.String())
	}
	put(value)
	return func() { put(nil) }
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
			count(t, tg, nsIndices(ns))
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

// The audit log API's store: two tenants in their own namespaces (the
// exporter's namespace_attribute), paged by key without a point in time
// (sort on _index), each seeing only its own events, pages after pages.
func TestIntegrationTenantPaging(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ns := namespace()
			a, b := ns+"a", ns+"b"
			exp := startExporter(t, tg, ns, func(c *auditelasticsearchexporter.Config) { c.DataStream.NamespaceAttribute = "organization.id" })
			t.Cleanup(func() { cleanup(t, tg, a); cleanup(t, tg, b) })
			at := time.Now().Truncate(time.Second)
			require.NoError(t, exp.ConsumeLogs(context.Background(), events("tenant-"+ns, 40, func(i int, lr plog.LogRecord) {
				lr.Attributes().PutStr("organization.id", []string{a, b}[i%2])
				// Pairs share a time: the id breaks the tie.
				lr.SetTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Duration(i/4) * time.Second)))
			})))
			assert.Equal(t, 40, count(t, tg, "logs-audit-"+a+"-*,logs-audit-"+b+"-*"))
			st := &eventstore.Elasticsearch{Client: tg.client, Namespace: ns}
			for _, org := range []string{a, b} {
				seen := map[string]bool{}
				var after *eventstore.Key
				for range 20 {
					p, err := st.Page(context.Background(), auditquery.Query{Organization: org}, after, 3)
					require.NoError(t, err)
					for _, e := range p.Events {
						assert.Equal(t, org, e.Organization)
						assert.False(t, seen[e.ID], "%s returned twice", e.ID)
						seen[e.ID] = true
					}
					if !p.More {
						break
					}
					after = &p.Keys[len(p.Keys)-1]
				}
				assert.Len(t, seen, 20, org)
				var csvOut bytes.Buffer
				n, err := st.Export(context.Background(), auditquery.Query{Organization: org}, eventstore.CSV, &csvOut)
				require.NoError(t, err)
				assert.Equal(t, 20, n)
			}
		})
	}
}
