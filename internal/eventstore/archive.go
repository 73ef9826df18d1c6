package eventstore

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Archive reads the collector's JSON-lines archive (config/local.yaml's
// file exporter). Every read scans it: a page or an export costs the
// archive's size in time, and in memory the page plus one key per distinct
// matching event (about 40 bytes, to show each once), at most
// MaxDistinctIDs (ErrTooBroad past it).
type Archive struct {
	Dir string
	// MaxLineBytes and MaxDistinctIDs bound a read's memory as in
	// `auditctl --archive` (0: their defaults).
	MaxLineBytes, MaxDistinctIDs int
	// Warn hears what a read skipped (records that do not decode).
	Warn io.Writer
}

func (s *Archive) open() *auditctl.Archive {
	n := s.MaxDistinctIDs
	if n == 0 {
		n = auditctl.DefaultMaxDistinctIDs
	}
	return &auditctl.Archive{Dir: s.Dir, MaxLineBytes: s.MaxLineBytes, MaxDistinctIDs: n, Warn: s.Warn}
}

// each reads the archive; a directory without files yet is empty, a
// directory that is not there is unavailable.
func (s *Archive) each(ctx context.Context, q auditquery.Query, fn func(r *auditcsv.Row) error) error {
	if q.Organization == "" {
		return errNoOrganization
	}
	if _, err := os.Stat(s.Dir); err != nil {
		return fmt.Errorf("%w: archive %s: %v", ErrUnavailable, s.Dir, err)
	}
	a := s.open()
	a.Keep = inOrganization(q.Organization)
	if err := a.Check(); err != nil {
		if strings.Contains(err.Error(), "no *.jsonl files") {
			return nil
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	err := a.Each(ctx, q.Match, func(_ []byte, r *auditcsv.Row) error { return fn(r) })
	if errors.Is(err, auditctl.ErrTooManyIDs) {
		return fmt.Errorf("%w: more than %d events match in the archive", ErrTooBroad, a.MaxDistinctIDs)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// inOrganization skips, before the costly decoding, the records whose
// organization.id is a string naming another organization. What the
// document would hold for any other shape is left to the query's match.
func inOrganization(org string) func(lr plog.LogRecord) bool {
	return func(lr plog.LogRecord) bool {
		v, ok := lr.Attributes().Get(fields.Organization)
		switch {
		case !ok:
			return org == auditquery.DefaultOrganization
		case v.Type() != pcommon.ValueTypeStr:
			return true
		}
		return auditquery.InOrganization(v.Str(), org)
	}
}

// archiveIndex stands for the index that would hold r: the archive keeps
// one copy per route, categories, organization and UTC day (auditctl's
// idSet), and the organization is fixed within one read.
func archiveIndex(r *auditcsv.Row) string {
	route := "events"
	if r.Quarantined {
		route = fields.RouteQuarantine
	}
	return route + "|" + strings.Join(r.Categories, ",") + "|" + r.Event.Time.UTC().Format("2006.01.02")
}

type keyed struct {
	key Key
	row *auditcsv.Row
}

// oldestFirst is a max-heap on Key order: its top is the last of the kept
// events, the first to drop.
type oldestFirst []keyed

func (h oldestFirst) Len() int           { return len(h) }
func (h oldestFirst) Less(i, j int) bool { return h[j].key.Before(h[i].key) }
func (h oldestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldestFirst) Push(x any)        { *h = append(*h, x.(keyed)) }
func (h *oldestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Page keeps the first size+1 events after after, in Key order.
func (s *Archive) Page(ctx context.Context, q auditquery.Query, after *Key, size int) (Page, error) {
	h := &oldestFirst{}
	err := s.each(ctx, q, func(r *auditcsv.Row) error {
		k := Key{Time: r.Event.Time.UnixNano(), ID: r.Event.ID, Index: archiveIndex(r)}
		if after != nil && !after.Before(k) {
			return nil
		}
		if h.Len() <= size {
			row := *r
			heap.Push(h, keyed{k, &row})
		} else if k.Before((*h)[0].key) {
			row := *r
			(*h)[0] = keyed{k, &row}
			heap.Fix(h, 0)
		}
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	sorted := make([]keyed, h.Len())
	for i := len(sorted) - 1; i >= 0; i-- {
		sorted[i] = heap.Pop(h).(keyed)
	}
	var p Page
	if len(sorted) > size {
		sorted, p.More = sorted[:size], true
	}
	for _, x := range sorted {
		p.Events = append(p.Events, FromRow(x.row))
		p.Keys = append(p.Keys, x.key)
	}
	return p, nil
}

// Export streams the matches in archive order (oldest first), one line of
// the archive in memory at a time.
func (s *Archive) Export(ctx context.Context, q auditquery.Query, format string, w io.Writer) (int, error) {
	x, err := newExportWriter(format, w)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.each(ctx, q, func(r *auditcsv.Row) error {
		n++
		return x.write(r)
	})
	if err != nil {
		return n, x.fail(err)
	}
	return n, x.flush()
}
