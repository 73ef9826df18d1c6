package auditelasticsearchexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

type env struct {
	es  *estest.Server
	url string
	tel *componenttest.Telemetry
}

// testNow is the exporters' clock in these tests: just after the events of
// logs() (2025-11-20T10:00:00Z), so their times are fresh.
var testNow = time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	timeNow = func() time.Time { return testNow }
	t.Cleanup(func() { timeNow = time.Now })
	es := estest.New(estest.WithSource())
	ts := es.Start(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return &env{es: es, url: ts.URL, tel: tel}
}

func (v *env) config(mut func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{v.url}
	cfg.RequestTimeout = 2 * time.Second
	cfg.Bootstrap.RetryInterval = 50 * time.Millisecond
	cfg.Bulk = BulkConfig{MaxRetries: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	cfg.BackOffConfig.InitialInterval = 5 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 20 * time.Millisecond
	cfg.QueueConfig = configoptional.None[exporterhelperQueue]()
	cfg.Retention.Tiers = []TierConfig{
		{Name: "view_data", Categories: []string{"view_data", "view_content"}, DeleteAfter: "90d"},
		{Name: "access_control", Categories: []string{"access_control"}, DeleteAfter: "400d"},
	}
	if mut != nil {
		mut(cfg)
	}
	return cfg
}

// Where the tests' events go (2025-11-20, default tier and namespace) and
// the dead letters.
const (
	events      = "logs-audit-default-*"
	deadLetters = "logs-audit.deadletter-default"
)

// start creates and starts the exporter and waits for the bootstrap.
func (v *env) start(t *testing.T, cfg *Config) exporter.Logs {
	return v.startWith(t, cfg, zap.NewNop())
}

func (v *env) startWith(t *testing.T, cfg *Config, logger *zap.Logger) exporter.Logs {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = v.tel.NewTelemetrySettings()
	set.Logger = logger
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	if cfg.Bootstrap.Enabled {
		require.Eventually(t, func() bool { return v.es.Has("data_stream", "logs-audit.deadletter-default") }, 5*time.Second, 10*time.Millisecond)
	}
	return exp
}

// consumeDeadline bounds one ConsumeLogs. The tests' exports take
// milliseconds; exporterhelper retries a retryable error for ever
// (max_elapsed_time 0), so an item retried that should not be would
// otherwise hang the test until go test's own timeout, unnamed.
const consumeDeadline = 20 * time.Second

// consume exports ld within consumeDeadline; past it, the error is the
// retry's cancellation, wrapping the last export error.
func consume(exp exporter.Logs, ld plog.Logs) error {
	ctx, cancel := context.WithTimeout(context.Background(), consumeDeadline)
	defer cancel()
	return exp.ConsumeLogs(ctx, ld)
}

// Failure messages of the mutants that used to be caught only by the
// timeout.
const (
	retried409 = "a 409 item (already stored) was retried instead of counted as a duplicate"
	retried400 = "a 400 item (refused for its content) was retried instead of dead-lettered"
)

// installAssets installs what bootstrap would, as `auditctl setup` does.
func installAssets(t *testing.T, v *env, cfg *Config) {
	t.Helper()
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{v.url}})
	require.NoError(t, err)
	steps, err := esbootstrap.Plan(cfg.Tiers(), cfg.DataStream.Namespace)
	require.NoError(t, err)
	require.NoError(t, esbootstrap.Apply(context.Background(), c, steps))
}

func dataStreams(es *estest.Server) []string { return es.DataStreams() }

// metricWith and metric read a counter by its metadata.yaml name. A name
// metadata.yaml does not declare fails the test: a counter never recorded
// reads 0, so a misspelt or renamed one would pass every zero assertion.
func (v *env) metricWith(t *testing.T, name, key, value string) int64 {
	t.Helper()
	requireDeclared(t, name)
	return comptest.SumWhere(t, v.tel, "otelcol_"+name, key, value)
}

func (v *env) metric(t *testing.T, name string) int64 {
	t.Helper()
	requireDeclared(t, name)
	return comptest.Sum(t, v.tel, "otelcol_"+name)
}

type rec struct {
	id, action, route, org string
	categories             []string
	clientIP               string
}

func logs(recs ...rec) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "notebooks")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, r := range recs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(1763632800000000000)
		lr.SetEventName(r.action)
		a := lr.Attributes()
		a.PutStr("event.id", r.id)
		a.PutStr("user.email", "***@example.com")
		if r.route != "" {
			a.PutStr("audit.route", r.route)
		}
		if r.org != "" {
			a.PutStr("organization.id", r.org)
		}
		if r.clientIP != "" {
			a.PutStr("client.address", r.clientIP)
		}
		switch len(r.categories) {
		case 0:
		case 1:
			a.PutStr("audit.categories", r.categories[0])
		default:
			s := a.PutEmptySlice("audit.categories")
			for _, c := range r.categories {
				s.AppendEmpty().SetStr(c)
			}
		}
	}
	return ld
}

func many(prefix string, n int) plog.Logs {
	var recs []rec
	for i := 0; i < n; i++ {
		recs = append(recs, rec{id: fmt.Sprintf("%s-%d", prefix, i), action: "notebook.open"})
	}
	return logs(recs...)
}

func TestBootstrapInstallsEverythingAndIsIdempotent(t *testing.T) {
	v := newEnv(t)
	cfg := v.config(nil)
	v.start(t, cfg)
	for _, name := range []string{"audit-default", "audit-quarantine", "audit-deadletter", "audit-view_data", "audit-access_control"} {
		assert.True(t, v.es.Has("ilm", name), name)
		assert.True(t, v.es.Has("index_template", name), name)
	}
	for _, name := range []string{"audit@mappings", "audit@settings"} {
		assert.True(t, v.es.Has("component", name), name)
	}
	assert.Equal(t, []string{"logs-audit.deadletter-default"}, dataStreams(v.es), "dead letters have a stream made beforehand; events indices come with their first event")
	var policy struct {
		Policy struct {
			Phases struct {
				Hot struct {
					Actions map[string]map[string]any `json:"actions"`
				} `json:"hot"`
				Delete struct {
					MinAge string `json:"min_age"`
				} `json:"delete"`
			} `json:"phases"`
		} `json:"policy"`
	}
	require.NoError(t, json.Unmarshal(v.es.Asset("ilm", "audit-view_data"), &policy))
	assert.Equal(t, "121d", policy.Policy.Phases.Delete.MinAge, "90d counted from the month's first day, plus the longest month")
	assert.NotContains(t, policy.Policy.Phases.Hot.Actions, "rollover", "events indices are per period of event time, never rolled over")
	require.NoError(t, json.Unmarshal(v.es.Asset("ilm", "audit-access_control"), &policy))
	assert.Equal(t, "431d", policy.Policy.Phases.Delete.MinAge)
	require.NoError(t, json.Unmarshal(v.es.Asset("ilm", "audit-deadletter"), &policy))
	assert.Equal(t, "90d", policy.Policy.Phases.Delete.MinAge)
	assert.Equal(t, "30d", policy.Policy.Phases.Hot.Actions["rollover"]["max_age"])
	var tmpl struct {
		IndexPatterns   []string        `json:"index_patterns"`
		Priority        int             `json:"priority"`
		AllowAutoCreate bool            `json:"allow_auto_create"`
		DataStream      json.RawMessage `json:"data_stream"`
		Template        struct {
			Settings struct {
				Index struct {
					Lifecycle struct {
						Name                 string `json:"name"`
						ParseOriginationDate bool   `json:"parse_origination_date"`
					} `json:"lifecycle"`
				} `json:"index"`
			} `json:"settings"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(v.es.Asset("index_template", "audit-default"), &tmpl))
	assert.Equal(t, []string{"logs-audit-*"}, tmpl.IndexPatterns)
	assert.Greater(t, tmpl.Priority, 100, "must win over the built-in logs-*-* template (priority 100)")
	assert.True(t, tmpl.AllowAutoCreate, "overrides action.auto_create_index: false")
	assert.Nil(t, tmpl.DataStream)
	assert.Equal(t, "audit-default", tmpl.Template.Settings.Index.Lifecycle.Name)
	assert.True(t, tmpl.Template.Settings.Index.Lifecycle.ParseOriginationDate)
	require.NoError(t, json.Unmarshal(v.es.Asset("index_template", "audit-view_data"), &tmpl))
	assert.Equal(t, []string{"logs-audit.view_data-*"}, tmpl.IndexPatterns)

	// A second collector bootstraps again against the same cluster: fine.
	v.start(t, v.config(nil))
	assert.Equal(t, int64(0), v.es.Stats().UntemplatedWrites)
}

func TestRouting(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(func(c *Config) { c.DataStream.NamespaceAttribute = "organization.id" }))
	require.NoError(t, consume(exp, logs(
		rec{id: "plain", action: "workspace.create", categories: []string{"workspace_management"}},
		rec{id: "view", action: "report.view", categories: []string{"view_data", "view_content"}},
		rec{id: "acl", action: "group.create", categories: []string{"access_control"}},
		rec{id: "both", action: "api_key.use", categories: []string{"view_data", "access_control"}},
		rec{id: "quarantined", action: "nope", route: "quarantine", categories: []string{"view_data"}},
		rec{id: "tenant", action: "report.view", org: "Org-7 East", categories: []string{"view_data"}},
	)))
	assert.Equal(t, []string{"plain"}, v.es.IDs("logs-audit-default-2025.11.01"))
	assert.Equal(t, []string{"view"}, v.es.IDs("logs-audit.view_data-default-2025.11.01"))
	assert.Equal(t, []string{"acl", "both"}, v.es.IDs("logs-audit.access_control-default-2025.11.01"), "several categories: the tier that keeps the event longest")
	assert.Equal(t, []string{"quarantined"}, v.es.IDs("logs-audit.quarantine-default-2025.11.01"))
	assert.Equal(t, []string{"tenant"}, v.es.IDs("logs-audit.view_data-org_7_east-2025.11.01"))
	assert.Empty(t, dataStreams(v.es)[1:], "no event went to a data stream")
	assert.Equal(t, int64(0), v.es.Stats().UntemplatedWrites, "every stream matched our templates")
	assert.Equal(t, int64(6), v.metric(t, "exporter_audit_es_docs_indexed"))
}

func TestDuplicateSentTwiceIsStoredOnce(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	require.NoError(t, consume(exp, many("dup", 10)))
	require.NoError(t, consume(exp, many("dup", 10)), retried409)
	assert.Len(t, v.es.IDs(events), 10)
	assert.Equal(t, int64(10), v.es.Stats().Conflicts)
	assert.Equal(t, int64(10), v.metric(t, "exporter_audit_es_docs_duplicate"))
	assert.Equal(t, int64(10), v.metric(t, "exporter_audit_es_docs_indexed"))
}

func TestPartialBulkFailureRetriesOnlyFailedItems(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	v.es.SetFaults(estest.Faults{ItemThrottleFraction: 0.3, ItemErrorFraction: 0.1})
	require.NoError(t, consume(exp, many("p", 200)))
	st := v.es.Stats()
	assert.Len(t, v.es.IDs(events), 200, "every event stored")
	assert.Zero(t, st.Conflicts, "only failed items were resent")
	assert.Positive(t, v.metric(t, "exporter_audit_es_docs_retried"))
}

func TestRetriesExhaustedReturnOnlyFailedRecords(t *testing.T) {
	v := newEnv(t)
	cfg := v.config(func(c *Config) { c.Bulk.MaxRetries = 0 })
	cfg.BackOffConfig.Enabled = true
	set := exportertest.NewNopSettings(metadata.Type)
	e, err := newExporter(set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	defer e.shutdown(context.Background())
	require.Eventually(t, e.bootstrapped.Load, 5*time.Second, 10*time.Millisecond)
	v.es.SetFaults(estest.Faults{ItemThrottleFraction: 0.5})
	err = e.pushLogs(context.Background(), many("r", 100))
	require.Error(t, err)
	var failed consumererror.Logs
	require.ErrorAs(t, err, &failed)
	stored := len(v.es.IDs(events))
	assert.Equal(t, 100-stored, failed.Data().LogRecordCount(), "the error carries exactly the records not stored")
	assert.False(t, consumererror.IsPermanent(err))
	v.es.SetFaults(estest.Faults{})
	require.NoError(t, e.pushLogs(context.Background(), failed.Data()))
	assert.Len(t, v.es.IDs(events), 100)
	assert.Zero(t, v.es.Stats().Conflicts)
}

func TestMappingRejectionGoesToDeadLetter(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	v.es.SetFaults(estest.Faults{RejectIDSuffix: "-bad"})
	require.NoError(t, consume(exp, logs(
		rec{id: "ok-1", action: "notebook.open"}, rec{id: "x-bad", action: "notebook.open", clientIP: "203.0.113.1"})), retried400)
	assert.Equal(t, []string{"ok-1"}, v.es.IDs(events))
	assert.Equal(t, []string{"logs-audit-default-2025.11.01/x-bad"}, v.es.IDs(deadLetters), "the intended index and the event id")
	doc, ok := v.es.Doc(deadLetters, "logs-audit-default-2025.11.01/x-bad")
	require.True(t, ok)
	var dl struct {
		Event struct{ Original string }      `json:"event"`
		Error struct{ Type, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(doc, &dl))
	assert.Equal(t, "document_parsing_exception", dl.Error.Type)
	assert.Contains(t, dl.Error.Message, "failed to parse field [client.ip]")
	assert.Contains(t, dl.Event.Original, `"id":"x-bad"`)
	assert.Equal(t, int64(1), v.metric(t, "exporter_audit_es_docs_dead_lettered"))
}

// A dead letter refused too is lost: counted exactly. The request fails
// (permanently) only when nothing in it was stored, since the exporter
// helper counts every record of a failed request as lost.
func TestDeadLetterRejectedIsCountedExactly(t *testing.T) {
	tests := []struct {
		name      string
		recs      []rec
		stored    []string
		permanent bool
	}{
		{"one of two lost", []rec{{id: "ok", action: "notebook.open"}, {id: "x-bad", action: "notebook.open"}}, []string{"ok"}, false},
		{"all lost", []rec{{id: "x-bad", action: "notebook.open"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t)
			set := exportertest.NewNopSettings(metadata.Type)
			set.TelemetrySettings = v.tel.NewTelemetrySettings()
			e, err := newExporter(set, v.config(nil))
			require.NoError(t, err)
			require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
			defer e.shutdown(context.Background())
			require.Eventually(t, e.bootstrapped.Load, 5*time.Second, 10*time.Millisecond)
			v.es.SetFaults(estest.Faults{RejectIDSuffix: "-bad", RejectDeadLetter: true})
			err = e.pushLogs(context.Background(), logs(tt.recs...))
			if tt.permanent {
				require.Error(t, err)
				assert.True(t, consumererror.IsPermanent(err))
				assert.Contains(t, err.Error(), "1 audit events could be neither stored nor dead-lettered")
			} else {
				require.NoError(t, err, "the stored event is not reported lost")
			}
			assert.ElementsMatch(t, tt.stored, v.es.IDs(events))
			assert.Equal(t, int64(1), v.metric(t, "exporter_audit_es_docs_failed"))
		})
	}
}

func TestOutageThenRecovery(t *testing.T) {
	v := newEnv(t)
	cfg := v.config(func(c *Config) {
		q := exporterhelperDefaultQueue()
		q.NumConsumers = 2
		c.QueueConfig = configoptional.Some(q)
	})
	exp := v.start(t, cfg)
	v.es.SetFaults(estest.Faults{Outage: "503"})
	for i := 0; i < 5; i++ {
		require.NoError(t, consume(exp, many(fmt.Sprintf("o%d", i), 20)), "the queue takes the events during the outage")
	}
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, v.es.IDs(events))
	assert.Positive(t, v.es.Stats().OutageAnswers)
	v.es.SetFaults(estest.Faults{Outage: "close"})
	time.Sleep(50 * time.Millisecond)
	v.es.SetFaults(estest.Faults{})
	require.Eventually(t, func() bool { return len(v.es.IDs(events)) == 100 }, 10*time.Second, 20*time.Millisecond)
	assert.Zero(t, v.es.Stats().Duplicates)
}

func TestStartsWhileElasticsearchIsDown(t *testing.T) {
	v := newEnv(t)
	v.es.SetFaults(estest.Faults{Outage: "close"})
	cfg := v.config(nil)
	set := exportertest.NewNopSettings(metadata.Type)
	e, err := newExporter(set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()), "start does not wait for Elasticsearch")
	defer e.shutdown(context.Background())
	err = e.pushLogs(context.Background(), many("early", 3))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Elasticsearch assets are not installed yet")
	assert.False(t, consumererror.IsPermanent(err), "retryable: the events stay queued")
	v.es.SetFaults(estest.Faults{})
	require.Eventually(t, e.bootstrapped.Load, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, e.pushLogs(context.Background(), many("early", 3)))
	assert.Len(t, v.es.IDs(events), 3)
}

func TestIndexedThenAnswerLostStoresOnce(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	v.es.SetFaults(estest.Faults{IndexThenDropFraction: 0.5})
	for i := 0; i < 10; i++ {
		require.NoError(t, consume(exp, many(fmt.Sprintf("d%d", i), 10)), retried409)
	}
	assert.Len(t, v.es.IDs(events), 100)
	st := v.es.Stats()
	assert.Positive(t, st.DroppedAnswers)
	assert.Positive(t, st.Conflicts, "retries of writes that landed were refused by _id")
	assert.Zero(t, st.Duplicates)
}

func TestGzipAndAuthHeaders(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(func(c *Config) { c.Compression = "gzip"; c.APIKey = "aWQ6a2V5" }))
	require.NoError(t, consume(exp, many("gz", 5)))
	assert.Len(t, v.es.IDs(events), 5)
	st := v.es.Stats()
	assert.Positive(t, st.GzipRequests)
	assert.Equal(t, "APIKey aWQ6a2V5", st.LastAuthorization, "go-elasticsearch sends the API key scheme as APIKey; Elasticsearch matches it case-insensitively")
}

// With bootstrap off (a writer that may only write), the collector sends
// nothing but _bulk: no GET / either (go-elasticsearch checks the product
// header of the first answer), so the writer role needs no cluster
// privilege.
func TestBootstrapDisabledWritesOnly(t *testing.T) {
	v := newEnv(t)
	installAssets(t, v, v.config(nil))
	before := len(v.es.Requests())
	exp := v.start(t, v.config(func(c *Config) { c.Bootstrap.Enabled = false }))
	require.NoError(t, consume(exp, many("nb", 2)))
	for _, r := range v.es.Requests()[before:] {
		assert.Equal(t, "POST /_bulk", r)
	}
	assert.Len(t, v.es.IDs(events), 2)
	assert.Zero(t, v.metric(t, "exporter_audit_es_docs_misrouted"))
}

// Without our templates (bootstrap off, setup never run), Elasticsearch's
// built-in logs-*-* template turns the first write into a data stream with
// its own retention. The events are stored, and the exporter says where.
func TestMissingTemplateIsReportedNotSilent(t *testing.T) {
	v := newEnv(t)
	core, logs := observer.New(zap.ErrorLevel)
	exp := v.startWith(t, v.config(func(c *Config) { c.Bootstrap.Enabled = false }), zap.New(core))
	require.NoError(t, consume(exp, many("mr", 3)))
	assert.Len(t, v.es.IDs(events), 3, "stored, not lost")
	assert.Equal(t, []string{"logs-audit-default-2025.11.01"}, dataStreams(v.es), "the built-in template made a data stream")
	assert.Equal(t, int64(3), v.metric(t, "exporter_audit_es_docs_misrouted"))
	require.Equal(t, 1, logs.FilterMessageSnippet("the index template for it is missing").Len(), "logged once (rate-limited), at error level")
	require.NoError(t, consume(exp, many("mr2", 3)))
	assert.Equal(t, int64(6), v.metric(t, "exporter_audit_es_docs_misrouted"), "checked again while it stays wrong")
}

// A request too large for Elasticsearch is split until it fits: nothing is
// dead-lettered, nothing wedges the queue.
func TestTooLargeRequestIsSplit(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	v.es.SetFaults(estest.Faults{MaxBodyBytes: 4000})
	require.NoError(t, consume(exp, many("big", 60)))
	assert.Len(t, v.es.IDs(events), 60)
	assert.Empty(t, v.es.IDs(deadLetters))
}

// One document that breaks the whole request is found by splitting and
// dead-lettered alone; the rest is stored.
func TestPoisonDocumentIsIsolated(t *testing.T) {
	v := newEnv(t)
	exp := v.start(t, v.config(nil))
	// The marker is in the document itself; the dead letter quotes the
	// document as an escaped string, so it does not carry the marker.
	v.es.SetFaults(estest.Faults{RejectRequestContaining: `"client":{"address":"198.51.100.99"`})
	var recs []rec
	for i := 0; i < 40; i++ {
		r := rec{id: fmt.Sprintf("p-%d", i), action: "notebook.open"}
		if i == 13 {
			r.clientIP = "198.51.100.99"
		}
		recs = append(recs, r)
	}
	require.NoError(t, consume(exp, logs(recs...)), retried400)
	assert.Len(t, v.es.IDs(events), 39)
	assert.Equal(t, []string{"logs-audit-default-2025.11.01/p-13"}, v.es.IDs(deadLetters))
	doc, ok := v.es.Doc(deadLetters, "logs-audit-default-2025.11.01/p-13")
	require.True(t, ok)
	assert.Contains(t, string(doc), "the bulk request holding only this document was refused with 400")
	assert.Contains(t, string(doc), "198.51.100.99", "the dead letter quotes the offending document, not another")
	assert.Equal(t, int64(1), v.metric(t, "exporter_audit_es_docs_dead_lettered"))
}

func TestAuthFailureIsRetriedNotSplit(t *testing.T) {
	assert.False(t, (&requestRefused{status: 401}).splittable())
	assert.False(t, (&requestRefused{status: 403}).splittable())
	assert.False(t, (&requestRefused{status: 429}).splittable())
	assert.False(t, (&requestRefused{status: 503}).splittable())
	assert.True(t, (&requestRefused{status: 413}).splittable())
	assert.True(t, (&requestRefused{status: 400}).splittable())
}
