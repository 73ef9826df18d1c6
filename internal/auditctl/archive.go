package auditctl

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// Archive reads the JSON-lines archive that the collector's file exporter
// writes (config/local.yaml): every *.jsonl file in a directory, rotated
// backups included. Each record is turned into the same document the
// Elasticsearch exporter would store, so both sources answer alike.
//
// Anyone who can send an event writes into the archive, so a bad line or
// record is skipped and reported to Warn (file, line, reason), with a count
// at the end, and the rest is read.
type Archive struct {
	Dir string
	// MaxLineBytes bounds one line (one batch) in memory; a longer line
	// is skipped and reported. 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// Warn receives the report of what was skipped; nil discards it.
	Warn io.Writer
	// SkippedRecords and SkippedLines count what the last read skipped:
	// records that did not decode, lines of which nothing did.
	SkippedRecords, SkippedLines int
	// Repeated counts the matching records the last read skipped because
	// their event id was read before for the same index (see idSet).
	Repeated int
	// DistinctIDs counts the keys (index route and event id, see idSet)
	// the last read held to show each event once: one per distinct
	// matching event, about 40 bytes each.
	DistinctIDs int
	// MaxDistinctIDs bounds DistinctIDs, and so the memory a read takes
	// past one line: a read that would hold more fails (tooManyIDs). 0
	// means no bound.
	MaxDistinctIDs int
	// Progress, when set, is called after each line with the bytes read
	// and the archive's size.
	Progress func(done, total int64)
	// Keep, when set, looks at each record before it is turned into a
	// document, the costly part of a read: false skips it. It must keep
	// every record the query can match (e.g. another tenant's is skipped).
	Keep func(lr plog.LogRecord) bool
	// OnSkip, when set, is also told of each line or record skipped, with
	// the reason (not escaped): verify makes each a finding.
	OnSkip func(file string, line int, reason string)
}

// DefaultMaxLineBytes is the default bound on one archive line; the file
// exporter writes a batch per line (1 000 events of config/local.yaml are
// about 2 MB).
const DefaultMaxLineBytes = 64 << 20

// MaxLineBytesLimit is the most --max-line-bytes accepts.
const MaxLineBytesLimit = 1 << 30

// files lists what Dir names: every *.jsonl file in a directory (rotated
// backups sort before the live file, so oldest first), or one file.
func (a *Archive) files() ([]string, error) {
	st, err := os.Stat(a.Dir)
	if err != nil {
		return nil, fmt.Errorf("--archive %s: %w", Printable(a.Dir), err)
	}
	if !st.IsDir() {
		return []string{a.Dir}, nil
	}
	entries, err := os.ReadDir(a.Dir)
	if err != nil {
		return nil, fmt.Errorf("--archive %s: %w", Printable(a.Dir), err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.Contains(e.Name(), ".jsonl") {
			out = append(out, filepath.Join(a.Dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--archive %s: no *.jsonl files (the file exporter's output; see config/local.yaml)", Printable(a.Dir))
	}
	sort.Strings(out)
	return out, nil
}

// Check reports why the archive cannot be read, if it cannot.
func (a *Archive) Check() error {
	_, err := a.files()
	return err
}

// HasArchive reports whether path holds an archive to read.
func HasArchive(path string) bool { return (&Archive{Dir: path}).Check() == nil }

// totalSize adds up the files' sizes, for the progress.
func totalSize(files []string) int64 {
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// maxReason keeps one reported reason short: a decoder's reason quotes
// the input around the error.
const maxReason = 300

func (a *Archive) report(file string, line int, format string, args ...any) {
	if a.Warn == nil && a.OnSkip == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if a.OnSkip != nil {
		a.OnSkip(file, line, msg)
	}
	if a.Warn == nil {
		return
	}
	if len(msg) > maxReason {
		msg = strings.ToValidUTF8(msg[:maxReason], "") + "…"
	}
	fmt.Fprintf(a.Warn, "auditctl: archive: %s:%d: %s\n", Printable(file), line, Printable(msg))
}

// each calls fn with every archived event's document and row that match
// accepts, in archive order, one line in memory at a time. A record whose
// index and event id were read before is skipped, as Elasticsearch refuses
// a second copy of an _id in one index (a CSV imported twice is in the
// archive twice, in the store once); see idSet for the key. Only matching
// records are remembered, so the memory follows the matches, bounded by
// MaxDistinctIDs.
func (a *Archive) each(ctx context.Context, match func(r *auditcsv.Row) bool, fn func(doc []byte, r *auditcsv.Row) error) error {
	a.SkippedRecords, a.SkippedLines, a.Repeated, a.DistinctIDs = 0, 0, 0, 0
	files, err := a.files()
	if err != nil {
		return err
	}
	limit := a.MaxLineBytes
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	seen := newIDSet()
	once := func(doc []byte, r *auditcsv.Row) error {
		if !match(r) {
			return nil
		}
		if !seen.add(r) {
			a.Repeated++
			return nil
		}
		if a.MaxDistinctIDs > 0 && seen.len() > a.MaxDistinctIDs {
			return tooManyIDs(a.MaxDistinctIDs)
		}
		return fn(doc, r)
	}
	defer func() { a.DistinctIDs = seen.len() }()
	p := progress{report: a.Progress}
	if p.report != nil {
		p.total = totalSize(files)
	}
	for _, f := range files {
		if err := a.readFile(ctx, f, limit, &p, once); err != nil {
			return err
		}
	}
	if a.Warn != nil && a.SkippedRecords+a.SkippedLines > 0 {
		fmt.Fprintf(a.Warn, "auditctl: archive: skipped %s and %s of %s (each reported above); everything else was read\n",
			plural(a.SkippedRecords, "record"), plural(a.SkippedLines, "line"), Printable(a.Dir))
	}
	if a.Warn != nil && a.Repeated > 0 {
		fmt.Fprintf(a.Warn, "auditctl: archive: %s repeated an event id already read for the same index (sent or imported again): each is shown once, as Elasticsearch stores it\n",
			plural(a.Repeated, "matching record"))
	}
	return nil
}

// Each calls fn with every matching event's stored document and row, in
// archive order, each event once (see each). doc is reused after fn
// returns.
func (a *Archive) Each(ctx context.Context, match func(r *auditcsv.Row) bool, fn func(doc []byte, r *auditcsv.Row) error) error {
	return a.each(ctx, match, fn)
}

// DefaultMaxDistinctIDs is --max-distinct-ids' default: at most about
// 370 MB (TestIDSetBytesPerID).
const DefaultMaxDistinctIDs = 10_000_000

// ErrTooManyIDs is in the chain of a read that passed MaxDistinctIDs.
var ErrTooManyIDs = errors.New("too many distinct matching events")

type tooManyIDsError struct{ limit int }

func (e tooManyIDsError) Is(target error) bool { return target == ErrTooManyIDs }

func tooManyIDs(limit int) error { return tooManyIDsError{limit} }

func (e tooManyIDsError) Error() string {
	limit := e.limit
	return fmt.Sprintf("--archive: more than %d distinct matching events: showing each event once, as Elasticsearch stores it, holds every matching event's id in memory (about 40 bytes each), bounded by --max-distinct-ids %d; narrow the query (--since, --from/--to, --action, --user …) or raise --max-distinct-ids (0: no bound)", limit, limit)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (a *Archive) readFile(ctx context.Context, f string, limit int, p *progress, fn func(doc []byte, r *auditcsv.Row) error) error {
	var enc esdoc.Encoder
	buf := make([]byte, 0, 4096)
	return a.scanFile(ctx, f, limit, p, func(_, idx int, res pcommon.Resource, lr plog.LogRecord, bad func(string)) error {
		if a.Keep != nil && !a.Keep(lr) {
			return nil
		}
		buf = digest.ArchiveDocument(&enc, buf[:0], res, lr)
		row, err := RowOf(buf)
		if err != nil {
			bad(fmt.Sprintf("record %d: %v", idx, err))
			return nil
		}
		return fn(buf, row)
	})
}

// scanFile calls emit with every record of f that decodes, with its line
// and its index in the line (from 1), in file order. A bad line or record
// is counted, reported to Warn and skipped; emit reports a record it
// cannot use with bad.
func (a *Archive) scanFile(ctx context.Context, f string, limit int, p *progress, emit func(line, idx int, res pcommon.Resource, lr plog.LogRecord, bad func(string)) error) error {
	fh, err := os.Open(f)
	if err != nil {
		return fmt.Errorf("--archive: %w", err)
	}
	defer fh.Close()
	var u plog.JSONUnmarshaler
	lines := newLineReader(fh, limit)
	var reported int64
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if lines.read > reported {
			p.add(lines.read - reported)
			reported = lines.read
		}
		text, tooLong, err := lines.next()
		if err == io.EOF {
			p.add(lines.read - reported)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", Printable(f), n, err)
		}
		if tooLong {
			a.SkippedLines++
			a.report(f, n, "skipped the line: longer than %d bytes; raise --max-line-bytes to read it", limit)
			continue
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		idx := 0
		var bad []string
		addBad := func(reason string) { bad = append(bad, reason) }
		one := func(res pcommon.Resource, lr plog.LogRecord) error {
			idx++
			return emit(n, idx, res, lr, addBad)
		}
		ld, err := u.UnmarshalLogs(text)
		if err == nil {
			rls := ld.ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				sls := rls.At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					recs := sls.At(j).LogRecords()
					for k := 0; k < recs.Len(); k++ {
						if err := one(rls.At(i).Resource(), recs.At(k)); err != nil {
							return err
						}
					}
				}
			}
		} else {
			// One bad record fails the whole line: read the others one by one.
			serr := salvage(text, one, func(i int, reason string) {
				idx = max(idx, i)
				bad = append(bad, fmt.Sprintf("record %d: %s", i, reason))
			})
			if serr != nil {
				a.SkippedLines++
				a.report(f, n, "skipped the line: not an OTLP JSON line: %v", err)
				continue
			}
		}
		if len(bad) > 0 {
			a.SkippedRecords += len(bad)
			a.report(f, n, "skipped %d of %d records: %s", len(bad), idx, strings.Join(bad, "; "))
		}
	}
}

// RawRecord is one archived record as EachRecord gives it: where it is,
// and the record itself (valid during the call only).
type RawRecord struct {
	File        string
	Line, Index int // the line (from 1) and the record's place in it (from 1)
	FirstInFile bool
	Resource    pcommon.Resource
	Record      plog.LogRecord
}

// EachRecord calls fn with every record that decodes, raw, in archive
// order (files oldest first, then line and record order), repeats
// included: what `verify` checks against the digests. Lines and records
// that do not decode are skipped, counted and reported to Warn as Each
// does. Keep and MaxDistinctIDs do not apply.
func (a *Archive) EachRecord(ctx context.Context, fn func(r RawRecord) error) error {
	a.SkippedRecords, a.SkippedLines, a.Repeated, a.DistinctIDs = 0, 0, 0, 0
	files, err := a.files()
	if err != nil {
		return err
	}
	limit := a.MaxLineBytes
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	p := progress{report: a.Progress}
	if p.report != nil {
		p.total = totalSize(files)
	}
	for _, f := range files {
		first := true
		err := a.scanFile(ctx, f, limit, &p, func(line, idx int, res pcommon.Resource, lr plog.LogRecord, _ func(string)) error {
			r := RawRecord{File: f, Line: line, Index: idx, FirstInFile: first, Resource: res, Record: lr}
			first = false
			return fn(r)
		})
		if err != nil {
			return err
		}
	}
	if a.Warn != nil && a.SkippedRecords+a.SkippedLines > 0 {
		fmt.Fprintf(a.Warn, "auditctl: archive: skipped %s and %s of %s (each reported above); everything else was read\n",
			plural(a.SkippedRecords, "record"), plural(a.SkippedLines, "line"), Printable(a.Dir))
	}
	return nil
}

type archived struct {
	t   time.Time
	id  string
	doc []byte
}

// newest is a min-heap keeping the newest n events.
type newest []archived

func (h newest) Len() int { return len(h) }
func (h newest) Less(i, j int) bool {
	if !h[i].t.Equal(h[j].t) {
		return h[i].t.Before(h[j].t)
	}
	return h[i].id < h[j].id
}
func (h newest) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *newest) Push(x any)   { *h = append(*h, x.(archived)) }
func (h *newest) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// MaxArchiveKeep bounds the events a search of the archive holds: the
// newest page × size.
const MaxArchiveKeep = 100000

// SearchArchive prints one page, newest first, keeping only page*size
// events in memory.
func SearchArchive(ctx context.Context, a *Archive, q auditquery.Query, size, page int, format string, tz *time.Location, out io.Writer) (int, error) {
	if err := checkSearch(q, size, page); err != nil {
		return 0, err
	}
	if page > MaxArchiveKeep/size {
		return 0, fmt.Errorf("--page %d: use 1 to %d with --size %d; a search of the archive holds page × size events in memory (at most %d): narrow the time range, or use export", page, MaxArchiveKeep/size, size, MaxArchiveKeep)
	}
	keep := size * page
	h := &newest{}
	total := 0
	err := a.each(ctx, q.Match, func(doc []byte, r *auditcsv.Row) error {
		total++
		x := archived{t: r.Event.Time, id: r.Event.ID}
		if h.Len() < keep {
			x.doc = append([]byte(nil), doc...)
			heap.Push(h, x)
		} else if (*h)[0].t.Before(x.t) || ((*h)[0].t.Equal(x.t) && (*h)[0].id < x.id) {
			x.doc = append([]byte(nil), doc...)
			(*h)[0] = x
			heap.Fix(h, 0)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sorted := make([]archived, h.Len())
	for i := len(sorted) - 1; i >= 0; i-- {
		sorted[i] = heap.Pop(h).(archived)
	}
	start := min((page-1)*size, len(sorted))
	w, err := newWriter(format, out, tz)
	if err != nil {
		return 0, err
	}
	for _, x := range sorted[start:] {
		if err := w.write(x.doc); err != nil {
			return 0, err
		}
	}
	return total, w.flush()
}

// ExportArchive writes every match in archive order (oldest first),
// streaming.
func ExportArchive(ctx context.Context, a *Archive, q auditquery.Query, format string, out io.Writer) (int, error) {
	if format != CSV && format != JSON {
		return 0, fmt.Errorf("--output %q: export writes csv or json (NDJSON)", format)
	}
	if err := q.Validate(); err != nil {
		return 0, err
	}
	w, err := newWriter(format, out, time.UTC)
	if err != nil {
		return 0, err
	}
	n := 0
	err = a.each(ctx, q.Match, func(doc []byte, r *auditcsv.Row) error {
		n++
		return w.write(doc)
	})
	if err != nil {
		return n, err
	}
	return n, w.flush()
}
