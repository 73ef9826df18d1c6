package auditcsv

import (
	"fmt"
	"io"
	"strconv"
)

// Sizes bound one row while it is read. encoding/csv has no bound: one
// quoted field of 400 MB was held whole (1.9 GB of memory) before the row
// could be refused. With Sizes, what a row holds is bounded by them.
type Sizes struct {
	// MaxField bounds one field in bytes, quotes included.
	MaxField int
	// MaxRow bounds one row in bytes; a row spans lines inside quotes.
	MaxRow int
}

// DefaultSizes are the receiver's defaults.
var DefaultSizes = Sizes{MaxField: 256 << 10, MaxRow: 1 << 20}

// SizeError is a field or row past its bound. The input is not read
// further: where the next row starts is unknown.
type SizeError struct {
	Line   int // where the row starts
	Column int // from 1
	Row    bool
	Limit  int
}

func (e *SizeError) Error() string {
	if e.Row {
		return fmt.Sprintf("row longer than %d bytes (max_import_row_size); the rest of the file was not read", e.Limit)
	}
	return fmt.Sprintf("longer than %d bytes (max_import_field_size); the rest of the file was not read", e.Limit)
}

// boundedRows passes its input through while following CSV's quoting as
// encoding/csv does (RFC 4180, comma, no lazy quotes), and stops at the
// first byte that puts a field or a row past its bound, before the CSV
// reader buffers it.
type boundedRows struct {
	r          io.Reader
	sizes      Sizes
	state      byte
	field, row int // bytes of the current field and row so far
	col        int // field index in the row, from 0
	line       int // current line, from 1
	rowLine    int // line where the current row started
	err        *SizeError
}

const (
	fieldStart = iota
	unquoted
	quoted
	quoteInQuoted // a quote inside a quoted field: an escape or the end
)

func newBoundedRows(r io.Reader, s Sizes) *boundedRows {
	return &boundedRows{r: r, sizes: s, line: 1, rowLine: 1}
}

func (b *boundedRows) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	for i, c := range p[:n] {
		if b.step(c) {
			continue
		}
		row := b.row > b.sizes.MaxRow
		limit := b.sizes.MaxField
		if row {
			limit = b.sizes.MaxRow
		}
		b.err = &SizeError{Line: b.rowLine, Column: b.col + 1, Row: row, Limit: limit}
		if i == 0 {
			return 0, b.err
		}
		return i, nil
	}
	return n, err
}

// step moves past c; false means c put the field or row past its bound.
func (b *boundedRows) step(c byte) bool {
	switch {
	case c == '\n' && b.state != quoted:
		b.line++
		b.rowLine, b.state, b.field, b.row, b.col = b.line, fieldStart, 0, 0, 0
		return true
	case c == ',' && b.state != quoted:
		if b.field > b.sizes.MaxField { // a CR let through was data after all
			return false
		}
		b.state, b.field = fieldStart, 0
		b.col++
		b.row++
		return b.row <= b.sizes.MaxRow
	}
	switch b.state {
	case fieldStart:
		if c == '"' {
			b.state = quoted
		} else {
			b.state = unquoted
		}
	case quoted:
		if c == '"' {
			b.state = quoteInQuoted
		} else if c == '\n' {
			b.line++
		}
	case quoteInQuoted:
		if c == '"' {
			b.state = quoted
		} else if c != '\r' {
			b.state = unquoted // invalid; encoding/csv reports it
		}
	}
	b.field++
	b.row++
	if c == '\r' {
		// One CR past the bound is let through: CRLF ends a row as LF does.
		return b.field <= b.sizes.MaxField+1 && b.row <= b.sizes.MaxRow+1
	}
	return b.field <= b.sizes.MaxField && b.row <= b.sizes.MaxRow
}

// columnName names column i (from 0) by its header, or by its number.
func (r *Reader) columnName(i int) string {
	if i >= 0 && i < len(r.header) {
		return r.header[i]
	}
	return "column " + strconv.Itoa(i+1)
}
