package auditelasticsearchexporter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// raw starts an exporter whose pushLogs the test calls itself, to see the
// error each call returns (exporterhelper would retry it).
func (v *env) raw(t *testing.T, cfg *Config, logger *zap.Logger) *auditExporter {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = v.tel.NewTelemetrySettings()
	set.Logger = logger
	e, err := newExporter(set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { e.shutdown(context.Background()) })
	if cfg.Bootstrap.Enabled {
		require.Eventually(t, e.bootstrapped.Load, 5*time.Second, 10*time.Millisecond)
	}
	return e
}

// retryUntilStored plays exporterhelper's retry: the records an error
// carries are pushed again until none is left, for at most n calls.
func retryUntilStored(t *testing.T, e *auditExporter, ld plog.Logs, n int) int {
	t.Helper()
	for i := 1; i <= n; i++ {
		err := e.pushLogs(context.Background(), ld)
		if err == nil {
			return i
		}
		require.False(t, consumererror.IsPermanent(err), "call %d: %v", i, err)
		var failed consumererror.Logs
		require.ErrorAs(t, err, &failed)
		ld = failed.Data()
	}
	t.Fatalf("events still not stored after %d calls", n)
	return 0
}

// A 403 on items (a writer role without the privilege for a new tenant's
// index) is not the document's fault: the events are retried, not
// dead-lettered into a stream that would refuse them too, and logged at
// error level, once per interval.
func TestForbiddenItemsAreRetriedNotDeadLettered(t *testing.T) {
	v := newEnv(t)
	core, logs := observer.New(zap.ErrorLevel)
	e := v.raw(t, v.config(func(c *Config) { c.Bulk.MaxRetries = 1 }), zap.New(core))
	v.es.SetFaults(estest.Faults{ItemForbiddenFraction: 1})
	ld := many("f", 50)
	for i := 0; i < 3; i++ {
		err := e.pushLogs(context.Background(), ld)
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err), "retryable: the queue keeps the events")
		var failed consumererror.Logs
		require.ErrorAs(t, err, &failed)
		assert.Equal(t, 50, failed.Data().LogRecordCount())
	}
	assert.Empty(t, v.es.IDs(deadLetters))
	assert.Zero(t, v.metric(t, "exporter_audit_es_docs_dead_lettered"))
	assert.Zero(t, v.metric(t, "exporter_audit_es_docs_failed"))
	assert.Equal(t, int64(300), v.metric(t, "exporter_audit_es_docs_retried"), "3 calls of 2 attempts of 50 items")
	refused := logs.FilterMessageSnippet("refused audit events for a reason outside the documents")
	require.Equal(t, 1, refused.Len(), "rate-limited")
	assert.Contains(t, refused.All()[0].ContextMap()["reason"], "is unauthorized")
	v.es.SetFaults(estest.Faults{})
	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Len(t, v.es.IDs(events), 50, "nothing lost")
}

// The same with a real role: setup's writer role lets collectors create a
// new tenant's index (auto_configure); a role without it gets 403 items,
// and once the role is fixed the queued events go in. Dead letters go to
// the stream bootstrap made, which create_doc alone may write.
func TestWriterRoleAndNewTenants(t *testing.T) {
	es := estest.New(estest.WithSource(), estest.WithSecurity("admin-pw"))
	url := es.Start(t).URL
	admin, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}, Username: "elastic", Password: "admin-pw"})
	require.NoError(t, err)
	putRole := func(privileges string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", url+"/_security/role/otelcol_audit_writer",
			strings.NewReader(`{"indices":[{"names":["logs-audit-*","logs-audit.*-*"],"privileges":[`+privileges+`]}]}`))
		req.SetBasicAuth("elastic", "admin-pw")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	writer, _ := assets.Read("role-writer.json")
	require.Contains(t, string(writer), `"privileges": ["create_doc", "auto_configure"]`)
	putRole(`"create_doc"`)
	key := es.AddAPIKey("collector", "otelcol_audit_writer")

	v := &env{es: es, url: url, tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { _ = v.tel.Shutdown(context.Background()) })
	timeNow = func() time.Time { return testNow }
	t.Cleanup(func() { timeNow = time.Now })
	cfg := v.config(func(c *Config) {
		c.DataStream.NamespaceAttribute = "organization.id"
		c.Bootstrap.Enabled = false
		c.APIKey = configopaque.String(key)
		c.Bulk.MaxRetries = 0
	})
	installAssetsWith(t, admin, cfg)
	e := v.raw(t, cfg, zap.NewNop())
	ld := logs(rec{id: "t1", action: "notebook.open", org: "new-tenant"}, rec{id: "t2", action: "notebook.open"})
	err = e.pushLogs(context.Background(), ld)
	require.Error(t, err, "the default namespace's index is new too: both need auto_configure")
	var failed consumererror.Logs
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, 2, failed.Data().LogRecordCount())
	assert.Empty(t, es.IDs(deadLetters))

	putRole(`"create_doc","auto_configure"`)
	assert.Equal(t, 1, retryUntilStored(t, e, failed.Data(), 3))
	assert.Equal(t, []string{"t1"}, es.IDs("logs-audit-new_tenant-*"))
	assert.Equal(t, []string{"t2"}, es.IDs(events))

	es.SetFaults(estest.Faults{RejectIDSuffix: "-bad"})
	require.NoError(t, e.pushLogs(context.Background(), logs(rec{id: "x-bad", action: "notebook.open", org: "other"})))
	assert.Equal(t, []string{"logs-audit-other-2025.11.01/x-bad"}, es.IDs(deadLetters), "the writer may add dead letters to the stream setup made")
	assert.Equal(t, int64(1), v.metric(t, "exporter_audit_es_docs_dead_lettered"))
}

// A template that forbids auto-creation (allow_auto_create: false) gets
// 404 items: retried until the index may be created, never dead-lettered.
// action.auto_create_index: false does not stop ours, whose templates
// allow it.
func TestAutoCreationRefusedIsRetried(t *testing.T) {
	v := newEnv(t)
	require.NoError(t, v.es.SetClusterSetting("action.auto_create_index", "false"))
	e := v.raw(t, v.config(func(c *Config) { c.Bulk.MaxRetries = 0 }), zap.NewNop())
	require.NoError(t, e.pushLogs(context.Background(), many("ok", 2)), "allow_auto_create: true overrides the cluster setting")
	req, _ := http.NewRequest("PUT", v.url+"/_index_template/deny", strings.NewReader(`{"index_patterns":["logs-audit.view_data-*"],"priority":300,"allow_auto_create":false}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	ld := logs(rec{id: "v1", action: "report.view", categories: []string{"view_data"}})
	err = e.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not yet stored")
	assert.Equal(t, int64(1), v.metricWith(t, "exporter_audit_es_docs_retried", "reason", "index_missing"))
	assert.Empty(t, v.es.IDs(deadLetters))
	req, _ = http.NewRequest("DELETE", v.url+"/_index_template/deny", nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Equal(t, []string{"v1"}, v.es.IDs("logs-audit.view_data-*"))
}

// An id over 512 bytes would make Elasticsearch refuse the whole bulk; it
// goes in as its digest, with the original kept.
func TestLongIDIsStoredAsDigest(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	long := strings.Repeat("id", 300)
	require.NoError(t, consume(exp, logs(rec{id: long, action: "notebook.open"}, rec{id: "short", action: "notebook.open"})))
	ids := v.es.IDs(events)
	require.Len(t, ids, 2)
	assert.Regexp(t, `^sha256-[0-9a-f]{64}$`, ids[0])
	doc, ok := v.es.Doc(events, ids[0])
	require.True(t, ok)
	assert.Contains(t, string(doc), `"original_id":"`+long+`"`)
	require.NoError(t, consume(exp, logs(rec{id: long, action: "notebook.open"})), retried409)
	assert.Len(t, v.es.IDs(events), 2, "the same long id is the same digest: stored once")
}

// Stored, the answer lost, then the calendar moves on (new indices for new
// months) and the batch is retried: every event meets its own _id in the
// index of its own time, so it is stored once. The same holds for the
// re-import of an old export.
func TestRetryAcrossPeriodsStoresOnce(t *testing.T) {
	v := newEnv(t)
	e := v.raw(t, v.config(func(c *Config) { c.Bulk.MaxRetries = 0 }), zap.NewNop())
	e.now = func() time.Time { return time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC) } // the retry comes in January
	nov := logs(rec{id: "a", action: "notebook.open"}, rec{id: "b", action: "notebook.open"})
	// A data stream would roll over after every document here; events
	// indices do not roll over at all.
	v.es.SetFaults(estest.Faults{IndexThenDropFraction: 1, RolloverEveryDocs: 1})
	err := e.pushLogs(context.Background(), nov)
	require.Error(t, err, "the answer never came")
	v.es.SetFaults(estest.Faults{RolloverEveryDocs: 1})
	// Months pass: other events fill December's and January's indices.
	later := plog.NewLogs()
	sl := later.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, ts := range []time.Time{time.Date(2025, 12, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC)} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetEventName("notebook.open")
		lr.Attributes().PutStr("event.id", fmt.Sprintf("later-%d", i))
	}
	require.NoError(t, e.pushLogs(context.Background(), later))
	var failed consumererror.Logs
	require.ErrorAs(t, err, &failed)
	require.NoError(t, e.pushLogs(context.Background(), failed.Data()), "the retry")
	require.NoError(t, e.pushLogs(context.Background(), nov), "a re-import of the same events")
	assert.Equal(t, []string{"logs-audit-default-2025.11.01", "logs-audit-default-2025.12.01", "logs-audit-default-2026.01.01"}, v.es.Indices("logs-audit-*"))
	assert.Equal(t, []string{"a", "b"}, v.es.IDs("logs-audit-default-2025.11.01"))
	st := v.es.Stats()
	assert.Zero(t, st.Duplicates)
	assert.Equal(t, int64(4), st.Conflicts)
	assert.Equal(t, int64(4), v.metric(t, "exporter_audit_es_docs_duplicate"))
}

// Retention is the event's own: with ILM run by the double's clock, every
// event is kept at least its tier's retention and less than retention plus
// one period, counted from its own time, whenever it was written (a
// backfill of old events included).
func TestRetentionCountsFromEventTime(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := now
	es := estest.New(estest.WithSource(), estest.WithClock(func() time.Time { return clock }))
	url := es.Start(t).URL
	v := &env{es: es, url: url, tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { _ = v.tel.Shutdown(context.Background()) })
	cfg := v.config(func(c *Config) { c.Retention.Default = "30d"; c.Retention.Period = assets.Week })
	e := v.raw(t, cfg, zap.NewNop())
	e.now = func() time.Time { return clock } // the exporter's clock is the cluster's
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	eventTime := map[string]time.Time{}
	for d := 0; d < 60; d++ {
		ts := now.AddDate(0, 0, -d).Add(-time.Duration(d) * time.Hour)
		id := fmt.Sprintf("d%02d", d)
		eventTime[id] = ts
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetEventName("notebook.open")
		lr.Attributes().PutStr("event.id", id)
	}
	require.NoError(t, e.pushLogs(context.Background(), ld), "a backfill: two months of events written today")
	// Events whose week's index is due for deletion (older than 30 days
	// plus one week counted from their week's Monday) are counted.
	due := 0
	for _, ts := range eventTime {
		if assets.Week.Start(ts).Before(now.Add(-37 * 24 * time.Hour)) {
			due++
		}
	}
	assert.Equal(t, int64(due), v.metric(t, "exporter_audit_es_docs_past_retention"))
	assert.LessOrEqual(t, len(es.Indices("logs-audit-default-*")), 7, "older events share the oldest kept week's index, not one index each")
	for step := 0; step < 60; step++ {
		clock = now.Add(time.Duration(step) * 12 * time.Hour)
		es.AdvanceILM()
		kept := map[string]bool{}
		for _, id := range es.IDs("logs-audit-default-*") {
			kept[id] = true
		}
		for id, ts := range eventTime {
			age := clock.Sub(ts)
			switch {
			case age < 30*24*time.Hour:
				assert.True(t, kept[id], "%s is %s old and must be kept (retention 30d)", id, age)
			case age >= (30+7)*24*time.Hour:
				assert.False(t, kept[id], "%s is %s old: past retention plus one week", id, age)
			}
		}
	}
}

func installAssetsWith(t *testing.T, c *elasticsearch.Client, cfg *Config) {
	t.Helper()
	steps, err := esbootstrap.Plan(cfg.Tiers(), cfg.DataStream.Namespace)
	require.NoError(t, err)
	for _, s := range steps {
		require.NoError(t, s.Apply(context.Background(), c))
	}
}

// Tenants choose their own ids: the same id refused in two tenants leaves
// two dead letters in the one dead-letter stream, each naming its index.
func TestDeadLettersOfTwoTenantsWithOneID(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(func(c *Config) { c.DataStream.NamespaceAttribute = "organization.id" }))
	v.es.SetFaults(estest.Faults{RejectIDSuffix: "-bad"})
	require.NoError(t, consume(exp, logs(
		rec{id: "e-bad", action: "notebook.open", org: "a"}, rec{id: "e-bad", action: "notebook.open", org: "b"})), retried400)
	ids := v.es.IDs(deadLetters)
	require.Len(t, ids, 2)
	assert.NotEqual(t, ids[0], ids[1])
	for _, id := range ids {
		doc, ok := v.es.Doc(deadLetters, id)
		require.True(t, ok)
		assert.Contains(t, string(doc), `"event":{"id":"e-bad"`)
	}
	assert.Equal(t, int64(2), v.metric(t, "exporter_audit_es_docs_dead_lettered"))
	v.es.SetFaults(estest.Faults{})
	v.es.SetFaults(estest.Faults{RejectIDSuffix: "-bad"})
	require.NoError(t, consume(exp, logs(rec{id: "e-bad", action: "notebook.open", org: "a"})), retried409)
	assert.Len(t, v.es.IDs(deadLetters), 2, "the same dead letter again is a duplicate")
}

// An index that cannot be created now (the cluster's shard limit) is not
// the document's fault: retried, not dead-lettered, until the limit moves.
func TestShardLimitIsRetried(t *testing.T) {
	v := newEnv(t)
	e := v.raw(t, v.config(func(c *Config) { c.Bulk.MaxRetries = 0 }), zap.NewNop())
	require.NoError(t, v.es.SetClusterSetting("cluster.max_shards_per_node", "2")) // the dead-letter stream's index holds 2
	ld := many("s", 3)
	err := e.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Equal(t, int64(3), v.metricWith(t, "exporter_audit_es_docs_retried", "reason", "index_refused"))
	assert.Empty(t, v.es.IDs(deadLetters))
	require.NoError(t, v.es.SetClusterSetting("cluster.max_shards_per_node", "1000"))
	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Len(t, v.es.IDs(events), 3)
}

// A sender's clock far ahead cannot open indices that live for years: the
// event keeps its @timestamp and goes to the index of the export time.
func TestFutureTimeIsIndexedNow(t *testing.T) {
	v := newEnv(t)
	e := v.raw(t, v.config(nil), zap.NewNop())
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }
	ld := logs(rec{id: "future", action: "notebook.open"}, rec{id: "soon", action: "notebook.open"})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	recs.At(0).SetTimestamp(pcommon.NewTimestampFromTime(now.AddDate(50, 0, 0)))
	recs.At(1).SetTimestamp(pcommon.NewTimestampFromTime(now.Add(5 * time.Minute)))
	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Equal(t, []string{"future", "soon"}, v.es.IDs("logs-audit-default-2026.12.01"))
	doc, _ := v.es.Doc(events, "future")
	assert.Contains(t, string(doc), `"@timestamp":"2076-12-02T10:00:00`)
	assert.Equal(t, int64(1), v.metric(t, "exporter_audit_es_docs_future_time"))
}

// A record with no time at all is put in an index when it arrives; its
// retry, later, goes to the same index: the retry is the queued document.
func TestRetriedRecordWithoutTimeKeepsItsIndex(t *testing.T) {
	v := newEnv(t)
	e := v.raw(t, v.config(func(c *Config) { c.Bulk.MaxRetries = 0 }), zap.NewNop())
	ld := logs(rec{id: "t0", action: "notebook.open"})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(0)
	first := time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)
	e.now = func() time.Time { return first }
	req, err := e.convert(context.Background(), ld)
	require.NoError(t, err)
	v.es.SetFaults(estest.Faults{ItemErrorFraction: 1})
	err = e.push(context.Background(), req)
	var later *retryLater
	require.ErrorAs(t, err, &later)
	retry := req.(*docsRequest).OnError(err)
	require.Equal(t, 1, retry.ItemsCount(), "the retry sender gets the one document still to store")
	v.es.SetFaults(estest.Faults{})
	e.now = func() time.Time { return first.Add(time.Hour) } // February now
	require.NoError(t, e.push(context.Background(), retry))
	assert.Equal(t, []string{"t0"}, v.es.IDs("logs-audit-default-2026.01.01"))
}

// An index is taken as checked only once a document is stored in it: an
// index Elasticsearch merely echoes on a refusal may not exist, and the
// first write that creates it must still be checked.
func TestRefusedFirstWriteLeavesTheIndexUnchecked(t *testing.T) {
	v := newEnv(t)
	e := v.raw(t, v.config(func(c *Config) { c.Bootstrap.Enabled = false; c.Bulk.MaxRetries = 0 }), zap.NewNop())
	v.es.SetFaults(estest.Faults{ItemForbiddenFraction: 1})
	require.Error(t, e.pushLogs(context.Background(), many("r", 2)))
	v.es.SetFaults(estest.Faults{})
	require.NoError(t, e.pushLogs(context.Background(), many("r", 2)))
	assert.Equal(t, int64(2), v.metric(t, "exporter_audit_es_docs_misrouted"), "no template: the built-in one made a data stream, and it was seen")
}
