package auditprocessor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/internal/masking"
)

// wireRecord builds one record from OTLP JSON, the way a receiver decodes
// it: attribute keys may repeat, which pdata keeps and Map.Get does not
// show (it returns the first copy).
func wireRecord(t *testing.T, eventName string, kvs ...string) plog.Logs {
	t.Helper()
	require.Zero(t, len(kvs)%2, "key, value pairs")
	type kv struct {
		Key   string            `json:"key"`
		Value map[string]string `json:"value"`
	}
	var attrs []kv
	for i := 0; i < len(kvs); i += 2 {
		attrs = append(attrs, kv{kvs[i], map[string]string{"stringValue": kvs[i+1]}})
	}
	rec := map[string]any{"timeUnixNano": "1763769600000000000", "attributes": attrs}
	if eventName != "" {
		rec["eventName"] = eventName
	}
	doc := map[string]any{"resourceLogs": []any{map[string]any{
		"resource":  map[string]any{"attributes": []kv{{"service.name", map[string]string{"stringValue": "notebooks"}}}},
		"scopeLogs": []any{map[string]any{"scope": map[string]any{"name": "audit"}, "logRecords": []any{rec}}},
	}}}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b)
	require.NoError(t, err)
	// The precondition the tests rely on: the copies reached the map.
	for i := 0; i < len(kvs); i += 2 {
		want := 0
		for j := 0; j < len(kvs); j += 2 {
			if kvs[j] == kvs[i] {
				want++
			}
		}
		require.Equal(t, want, copies(firstRecord(ld).Attributes(), kvs[i]), "copies of %s on the wire", kvs[i])
	}
	return ld
}

// copies counts the attributes named key, and values lists them.
func copies(m pcommon.Map, key string) int { return len(values(m, key)) }

func values(m pcommon.Map, key string) []string {
	var out []string
	for k, v := range m.All() {
		if k == key {
			out = append(out, v.AsString())
		}
	}
	return out
}

// Every copy of an attribute only the processor sets is the processor's:
// a sender's copies, first or later, are gone, and the processor's own
// value is the only one left. audit.route twice used to quarantine a
// known action (30 days of retention instead of 400).
func TestSenderCannotSetReservedAttributes(t *testing.T) {
	tests := []struct {
		key string
		// what the processor leaves for a known action and a quarantined one
		known, quarantined []string
	}{
		{fields.AuditRoute, nil, []string{fields.RouteQuarantine}},
		{fields.AuditInvalidReason, nil, []string{`unknown action "notebook.exfiltrate": not in the catalog (../../config/catalogs/codatum.yaml, ../../config/catalogs/wherobots.yaml)`}},
		{fields.AuditGroup, []string{"Notebook"}, nil},
		{fields.AuditCategories, []string{"view_content"}, nil},
		{fields.EventKind, []string{fields.KindEvent}, []string{fields.KindPipelineError}},
		{fields.EventCategory, nil, nil}, // notebook.open has no ECS category
		{fields.EventType, []string{"access"}, nil},
		{fields.UserHash, nil, nil}, // no user.email, so no pseudonym
	}
	for _, tt := range tests {
		for _, action := range []string{"notebook.open", "notebook.exfiltrate"} {
			t.Run(tt.key+"/"+action, func(t *testing.T) {
				in := wireRecord(t, action, tt.key, "quarantine", "note", "x", tt.key, "quarantine")
				res := run(t, testConfig(func(c *Config) { c.Pseudonym.Key = testKey }), in)
				want := tt.known
				if action == "notebook.exfiltrate" {
					want = tt.quarantined
				}
				assert.Equal(t, want, values(firstRecord(res.out).Attributes(), tt.key))
				assert.EqualValues(t, 2, rejected(t, res, "reserved")+rejected(t, res, "duplicate"), "both copies counted")
			})
		}
	}
}

// The router of the exporter reads the first copy of a key (Map.Get), the
// document encoder the last: a record that reaches them with two copies
// of organization.id (the namespace attribute) or event.id would be routed
// by one value and stored with the other. The processor keeps the first
// copy of every key and removes the rest, so every reader sees one value.
func TestDuplicateKeysKeepTheFirstCopy(t *testing.T) {
	in := wireRecord(t, "notebook.open",
		fields.Organization, "org-a",
		fields.EventID, "id-1",
		fields.UserEmail, "first@example.com",
		fields.EventOutcome, "ok",
		"note", "one",
		fields.Organization, "org-b",
		fields.EventID, "id-2",
		fields.UserEmail, "second@example.org",
		fields.EventOutcome, "denied",
		"note", "two",
		fields.Organization, "org-c",
	)
	res := run(t, testConfig(func(c *Config) { c.Pseudonym.Key = testKey }), in)
	attrs := firstRecord(res.out).Attributes()
	seen := map[string]bool{}
	for k := range attrs.All() {
		assert.False(t, seen[k], "%s twice", k)
		seen[k] = true
	}
	assert.Equal(t, []string{"org-a"}, values(attrs, fields.Organization))
	assert.Equal(t, []string{"id-1"}, values(attrs, fields.EventID))
	assert.Equal(t, []string{"***@example.com"}, values(attrs, fields.UserEmail))
	assert.Equal(t, []string{"success"}, values(attrs, fields.EventOutcome))
	assert.Equal(t, []string{"one"}, values(attrs, "note"))
	assert.Equal(t, []string{pseudonymOf("first@example.com")}, values(attrs, fields.UserHash), "the pseudonym of the copy kept")
	assert.EqualValues(t, 6, rejected(t, res, "duplicate"))
}

// Many attributes, many repeated: the duplicate finder leaves its small
// path for a set, and still finds every copy.
func TestDuplicateKeysInALargeMap(t *testing.T) {
	var kvs []string
	for i := 0; i < 3*smallKeys; i++ {
		kvs = append(kvs, "k"+strings.Repeat("x", i%5)+string(rune('a'+i%26)), "v")
	}
	in := wireRecord(t, "notebook.open", kvs...)
	res := run(t, testConfig(nil), in)
	attrs := firstRecord(res.out).Attributes()
	distinct := map[string]bool{}
	for i := 0; i < len(kvs); i += 2 {
		distinct[kvs[i]] = true
	}
	for k := range distinct {
		assert.Equal(t, 1, copies(attrs, k), k)
	}
	assert.EqualValues(t, len(kvs)/2-len(distinct), rejected(t, res, "duplicate"))
}

// rejected is otelcol_processor_audit_attributes_rejected{reason}.
func rejected(t *testing.T, res runResult, reason string) int64 {
	t.Helper()
	return comptest.SumWhere(t, res.tel, "otelcol_processor_audit_attributes_rejected", "reason", reason)
}

func pseudonymOf(addr string) string {
	m := hmac.New(sha256.New, []byte(testKey))
	m.Write([]byte(strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(m.Sum(nil))
}

// A sender's user.hash would pin its events on another user's pseudonym.
// It is recomputed from user.email when that holds an address, and
// removed otherwise, unless pseudonym.trust_sender_hash says the pipeline
// restores exports.
func TestSenderPseudonymIsNotTrusted(t *testing.T) {
	const victim = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f"
	tests := []struct {
		name  string
		trust bool
		kvs   []string
		want  []string
	}{
		{"no email", false, []string{fields.UserHash, victim}, nil},
		{"masked email", false, []string{fields.UserEmail, "***@example.com", fields.UserHash, victim}, nil},
		{"email with no address", false, []string{fields.UserEmail, "***", fields.UserHash, victim}, nil},
		{"email recomputed", false, []string{fields.UserHash, victim, fields.UserEmail, "jane@example.com"}, []string{pseudonymOf("jane@example.com")}},
		{"two hashes", false, []string{fields.UserEmail, "jane@example.com", fields.UserHash, victim, fields.UserHash, victim}, []string{pseudonymOf("jane@example.com")}},
		{"trusted restore keeps it", true, []string{fields.UserEmail, "***@example.com", fields.UserHash, victim}, []string{victim}},
		{"trusted restore keeps the first", true, []string{fields.UserHash, victim, fields.UserHash, "other"}, []string{victim}},
		{"trusted restore still recomputes", true, []string{fields.UserEmail, "jane@example.com", fields.UserHash, victim}, []string{pseudonymOf("jane@example.com")}},
	}
	for _, tt := range tests {
		for _, action := range []string{"notebook.open", "notebook.exfiltrate"} {
			t.Run(tt.name+"/"+action, func(t *testing.T) {
				cfg := testConfig(func(c *Config) {
					c.Pseudonym.Key = testKey
					c.Pseudonym.TrustSenderHash = tt.trust
				})
				res := run(t, cfg, wireRecord(t, action, tt.kvs...))
				assert.Equal(t, tt.want, values(firstRecord(res.out).Attributes(), fields.UserHash))
			})
		}
	}
	// Without a key nothing is recomputed: a sender's hash is removed.
	res := run(t, testConfig(nil), wireRecord(t, "notebook.open", fields.UserEmail, "jane@example.com", fields.UserHash, victim))
	assert.Nil(t, values(firstRecord(res.out).Attributes(), fields.UserHash))
}

// A field whose meaning is an address is masked up to its last '@',
// whatever the local part holds; the free-text detector would have missed
// or cut these.
func TestAddressFieldMaskedWhole(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x!y@example.com", "***@example.com"},
		{"x'y@example.com", "***@example.com"},
		{"x{y}@example.com", "***@example.com"},
		{"a/b@example.com", "***@example.com"},
		{"a#b&c=d@example.com", "***@example.com"},
		{"jose\u0301@example.com", "***@example.com"},
		{`"john doe"@example.com`, "***@example.com"},
		{"x@y.com@z.com", "***@z.com"},
		{"jane@localhost", "***@localhost"},
		{"jane.doe%40example.com", "***%40example.com"},
		{"jane.doe", "***"},
		{"jane＠example.com", "***"},
		{"***@example.com", "***@example.com"},
		{"***", "***"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			in := plog.NewLogs()
			newRecord(in, func(lr plog.LogRecord) {
				lr.SetEventName("notebook.open")
				lr.Attributes().PutStr(fields.UserEmail, tt.in)
			})
			res := run(t, testConfig(nil), in)
			assert.Equal(t, tt.want, attr(t, firstRecord(res.out), fields.UserEmail).Str())
		})
	}
	// Several addresses in one address field, at any depth.
	in := plog.NewLogs()
	newRecord(in, func(lr plog.LogRecord) {
		lr.SetEventName("notebook.open")
		s := lr.Attributes().PutEmptySlice(fields.UserEmail)
		s.AppendEmpty().SetStr("a/b@example.com")
		s.AppendEmpty().SetEmptyMap().PutStr("work", "c{d}@example.org")
	})
	res := run(t, testConfig(nil), in)
	assert.Equal(t, []any{"***@example.com", map[string]any{"work": "***@example.org"}}, attr(t, firstRecord(res.out), fields.UserEmail).Slice().AsRaw())
}

// Every string of a record is masked: each case puts an address in one
// place and reads that place back.
func TestEveryStringIsMasked(t *testing.T) {
	const addr = "jane.doe@example.com"
	tests := []struct {
		name string
		put  func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord)
		get  func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) string
	}{
		{"map body",
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
				lr.Body().SetEmptyMap().PutEmptyMap("actor").PutStr("email", addr)
			},
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) string { return lr.Body().AsString() }},
		{"slice body",
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
				lr.Body().SetEmptySlice().AppendEmpty().SetStr("cc " + addr)
			},
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) string { return lr.Body().AsString() }},
		{"map in a slice body",
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
				lr.Body().SetEmptySlice().AppendEmpty().SetEmptyMap().PutStr("to", addr)
			},
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) string { return lr.Body().AsString() }},
		{"key of a map body",
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
				lr.Body().SetEmptyMap().PutStr(addr, "owner")
			},
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) string { return lr.Body().AsString() }},
		{"scope attribute in a map",
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) {
				sl.Scope().Attributes().PutEmptyMap("team").PutStr("lead", addr)
			},
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) string {
				v, _ := sl.Scope().Attributes().Get("team")
				return v.AsString()
			}},
		{"severity text",
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.SetSeverityText("INFO " + addr) },
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) string { return lr.SeverityText() }},
		{"scope attribute",
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) {
				sl.Scope().Attributes().PutStr("owner", addr)
			},
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) string {
				v, _ := sl.Scope().Attributes().Get("owner")
				return v.Str()
			}},
		{"scope name",
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) { sl.Scope().SetName("audit/" + addr) },
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) string { return sl.Scope().Name() }},
		{"scope version",
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) { sl.Scope().SetVersion("1.0+" + addr) },
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) string { return sl.Scope().Version() }},
		{"scope schema URL",
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) {
				sl.SetSchemaUrl("https://x.example/s?u=" + addr)
			},
			func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) string { return sl.SchemaUrl() }},
		{"resource schema URL",
			func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) {
				rl.SetSchemaUrl("https://x.example/s?u=" + addr)
			},
			func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) string { return rl.SchemaUrl() }},
		{"resource attribute",
			func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) {
				rl.Resource().Attributes().PutStr("owner", addr)
			},
			func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) string {
				v, _ := rl.Resource().Attributes().Get("owner")
				return v.Str()
			}},
		{"unknown action",
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.SetEventName("mail " + addr) },
			func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) string { return lr.EventName() }},
	}
	// A known action, and an unknown one: quarantined records are masked too.
	for _, action := range []string{"notebook.open", "not.in.catalog"} {
		for _, tt := range tests {
			t.Run(action+"/"+tt.name, func(t *testing.T) {
				in := plog.NewLogs()
				rl := in.ResourceLogs().AppendEmpty()
				sl := rl.ScopeLogs().AppendEmpty()
				lr := sl.LogRecords().AppendEmpty()
				lr.SetEventName(action)
				tt.put(rl, sl, lr)
				res := run(t, testConfig(nil), in)
				rl = res.out.ResourceLogs().At(0)
				sl = rl.ScopeLogs().At(0)
				got := tt.get(rl, sl, sl.LogRecords().At(0))
				assert.Contains(t, got, "***@example.com")
				assert.NotContains(t, got, "jane.doe")
				assert.EqualValues(t, 1, counter(t, res.tel, "processor_audit_emails_masked"))
			})
		}
	}
}

// A sender's id that holds an address would be stored masked: two events
// with ids jane@… and bob@… would share ***@… and the store would keep one.
// Such an id is replaced by the derived one, which differs.
func TestSenderIDWithAnAddressIsReplaced(t *testing.T) {
	for _, key := range []string{fields.EventID, fields.LogRecordUID} {
		t.Run(key, func(t *testing.T) {
			build := func() plog.Logs {
				in := plog.NewLogs()
				for _, id := range []string{"jane@example.com", "bob@example.com"} {
					newRecord(in, func(lr plog.LogRecord) {
						lr.SetEventName("notebook.open")
						lr.Attributes().PutStr(key, id)
					})
				}
				return in
			}
			out := run(t, testConfig(nil), build()).out
			id := func(ld plog.Logs, i int) string {
				return attr(t, ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords().At(0), fields.EventID).Str()
			}
			assert.NotEqual(t, id(out, 0), id(out, 1))
			assert.Len(t, id(out, 0), 32)
			again := run(t, testConfig(nil), build()).out
			assert.Equal(t, id(out, 0), id(again, 0), "a retry gets the same id")
			b, err := (&plog.JSONMarshaler{}).MarshalLogs(out)
			require.NoError(t, err)
			assert.False(t, masking.Contains(string(b)))
		})
	}
}

// The switches the hot path asks agree with the lists in internal/fields.
func TestReservedAndAddressListsAgree(t *testing.T) {
	for _, k := range fields.Reserved {
		assert.True(t, isReserved(k), k)
		assert.True(t, fields.IsCore(k), "%s: a deny list must not be able to name it", k)
	}
	for _, k := range fields.Address {
		assert.True(t, isAddress(k), k)
		assert.False(t, isReserved(k), k)
	}
	for _, k := range fields.Core {
		assert.Equal(t, slices.Contains(fields.Reserved, k), isReserved(k), k)
		assert.Equal(t, slices.Contains(fields.Address, k), isAddress(k), k)
	}
}

// The duplicate finder keeps no reference to a record's keys once done,
// and no set larger than maxKeptSet.
func TestDupFinderForgets(t *testing.T) {
	var d dupFinder
	d.begin()
	for i := 0; i < maxKeptSet+10; i++ {
		d.repeated(fmt.Sprint("k", i), i)
	}
	assert.True(t, d.repeated("k3", maxKeptSet+10))
	assert.Equal(t, []int{maxKeptSet + 10}, d.idx)
	d.end()
	assert.Nil(t, d.set)
	for _, k := range d.keys[:cap(d.keys)] {
		assert.Empty(t, k)
	}
	d.begin()
	assert.False(t, d.repeated("k3", 0), "a new record starts empty")
	assert.True(t, d.repeated("k3", 1))
	d.end()
	assert.Empty(t, d.set)
}
