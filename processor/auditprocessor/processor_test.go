package auditprocessor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/internal/masking"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadatatest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	codatum   = "../../config/catalogs/codatum.yaml"
	wherobots = "../../config/catalogs/wherobots.yaml"
	testKey   = "test-key-0123456789abcdef"
)

func testConfig(mut func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Catalogs = []string{codatum, wherobots}
	if mut != nil {
		mut(cfg)
	}
	return cfg
}

// newRecord builds one record in its own resource, the way an SDK would.
func newRecord(ld plog.Logs, build func(lr plog.LogRecord)) {
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "notebooks")
	rl.Resource().Attributes().PutStr("service.owner", "owner@example.com")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("audit")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(1763769600000000000)
	build(lr)
}

type runResult struct {
	out  plog.Logs
	tel  *componenttest.Telemetry
	sink *consumertest.LogsSink
}

func run(t *testing.T, cfg *Config, in plog.Logs) runResult {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), in))
	require.NoError(t, p.Shutdown(context.Background()))
	res := runResult{tel: tel, sink: sink}
	if all := sink.AllLogs(); len(all) == 1 {
		res.out = all[0]
	} else {
		res.out = plog.NewLogs()
	}
	return res
}

func counter(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	return comptest.Sum(t, tel, "otelcol_"+name)
}

// Golden tests: each case's output, as OTLP JSON, must equal
// testdata/golden/<case>.json. Run with -update to rewrite after a
// deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		in   func(lr plog.LogRecord)
	}{
		{"known_action_tagged_and_masked", nil, func(lr plog.LogRecord) {
			lr.SetEventName("api_key.use")
			a := lr.Attributes()
			a.PutStr("user.email", "Jane.Doe@Example.com")
			a.PutStr("client.address", "203.0.113.9")
			a.PutStr("event.outcome", "succeeded")
			a.PutStr("note", "rotated by ops+oncall@corp.example.com, see mailto:sec@example.org")
			props := a.PutEmptyMap("properties")
			props.PutStr("url", "https://app.example.com/keys?owner=jane%40example.com")
			props.PutEmptySlice("cc").AppendEmpty().SetStr("<bob@example.net>")
			props.PutStr("package", "@scope/pkg v1.2@3")
			lr.Body().SetStr(`{"actor":"jane@example.com"}`)
		}},
		{"action_from_attribute", nil, func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.action", "CreateNotebook")
			lr.Attributes().PutStr("event.outcome", "denied")
		}},
		{"unknown_action_case_variant_quarantined", nil, func(lr plog.LogRecord) {
			lr.SetEventName("createnotebook")
			lr.Attributes().PutStr("user.email", "jane@example.com")
		}},
		{"unknown_action_quarantined", nil, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.exfiltrate")
		}},
		{"missing_action_quarantined", nil, func(lr plog.LogRecord) {
			lr.Body().SetStr("something happened to jane@example.com")
		}},
		{"sender_cannot_route", nil, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("audit.route", "quarantine")
			lr.Attributes().PutStr("audit.invalid_reason", "spoofed")
			lr.Attributes().PutBool("event.outcome", false)
		}},
		{"existing_ids_kept", nil, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("log.record.uid", "01JDEMO0000000000000000000")
		}},
		{"pseudonym", func(c *Config) { c.Pseudonym.Key = testKey }, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("user.email", " JANE@example.com ")
		}},
		{"metadata_only_allow_list", func(c *Config) {
			c.Attributes.Groups = map[string]AttributeRule{"Connection": {Allow: []string{"query_job.id"}}}
		}, func(lr plog.LogRecord) {
			lr.SetEventName("query_job.execute")
			lr.Attributes().PutStr("user.email", "jane@example.com")
			lr.Attributes().PutStr("query_job.id", "job-42")
			lr.Attributes().PutStr("db.query.text", "SELECT secret FROM t")
		}},
		{"metadata_only_deny_list", func(c *Config) {
			c.Attributes.Default = AttributeRule{Deny: []string{"notebook.content"}}
		}, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.update")
			lr.Attributes().PutStr("notebook.id", "nb-1")
			lr.Attributes().PutStr("notebook.content", "print('hello')")
		}},
		{"address_in_key", nil, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("jane@example.com", "a")
			lr.Attributes().PutStr("bob@example.com", "b")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := plog.NewLogs()
			newRecord(in, tt.in)
			res := run(t, testConfig(tt.cfg), in)
			got, err := (&plog.JSONMarshaler{}).MarshalLogs(res.out)
			require.NoError(t, err)
			path := filepath.Join("testdata", "golden", tt.name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create it")
			assert.JSONEq(t, string(want), string(got))
			assert.False(t, masking.Contains(string(got)), "an address survived: %s", got)
		})
	}
}

func attr(t *testing.T, lr plog.LogRecord, key string) pcommon.Value {
	t.Helper()
	v, ok := lr.Attributes().Get(key)
	require.True(t, ok, "missing attribute %s", key)
	return v
}

func firstRecord(ld plog.Logs) plog.LogRecord {
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
}

func TestTagsAndTelemetry(t *testing.T) {
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) {
		lr.SetEventName("report.view")
		lr.Attributes().PutStr("user.email", "jane@example.com")
		lr.Attributes().PutStr("note", "cc bob@example.com and eve@example.com")
	})
	newRecord(in, func(lr plog.LogRecord) { lr.SetEventName("ReportView") })
	res := run(t, testConfig(nil), in)

	lr := firstRecord(res.out)
	assert.Equal(t, "Report", attr(t, lr, "audit.group").Str())
	assert.Equal(t, []any{"view_data", "view_content"}, attr(t, lr, "audit.categories").Slice().AsRaw())
	assert.Equal(t, "event", attr(t, lr, "event.kind").Str())
	assert.Equal(t, "access", attr(t, lr, "event.type").Str(), "one value is a plain string")
	assert.Len(t, attr(t, lr, "event.id").Str(), 32)
	assert.Equal(t, "***@example.com", attr(t, lr, "user.email").Str())
	v, _ := res.out.ResourceLogs().At(0).Resource().Attributes().Get("service.owner")
	assert.Equal(t, "***@example.com", v.Str(), "resource attributes are masked too")

	q := res.out.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "quarantine", attr(t, q, "audit.route").Str())
	assert.Contains(t, attr(t, q, "audit.invalid_reason").Str(), `unknown action "ReportView"`)
	assert.Equal(t, "pipeline_error", attr(t, q, "event.kind").Str())

	// Whole metrics: name, description, unit, kind and attributes as metadata.yaml declares them.
	metadatatest.AssertEqualProcessorAuditRecordsProcessed(t, res.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorAuditUnknownActions(t, res.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("policy", "quarantine"))},
	}, metricdatatest.IgnoreTimestamp())
	// 3 in the record, 2 in the resources.
	metadatatest.AssertEqualProcessorAuditEmailsMasked(t, res.tel, []metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())
	assert.EqualValues(t, 0, counter(t, res.tel, "processor_audit_records_dropped"))
}

func TestDropPolicyDropsAndCounts(t *testing.T) {
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) { lr.SetEventName("notebook.open") })
	newRecord(in, func(lr plog.LogRecord) { lr.SetEventName("not.in.catalog") })
	newRecord(in, func(lr plog.LogRecord) {})
	res := run(t, testConfig(func(c *Config) { c.UnknownActions = PolicyDrop }), in)
	require.Equal(t, 1, res.out.LogRecordCount())
	assert.Equal(t, "notebook.open", firstRecord(res.out).EventName())
	metadatatest.AssertEqualProcessorAuditRecordsDropped(t, res.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorAuditUnknownActions(t, res.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("policy", "drop"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorAuditRecordsProcessed(t, res.tel, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
}

func TestMetadataListsRemoveAndCount(t *testing.T) {
	long := strings.Repeat("k", 70) // shares the length mask's top bit with 63+ byte members
	tests := []struct {
		name          string
		rule          AttributeRule
		attrs         []string
		kept, removed []string
		count         int64
	}{
		{"deny", AttributeRule{Deny: []string{"notebook.content", strings.Repeat("k", 64)}},
			[]string{"notebook.id", "notebook.content", "notebook.contenT", long},
			[]string{"notebook.id", "notebook.contenT", long}, []string{"notebook.content"}, 1},
		{"allow keeps core attributes", AttributeRule{Allow: []string{"notebook.id", strings.Repeat("k", 64)}},
			[]string{"notebook.id", "user.id", "notebook.content", "notebook.ie", long},
			[]string{"notebook.id", "user.id"}, []string{"notebook.content", "notebook.ie", long}, 3},
		{"deny a key renamed by masking", AttributeRule{Deny: []string{"***@example.com"}},
			[]string{"notebook.id", "jane@example.com"},
			[]string{"notebook.id"}, []string{"jane@example.com", "***@example.com"}, 1},
		{"nothing listed is present", AttributeRule{Deny: []string{"db.query.text"}},
			[]string{"notebook.id"}, []string{"notebook.id"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := plog.NewLogs()
			newRecord(in, func(lr plog.LogRecord) {
				lr.SetEventName("notebook.open")
				for _, k := range tt.attrs {
					lr.Attributes().PutStr(k, "v")
				}
			})
			res := run(t, testConfig(func(c *Config) { c.Attributes.Default = tt.rule }), in)
			attrs := firstRecord(res.out).Attributes()
			for _, k := range tt.kept {
				_, ok := attrs.Get(k)
				assert.True(t, ok, "%s was removed", k)
			}
			for _, k := range tt.removed {
				_, ok := attrs.Get(k)
				assert.False(t, ok, "%s was kept", k)
			}
			if tt.count == 0 {
				assert.Zero(t, counter(t, res.tel, "processor_audit_attributes_removed"))
				return
			}
			metadatatest.AssertEqualProcessorAuditAttributesRemoved(t, res.tel, []metricdata.DataPoint[int64]{{Value: tt.count}}, metricdatatest.IgnoreTimestamp())
		})
	}
}

func TestAllDroppedSendsNothing(t *testing.T) {
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) { lr.SetEventName("nope") })
	res := run(t, testConfig(func(c *Config) { c.UnknownActions = PolicyDrop }), in)
	assert.Equal(t, 0, res.sink.LogRecordCount())
	assert.EqualValues(t, 1, counter(t, res.tel, "processor_audit_records_dropped"))
}

func TestOutcomeNormalization(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"success", "success"}, {"SUCCEEDED", "success"}, {"ok", "success"}, {true, "success"},
		{"failure", "failure"}, {"Denied", "failure"}, {"error", "failure"}, {false, "failure"},
		{"maybe", "unknown"}, {int64(200), "unknown"},
	}
	for _, tt := range tests {
		in := plog.NewLogs()
		newRecord(in, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			require.NoError(t, lr.Attributes().PutEmpty("event.outcome").FromRaw(tt.in))
		})
		res := run(t, testConfig(nil), in)
		assert.Equal(t, tt.want, attr(t, firstRecord(res.out), "event.outcome").Str(), "%v", tt.in)
	}
}

// Renaming a key that holds an address appends to the map and may move it;
// the outcome must still be normalized in the map as it is afterwards.
func TestOutcomeNormalizedAfterKeyRename(t *testing.T) {
	for extra := 0; extra < 6; extra++ {
		in := plog.NewLogs()
		newRecord(in, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			a := lr.Attributes()
			a.EnsureCapacity(2 + extra)
			a.PutStr("event.outcome", "ok")
			a.PutStr("shared with jane@example.com", "edit")
			for i := 0; i < extra; i++ {
				a.PutInt(fmt.Sprintf("n%d", i), int64(i))
			}
		})
		res := run(t, testConfig(nil), in)
		lr := firstRecord(res.out)
		assert.Equal(t, "success", attr(t, lr, "event.outcome").Str(), "%d extra attributes", extra)
		assert.Equal(t, "edit", attr(t, lr, "shared with ***@example.com").Str())
	}
}

func TestNoOutcomeWhenSourceGaveNone(t *testing.T) {
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) { lr.SetEventName("notebook.open") })
	res := run(t, testConfig(nil), in)
	_, ok := firstRecord(res.out).Attributes().Get("event.outcome")
	assert.False(t, ok)
}

func TestIDIsStableAcrossRetries(t *testing.T) {
	build := func() plog.Logs {
		in := plog.NewLogs()
		newRecord(in, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("user.email", "jane@example.com")
		})
		return in
	}
	a := attr(t, firstRecord(run(t, testConfig(nil), build()).out), "event.id").Str()
	b := attr(t, firstRecord(run(t, testConfig(nil), build()).out), "event.id").Str()
	assert.Equal(t, a, b)
	// The id is taken before masking: two users at one domain differ.
	other := plog.NewLogs()
	newRecord(other, func(lr plog.LogRecord) {
		lr.SetEventName("notebook.open")
		lr.Attributes().PutStr("user.email", "bob@example.com")
	})
	c := attr(t, firstRecord(run(t, testConfig(nil), other).out), "event.id").Str()
	assert.NotEqual(t, a, c)
}

// A record without a time gets the time it was received, before the
// exporter's queue, so a retry keeps its @timestamp and its index; a
// record with a time keeps it untouched.
func TestRecordWithoutTimeIsStampedOnce(t *testing.T) {
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) {
		lr.SetTimestamp(0)
		lr.SetEventName("notebook.open")
	})
	newRecord(in, func(lr plog.LogRecord) {
		lr.SetTimestamp(7)
		lr.SetEventName("notebook.open")
	})
	before := time.Now()
	out := run(t, testConfig(nil), in).out
	rec := func(ld plog.Logs, i int) plog.LogRecord {
		return ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords().At(0)
	}
	stamped := rec(out, 0).ObservedTimestamp().AsTime()
	assert.False(t, stamped.Before(before.Add(-time.Second)), "stamped with the time it was received: %s", stamped)
	assert.Zero(t, rec(out, 0).Timestamp())
	assert.Equal(t, pcommon.Timestamp(7), rec(out, 1).Timestamp())
	assert.Zero(t, rec(out, 1).ObservedTimestamp(), "a record with its own time is left alone")
	again := run(t, testConfig(nil), out).out
	assert.Equal(t, stamped, rec(again, 0).ObservedTimestamp().AsTime(), "a second pass keeps the stamp")
}

func TestPseudonymNeedsKeyAndIsKeyed(t *testing.T) {
	build := func() plog.Logs {
		in := plog.NewLogs()
		newRecord(in, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("user.email", "jane@example.com")
		})
		return in
	}
	_, ok := firstRecord(run(t, testConfig(nil), build()).out).Attributes().Get("user.hash")
	assert.False(t, ok, "no key, no pseudonym")
	h1 := attr(t, firstRecord(run(t, testConfig(func(c *Config) { c.Pseudonym.Key = testKey }), build()).out), "user.hash").Str()
	h2 := attr(t, firstRecord(run(t, testConfig(func(c *Config) { c.Pseudonym.Key = testKey + "x" }), build()).out), "user.hash").Str()
	assert.Len(t, h1, 64)
	assert.NotEqual(t, h1, h2)
}

// The pseudonym cache must give what HMAC gives, across case variants and
// after it has filled up and started over.
func TestPseudonymCacheAgreesWithHMAC(t *testing.T) {
	want := func(addr string) string {
		m := hmac.New(sha256.New, []byte(testKey))
		m.Write([]byte(strings.ToLower(strings.TrimSpace(addr))))
		return hex.EncodeToString(m.Sum(nil))
	}
	in := plog.NewLogs()
	var addrs []string
	for i := 0; i < 2*maxPseudonyms+10; i++ {
		addr := fmt.Sprintf("user%d@example.com", i%(maxPseudonyms+7))
		if i%3 == 0 {
			addr = " " + strings.ToUpper(addr)
		}
		addrs = append(addrs, addr)
		newRecord(in, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("user.email", addr)
		})
	}
	res := run(t, testConfig(func(c *Config) { c.Pseudonym.Key = testKey }), in)
	for i := 0; i < res.out.ResourceLogs().Len(); i++ {
		lr := res.out.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords().At(0)
		require.Equal(t, want(addrs[i]), attr(t, lr, "user.hash").Str(), addrs[i])
	}
}

// A re-imported export keeps its pseudonym only through a pipeline that
// trusts its senders' (pseudonym.trust_sender_hash): any sender could
// otherwise pin its events on another user.
func TestReimportKeepsPseudonymOnlyWhenTrusted(t *testing.T) {
	for _, trust := range []bool{false, true} {
		in := plog.NewLogs()
		newRecord(in, func(lr plog.LogRecord) {
			lr.SetEventName("notebook.open")
			lr.Attributes().PutStr("user.email", "***@example.com")
			lr.Attributes().PutStr("user.hash", "hash-from-the-export")
		})
		res := run(t, testConfig(func(c *Config) {
			c.Pseudonym.Key = testKey
			c.Pseudonym.TrustSenderHash = trust
		}), in)
		v, ok := firstRecord(res.out).Attributes().Get("user.hash")
		assert.Equal(t, trust, ok, "trust_sender_hash: %v", trust)
		if trust {
			assert.Equal(t, "hash-from-the-export", v.Str())
		}
	}
}

func TestMaskingCanBeTurnedOff(t *testing.T) {
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) {
		lr.SetEventName("notebook.open")
		lr.Attributes().PutStr("user.email", "jane@example.com")
	})
	res := run(t, testConfig(func(c *Config) { c.MaskEmails = false }), in)
	assert.Equal(t, "jane@example.com", attr(t, firstRecord(res.out), "user.email").Str())
}

func TestBadCatalogFailsCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("catalog: x\ncategories:\n  - {name: a}\nevents:\n  - {name: e, group: G, categories: [b], description: d}\n"), 0o644))
	cfg := testConfig(func(c *Config) { c.Catalogs = []string{path} })
	_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+":5: event \"e\": unknown category \"b\"")
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	cfg := testConfig(nil)
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.True(t, p.Capabilities().MutatesData)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.Shutdown(context.Background()))
	// Shutdown without Start must not fail either.
	p2, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p2.Shutdown(context.Background()))
	var _ processor.Logs = p
}

func TestConcurrentBatches(t *testing.T) {
	cfg := testConfig(func(c *Config) { c.Pseudonym.Key = testKey })
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	done := make(chan struct{})
	for w := 0; w < 4; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 50; i++ {
				assert.NoError(t, p.ConsumeLogs(context.Background(), benchBatch(20)))
			}
		}()
	}
	for w := 0; w < 4; w++ {
		<-done
	}
	assert.Equal(t, 4*50*20, sink.LogRecordCount())
	for _, ld := range sink.AllLogs() {
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		require.NoError(t, err)
		require.False(t, masking.Contains(string(b)))
		require.False(t, strings.Contains(string(b), "user0"), "a local part survived")
	}
}
