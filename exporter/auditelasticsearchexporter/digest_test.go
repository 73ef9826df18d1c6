package auditelasticsearchexporter

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/config/kibana"
	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

const digestStream = "logs-audit.digest-default"

// storageHost is a host with one file_storage extension.
type storageHost struct {
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var storageID = component.MustNewIDWithName("file_storage", "digest")

// newStorage starts a real file_storage extension over dir; a second one
// over the same dir is the same storage after a restart.
func newStorage(t *testing.T, dir string) (storageHost, extension.Extension) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return storageHost{exts: map[component.ID]component.Component{storageID: ext}}, ext
}

// keyPair writes a key pair and returns the private key's path and the
// public key.
func keyPair(t *testing.T) (string, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	_, err := digest.Keygen(dir)
	require.NoError(t, err)
	pub, err := digest.LoadPublicKey(filepath.Join(dir, digest.PublicKeyFile))
	require.NoError(t, err)
	return filepath.Join(dir, digest.PrivateKeyFile), pub
}

// digestEnv is an exporter with digests on, driven directly so tests can
// seal digests when they want (Flush).
type digestEnv struct {
	*env
	keyFile string
	pub     ed25519.PublicKey
	dir     string // the storage directory
}

func newDigestEnv(t *testing.T, opts ...estest.Option) *digestEnv {
	timeNow = func() time.Time { return testNow }
	t.Cleanup(func() { timeNow = time.Now })
	es := estest.New(append([]estest.Option{estest.WithSource()}, opts...)...)
	ts := es.Start(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	key, pub := keyPair(t)
	return &digestEnv{env: &env{es: es, url: ts.URL, tel: tel}, keyFile: key, pub: pub, dir: t.TempDir()}
}

func (v *digestEnv) digestConfig(mut func(*Config)) *Config {
	return v.config(func(c *Config) {
		c.Digest.KeyFile = v.keyFile
		c.Digest.Storage = &storageID
		c.Digest.Interval = time.Hour // tests seal with Flush
		if mut != nil {
			mut(c)
		}
	})
}

// startDigests starts an exporter over the env's storage directory and
// waits for its bootstrap. stop shuts it and its storage down.
func (v *digestEnv) startDigests(t *testing.T, cfg *Config) (e *auditExporter, stop func()) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	host, ext := newStorage(t, v.dir)
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type) // the same exporter at each start: its storage
	set.TelemetrySettings = v.tel.NewTelemetrySettings()
	e, err := newExporter(set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), host))
	require.Eventually(t, e.bootstrapped.Load, 5*time.Second, 5*time.Millisecond)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		require.NoError(t, e.shutdown(context.Background()))
		require.NoError(t, ext.Shutdown(context.Background()))
	}
	t.Cleanup(stop)
	return e, stop
}

type storedDoc struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
}

// search reads every document of expr through the search API: _source as
// the double answers it.
func (v *env) search(t *testing.T, expr string) []storedDoc {
	t.Helper()
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{v.url}})
	require.NoError(t, err)
	rr, err := esapi.IndicesRefreshRequest{Index: []string{expr}}.Do(context.Background(), c)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, rr.Body)
	rr.Body.Close()
	resp, err := esapi.SearchRequest{Index: []string{expr}, Body: strings.NewReader(`{"size":10000,"sort":[{"@timestamp":"asc"}]}`)}.Do(context.Background(), c)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.False(t, resp.IsError(), string(raw))
	var out struct {
		Hits struct {
			Hits []storedDoc `json:"hits"`
		} `json:"hits"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	return out.Hits.Hits
}

// digests reads the digest stream, checks the chains and returns the
// digests in chain and sequence order.
func (v *digestEnv) digests(t *testing.T) []digest.Signed {
	t.Helper()
	var out []digest.Signed
	for _, d := range v.search(t, digestStream) {
		var s digest.Signed
		require.NoError(t, json.Unmarshal(d.Source, &s))
		id, err := digestID(s)
		require.NoError(t, err)
		assert.Equal(t, id, d.ID)
		out = append(out, s)
	}
	assert.Empty(t, digest.CheckChains(out, []ed25519.PublicKey{v.pub}))
	sort.Slice(out, func(i, j int) bool {
		if out[i].Digest.Chain != out[j].Digest.Chain {
			return out[i].Digest.Chain < out[j].Digest.Chain
		}
		return out[i].Digest.Seq < out[j].Digest.Seq
	})
	return out
}

// entries lists every entry of the digests, by event id.
func entries(ds []digest.Signed) map[string][]digest.Entry {
	out := map[string][]digest.Entry{}
	for _, s := range ds {
		for _, e := range s.Digest.Events {
			out[e.ID] = append(out[e.ID], e)
		}
	}
	return out
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func flush(t *testing.T, e *auditExporter) {
	t.Helper()
	require.NoError(t, e.digests.Flush(context.Background()))
}

func TestDigestBootstrapInstallsTheDigestTier(t *testing.T) {
	v := newDigestEnv(t, estest.WithLogsdb())
	_, _ = v.startDigests(t, v.digestConfig(nil))
	assert.True(t, v.es.Has("ilm", "audit-digest"))
	assert.True(t, v.es.Has("index_template", "audit-digest"))
	require.True(t, v.es.Has("data_stream", digestStream))
	// logsdb (the 9.x default for logs-*-*) would synthesize _source; the
	// template keeps the stream standard.
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{v.url}})
	require.NoError(t, err)
	resp, err := esapi.IndicesGetSettingsRequest{Index: []string{digestStream}}.Do(context.Background(), c)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(raw), `"mode":"standard"`)
}

// Every stored event is listed once, with the hash of its _source as the
// double answers it and the index it is in; each tenant has its chain.
func TestDigestListsEveryStoredEventOnce(t *testing.T) {
	v := newDigestEnv(t)
	e, _ := v.startDigests(t, v.digestConfig(func(c *Config) { c.DataStream.NamespaceAttribute = "organization.id" }))
	var recs []rec
	for i := 0; i < 40; i++ {
		recs = append(recs, rec{id: fmt.Sprintf("ev-%d", i), action: "notebook.open", org: []string{"", "org-a", "org_b"}[i%3], clientIP: "10.0.0.1"})
	}
	recs = append(recs, rec{id: "ev-view", action: "notebook.view", categories: []string{"view_data"}})
	require.NoError(t, e.pushLogs(context.Background(), logs(recs...)))
	flush(t, e)

	ds := v.digests(t)
	byID := entries(ds)
	stored := v.search(t, "logs-audit-*,logs-audit.*-*,-"+digestStream)
	require.Len(t, stored, len(recs))
	chains := map[string]bool{}
	for _, s := range ds {
		chains[s.Digest.Chain] = true
	}
	for _, d := range stored {
		es := byID[d.ID]
		require.Len(t, es, 1, d.ID)
		assert.Equal(t, sha(d.Source), es[0].SHA256, "%s: the hash of _source as stored", d.ID)
		assert.Equal(t, d.Index, es[0].Index, d.ID)
		assert.False(t, es[0].Conflict || es[0].Dead || es[0].Unconfirmed, d.ID)
	}
	assert.Len(t, byID, len(recs))
	assert.Equal(t, int64(len(ds)), v.metric(t, "exporter_audit_es_digests_written"))
	assert.Zero(t, v.metric(t, "exporter_audit_es_digest_write_failures"))
	inst := e.digests.Instance()
	assert.Equal(t, map[string]bool{inst + "/default": true, inst + "/org_a": true, inst + "/org_b": true}, chains)
}

// A replay of stored events is answered 409: the digest says Conflict.
func TestDigestConflictOnReplay(t *testing.T) {
	v := newDigestEnv(t)
	e, _ := v.startDigests(t, v.digestConfig(nil))
	ld := many("r", 5)
	require.NoError(t, e.pushLogs(context.Background(), ld))
	require.NoError(t, e.pushLogs(context.Background(), ld))
	flush(t, e)
	byID := entries(v.digests(t))
	require.Len(t, byID, 5)
	for id, es := range byID {
		require.Len(t, es, 2, id)
		assert.False(t, es[0].Conflict, id)
		assert.True(t, es[1].Conflict, id)
		assert.Equal(t, es[0].SHA256, es[1].SHA256, id)
	}
}

// A document Elasticsearch rejects is dead-lettered: its entry is Dead,
// names the intended index, and hashes to event.original.
func TestDigestDeadLetter(t *testing.T) {
	v := newDigestEnv(t)
	e, _ := v.startDigests(t, v.digestConfig(nil))
	v.es.SetFaults(estest.Faults{RejectIDSuffix: "-bad"})
	require.NoError(t, e.pushLogs(context.Background(), logs(rec{id: "ok-1", action: "a"}, rec{id: "x-bad", action: "a"})))
	flush(t, e)
	byID := entries(v.digests(t))
	require.Len(t, byID["x-bad"], 1)
	dead := byID["x-bad"][0]
	assert.True(t, dead.Dead)
	assert.Equal(t, "logs-audit-default-2025.11.01", dead.Index, "the index it was meant for")
	dls := v.search(t, deadLetters)
	require.Len(t, dls, 1)
	var dl struct {
		Event struct {
			ID       string `json:"id"`
			Original string `json:"original"`
		} `json:"event"`
	}
	require.NoError(t, json.Unmarshal(dls[0].Source, &dl))
	assert.Equal(t, "x-bad", dl.Event.ID)
	assert.Equal(t, sha([]byte(dl.Event.Original)), dead.SHA256)
	require.Len(t, byID["ok-1"], 1)
	assert.False(t, byID["ok-1"][0].Dead)
}

// Items Elasticsearch asks to retry are not in a digest until stored.
func TestDigestLeavesOutRetriedItems(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    estest.Faults
	}{
		{"429", estest.Faults{ItemThrottleFraction: 1}},
		{"503", estest.Faults{ItemErrorFraction: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newDigestEnv(t)
			e, _ := v.startDigests(t, v.digestConfig(func(c *Config) { c.Bulk.MaxRetries = 0 }))
			v.es.SetFaults(tc.f)
			require.Error(t, e.pushLogs(context.Background(), many("t", 3)))
			v.es.SetFaults(estest.Faults{})
			flush(t, e)
			assert.Empty(t, entries(v.digests(t)), "nothing stored, nothing claimed")
			assert.Zero(t, e.digests.Stats().Pending, "nothing left in flight")
			require.NoError(t, e.pushLogs(context.Background(), many("t", 3)))
			flush(t, e)
			byID := entries(v.digests(t))
			assert.Len(t, byID, 3)
			for id, es := range byID {
				assert.Len(t, es, 1, id)
			}
		})
	}
}

// The chain continues across a restart over the same storage: same chain,
// the next sequence number, linked to the final digest before it.
func TestDigestChainContinuesAcrossRestart(t *testing.T) {
	v := newDigestEnv(t)
	e1, stop1 := v.startDigests(t, v.digestConfig(nil))
	require.NoError(t, e1.pushLogs(context.Background(), many("a", 3)))
	inst := e1.digests.Instance()
	stop1()
	first := v.digests(t)
	require.Len(t, first, 1)
	assert.True(t, first[0].Digest.Final)

	e2, stop2 := v.startDigests(t, v.digestConfig(nil))
	assert.Equal(t, inst, e2.digests.Instance(), "the instance name is kept in storage")
	require.NoError(t, e2.pushLogs(context.Background(), many("b", 3)))
	stop2()
	ds := v.digests(t) // checks the links
	require.Len(t, ds, 2)
	assert.Equal(t, uint64(2), ds[1].Digest.Seq)
	h, err := digest.Hash(ds[0])
	require.NoError(t, err)
	assert.Equal(t, h, ds[1].Digest.Previous)
	assert.Len(t, entries(ds), 6)
}

// While Elasticsearch refuses everything, digests stay in storage (across
// a restart too); once it is back, each is written once.
func TestDigestOutageKeepsDigestsUntilStored(t *testing.T) {
	v := newDigestEnv(t)
	e1, stop1 := v.startDigests(t, v.digestConfig(nil))
	require.NoError(t, e1.pushLogs(context.Background(), many("o", 4)))
	v.es.SetFaults(estest.Faults{Outage: "503"})
	require.Error(t, e1.digests.Flush(context.Background()))
	require.Error(t, e1.pushLogs(context.Background(), many("p", 2)), "events wait too")
	assert.Positive(t, v.metric(t, "exporter_audit_es_digest_write_failures"))
	assert.Equal(t, int64(4), v.pendingGauge(t), "the events stored wait for a stored digest")
	stop1() // the final digest cannot be written either
	v.es.SetFaults(estest.Faults{})
	assert.Empty(t, v.search(t, digestStream), "nothing written during the outage")

	e2, stop2 := v.startDigests(t, v.digestConfig(nil))
	assert.Equal(t, int64(4), v.pendingGauge(t), "still waiting after the restart")
	flush(t, e2)
	assert.Zero(t, v.pendingGauge(t))
	stop2()
	ds := v.digests(t)
	seen := map[uint64]int{}
	for _, s := range ds {
		seen[s.Digest.Seq]++
	}
	for seq, n := range seen {
		assert.Equal(t, 1, n, "digest %d written once", seq)
	}
	byID := entries(ds)
	assert.Len(t, byID, 4, "the events stored before the outage; the refused ones never were")
	for id, es := range byID {
		assert.Len(t, es, 1, id)
	}
}

// No pattern that searches events matches the digest stream: the asset
// patterns (auditctl search and export use IndexPatterns), each tenant's
// (the API, internal/eventstore) and the Kibana data view we ship. Each
// still finds the events, so an exclusion that took everything would fail.
func TestEventSearchesLeaveOutDigests(t *testing.T) {
	v := newDigestEnv(t)
	e, _ := v.startDigests(t, v.digestConfig(func(c *Config) { c.DataStream.NamespaceAttribute = "organization.id" }))
	require.NoError(t, e.pushLogs(context.Background(), logs(rec{id: "a", action: "x"}, rec{id: "b", action: "x", org: "digest"}, rec{id: "c", action: "x", org: "org-a"})))
	flush(t, e)
	require.NotEmpty(t, v.es.IDs(digestStream))

	var view struct {
		Attributes struct {
			Title string `json:"title"`
		} `json:"attributes"`
	}
	line, _, _ := strings.Cut(string(kibana.SavedObjects), "\n")
	require.NoError(t, json.Unmarshal([]byte(line), &view))
	es := &eventstore.Elasticsearch{Dataset: "audit", Namespace: "default"}
	for _, tc := range []struct {
		name, expr string
		want       []string
	}{
		{"assets.IndexPatterns (auditctl search)", auditctl.Index, []string{"a", "b", "c"}},
		{"Kibana data view", view.Attributes.Title, []string{"a", "b", "c"}},
		{"tenant default", strings.Join(assets.TenantIndexPatterns("audit", "default"), ","), []string{"a"}},
		{"tenant digest", strings.Join(assets.TenantIndexPatterns("audit", "digest"), ","), []string{"b"}},
		{"eventstore default", strings.Join(es.Indices("default"), ","), []string{"a"}},
		{"eventstore org-a", strings.Join(es.Indices("org-a"), ","), []string{"c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ix := range v.es.Indices(tc.expr) {
				assert.NotContains(t, ix, ".digest-", tc.expr)
			}
			ids := v.es.IDs(tc.expr)
			sort.Strings(ids)
			assert.Equal(t, tc.want, ids, tc.expr)
		})
	}
}

// Concurrent exports (the queue's consumers) and sealing: every event is
// listed once. Run with -race.
func TestDigestConcurrentPushes(t *testing.T) {
	v := newDigestEnv(t)
	e, stop := v.startDigests(t, v.digestConfig(nil))
	const workers, batches, per = 4, 5, 20
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				assert.NoError(t, e.pushLogs(context.Background(), many(fmt.Sprintf("w%d-b%d", w, b), per)))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for flushing := true; flushing; {
		select {
		case <-done:
			flushing = false
		default:
			assert.NoError(t, e.digests.Flush(context.Background()))
		}
	}
	stop()
	byID := entries(v.digests(t))
	assert.Len(t, byID, workers*batches*per)
	for id, es := range byID {
		assert.Len(t, es, 1, id)
	}
}

// pendingGauge reads exporter_audit_es_digest_pending_events.
func (v *env) pendingGauge(t *testing.T) int64 {
	t.Helper()
	requireDeclared(t, "exporter_audit_es_digest_pending_events")
	m, err := v.tel.GetMetric("otelcol_exporter_audit_es_digest_pending_events")
	require.NoError(t, err)
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.True(t, ok, "%T", m.Data)
	var sum int64
	for _, dp := range g.DataPoints {
		sum += dp.Value
	}
	return sum
}

// A backlog of digests goes in bulk requests of at most maxDigestBody
// (Elasticsearch refuses a body past http.max_content_length whole); a
// digest larger than that goes alone.
func TestDigestSinkSplitsLargeBacklogs(t *testing.T) {
	v := newDigestEnv(t)
	e, _ := v.startDigests(t, v.digestConfig(nil))
	var ds []digest.Signed
	priv, err := digest.LoadPrivateKey(v.keyFile)
	require.NoError(t, err)
	prev := ""
	for seq := uint64(1); seq <= 6; seq++ {
		events := make([]digest.Entry, 20000) // about 2.4 MB of JSON each
		for i := range events {
			events[i] = digest.Entry{ID: fmt.Sprintf("id-%d-%d", seq, i), SHA256: strings.Repeat("a", 64), Index: "logs-audit-default-2025.11.01"}
		}
		s, err := digest.Sign(digest.Digest{Chain: "big/default", Seq: seq, Previous: prev, From: testNow, To: testNow, Count: len(events), Events: events}, priv)
		require.NoError(t, err)
		prev, err = digest.Hash(s)
		require.NoError(t, err)
		ds = append(ds, s)
	}
	before := len(v.es.Requests())
	v.es.SetFaults(estest.Faults{MaxBodyBytes: maxDigestBody})
	require.NoError(t, digestSink{e}.Write(context.Background(), ds))
	bulks := 0
	for _, r := range v.es.Requests()[before:] {
		if strings.HasSuffix(r, "/_bulk") {
			bulks++
		}
	}
	assert.Equal(t, 2, bulks, "three digests of 2.4 MB per 8 MB request")
	v.es.SetFaults(estest.Faults{})
	assert.Len(t, v.es.IDs(digestStream), 6)
	require.NoError(t, digestSink{e}.Write(context.Background(), ds), "written again: 409s, stored")
	assert.Len(t, v.es.IDs(digestStream), 6)
}

// Through the factory, with a queue: Shutdown drains the queue first, so
// the final digests list every event it held.
func TestDigestFinalDigestCoversTheDrainedQueue(t *testing.T) {
	v := newDigestEnv(t)
	cfg := v.digestConfig(func(c *Config) {
		q := exporterhelperDefaultQueue()
		q.NumConsumers = 1
		c.QueueConfig = configoptional.Some(q)
	})
	require.NoError(t, cfg.Validate())
	host, ext := newStorage(t, v.dir)
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host))
	require.Eventually(t, func() bool { return v.es.Has("data_stream", digestStream) }, 5*time.Second, 5*time.Millisecond)
	for b := 0; b < 5; b++ {
		require.NoError(t, exp.ConsumeLogs(context.Background(), many(fmt.Sprintf("q%d", b), 10)))
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	ds := v.digests(t)
	require.NotEmpty(t, ds)
	assert.True(t, ds[len(ds)-1].Digest.Final)
	byID := entries(ds)
	assert.Len(t, byID, 50)
	assert.Len(t, v.es.IDs(events), 50)
}
