package auditelasticsearchexporter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	pdatareq "go.opentelemetry.io/collector/pdata/xpdata/request"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
)

// testExporter is an exporter with the default config, not started.
func testExporter(t testing.TB) *auditExporter {
	t.Helper()
	e, err := newExporter(exportertest.NewNopSettings(metadata.Type), createDefaultConfig().(*Config))
	require.NoError(t, err)
	return e
}

// converted is the request ConsumeLogs would queue for n events.
func converted(t testing.TB, prefix string, n int) *docsRequest {
	t.Helper()
	r, err := testExporter(t).convert(context.Background(), many(prefix, n))
	require.NoError(t, err)
	return r.(*docsRequest)
}

// lines is the request's body as its documents' ids, checking that each
// document's offsets frame an action line and a document.
func ids(t *testing.T, r *docsRequest) []string {
	t.Helper()
	var out []string
	at := 0
	for i, d := range r.docs {
		require.Equal(t, at, d.start, "document %d is contiguous", i)
		require.Equal(t, i, d.orig, "document %d knows its place", i)
		action := string(r.buf[d.start:d.docStart])
		require.True(t, strings.HasPrefix(action, `{"create":`) && strings.HasSuffix(action, "\n"), "action line %q", action)
		require.Contains(t, action, `"_id":"`+d.id+`"`)
		require.Equal(t, byte('\n'), r.buf[d.end-1])
		out = append(out, d.id)
		at = d.end
	}
	require.Equal(t, len(r.buf), at, "no bytes past the last document")
	return out
}

func TestMergeSplit(t *testing.T) {
	one := len(converted(t, "x", 1).buf)
	tests := []struct {
		name    string
		a, b    int
		sizer   exporterhelper.RequestSizerType
		max     int
		parts   []int
		wantErr string
	}{
		{name: "merge, no limit", a: 3, b: 2, sizer: exporterhelper.RequestSizerTypeItems, parts: []int{5}},
		{name: "merge under the limit", a: 3, b: 2, sizer: exporterhelper.RequestSizerTypeItems, max: 5, parts: []int{5}},
		{name: "merge and split by items", a: 4, b: 3, sizer: exporterhelper.RequestSizerTypeItems, max: 3, parts: []int{3, 3, 1}},
		{name: "split alone", a: 5, sizer: exporterhelper.RequestSizerTypeItems, max: 2, parts: []int{2, 2, 1}},
		{name: "split by bytes", a: 5, sizer: exporterhelper.RequestSizerTypeBytes, max: 2*one + 10, parts: []int{2, 2, 1}},
		{name: "a document over the byte limit goes alone", a: 2, sizer: exporterhelper.RequestSizerTypeBytes, max: 10, parts: []int{1, 1}},
		{name: "requests sizer", a: 1, sizer: exporterhelper.RequestSizerTypeRequests, wantErr: "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := converted(t, "a", tt.a)
			want := ids(t, a)
			var b *docsRequest
			if tt.b > 0 {
				b = converted(t, "b", tt.b)
				want = append(want, ids(t, b)...)
			}
			var r2 xexporterhelper.Request
			if b != nil {
				r2 = b
			}
			parts, err := a.MergeSplit(context.Background(), tt.max, tt.sizer, r2)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var got []int
			var out []string
			for _, p := range parts {
				r := p.(*docsRequest)
				got = append(got, r.ItemsCount())
				out = append(out, ids(t, r)...)
				assert.Equal(t, len(r.buf), r.BytesSize())
			}
			assert.Equal(t, tt.parts, got)
			assert.Equal(t, want, out, "every document once, in order")
		})
	}
}

func TestMergeLeavesTheMergedRequestIntact(t *testing.T) {
	a, b := converted(t, "a", 2), converted(t, "b", 2)
	before := string(b.buf)
	parts, err := a.MergeSplit(context.Background(), 3, exporterhelper.RequestSizerTypeItems, b)
	require.NoError(t, err)
	assert.Equal(t, before, string(b.buf))
	assert.Equal(t, []string{"b-0", "b-1"}, ids(t, b))
	assert.Len(t, parts, 2)
}

func TestOnErrorHandsBackWhatIsLeft(t *testing.T) {
	r := converted(t, "r", 4)
	left := r.subset([]pending{r.docs[3], r.docs[1]})
	assert.Equal(t, []string{"r-3", "r-1"}, ids(t, left))
	assert.Same(t, left, r.OnError(fmt.Errorf("wrapped: %w", &retryLater{err: errors.New("429"), req: left})))
	assert.Same(t, r, r.OnError(errors.New("the whole request failed")), "a failure of everything retries everything")
}

func TestQueueEncodingRoundTrip(t *testing.T) {
	r := converted(t, "q", 3)
	r.docs[1].dead = true
	enc := docsEncoding{testExporter(t)}
	data, err := enc.Marshal(context.Background(), r)
	require.NoError(t, err)
	_, back, err := enc.Unmarshal(data)
	require.NoError(t, err)
	got := back.(*docsRequest)
	assert.Equal(t, string(r.buf), string(got.buf))
	assert.Equal(t, r.docs, got.docs)
}

// A queue an earlier release filled holds OTLP requests: they are read
// and encoded as they come out, not dropped.
func TestQueueEncodingReadsOTLPQueuedBefore(t *testing.T) {
	e := testExporter(t)
	ld := many("old", 3)
	data, err := pdatareq.MarshalLogs(context.Background(), ld)
	require.NoError(t, err)
	_, got, err := docsEncoding{e}.Unmarshal(data)
	require.NoError(t, err)
	want, err := e.convert(context.Background(), ld)
	require.NoError(t, err)
	assert.Equal(t, string(want.(*docsRequest).buf), string(got.(*docsRequest).buf))
	assert.Equal(t, []string{"old-0", "old-1", "old-2"}, ids(t, got.(*docsRequest)))

	plain, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	_, got, err = docsEncoding{e}.Unmarshal(plain)
	require.NoError(t, err, "the oldest format, without context")
	assert.Equal(t, 3, got.ItemsCount())
}

func TestQueueEncodingRefusesDamage(t *testing.T) {
	r := converted(t, "q", 2)
	enc := docsEncoding{testExporter(t)}
	good, err := enc.Marshal(context.Background(), r)
	require.NoError(t, err)
	edit := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	trailer := func(index ...byte) []byte {
		return append(append(index, byte(len(index)), 0, 0, 0), "AQD1"...)
	}
	tests := map[string][]byte{
		"no trailer, not OTLP":  []byte("{\"create\":{}}\n"),
		"no documents":          trailer(0),
		"truncated":             good[:len(good)-1],
		"a body byte less":      good[1:],
		"a byte more":           edit(func(b []byte) []byte { return append(b, 'x') }),
		"huge count":            trailer(0xff, 0xff, 0xff, 0xff, 0x0f),
		"index longer than all": append([]byte{0xff, 0xff, 0xff, 0x7f}, "AQD1"...),
		"a newline overwritten": edit(func(b []byte) []byte { b[len(r.buf)-1] = ' '; return b }),
		"an id runs past":       append([]byte("\n\n"), trailer(1, 1, 1, 9, 'a', 'b', 'c', 'd', 'e', 'f', 'g')...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := enc.Unmarshal(data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "queued request")
			if name == "an id runs past" {
				assert.Contains(t, err.Error(), "id at byte 4 runs past the end")
			}
		})
	}
}

// FuzzDecodeQueued: a queue file is input like any other. Whatever the
// bytes, decoding never panics, and what it accepts frames every document
// inside the body.
func FuzzDecodeQueued(f *testing.F) {
	r := converted(f, "f", 3)
	good, err := docsEncoding{}.Marshal(context.Background(), r)
	require.NoError(f, err)
	f.Add(append([]byte{0, 0, 0, 0}, "AQD1"...)) // no documents
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("\x00\x00\x00\x00AQD1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeQueued(data)
		if err != nil {
			return
		}
		at := 0
		for _, d := range got.docs {
			if d.start != at || d.docStart <= d.start || d.end <= d.docStart || d.end > len(got.buf) {
				t.Fatalf("accepted a document framed %d..%d..%d in %d bytes", d.start, d.docStart, d.end, len(got.buf))
			}
			at = d.end
		}
		if at != len(got.buf) {
			t.Fatalf("accepted %d bytes no document claims", len(got.buf)-at)
		}
	})
}

// A request without documents sends nothing: Elasticsearch answers an
// empty bulk request with 400, which split cannot halve.
func TestAnEmptyRequestSendsNothing(t *testing.T) {
	e := testExporter(t)
	assert.NoError(t, e.push(context.Background(), &docsRequest{}))
	_, _, _, err := e.split(context.Background(), nil, nil, &requestRefused{status: 400})
	assert.NoError(t, err)
}
