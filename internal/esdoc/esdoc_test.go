package esdoc

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

var update = flag.Bool("update", false, "rewrite golden documents")

var ts = pcommon.Timestamp(1763632800123456789) // 2025-11-20T10:00:00.123456789Z

func fullRecord() (pcommon.Resource, plog.LogRecord) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "notebooks")
	res.Attributes().PutStr("host.name", "api-1")
	lr := plog.NewLogRecord()
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts + 1_000_000)
	lr.SetEventName("report.view")
	lr.Body().SetStr("viewed \"Q3\"\nrevenue")
	lr.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	a := lr.Attributes()
	a.PutStr("event.id", "evt-1")
	a.PutStr("user.email", "***@example.com")
	a.PutStr("user.id", "u-1")
	a.PutStr("user.name", "Jane")
	a.PutStr("user.hash", "5f2b")
	a.PutStr("audit.actor.type", "user")
	a.PutStr("client.address", "2001:db8::7")
	a.PutStr("user_agent.original", "Mozilla/5.0")
	a.PutStr("cloud.region", "aws-eu-west-1")
	a.PutStr("organization.id", "org-7")
	a.PutStr("audit.resource.type", "report")
	a.PutStr("audit.resource.id", "r-9")
	a.PutStr("audit.resource.name", "Revenue")
	a.PutStr("event.outcome", "success")
	a.PutStr("audit.group", "Report")
	a.PutEmptySlice("audit.categories").FromRaw([]any{"view_data", "view_content"})
	a.PutStr("event.kind", "event")
	a.PutStr("event.type", "access")
	share := a.PutEmptyMap("share")
	share.PutStr("mode", "view")
	share.PutInt("count", 2)
	share.PutDouble("ratio", 0.5)
	share.PutBool("public", false)
	share.PutEmptySlice("tags").FromRaw([]any{"a", "b"})
	a.PutEmptyBytes("raw").FromRaw([]byte("hi"))
	return res, lr
}

func TestGoldenDocuments(t *testing.T) {
	now := func() time.Time { return time.Unix(1763640000, 0) }
	tests := []struct {
		name  string
		build func() (pcommon.Resource, plog.LogRecord)
		t     Target
	}{
		{"full", fullRecord, Target{"audit.view_data", "org_7"}},
		{"quarantined", func() (pcommon.Resource, plog.LogRecord) {
			lr := plog.NewLogRecord()
			lr.SetTimestamp(ts)
			lr.SetEventName("createnotebook")
			lr.Attributes().PutStr("audit.route", "quarantine")
			lr.Attributes().PutStr("audit.invalid_reason", `unknown action "createnotebook"`)
			lr.Attributes().PutStr("event.kind", "pipeline_error")
			lr.Attributes().PutStr("event.id", "q-1")
			return pcommon.NewResource(), lr
		}, Target{"audit.quarantine", "default"}},
		{"minimal_no_time_structured_body_bad_ip", func() (pcommon.Resource, plog.LogRecord) {
			lr := plog.NewLogRecord()
			lr.Body().SetEmptyMap().PutStr("k", "v")
			lr.Attributes().PutStr("client.address", "not-an-ip")
			lr.Attributes().PutDouble("nan", math.NaN())
			lr.Attributes().PutStr("ctl", "a\x00b\u2028c\xff")
			return pcommon.NewResource(), lr
		}, Target{"audit", "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, lr := tt.build()
			e := &Encoder{Now: now}
			id := e.ID(lr)
			doc := e.AppendDocument(nil, res, lr, tt.t, id, e.Timestamp(lr))
			require.True(t, json.Valid(doc), string(doc))
			var pretty strings.Builder
			var v any
			require.NoError(t, json.Unmarshal(doc, &v))
			enc := json.NewEncoder(&pretty)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(v))
			path := filepath.Join("testdata", tt.name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(pretty.String()), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update")
			assert.JSONEq(t, string(want), string(doc))
		})
	}
}

// Every field a document can carry is in the shipped mapping, so nothing
// is silently left unindexed (audit.properties is flattened on purpose).
func TestDocumentFieldsAreMapped(t *testing.T) {
	mapped, err := assets.MappedFields()
	require.NoError(t, err)

	res, lr := fullRecord()
	e := &Encoder{}
	long := plog.NewLogRecord()
	lr.CopyTo(long)
	long.Attributes().PutStr("event.id", strings.Repeat("x", maxIDBytes+1))
	docs := [][]byte{e.AppendDocument(nil, res, lr, Target{"audit", "default"}, "x", lr.Timestamp()),
		e.AppendDocument(nil, res, long, Target{"audit", "default"}, e.ID(long), long.Timestamp()),
		AppendDeadLetter(nil, []byte(`{"a":1}`), "x", "mapper_parsing_exception", "bad", Target{"audit.deadletter", "default"}, "logs-audit-default-2025.11.01", time.Now())}
	for _, doc := range docs {
		var v map[string]any
		require.NoError(t, json.Unmarshal(doc, &v))
		var leaves []string
		var collect func(prefix string, m map[string]any)
		collect = func(prefix string, m map[string]any) {
			for k, v := range m {
				if prefix+k == "audit.properties" {
					continue
				}
				if sub, ok := v.(map[string]any); ok {
					collect(prefix+k+".", sub)
					continue
				}
				leaves = append(leaves, prefix+k)
			}
		}
		collect("", v)
		sort.Strings(leaves)
		for _, l := range leaves {
			assert.True(t, mapped[l], "document field %s is not in the mapping", l)
		}
	}
}

func TestDeadLetterAndAction(t *testing.T) {
	doc := AppendDeadLetter(nil, []byte(`{"event":{"id":"e\"1"}}`), `e"1`, "mapper_parsing_exception", "failed to parse field [client.ip]", Target{"audit.deadletter", "default"}, "logs-audit-org_7-2025.11.01", time.Unix(0, 5).UTC())
	require.True(t, json.Valid(doc), string(doc))
	var v struct {
		Event struct{ ID, Original string } `json:"event"`
		Audit struct {
			TargetIndex string `json:"target_index"`
		} `json:"audit"`
		Error struct{ Type, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(doc, &v))
	assert.Equal(t, `{"event":{"id":"e\"1"}}`, v.Event.Original)
	assert.Equal(t, "failed to parse field [client.ip]", v.Error.Message)
	assert.Equal(t, "logs-audit-org_7-2025.11.01", v.Audit.TargetIndex, "where the event was meant to go")
}

func TestAppendCreate(t *testing.T) {
	nov20 := pcommon.Timestamp(1763632800123456789) // 2025-11-20T10:00:00Z, a Thursday
	for _, tc := range []struct {
		target Target
		period assets.Period
		ts     pcommon.Timestamp
		id     string
		want   string
	}{
		{Target{"audit", "default"}, assets.Month, nov20, "0ee4777f6410ec6f49ee23a989fc8a47", `{"create":{"_index":"logs-audit-default-2025.11.01","_id":"0ee4777f6410ec6f49ee23a989fc8a47"}}` + "\n"},
		{Target{"audit", "default"}, assets.Week, nov20, "x", `{"create":{"_index":"logs-audit-default-2025.11.17","_id":"x"}}` + "\n"},
		{Target{"audit", "default"}, assets.Day, nov20, `a"b`, `{"create":{"_index":"logs-audit-default-2025.11.20","_id":"a\"b"}}` + "\n"},
		{Target{"audit.deadletter", "default"}, "", nov20, "x", `{"create":{"_index":"logs-audit.deadletter-default","_id":"x"}}` + "\n"},
		// Names are sanitized before they get here; escaping still holds if not.
		{Target{"audit.access_control", `t"1`}, assets.Month, nov20, "x", `{"create":{"_index":"logs-audit.access_control-t\"1-2025.11.01","_id":"x"}}` + "\n"},
		{Target{"audit", "org-\u00e9t\u00e9-long-enough"}, assets.Month, 0, "x", `{"create":{"_index":"logs-audit-org-été-long-enough-1970.01.01","_id":"x"}}` + "\n"},
	} {
		got := string(AppendCreate(nil, tc.target, tc.period, tc.ts, tc.id))
		assert.Equal(t, tc.want, got)
		assert.True(t, json.Valid([]byte(got)), got)
		var e Encoder
		for range 2 { // the second time from the encoder's caches
			assert.Equal(t, tc.want, string(e.AppendCreate(nil, tc.target, tc.period, tc.ts, tc.id)), "the encoder's")
		}
	}
}

// The index name the encoder writes without time.Time is the one
// assets.Period computes, for every period, across years.
func TestIndexNameMatchesPeriodStart(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var enc Encoder // one encoder across random jumps: its date cache must follow
	for i := 0; i < 20000; i++ {
		ts := pcommon.Timestamp(r.Int64N(math.MaxInt64))
		at := ts.AsTime()
		for _, p := range assets.Periods {
			tier := assets.Tier{Dataset: "audit", Period: p}
			assert.Equal(t, tier.IndexName("ns", at), Target{"audit", "ns"}.IndexName(p, ts), "%s %s", p, at)
			line := string(enc.AppendCreate(nil, Target{"audit", "ns"}, p, ts, "x"))
			assert.Equal(t, `{"create":{"_index":"`+tier.IndexName("ns", at)+`","_id":"x"}}`+"\n", line, "%s %s", p, at)
		}
	}
}

// An id Elasticsearch would refuse (over 512 bytes refuses the whole bulk)
// becomes its SHA-256; the document keeps the original.
func TestLongIDBecomesDigest(t *testing.T) {
	e := &Encoder{}
	lr := plog.NewLogRecord()
	lr.SetTimestamp(ts)
	lr.SetEventName("report.view")
	ok := strings.Repeat("é", maxIDBytes/2) // exactly 512 bytes
	lr.Attributes().PutStr("event.id", ok)
	assert.Equal(t, ok, e.ID(lr))
	long := ok + "x"
	lr.Attributes().PutStr("event.id", long)
	id := e.ID(lr)
	assert.Equal(t, "sha256-"+fmt.Sprintf("%x", sha256.Sum256([]byte(long))), id)
	assert.LessOrEqual(t, len(id), maxIDBytes)
	var doc struct {
		Event struct{ ID string } `json:"event"`
		Audit struct {
			OriginalID string `json:"original_id"`
		} `json:"audit"`
	}
	require.NoError(t, json.Unmarshal(e.AppendDocument(nil, pcommon.NewResource(), lr, Target{"audit", "default"}, id, ts), &doc))
	assert.Equal(t, id, doc.Event.ID)
	assert.Equal(t, long, doc.Audit.OriginalID)
	lr.Attributes().Remove("event.id")
	lr.Attributes().PutStr("log.record.uid", long)
	assert.Equal(t, id, e.ID(lr), "log.record.uid too")
}

func TestIDFallbacks(t *testing.T) {
	e := &Encoder{}
	lr := plog.NewLogRecord()
	lr.Attributes().PutStr("log.record.uid", "uid-1")
	assert.Equal(t, "uid-1", e.ID(lr))
	lr2 := plog.NewLogRecord()
	lr2.SetEventName("a")
	id := e.ID(lr2)
	assert.Len(t, id, 32)
	assert.Equal(t, id, e.ID(lr2), "derived ids are stable")
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x1f\x7f", "\xff\xfe", "é日本\u2028\u2029", "\U0001F600",
		// Past the 8-byte fast path: an escape or a multi-byte rune after whole plain words.
		"12345678\"", "0123456789abcdef\n tail", "plain ascii words, then é", "sixteen bytes ok\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("invalid JSON for %q: %s", s, b)
		}
		if strings.ToValidUTF8(s, "\ufffd") != out && utf8Valid(s) {
			t.Fatalf("round trip changed %q into %q", s, out)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// BenchmarkEncode encodes realistic processed records (the processor's tags
// included) and reports ns/document.
func BenchmarkEncode(b *testing.B) {
	ld := auditgen.Batch(1000, auditgen.Options{FreeTextEmailFraction: 0.2, Seed: 3})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		a := recs.At(i).Attributes()
		a.PutStr("event.id", "0ee4777f6410ec6f49ee23a989fc8a47")
		a.PutStr("audit.group", "Notebook")
		a.PutStr("audit.categories", "view_content")
		a.PutStr("event.kind", "event")
		a.PutStr("event.type", "access")
	}
	res := ld.ResourceLogs().At(0).Resource()
	e := &Encoder{}
	buf := make([]byte, 0, 4096)
	t := Target{"audit", "default"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lr := recs.At(i % recs.Len())
		buf = e.AppendCreate(buf[:0], t, assets.Month, lr.Timestamp(), "0ee4777f6410ec6f49ee23a989fc8a47")
		buf = e.AppendDocument(buf, res, lr, t, "0ee4777f6410ec6f49ee23a989fc8a47", lr.Timestamp())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/document")
}

// appendTime must equal time.Format for every timestamp from 1970 on.
func TestAppendTimeMatchesTimeFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []int64{0, 1, 999_999_999, 951_782_400_000_000_000 /* 2000-02-29 */, 4_102_444_800_000_000_000 /* 2100-01-01 */, math.MaxInt64}
	for i := 0; i < 100_000; i++ {
		cases = append(cases, r.Int64N(math.MaxInt64))
	}
	// One encoder keeps the last date: run it over random jumps and over
	// a sorted run that crosses midnights.
	var e Encoder
	sorted := slices.Clone(cases)
	slices.Sort(sorted)
	for i := int64(0); i < 5000; i++ {
		sorted = append(sorted, 1_700_000_000_000_000_000+i*37_000_000_000_000)
	}
	// Past math.MaxInt64 a uint64 timestamp reads as before 1970, as
	// pdata's AsTime has it.
	over := []pcommon.Timestamp{math.MaxUint64, math.MaxInt64 + 1, math.MaxUint64 - 1e9 + 1}
	for _, ns := range append(cases, sorted...) {
		over = append(over, pcommon.Timestamp(ns))
	}
	for _, ts := range over {
		ns := int64(ts)
		want := `"` + ts.AsTime().UTC().Format("2006-01-02T15:04:05.000000000Z") + `"`
		if got := string(appendTime(nil, ts)); got != want {
			t.Fatalf("%d: got %s, want %s", ns, got, want)
		}
		if got := string(e.appendTime(nil, ts)); got != want {
			t.Fatalf("%d, after %d: got %s, want %s", ns, e.day, got, want)
		}
	}
}

// isIPv4 must agree with netip.ParseAddr on everything without a ':'.
func FuzzIsIPv4(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"1..3.4", ".1.2.3", "1.2.3.", "1.2.3.4 ", "10.0.0.1", "1.2.3.00", "999.0.0.1", "1.2.3.-4", "", "a.b.c.d", "192.168.1.1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, ':') >= 0 {
			return
		}
		ip, err := netip.ParseAddr(s)
		want := err == nil && ip.Is4()
		if got := isIPv4(s); got != want {
			t.Fatalf("isIPv4(%q) = %v, netip says %v (%v)", s, got, want, err)
		}
	})
}

func TestCoreKeysTable(t *testing.T) {
	for _, k := range fields.Core {
		assert.NotEqual(t, uint8(sNone), coreKeys.slot(k), k)
	}
	for _, k := range []string{"", "a", "event.idx", "event.i", "user.emai", "tenant", "http.request.method", "EVENT.ID"} {
		assert.Equal(t, uint8(sNone), coreKeys.slot(k), k)
	}
	assert.Equal(t, uint8(sUserEmail), coreKeys.slot(fields.UserEmail))
	assert.Equal(t, uint8(sSkip), coreKeys.slot(fields.EventAction))
}

// More targets than the encoder caches, in turns: each document names its own.
func TestTargetsCachedAndEvicted(t *testing.T) {
	res, lr := fullRecord()
	e := &Encoder{}
	for round := 0; round < 3; round++ {
		for i := 0; i < maxTargets+5; i++ {
			tg := Target{Dataset: fmt.Sprintf("audit.t%d", i%7), Namespace: fmt.Sprintf("ns%d", i)}
			var doc struct {
				DataStream struct{ Dataset, Namespace string } `json:"data_stream"`
				Event      struct{ Dataset string }            `json:"event"`
			}
			require.NoError(t, json.Unmarshal(e.AppendDocument(nil, res, lr, tg, "x", lr.Timestamp()), &doc))
			assert.Equal(t, tg.Dataset, doc.DataStream.Dataset)
			assert.Equal(t, tg.Namespace, doc.DataStream.Namespace)
			assert.Equal(t, tg.Dataset, doc.Event.Dataset)
		}
	}
	assert.Len(t, e.targets, maxTargets)
}

// plain must agree with the byte table on every byte at every position,
// and on random words (which mix several bad bytes).
func TestPlainMatchesTable(t *testing.T) {
	check := func(w uint64) {
		want := true
		for i := 0; i < 8; i++ {
			want = want && safe[byte(w>>(8*i))]
		}
		if got := plain(w); got != want {
			t.Fatalf("plain(%#016x) = %v, want %v", w, got, want)
		}
	}
	for _, filler := range []byte{'a', ' ', '~', '#', ']'} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				w := uint64(filler) * lo
				w = w&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
				check(w)
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1_000_000; i++ {
		check(r.Uint64())
		// Mostly printable words with the odd bad byte, where borrows matter.
		w := uint64(0)
		for j := 0; j < 8; j++ {
			c := byte(0x20 + r.IntN(0x5f))
			if r.IntN(10) == 0 {
				c = []byte{0, 0x1f, '"', '\\', 0x7f, 0x80, 0xff, 0x21, 0x23, 0x5b, 0x5d}[r.IntN(11)]
			}
			w |= uint64(c) << (8 * j)
		}
		check(w)
	}
}

// A key repeated on the OTLP wire: the document holds the first copy, as
// ID, Map.Get and the exporter's router read it.
func TestRepeatedCoreKeysKeepTheFirst(t *testing.T) {
	req := plogotlp.NewExportRequest()
	require.NoError(t, req.UnmarshalJSON([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","eventName":"report.view","attributes":[
		{"key":"event.id","value":{"stringValue":"first-id"}},
		{"key":"user.email","value":{"stringValue":"***@first.example"}},
		{"key":"event.id","value":{"stringValue":"second-id"}},
		{"key":"user.email","value":{"stringValue":"***@second.example"}}]}]}]}]}`)))
	rl := req.Logs().ResourceLogs().At(0)
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	require.Equal(t, 4, lr.Attributes().Len(), "both copies reach the encoder")
	e := &Encoder{}
	id := e.ID(lr)
	assert.Equal(t, "first-id", id)
	doc := string(e.AppendDocument(nil, rl.Resource(), lr, Target{"audit", "default"}, id, ts))
	assert.Contains(t, doc, "first.example")
	assert.NotContains(t, doc, "second")
}
