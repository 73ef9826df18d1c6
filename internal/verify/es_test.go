package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// esDoc is one document to store: its index, _id and source.
type esDoc struct {
	index, id string
	src       []byte
}

// esState is what Elasticsearch would hold, for the tests to tamper with
// before it is loaded into the double.
type esState struct {
	docs    []esDoc
	dead    []esDoc
	digests []esDoc
}

var testTiers = []assets.Tier{
	{Name: "default", Dataset: "audit", DeleteAfter: "400d", Period: assets.Month},
	{Name: "quarantine", Dataset: "audit.quarantine", DeleteAfter: "400d", Period: assets.Month},
	{Name: "deadletter", Dataset: "audit.deadletter", DeleteAfter: "30d", RolloverMaxAge: "1d", RolloverMaxPrimaryShardSize: "50gb"},
}

// digestDoc is the digest document the exporter writes.
func digestDoc(t testing.TB, s digest.Signed) esDoc {
	d, err := json.Marshal(s.Digest)
	require.NoError(t, err)
	src, err := json.Marshal(map[string]any{"@timestamp": s.Digest.To,
		"data_stream": map[string]string{"type": "logs", "dataset": "audit.digest", "namespace": "default"},
		"digest":      json.RawMessage(d), "signature": s.Signature})
	require.NoError(t, err)
	return esDoc{"logs-audit.digest-default", esdoc.ShortID(s.Digest.Chain + "/" + itoa(s.Digest.Seq)), src}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func (w *world) es(t testing.TB) *esState {
	st := &esState{}
	for _, b := range w.batches {
		for i, p := range b.entries {
			if p.Entry.Dead {
				src := esdoc.AppendDeadLetter(nil, b.docs[i], p.Entry.ID, "document_parsing_exception", "refused",
					esdoc.Target{Dataset: "audit.deadletter", Namespace: "default"}, p.Entry.Index, time.Now())
				st.dead = append(st.dead, esDoc{"logs-audit.deadletter-default", "", src})
				continue
			}
			st.docs = append(st.docs, esDoc{b.index[i], p.Entry.ID, b.docs[i]})
		}
	}
	for _, s := range w.digests {
		st.digests = append(st.digests, digestDoc(t, s))
	}
	return st
}

// load starts a double with the assets installed and st in it.
func (st *esState) load(t testing.TB) (*estest.Server, *elasticsearch.Client) {
	srv := estest.New(estest.WithSource())
	hs := srv.Start(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{hs.URL}})
	require.NoError(t, err)
	require.NoError(t, auditctl.Setup(context.Background(), auditctl.SetupOptions{ES: c, Tiers: testTiers, Namespace: "default", Out: io.Discard}))
	var body bytes.Buffer
	for _, group := range [][]esDoc{st.docs, st.dead, st.digests} {
		for _, d := range group {
			action := map[string]any{"_index": d.index}
			if d.id != "" {
				action["_id"] = d.id
			}
			line, _ := json.Marshal(map[string]any{"create": action})
			body.Write(line)
			body.WriteByte('\n')
			body.Write(d.src)
			body.WriteByte('\n')
		}
	}
	res, err := http.Post(hs.URL+"/_bulk?refresh=true", "application/x-ndjson", &body)
	require.NoError(t, err)
	defer res.Body.Close()
	var out struct {
		Errors bool              `json:"errors"`
		Items  []json.RawMessage `json:"items"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	if out.Errors {
		for _, it := range out.Items {
			if bytes.Contains(it, []byte(`"error"`)) {
				t.Fatalf("bulk: %s", it)
			}
		}
	}
	return srv, c
}

func checkES(t testing.TB, o Options, c *elasticsearch.Client) *Report {
	rep, err := CheckES(context.Background(), o, ES{Client: c, PageSize: 7}) // small pages: paging is exercised
	require.NoError(t, err)
	return rep
}

// findDoc is the position of the document with this id.
func (st *esState) findDoc(t testing.TB, id string) int {
	for i, d := range st.docs {
		if d.id == id {
			return i
		}
	}
	t.Fatalf("no document %s", id)
	return -1
}

func (st *esState) findDigest(t testing.TB, chain string, seq uint64) int {
	for i, d := range st.digests {
		s, err := decodeESDigest(d.src)
		require.NoError(t, err)
		if s.Digest.Chain == chain && s.Digest.Seq == seq {
			return i
		}
	}
	t.Fatalf("no digest %s#%d", chain, seq)
	return -1
}

// editDoc changes one field of a stored document, keeping it valid.
func editDoc(t testing.TB, src []byte, field, value string) []byte {
	var m map[string]any
	require.NoError(t, json.Unmarshal(src, &m))
	ev := m["event"].(map[string]any)
	ev[field] = value
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func TestESTamperingIsDetected(t *testing.T) {
	w := standard(t, esStore)
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, st *esState) []string
		kinds   []string
		idsKind string
	}{
		{"one field of one event edited", func(t *testing.T, st *esState) []string {
			i := st.findDoc(t, "b4")
			st.docs[i].src = bytes.Replace(st.docs[i].src, []byte(`"outcome":"`), []byte(`"outcome":"x`), 1)
			return []string{"b4"}
		}, []string{Modified}, Modified},
		{"an event deleted", func(t *testing.T, st *esState) []string {
			i := st.findDoc(t, "c3")
			st.docs = append(st.docs[:i], st.docs[i+1:]...)
			return []string{"c3"}
		}, []string{Deleted}, Deleted},
		{"a forged event inserted", func(t *testing.T, st *esState) []string {
			var enc esdoc.Encoder
			ld := gen(1, "forged-", 99, time.Now())
			ix, doc := esStore(&enc, ld.ResourceLogs().At(0).Resource(), records(ld).At(0), "org_a")
			st.docs = append(st.docs, esDoc{ix, "forged-0", doc})
			return []string{"forged-0"}
		}, []string{Inserted}, Inserted},
		{"a digest deleted", func(t *testing.T, st *esState) []string {
			i := st.findDigest(t, "col-1/org_a", 2)
			st.digests = append(st.digests[:i], st.digests[i+1:]...)
			return nil
		}, []string{Inserted, MissingDigest}, ""},
		{"a digest edited", func(t *testing.T, st *esState) []string {
			i := st.findDigest(t, "col-1/org_b", 3)
			st.digests[i].src = bytes.Replace(st.digests[i].src, []byte(`"count":`), []byte(`"count":1`), 1)
			return nil
		}, []string{BadSignature, MissingDigest}, ""},
		{"a digest made undecodable", func(t *testing.T, st *esState) []string {
			i := st.findDigest(t, "col-1/org_b", 3)
			st.digests[i].src = bytes.Replace(st.digests[i].src, []byte(`"seq":`), []byte(`"sequence":`), 1)
			return nil
		}, []string{BadDigest, Inserted, MissingDigest}, ""},
		{"the newest events truncated", func(t *testing.T, st *esState) []string {
			st.docs = st.docs[:27]
			st.digests = st.digests[:6]
			return nil
		}, []string{StaleChain}, ""},
		{"events reordered (their @timestamp swapped)", func(t *testing.T, st *esState) []string {
			i, j := st.findDoc(t, "a1"), st.findDoc(t, "a3")
			ti := st.docs[i].src[:bytes.IndexByte(st.docs[i].src, ',')]
			tj := st.docs[j].src[:bytes.IndexByte(st.docs[j].src, ',')]
			st.docs[i].src = append(append([]byte(nil), tj...), st.docs[i].src[len(ti):]...)
			st.docs[j].src = append(append([]byte(nil), ti...), st.docs[j].src[len(tj):]...)
			return []string{"a1", "a3"}
		}, []string{Modified}, Modified},
		{"an index deleted before its retention", func(t *testing.T, st *esState) []string {
			kept := st.docs[:0]
			for _, d := range st.docs {
				if d.index != st.docs[0].index || d.id[0] != 'a' {
					kept = append(kept, d)
				}
			}
			st.docs = kept
			return nil
		}, []string{Deleted}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := w.es(t)
			want := tc.tamper(t, st)
			_, c := st.load(t)
			rep := checkES(t, w.opts(), c)
			got, ids := kinds(rep)
			assert.Equal(t, tc.kinds, got, "%+v", rep.Findings)
			if tc.idsKind != "" {
				assert.ElementsMatch(t, want, ids[tc.idsKind])
			}
			for _, f := range rep.Findings {
				if f.Kind == Modified || f.Kind == Deleted {
					assert.NotEmpty(t, f.Index, "%+v", f)
					assert.NotEmpty(t, f.Chain, "%+v", f)
				}
			}
		})
	}
}

func TestESNoFalseAlarm(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		w := standard(t, esStore)
		_, c := w.es(t).load(t)
		rep := checkES(t, w.opts(), c)
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 36, rep.Summary.Covered)
		assert.Equal(t, 10, rep.Summary.Digests)
	})
	t.Run("a crash: unconfirmed entries, stored or not", func(t *testing.T) {
		w := newWorld(t, esStore)
		r1 := w.recorder(t)
		w.write(t, r1, gen(9, "a", 1, time.Now()))
		ctx := context.Background()
		stored := w.prepare(gen(6, "s", 2, time.Now()))
		_, err := r1.Begin(ctx, stored.entries)
		require.NoError(t, err)
		w.batches = append(w.batches, stored)
		lost := w.prepare(gen(6, "l", 3, time.Now()))
		_, err = r1.Begin(ctx, lost.entries)
		require.NoError(t, err)
		r2 := w.recorder(t)
		t.Cleanup(func() { _ = r1.Shutdown(context.Background()) })
		w.write(t, r2, gen(9, "b", 4, time.Now()))
		w.finish(t, r2)
		_, c := w.es(t).load(t)
		rep := checkES(t, w.opts(), c)
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 6, rep.Summary.UnconfirmedAbsent)
	})
	t.Run("conflict entries: a resend and a re-import", func(t *testing.T) {
		w := newWorld(t, esStore)
		r := w.recorder(t)
		ld := gen(9, "a", 1, time.Now())
		w.write(t, r, ld)
		// The same events again: the store answers 409, kept the first.
		again := w.prepare(ld)
		for i := range again.entries {
			again.entries[i].Entry.Conflict = true
		}
		// A re-import of an export whose events differ from the stored.
		edited := plog.NewLogs()
		ld.CopyTo(edited)
		records(edited).At(0).Body().SetStr("re-imported")
		reimport := w.prepare(edited)
		reimport.entries = reimport.entries[:1]
		reimport.entries[0].Entry.Conflict = true
		for _, b := range []written{again, reimport} {
			n, err := r.Begin(context.Background(), b.entries)
			require.NoError(t, err)
			r.Commit(n, b.entries)
		}
		w.finish(t, r)
		_, c := w.es(t).load(t)
		rep := checkES(t, w.opts(), c)
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 1, rep.Summary.Conflicts)
		assert.Equal(t, 9, rep.Summary.Covered)
	})
	t.Run("an index deleted after its retention", func(t *testing.T) {
		w := newWorld(t, esStore)
		r := w.recorder(t)
		old := gen(9, "old", 1, time.Now())
		for i := 0; i < records(old).Len(); i++ {
			records(old).At(i).SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)))
		}
		w.write(t, r, old)
		w.write(t, r, gen(9, "a", 2, time.Now()))
		w.finish(t, r)
		srv, c := w.es(t).load(t)
		for _, ix := range srv.Indices("logs-audit-*-2024.01.01") {
			req, _ := http.NewRequest("DELETE", "/"+ix, nil)
			res, err := c.Perform(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, 200, res.StatusCode)
		}
		require.Empty(t, srv.Indices("logs-audit-*-2024.01.01"))
		rep := checkES(t, w.opts(), c)
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 9, rep.Summary.PastRetention)
	})
	t.Run("events newer than the grace, in no digest yet", func(t *testing.T) {
		w := standard(t, esStore)
		st := w.es(t)
		var enc esdoc.Encoder
		ld := gen(4, "new", 7, time.Now())
		for i := 0; i < 4; i++ {
			ix, doc := esStore(&enc, ld.ResourceLogs().At(0).Resource(), records(ld).At(i), "org_a")
			st.docs = append(st.docs, esDoc{ix, enc.ID(records(ld).At(i)), doc})
		}
		_, c := st.load(t)
		o := w.opts()
		o.Now = time.Now().Add(time.Minute)
		rep := checkES(t, o, c)
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 4, rep.Summary.NotYetCovered)
	})
	t.Run("a dead-lettered event", func(t *testing.T) {
		w := newWorld(t, esStore)
		r := w.recorder(t)
		b := w.prepare(gen(9, "a", 1, time.Now()))
		b.entries[2].Entry.Dead = true
		n, err := r.Begin(context.Background(), b.entries)
		require.NoError(t, err)
		w.batches = append(w.batches, b)
		r.Commit(n, b.entries)
		w.finish(t, r)
		st := w.es(t)
		require.Len(t, st.dead, 1)
		_, c := st.load(t)
		rep := checkES(t, w.opts(), c)
		assert.True(t, rep.Intact(), "%+v", rep.Findings)
		assert.Equal(t, 1, rep.Summary.DeadLettersCovered)
		assert.Equal(t, 9, rep.Summary.Covered)

		// The dead letter deleted, or edited, is found.
		st.dead = nil
		_, c = st.load(t)
		got, ids := kinds(checkES(t, w.opts(), c))
		assert.Equal(t, []string{Deleted}, got)
		assert.Equal(t, []string{"a2"}, ids[Deleted])
	})
}
