package eventstore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
)

// exportWriter renders rows as CSV (the layout of `auditctl export`,
// neutralized against formula injection, re-importable) or as NDJSON
// Events.
type exportWriter struct {
	csv  *auditcsv.Writer
	buf  *bufio.Writer
	enc  *json.Encoder
	rows int
}

func newExportWriter(format string, w io.Writer) (*exportWriter, error) {
	switch format {
	case CSV:
		cw, err := auditcsv.NewWriter(w)
		if err != nil {
			return nil, err
		}
		return &exportWriter{csv: cw}, nil
	case NDJSON:
		buf := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		return &exportWriter{buf: buf, enc: enc}, nil
	}
	return nil, fmt.Errorf("format %q: use csv or ndjson", format)
}

func (x *exportWriter) write(r *auditcsv.Row) error {
	x.rows++
	if x.csv != nil {
		return x.csv.Write(r)
	}
	return x.enc.Encode(FromRow(r))
}

// fail passes on the rows buffered before an export stops on err, so
// they reach the client whole and the caller's marker starts its own
// line. An export that wrote no row writes nothing, not even the CSV
// header: the caller can still answer with an error status.
func (x *exportWriter) fail(err error) error {
	if x.rows > 0 {
		_ = x.flush()
	}
	return err
}

func (x *exportWriter) flush() error {
	if x.csv != nil {
		return x.csv.Flush()
	}
	return x.buf.Flush()
}
