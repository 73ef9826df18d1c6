package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// BenchmarkVerifyES checks 100 000 events ($VERIFY_ES_EVENTS) in the
// estest double per op (the double answers from memory: this measures
// verify's side and the HTTP paging, not a cluster).
func BenchmarkVerifyES(b *testing.B) {
	n := 100_000
	if s := os.Getenv("VERIFY_ES_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	w := newWorld(b, esStore)
	srv := estest.New(estest.WithSource())
	hs := srv.Start(b)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{hs.URL}})
	require.NoError(b, err)
	require.NoError(b, auditctl.Setup(context.Background(), auditctl.SetupOptions{ES: c, Tiers: testTiers, Namespace: "default", Out: io.Discard}))
	post := func(body *bytes.Buffer) {
		lines := bytes.Count(body.Bytes(), []byte("\n")) / 2
		res, err := http.Post(hs.URL+"/_bulk", "application/x-ndjson", bytes.NewReader(body.Bytes()))
		require.NoError(b, err)
		var out struct {
			Errors bool `json:"errors"`
			Items  []map[string]struct {
				Status int `json:"status"`
			} `json:"items"`
		}
		require.NoError(b, json.NewDecoder(res.Body).Decode(&out))
		res.Body.Close()
		require.False(b, out.Errors)
		require.Len(b, out.Items, lines)
		for _, it := range out.Items {
			require.Equal(b, 201, it["create"].Status)
		}
		body.Reset()
	}
	chains := map[string]*struct {
		seq     uint64
		prev    string
		entries []digest.Entry
	}{}
	start := time.Now().Add(-time.Hour)
	var enc esdoc.Encoder
	var body bytes.Buffer
	var digests []esDoc
	for i := 0; i < n; i += 1000 {
		ld := gen(min(1000, n-i), "b"+strconv.Itoa(i/1000)+"-", uint64(i), start)
		recs := records(ld)
		for k := 0; k < recs.Len(); k++ {
			lr := recs.At(k)
			org, _ := lr.Attributes().Get(fields.Organization)
			ns := assets.Namespace(org.AsString(), "default")
			ix, doc := esStore(&enc, ld.ResourceLogs().At(0).Resource(), lr, ns)
			id := enc.ID(lr)
			body.WriteString(`{"create":{"_index":"` + ix + `","_id":"` + id + "\"}}\n")
			body.Write(doc)
			body.WriteByte('\n')
			ch := chains[ns]
			if ch == nil {
				ch = &struct {
					seq     uint64
					prev    string
					entries []digest.Entry
				}{}
				chains[ns] = ch
			}
			ch.entries = append(ch.entries, digest.Entry{ID: id, SHA256: digest.DocumentHash(doc), Index: ix})
		}
		post(&body)
	}
	for ns, ch := range chains {
		for len(ch.entries) > 0 {
			k := min(len(ch.entries), digest.DefaultMaxEvents)
			ch.seq++
			s := w.resign(b, digest.Digest{Chain: "col-1/" + ns, Seq: ch.seq, Previous: ch.prev, From: start.Add(-time.Minute).UTC(),
				To: start.Add(time.Minute).UTC(), Count: k, Events: ch.entries[:k], Final: k == len(ch.entries)})
			ch.prev, _ = digest.Hash(s)
			ch.entries = ch.entries[k:]
			digests = append(digests, digestDoc(b, s))
		}
	}
	for _, d := range digests {
		body.WriteString(`{"create":{"_index":"` + d.index + `","_id":"` + d.id + "\"}}\n")
		body.Write(d.src)
		body.WriteByte('\n')
		post(&body)
	}
	res, err := http.Post(hs.URL+"/_refresh", "application/json", nil)
	require.NoError(b, err)
	res.Body.Close()
	if got := len(srv.IDs("logs-audit-*")); got != n {
		b.Fatalf("the double holds %d of the %d events its bulk answers said it created", got, n)
	}
	o := w.opts()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := CheckES(context.Background(), o, ES{Client: c})
		if err != nil || !rep.Intact() || rep.Summary.Covered != n {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
