package auditctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// archiveLine is one batch as the file exporter writes it.
func archiveLine(t *testing.T, ld plog.Logs) []byte {
	t.Helper()
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	return append(b, '\n')
}

// batch is n generated events with ids prefix0…, stamped one second apart.
func batch(n int, prefix string) plog.Logs {
	ld := auditgen.Batch(n, auditgen.Options{Seed: 1, IDPrefix: prefix})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		recs.At(i).SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 11, 1, 0, 0, i, 0, time.UTC)))
	}
	return ld
}

// nest puts a value depth levels deep under key, the shape of a record
// that poisoned the archive.
func nest(lr plog.LogRecord, depth int) {
	m := lr.Attributes().PutEmptyMap("deep")
	for i := 0; i < depth; i++ {
		m = m.PutEmptyMap("d")
	}
	m.PutStr("bottom", "x")
}

// poisonedArchive writes a good batch, a batch of 5 where the third record
// is nested 10 000 levels deep, a batch of 3 where the second record holds
// a field the decoder cannot skip, a line that is no JSON, a blank line,
// and another good batch. 14 events are readable.
func poisonedArchive(t *testing.T) string {
	dir := t.TempDir()
	poisoned := batch(5, "p")
	nest(poisoned.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(2), 10000)
	var b bytes.Buffer
	b.Write(archiveLine(t, batch(4, "a")))
	b.Write(archiveLine(t, poisoned))
	undecodable := archiveLine(t, batch(3, "u"))
	first := bytes.Index(undecodable, []byte(`"eventName"`))
	second := first + 1 + bytes.Index(undecodable[first+1:], []byte(`"eventName"`))
	b.Write(undecodable[:second])
	b.WriteString(`"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `,`)
	b.Write(undecodable[second:])
	b.WriteString("{\"resourceLogs\":[{\"scopeLogs\":[\x1b]0;pwned\x07\n")
	b.WriteString("\n")
	b.Write(archiveLine(t, batch(4, "z")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), b.Bytes(), 0o644))
	return dir
}

// One bad record costs itself only: search and export read the rest, and
// report each skip with file, line and reason, and a count at the end.
func TestPoisonedArchiveIsReadAroundTheBadRecord(t *testing.T) {
	dir := poisonedArchive(t)
	file := filepath.Join(dir, "audit.jsonl")
	var warn bytes.Buffer
	a := &Archive{Dir: dir, Warn: &warn}
	total, err := SearchArchive(context.Background(), a, auditquery.Query{}, 50, 1, JSON, time.UTC, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 14, total, "4 + 4 of 5 + 2 of 3 + 4")
	report := warn.String()
	assertInert(t, report)
	assert.Contains(t, report, file+":2: skipped 1 of 5 records")
	assert.Contains(t, report, "record 3")
	assert.Contains(t, report, file+":3: skipped 1 of 3 records: record 2: ")
	assert.Contains(t, report, "exceeded max depth")
	assert.Contains(t, report, file+":4: skipped the line")
	assert.NotContains(t, report, ":5:", "a blank line holds nothing")
	assert.Contains(t, report, "skipped 2 records and 1 line of "+dir)
	assert.Equal(t, 3, strings.Count(report, "\n")-1, "one line per bad line, and the count: %s", report)

	warn.Reset()
	var out bytes.Buffer
	n, err := ExportArchive(context.Background(), a, auditquery.Query{}, CSV, &out)
	require.NoError(t, err)
	assert.Equal(t, 14, n)
	assert.Equal(t, 15, strings.Count(out.String(), "\n"), "header and 14 rows")
	assert.Contains(t, warn.String(), "skipped 2 records and 1 line of "+dir)
}

// A line over the bound is skipped and reported; the lines after it are
// read.
func TestArchiveLineOverTheBound(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	b.Write(archiveLine(t, batch(2, "a")))
	big := batch(1, "big")
	big.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(strings.Repeat("x", 64<<10))
	b.Write(archiveLine(t, big))
	b.Write(archiveLine(t, batch(3, "z")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), b.Bytes(), 0o644))
	var warn bytes.Buffer
	n, err := ExportArchive(context.Background(), &Archive{Dir: dir, MaxLineBytes: 32 << 10, Warn: &warn}, auditquery.Query{}, JSON, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	assert.Contains(t, warn.String(), filepath.Join(dir, "audit.jsonl")+":2: skipped the line: longer than 32768 bytes")
	assert.Contains(t, warn.String(), "--max-line-bytes")
}

// The line reader holds at most the bound, however long the line: a 20 MB
// line streamed from a generator leaves a buffer of the bound's size.
func TestLineReaderMemoryIsBounded(t *testing.T) {
	const limit = 1 << 20
	r := io.MultiReader(io.LimitReader(repeatReader('x'), 20<<20), strings.NewReader("\nshort\n"))
	lr := newLineReader(r, limit)
	line, tooLong, err := lr.next()
	require.NoError(t, err)
	assert.True(t, tooLong)
	assert.Empty(t, line)
	assert.LessOrEqual(t, cap(lr.buf), limit)
	line, tooLong, err = lr.next()
	require.NoError(t, err)
	assert.False(t, tooLong)
	assert.Equal(t, "short", string(line))
	_, _, err = lr.next()
	assert.Equal(t, io.EOF, err)
}

type repeatReader byte

func (c repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// The whole-line decoder gives up on the poisoned line; the salvage
// decodes its other records one by one, whatever the order of the keys.
func TestSalvageRecords(t *testing.T) {
	rec := func(id string) string {
		return `{"timeUnixNano":"1761955200000000000","eventName":"report.view","attributes":[{"key":"event.id","value":{"stringValue":"` + id + `"}}]}`
	}
	// The decoder skips an unknown field with a depth limit of 10 000.
	deep := `{"eventName":"x","unknown":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	for name, tt := range map[string]struct {
		line    string
		ids     []string
		skipped int
		err     string
	}{
		"resource first": {`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeLogs":[{"logRecords":[` + rec("a") + `,` + deep + `,` + rec("b") + `]}]}]}`, []string{"a", "b"}, 1, ""},
		"resource last":  {`{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"s"},"logRecords":[` + rec("a") + `,{"eventName":5}]}],"resource":{}}]}`, []string{"a"}, 1, ""},
		"snake case":     {`{"resource_logs":[{"scope_logs":[{"log_records":[` + rec("a") + `]}]}]}`, []string{"a"}, 0, ""},
		"bad resource":   {`{"resourceLogs":[{"resource":{"attributes":7},"scopeLogs":[{"logRecords":[` + rec("a") + `,` + rec("b") + `]}]}]}`, nil, 2, ""},
		"truncated":      {`{"resourceLogs":[{"scopeLogs":[{"logRecords":[` + rec("a"), nil, 0, "unexpected end"},
		"not an object":  {`[1,2]`, nil, 0, "expected {"},
	} {
		t.Run(name, func(t *testing.T) {
			var ids []string
			var reasons []string
			err := salvage([]byte(tt.line), func(_ pcommon.Resource, lr plog.LogRecord) error {
				v, _ := lr.Attributes().Get("event.id")
				ids = append(ids, v.Str())
				return nil
			}, func(idx int, reason string) { reasons = append(reasons, fmt.Sprintf("%d: %s", idx, reason)) })
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.ids, ids)
			assert.Len(t, reasons, tt.skipped, "%q", reasons)
		})
	}
}

func FuzzSalvage(f *testing.F) {
	f.Add([]byte(`{"resourceLogs":[{"resource":{},"scopeLogs":[{"logRecords":[{"eventName":"a"},{"eventName":"b","attributes":[{"key":"k","value":{"kvlistValue":{"values":[]}}}]}]}]}]}`))
	f.Add([]byte(`{"resource_logs":[{"scope_logs":[{"log_records":[{}]}]}], "x": [1, "\"]", {"a": null}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"\u00e9\""}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		decoded, skipped := 0, 0
		err := salvage(line, func(pcommon.Resource, plog.LogRecord) error { decoded++; return nil }, func(int, string) { skipped++ })
		if err != nil {
			return
		}
		// Whatever decodes as a whole line, the salvage decodes record by
		// record. (The decoder takes an empty key for the end of an object
		// and reads on from there; the salvage skips such a record.)
		ld, werr := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if werr == nil && !bytes.Contains(line, []byte(`"":`)) && ld.LogRecordCount() != decoded+skipped {
			t.Fatalf("whole line: %d records; salvage: %d decoded, %d skipped", ld.LogRecordCount(), decoded, skipped)
		}
	})
}

// A CSV imported twice is stored once (Elasticsearch refuses the second
// copy of an id), but written twice to the archive: the archive shows
// each id once too, the first copy read.
func TestArchiveShowsAnIDOnce(t *testing.T) {
	dir := t.TempDir()
	s := newStoreArchive(t, filepath.Join(dir, "audit.jsonl"))
	s.fill(t, 40, 8)
	var export bytes.Buffer
	_, err := Export(context.Background(), ExportOptions{ES: s.client, Output: CSV, Out: &export})
	require.NoError(t, err)
	importCSV(t, s, export.Bytes())
	importCSV(t, s, export.Bytes())
	s.refresh(t)
	total, err := Search(context.Background(), SearchOptions{ES: s.client, Size: 100, Page: 1, Output: JSON, Out: io.Discard, TZ: time.UTC})
	require.NoError(t, err)
	require.Equal(t, 40, total, "the store holds each event once")

	var warn, out bytes.Buffer
	a := &Archive{Dir: dir, Warn: &warn}
	total, err = SearchArchive(context.Background(), a, auditquery.Query{}, 100, 1, JSON, time.UTC, &out)
	require.NoError(t, err)
	assert.Equal(t, 40, total)
	assert.Equal(t, 40, strings.Count(out.String(), "\n"))
	assert.Contains(t, warn.String(), "80 matching records repeated an event id already read for the same index")
	out.Reset()
	n, err := ExportArchive(context.Background(), a, auditquery.Query{}, CSV, &out)
	require.NoError(t, err)
	assert.Equal(t, 40, n)
	assert.Equal(t, export.String(), sortedCSV(t, out.String()), "the archive's export holds what the store's does")
}

// sortedCSV orders an archive export (oldest first) as the store's
// (newest first).
func sortedCSV(t *testing.T, s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	rows := lines[1:]
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// --archive takes the directory or one file of it.
func TestArchiveTakesAFileOrADirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), archiveLine(t, batch(3, "a")), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit-2025-11-01T00-00-00.000.jsonl"), archiveLine(t, batch(2, "b")), 0o600))
	for path, want := range map[string]int{
		dir: 5, filepath.Join(dir, "audit.jsonl"): 3, filepath.Join(dir, "audit-2025-11-01T00-00-00.000.jsonl"): 2,
	} {
		total, err := SearchArchive(context.Background(), &Archive{Dir: path}, auditquery.Query{}, 10, 1, JSON, time.UTC, io.Discard)
		require.NoError(t, err, path)
		assert.Equal(t, want, total, path)
		n, err := ExportArchive(context.Background(), &Archive{Dir: path}, auditquery.Query{}, JSON, io.Discard)
		require.NoError(t, err, path)
		assert.Equal(t, want, n, path)
	}
	_, err := ExportArchive(context.Background(), &Archive{Dir: filepath.Join(dir, "missing.jsonl")}, auditquery.Query{}, JSON, io.Discard)
	assert.ErrorContains(t, err, "--archive "+filepath.Join(dir, "missing.jsonl"))
}

// An export from the archive reports its progress in bytes read, ending
// at the archive's size.
func TestArchiveExportReportsProgress(t *testing.T) {
	dir := t.TempDir()
	var size int64
	for i, name := range []string{"a.jsonl", "b.jsonl"} {
		b := append(archiveLine(t, batch(3, fmt.Sprint(i))), archiveLine(t, batch(2, fmt.Sprint("x", i)))...)
		size += int64(len(b))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	var calls [][2]int64
	a := &Archive{Dir: dir, Progress: func(done, total int64) { calls = append(calls, [2]int64{done, total}) }}
	n, err := ExportArchive(context.Background(), a, auditquery.Query{}, JSON, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 10, n)
	require.Len(t, calls, 4, "one call per line")
	for i := 1; i < len(calls); i++ {
		assert.Greater(t, calls[i][0], calls[i-1][0], "progress only grows")
	}
	assert.Equal(t, [2]int64{size, size}, calls[len(calls)-1])
}

func TestByteProgressBar(t *testing.T) {
	assert.Equal(t, "[=====     ] 50% of 2.0 MiB", ByteProgressBar(1<<20, 2<<20, 10))
	assert.Equal(t, "[==========] 100% of 512 B", ByteProgressBar(512, 512, 10))
	assert.Equal(t, "[          ] 0% of 0 B", ByteProgressBar(0, 0, 10))
}
