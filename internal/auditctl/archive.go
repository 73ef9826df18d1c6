package auditctl

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// Archive reads the JSON-lines archive that the collector's file exporter
// writes (config/local.yaml): every *.jsonl file in a directory, rotated
// backups included. Each record is turned into the same document the
// Elasticsearch exporter would store, so both sources answer alike.
type Archive struct {
	Dir string
}

func (a Archive) files() ([]string, error) {
	entries, err := os.ReadDir(a.Dir)
	if err != nil {
		return nil, fmt.Errorf("--archive %s: %w", a.Dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.Contains(e.Name(), ".jsonl") {
			out = append(out, filepath.Join(a.Dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--archive %s: no *.jsonl files (the file exporter's output; see config/local.yaml)", a.Dir)
	}
	sort.Strings(out)
	return out, nil
}

// each calls fn with every archived event's document and row, in archive
// order, one line in memory at a time.
func (a Archive) each(fn func(doc []byte, r *auditcsv.Row) error) error {
	files, err := a.files()
	if err != nil {
		return err
	}
	var enc esdoc.Encoder
	var u plog.JSONUnmarshaler
	buf := make([]byte, 0, 4096)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
		line := 0
		for sc.Scan() {
			line++
			ld, err := u.UnmarshalLogs(sc.Bytes())
			if err != nil {
				fh.Close()
				return fmt.Errorf("%s:%d: not an OTLP JSON line: %w", f, line, err)
			}
			rls := ld.ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				sls := rls.At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					recs := sls.At(j).LogRecords()
					for k := 0; k < recs.Len(); k++ {
						lr := recs.At(k)
						buf = enc.AppendDocument(buf[:0], rls.At(i).Resource(), lr, esdoc.Target{Dataset: "audit", Namespace: "archive"}, enc.ID(lr), enc.Timestamp(lr))
						row, err := RowOf(buf)
						if err != nil {
							fh.Close()
							return fmt.Errorf("%s:%d: %w", f, line, err)
						}
						if err := fn(buf, row); err != nil {
							fh.Close()
							return err
						}
					}
				}
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
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

// SearchArchive prints one page, newest first, keeping only page*size
// events in memory.
func SearchArchive(a Archive, q auditquery.Query, size, page int, format string, tz *time.Location, out io.Writer) (int, error) {
	if size <= 0 || page <= 0 {
		return 0, fmt.Errorf("--size and --page must be positive")
	}
	keep := size * page
	h := &newest{}
	total := 0
	err := a.each(func(doc []byte, r *auditcsv.Row) error {
		if !q.Match(r) {
			return nil
		}
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
func ExportArchive(a Archive, q auditquery.Query, format string, out io.Writer) (int, error) {
	if format != CSV && format != JSON {
		return 0, fmt.Errorf("--output %q: export writes csv or json (NDJSON)", format)
	}
	w, err := newWriter(format, out, time.UTC)
	if err != nil {
		return 0, err
	}
	n := 0
	err = a.each(func(doc []byte, r *auditcsv.Row) error {
		if !q.Match(r) {
			return nil
		}
		n++
		return w.write(doc)
	})
	if err != nil {
		return n, err
	}
	return n, w.flush()
}
