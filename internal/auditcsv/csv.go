// Package auditcsv reads and writes audit events as CSV: the column layout
// of the seed product's export, and our own export layout (a superset that
// re-imports without loss). Both stream: one row in memory at a time.
package auditcsv

import (
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
)

// SeedColumns is the seed product's CSV export.
var SeedColumns = []string{"Time", "User", "Action", "Resource", "IP Address", "User Agent", "Region"}

// ExportColumns is what `auditctl export` writes: the seed columns, Outcome,
// then everything else an event holds. Group and Categories are informative
// and ignored on import (the processor derives them from the catalog).
var ExportColumns = []string{
	"Time", "User", "Action", "Resource", "IP Address", "User Agent", "Region", "Outcome",
	"Event ID", "User ID", "User Name", "User Hash", "Actor Type",
	"Resource Type", "Resource ID", "Organization", "Group", "Categories", "Message", "Properties",
}

var required = []string{"Time", "User", "Action"}

// Reader streams events from CSV with a header row.
type Reader struct {
	r      *csv.Reader
	header []string
	col    map[string]int
	extra  []extraColumn
	export bool
	line   int
	limits auditevent.Limits
	ev     auditevent.Event
}

// NewReader reads the header. Columns are matched by name, in any order,
// ignoring case; Time, User and Action are required. A column we do not
// know becomes a string property named by propertyKey; an empty cell adds
// none. Those properties count against the property limits with the
// Properties column's, and may not repeat one of its keys.
// Rows are bounded by DefaultSizes.
func NewReader(r io.Reader, limits auditevent.Limits) (*Reader, error) {
	return NewReaderSized(r, limits, DefaultSizes)
}

// NewReaderSized is NewReader with rows bounded by sizes.
func NewReaderSized(r io.Reader, limits auditevent.Limits, sizes Sizes) (*Reader, error) {
	bound := newBoundedRows(r, sizes)
	cr := csv.NewReader(bound)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if se := (*SizeError)(nil); errors.As(err, &se) {
		return nil, fmt.Errorf("line 1, column %d: %w", se.Column, se)
	}
	if errors.Is(err, io.EOF) {
		return nil, errors.New("line 1: empty file: expected a header row (" + strings.Join(SeedColumns, ",") + ")")
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	rd := &Reader{r: cr, col: map[string]int{}, line: 1, limits: limits}
	if err := rd.readHeader(header, limits.Properties.WithDefaults()); err != nil {
		return nil, err
	}
	_, rd.export = rd.col["Event ID"]
	return rd, nil
}

// Line is the line number of the row last read.
func (r *Reader) Line() int { return r.line }

// Next reads one row into lr, reporting problems with the row's line.
// It returns io.EOF after the last row; other errors are fatal for the file.
func (r *Reader) Next(lr plog.LogRecord, observed time.Time, probs *auditevent.Problems) error {
	rec, err := r.r.Read()
	if se := (*SizeError)(nil); errors.As(err, &se) {
		probs.Add(-1, se.Line, r.columnName(se.Column-1), se.Error())
		return se
	}
	if errors.Is(err, csv.ErrFieldCount) {
		line, _ := r.r.FieldPos(0)
		probs.Add(-1, line, "", fmt.Sprintf("%d fields, but the header has %d", len(rec), len(r.header)))
		return nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			probs.Add(-1, pe.Line, "", "invalid CSV: "+pe.Err.Error())
			return errors.New("invalid CSV")
		}
		return err
	}
	line, _ := r.r.FieldPos(0)
	r.line = line
	if col, at := invalidUTF8(rec); col >= 0 {
		probs.Add(-1, line, r.columnName(col), fmt.Sprintf("invalid UTF-8 at byte %d of the field; send UTF-8 (the JSON endpoint refuses it too)", at+1))
		return nil
	}
	get := func(name string) string {
		if i, ok := r.col[name]; ok && i < len(rec) {
			return unneutralize(strings.TrimSpace(rec[i]))
		}
		return ""
	}
	before := probs.Len()
	add := func(field, reason string) { probs.Add(-1, line, field, reason) }
	e := &r.ev
	e.Reset()
	if s := get("Time"); s != "" {
		t, perr := auditevent.ParseTime(s)
		if perr != nil {
			add("Time", perr.Error())
			e.TimeInvalid()
		} else {
			e.SetTime(t)
		}
	}
	e.ActorEmail, e.Action, e.ResourceName = get("User"), get("Action"), get("Resource")
	e.ClientIP, e.UserAgent, e.Region, e.Outcome = get("IP Address"), get("User Agent"), get("Region"), get("Outcome")
	e.ID, e.ActorID, e.ActorName, e.UserHash, e.ActorType = get("Event ID"), get("User ID"), get("User Name"), get("User Hash"), get("Actor Type")
	e.ResourceType, e.ResourceID, e.Organization, e.Message = get("Resource Type"), get("Resource ID"), get("Organization"), get("Message")
	r.readProperties(rec, get("Properties"), lr.Attributes(), add)
	e.Validate(r.limits, func(field, reason string) { add(column(field), reason) })
	if probs.Len() > before {
		return nil
	}
	if e.ID == "" {
		// Deterministic, so importing the same file twice stores nothing twice.
		e.ID = rowID(rec)
	}
	e.Fill(lr, observed)
	return nil
}

// readProperties fills attrs from the Properties column and the columns
// we do not know.
func (r *Reader) readProperties(rec []string, props string, attrs pcommon.Map, add func(field, reason string)) {
	used := 0
	for _, x := range r.extra {
		if x.index < len(rec) && strings.TrimSpace(rec[x.index]) != "" {
			used++
		}
	}
	if props != "" {
		if err := auditevent.ReadProperties(props, attrs, r.limits.Properties, used); err != nil {
			add("Properties", err.Error())
			return
		}
	}
	for _, x := range r.extra {
		if x.index >= len(rec) {
			continue
		}
		v := strings.TrimSpace(rec[x.index])
		if v == "" {
			continue
		}
		if _, dup := attrs.Get(x.key); dup {
			add("Properties", fmt.Sprintf("key %q is also the column %q: keep one", x.key, truncate(x.header)))
			return
		}
		attrs.PutStr(x.key, unneutralize(v))
	}
}

// column names an event field by its CSV column in problems.
func column(field string) string {
	switch field {
	case "time":
		return "Time"
	case "action":
		return "Action"
	case "actor.email":
		return "User"
	case "actor.type":
		return "Actor Type"
	case "client.ip":
		return "IP Address"
	case "client.user_agent":
		return "User Agent"
	case "resource.name":
		return "Resource"
	case "id":
		return "Event ID"
	case "message":
		return "Message"
	}
	return field
}

func rowID(rec []string) string {
	h := xxh3.New()
	for _, f := range rec {
		_, _ = h.WriteString(strings.TrimSpace(f))
		_, _ = h.Write([]byte{0x1f})
	}
	sum := h.Sum128().Bytes()
	return "csv-" + hex.EncodeToString(sum[:])
}

// Writer writes events in the ExportColumns layout.
type Writer struct {
	w   *csv.Writer
	row []string
}

// NewWriter writes the header row.
func NewWriter(w io.Writer) (*Writer, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns); err != nil {
		return nil, err
	}
	return &Writer{w: cw, row: make([]string, len(ExportColumns))}, nil
}

// Row is one exported event; Properties is a JSON object or empty.
type Row struct {
	Event      auditevent.Event
	Group      string
	Categories []string
	Properties string
	// Quarantined is read from a stored document (audit.route), never
	// from or into a CSV: the processor decides it again on import.
	Quarantined bool
}

// Write writes one row. Times are RFC 3339 in UTC with nanoseconds. A cell
// a spreadsheet would run as a formula is neutralized (see neutralize).
func (w *Writer) Write(r *Row) error {
	e := &r.Event
	w.row = append(w.row[:0],
		e.Time.UTC().Format(time.RFC3339Nano), e.ActorEmail, e.Action, e.ResourceName, e.ClientIP, e.UserAgent, e.Region, e.Outcome,
		e.ID, e.ActorID, e.ActorName, e.UserHash, e.ActorType,
		e.ResourceType, e.ResourceID, e.Organization, r.Group, strings.Join(r.Categories, "|"), e.Message, r.Properties)
	for i, c := range w.row {
		w.row[i] = neutralize(c)
	}
	return w.w.Write(w.row)
}

// Flush writes buffered rows and reports any write error.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}
