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
	csv *auditcsv.Writer
	buf *bufio.Writer
	enc *json.Encoder
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
	if x.csv != nil {
		return x.csv.Write(r)
	}
	return x.enc.Encode(FromRow(r))
}

func (x *exportWriter) flush() error {
	if x.csv != nil {
		return x.csv.Flush()
	}
	return x.buf.Flush()
}
