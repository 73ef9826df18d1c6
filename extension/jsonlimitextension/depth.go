package jsonlimitextension

import (
	"fmt"
	"io"
)

// depthReader passes a JSON body through, tracking the nesting of objects
// and arrays outside strings, and fails the read that goes past max. One
// pass, constant memory: it never parses, so a malformed body is left to
// the decoder behind it to refuse.
type depthReader struct {
	body     io.ReadCloser
	max      int
	depth    int
	inString bool
	escaped  bool
	offset   int64
	err      error
	refused  func()
}

func (d *depthReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.body.Read(p)
	for i, c := range p[:n] {
		if d.inString {
			switch {
			case d.escaped:
				d.escaped = false
			case c == '\\':
				d.escaped = true
			case c == '"':
				d.inString = false
			}
			continue
		}
		switch c {
		case '"':
			d.inString = true
		case '{', '[':
			d.depth++
			if d.depth > d.max {
				d.err = fmt.Errorf("JSON body nested deeper than %d levels (at byte %d): refused before decoding; flatten the value, or raise json_limit's max_depth", d.max, d.offset+int64(i))
				if d.refused != nil {
					d.refused()
				}
				return i, d.err
			}
		case '}', ']':
			d.depth--
		}
	}
	d.offset += int64(n)
	return n, err
}

func (d *depthReader) Close() error { return d.body.Close() }
